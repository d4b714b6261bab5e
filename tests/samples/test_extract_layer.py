import json
from pathlib import Path

import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import box, shape

from gpserver.gptypes.values import Feature, FeatureSet
from gpserver.samples.naturalearth import extract_layer

AROUND_ITALY = box(6.6, 36.6, 18.5, 47.1)


def area(polygon, crs: int = 4326) -> FeatureSet:
    return FeatureSet(
        [Feature(polygon)],
        geometry_type="esriGeometryPolygon",
        crs=CRS.from_epsg(crs),
    )


def test_countries_are_clipped_to_a_box_around_italy(context):
    result = extract_layer(context, "countries", area(AROUND_ITALY))

    features = result.features.features
    assert sorted(f.attributes["NAME"] for f in features) == [
        "Algeria",
        "Austria",
        "Bosnia and Herz.",
        "Croatia",
        "France",
        "Hungary",
        "Italy",
        "Montenegro",
        "Slovenia",
        "Switzerland",
        "Tunisia",
    ]
    assert all(AROUND_ITALY.buffer(1e-9).covers(f.geometry) for f in features)
    assert result.features.geometry_type == "esriGeometryPolygon"
    assert result.features.crs == CRS.from_epsg(4326)


def test_the_geojson_file_holds_the_same_features(context):
    result = extract_layer(context, "countries", area(AROUND_ITALY))

    path = Path(result.geojson.path)
    assert path == context.output_dir / "countries.geojson"
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["type"] == "FeatureCollection"
    assert len(written["features"]) == len(result.features.features)
    for item, feature in zip(
        written["features"], result.features.features, strict=True
    ):
        assert item["properties"] == feature.attributes
        assert shape(item["geometry"]).equals(feature.geometry)


def test_an_area_in_web_mercator_is_projected_before_clipping(context):
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True).transform
    mercator_box = shapely.transform(AROUND_ITALY, to_mercator, interleaved=False)

    result = extract_layer(context, "airports", area(mercator_box, crs=3857))

    assert sorted(f.attributes["name"] for f in result.features.features) == [
        "Leonardo da Vinci Int'l",
        "Linate",
        "Zagreb",
    ]
    assert result.features.geometry_type == "esriGeometryPoint"


def test_rivers_keep_only_their_lines(context):
    result = extract_layer(context, "rivers", area(AROUND_ITALY))

    assert sorted(f.attributes["name"] for f in result.features.features) == [
        "Drava",
        "Po",
        "Rhein",
        "Rhône",
        "Rhône",
    ]
    kinds = {f.geometry.geom_type for f in result.features.features}
    assert kinds <= {"LineString", "MultiLineString"}


def test_an_unknown_layer_is_refused(context):
    with pytest.raises(ValueError, match="no layer 'oceans'"):
        extract_layer(context, "oceans", area(AROUND_ITALY))


def test_an_area_of_points_is_refused(context):
    points = FeatureSet([Feature(AROUND_ITALY.centroid)])

    with pytest.raises(ValueError, match="must be polygons"):
        extract_layer(context, "lakes", points)
