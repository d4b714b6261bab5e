import math

import pytest
from pyproj import CRS, Geod, Transformer
from shapely.geometry import Point

from gpserver.gptypes.values import Feature, FeatureSet, LinearUnit
from gpserver.samples.naturalearth import buffer_points
from gpserver.samples.naturalearth_data import load_layer

CITIES = ("Quito", "Paris", "Reykjavík")
WGS84_GEOD = Geod(ellps="WGS84")


def cities() -> FeatureSet:
    layer = load_layer("ne_110m_populated_places")
    layer.features = [f for f in layer.features if f.attributes["NAME"] in CITIES]
    return layer


def test_buffers_are_geodesic_circles_around_their_city(context):
    points = cities()
    expected_area = math.pi * 100_000.0**2

    result = buffer_points(context, points, LinearUnit(100, "esriKilometers"))

    assert result.geometry_type == "esriGeometryPolygon"
    assert result.crs == CRS.from_epsg(4326)
    assert len(result.features) == len(CITIES)
    for city, buffer in zip(points.features, result.features, strict=True):
        area, _ = WGS84_GEOD.geometry_area_perimeter(buffer.geometry)
        assert abs(abs(area) / expected_area - 1) < 0.005
        assert buffer.geometry.contains(city.geometry)
        assert buffer.attributes == city.attributes


def test_every_vertex_lies_at_the_distance_from_its_city(context):
    points = cities()

    result = buffer_points(context, points, LinearUnit(100, "esriKilometers"))

    for city, buffer in zip(points.features, result.features, strict=True):
        for lon, lat in buffer.geometry.exterior.coords:
            _, _, metres = WGS84_GEOD.inv(city.geometry.x, city.geometry.y, lon, lat)
            assert metres == pytest.approx(100_000.0, abs=0.01)


def test_points_in_web_mercator_are_buffered_where_they_are(context):
    points = cities()
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    mercator = FeatureSet(
        features=[
            Feature(Point(to_mercator.transform(f.geometry.x, f.geometry.y)))
            for f in points.features
        ],
        crs=CRS.from_epsg(3857),
    )

    from_mercator = buffer_points(context, mercator, LinearUnit(50, "esriMiles"))
    from_degrees = buffer_points(context, points, LinearUnit(50, "esriMiles"))

    for a, b in zip(from_mercator.features, from_degrees.features, strict=True):
        assert a.geometry.equals_exact(b.geometry, tolerance=1e-9)


def test_lines_are_refused(context):
    lines = FeatureSet(geometry_type="esriGeometryPolyline")

    with pytest.raises(ValueError, match="needs points"):
        buffer_points(context, lines, LinearUnit(1, "esriKilometers"))


@pytest.mark.parametrize("distance", [0.0, -5.0])
def test_a_distance_that_is_not_positive_is_refused(context, distance):
    with pytest.raises(ValueError, match="must be positive"):
        buffer_points(context, cities(), LinearUnit(distance, "esriKilometers"))


def test_a_circle_over_the_antimeridian_is_refused(context):
    near_dateline = FeatureSet([Feature(Point(179.5, -17.0))])

    with pytest.raises(ValueError, match="antimeridian"):
        buffer_points(context, near_dateline, LinearUnit(100, "esriKilometers"))


@pytest.mark.parametrize(
    ("point", "shown"),
    [(Point(2.35, 95.0), "(2.35, 95)"), (Point(-200.0, 10.0), "(-200, 10)")],
)
def test_a_point_off_the_globe_is_refused_naming_it(context, point, shown):
    off_globe = FeatureSet([Feature(point)])

    with pytest.raises(ValueError) as caught:
        buffer_points(context, off_globe, LinearUnit(10, "esriKilometers"))
    assert str(caught.value) == (
        f"the coordinate {shown} is not a longitude and latitude: longitude must "
        "be between -180 and 180 and latitude between -90 and 90"
    )
