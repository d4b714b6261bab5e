import pytest
from pyproj import CRS, Transformer
from shapely.geometry import Point

from gpserver.gptypes.values import Feature, FeatureSet
from gpserver.samples.naturalearth import project_features
from gpserver.samples.naturalearth_data import load_layer


def vertices(feature_set: FeatureSet) -> list[tuple[float, float]]:
    coordinates: list[tuple[float, float]] = []
    for feature in feature_set.features:
        for polygon in getattr(feature.geometry, "geoms", [feature.geometry]):
            coordinates.extend(polygon.exterior.coords)
    return coordinates


def flat(pairs: list[tuple[float, float]]) -> list[float]:
    return [value for pair in pairs for value in pair]


def italy_and_france() -> FeatureSet:
    layer = load_layer("ne_110m_admin_0_countries")
    wanted = {"Italy", "France"}
    layer.features = [f for f in layer.features if f.attributes["NAME"] in wanted]
    return layer


def test_polygons_go_to_web_mercator_as_pyproj_puts_them(context):
    countries = italy_and_france()
    transformer = Transformer.from_crs(4326, 3857, always_xy=True)
    expected = [transformer.transform(x, y) for x, y in vertices(countries)]

    result = project_features(context, countries, 3857)

    assert result.crs == CRS.from_epsg(3857)
    assert result.geometry_type == "esriGeometryPolygon"
    assert flat(vertices(result)) == pytest.approx(flat(expected), abs=1e-6)
    assert [f.attributes for f in result.features] == [
        f.attributes for f in countries.features
    ]


def test_esri_wkid_102100_is_web_mercator(context):
    place = FeatureSet([Feature(Point(2.35, 48.85), {"name": "Paris"})])

    as_esri = project_features(context, place, 102100)
    as_epsg = project_features(context, place, 3857)

    assert as_esri.features[0].geometry.equals_exact(
        as_epsg.features[0].geometry, tolerance=1e-6
    )


def test_an_unknown_wkid_is_refused(context):
    with pytest.raises(ValueError, match=r"unknown spatial reference.*999999"):
        project_features(context, italy_and_france(), 999999)


def test_a_point_the_projection_cannot_show_is_refused(context):
    south_pole = FeatureSet([Feature(Point(0.0, -90.0))])

    with pytest.raises(ValueError, match="feature 0 cannot go to wkid 2154"):
        project_features(context, south_pole, 2154)
