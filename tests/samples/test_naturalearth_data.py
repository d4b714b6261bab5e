import pytest
from pyproj import CRS

from gpserver.samples.naturalearth_data import LAYERS, load_layer


@pytest.mark.parametrize("name", LAYERS)
def test_every_bundled_layer_loads_in_wgs84_with_typed_fields(name):
    layer = load_layer(name)

    assert layer.features
    assert layer.crs == CRS.from_epsg(4326)
    assert layer.geometry_type in {
        "esriGeometryPoint",
        "esriGeometryPolyline",
        "esriGeometryPolygon",
    }
    assert {f.name for f in layer.fields} == set(layer.features[0].attributes)


def test_fields_follow_the_values():
    fields = {f.name: f for f in load_layer("ne_50m_populated_places").fields}

    assert fields["NAME"].type == "esriFieldTypeString"
    assert fields["NAME"].length >= len("Vatican City")
    assert fields["POP_MAX"].type == "esriFieldTypeInteger"
    assert fields["LATITUDE"].type == "esriFieldTypeDouble"


def test_each_load_is_a_copy_a_tool_may_change():
    first = load_layer("ne_110m_populated_places")
    first.features[0].attributes["NAME"] = "changed"
    del first.features[1:]

    second = load_layer("ne_110m_populated_places")

    assert second.features[0].attributes["NAME"] != "changed"
    assert len(second.features) == 243


def test_an_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="no Natural Earth layer 'ne_10m_roads'"):
        load_layer("ne_10m_roads")
