import pytest
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from gpserver.gptypes.geometry import esri_type_of, from_esri, to_esri

# Esri orientation: outer rings clockwise, holes counter-clockwise.
OUTER_CW = [[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0], [0.0, 0.0]]
HOLE_CCW = [[2.0, 2.0], [4.0, 2.0], [4.0, 4.0], [2.0, 4.0], [2.0, 2.0]]
ISLAND_CW = [[20.0, 0.0], [20.0, 5.0], [25.0, 5.0], [25.0, 0.0], [20.0, 0.0]]


def test_point_with_and_without_z():
    assert from_esri({"x": 1, "y": 2}) == Point(1, 2)
    assert from_esri({"x": 1, "y": 2, "z": 3}) == Point(1, 2, 3)
    assert to_esri(Point(1, 2)) == {"x": 1.0, "y": 2.0}
    assert to_esri(Point(1, 2, 3)) == {"x": 1.0, "y": 2.0, "z": 3.0}


def test_point_ignores_its_spatial_reference_and_m():
    point = {"x": 1, "y": 2, "m": 7, "spatialReference": {"wkid": 4326}}
    assert from_esri(point) == Point(1, 2)


def test_multipoint():
    geometry = from_esri({"points": [[1, 2], [3, 4]]})
    assert geometry == MultiPoint([(1, 2), (3, 4)])
    assert to_esri(geometry) == {"points": [[1.0, 2.0], [3.0, 4.0]]}


def test_multipoint_with_z_says_so():
    geometry = from_esri({"hasZ": True, "points": [[1, 2, 5]]})
    assert to_esri(geometry) == {"points": [[1.0, 2.0, 5.0]], "hasZ": True}


def test_third_value_is_m_when_only_has_m_is_set():
    geometry = from_esri({"hasM": True, "paths": [[[0, 0, 9], [1, 1, 9]]]})
    assert geometry == LineString([(0, 0), (1, 1)])
    assert not geometry.has_z


def test_one_path_is_a_linestring_several_a_multilinestring():
    assert from_esri({"paths": [[[0, 0], [1, 1]]]}) == LineString([(0, 0), (1, 1)])
    two = from_esri({"paths": [[[0, 0], [1, 1]], [[5, 5], [6, 6]]]})
    assert two == MultiLineString([[(0, 0), (1, 1)], [(5, 5), (6, 6)]])
    assert to_esri(two) == {
        "paths": [[[0.0, 0.0], [1.0, 1.0]], [[5.0, 5.0], [6.0, 6.0]]]
    }


def test_polygon_with_hole_round_trips_with_esri_orientation():
    geometry = from_esri({"rings": [OUTER_CW, HOLE_CCW]})

    assert isinstance(geometry, Polygon)
    assert len(geometry.interiors) == 1
    assert geometry.area == 96.0
    assert to_esri(geometry) == {"rings": [OUTER_CW, HOLE_CCW]}


def test_polygon_is_handed_to_tools_counter_clockwise():
    geometry = from_esri({"rings": [OUTER_CW, HOLE_CCW]})
    assert geometry.exterior.is_ccw
    assert not geometry.interiors[0].is_ccw


def test_shapely_polygon_is_written_clockwise_whatever_its_orientation():
    counter_clockwise = Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]]
    )
    assert to_esri(counter_clockwise) == {"rings": [OUTER_CW, HOLE_CCW]}


def test_rings_are_grouped_by_containment_even_when_wrongly_oriented():
    reversed_outer = OUTER_CW[::-1]
    reversed_hole = HOLE_CCW[::-1]
    geometry = from_esri({"rings": [reversed_hole, ISLAND_CW, reversed_outer]})

    assert isinstance(geometry, MultiPolygon)
    big, island = sorted(geometry.geoms, key=lambda p: -p.area)
    assert big.area == 96.0
    assert len(big.interiors) == 1
    assert island.area == 25.0


def test_island_inside_a_hole_is_its_own_polygon():
    lake = [[1.0, 1.0], [9.0, 1.0], [9.0, 9.0], [1.0, 9.0], [1.0, 1.0]]
    island = [[4.0, 4.0], [4.0, 6.0], [6.0, 6.0], [6.0, 4.0], [4.0, 4.0]]
    geometry = from_esri({"rings": [OUTER_CW, lake, island]})

    assert isinstance(geometry, MultiPolygon)
    assert sorted(p.area for p in geometry.geoms) == [4.0, 36.0]


def test_unclosed_ring_is_closed():
    geometry = from_esri({"rings": [[[0, 0], [0, 1], [1, 1]]]})
    assert geometry.area == 0.5


def test_multipolygon_is_written_as_all_rings():
    geometry = MultiPolygon([Polygon(OUTER_CW[::-1]), Polygon(ISLAND_CW[::-1])])
    assert to_esri(geometry) == {"rings": [OUTER_CW, ISLAND_CW]}


def test_envelope_becomes_a_box():
    geometry = from_esri({"xmin": 0, "ymin": 1, "xmax": 2, "ymax": 3})
    assert geometry.equals(box(0, 1, 2, 3))
    assert esri_type_of(geometry) == "esriGeometryPolygon"


@pytest.mark.parametrize(
    "empty",
    [
        None,
        {},
        {"spatialReference": {"wkid": 4326}},
        {"x": None, "y": None},
        {"x": "NaN", "y": "NaN"},
        {"points": []},
        {"paths": []},
        {"rings": []},
        {"xmin": None},
    ],
)
def test_null_and_empty_geometries_are_none(empty):
    assert from_esri(empty) is None


def test_empty_shapely_geometry_is_written_as_none():
    assert to_esri(Polygon()) is None
    assert to_esri(None) is None


@pytest.mark.parametrize(
    ("geometry", "name"),
    [
        (Point(0, 0), "esriGeometryPoint"),
        (MultiPoint([(0, 0)]), "esriGeometryMultipoint"),
        (LineString([(0, 0), (1, 1)]), "esriGeometryPolyline"),
        (MultiLineString([[(0, 0), (1, 1)]]), "esriGeometryPolyline"),
        (box(0, 0, 1, 1), "esriGeometryPolygon"),
        (MultiPolygon([box(0, 0, 1, 1)]), "esriGeometryPolygon"),
    ],
)
def test_esri_type_of(geometry, name):
    assert esri_type_of(geometry) == name


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], 'a geometry must be a JSON object like {"x": 1, "y": 2}'),
        (
            {"lat": 1, "lon": 2},
            "a geometry needs one of the keys x, points, paths, rings or xmin; "
            "got ['lat', 'lon']",
        ),
        ({"x": 1}, "y must be a number; got None"),
        ({"x": "a", "y": 2}, "x must be a number; got 'a'"),
        ({"x": True, "y": 2}, "x must be a number; got True"),
        ({"points": "1,2"}, "points must be a list; got str"),
        ({"points": [[1]]}, "points must be a list of [x, y] coordinate lists"),
        (
            {"points": [[1, None]]},
            "points has a coordinate that is not a finite number",
        ),
        ({"paths": [[[0, 0]]]}, "path 0 needs at least 2 points"),
        (
            {"paths": [[[0, 0], [1]]]},
            "path 0 must be a list of [x, y] coordinate lists",
        ),
        ({"rings": [[[0, 0], [1, 1]]]}, "ring 0 needs at least 3 distinct points"),
        (
            {"xmin": 5, "ymin": 0, "xmax": 1, "ymax": 1},
            "an envelope needs xmin <= xmax and ymin <= ymax",
        ),
    ],
)
def test_malformed_geometry_says_what_is_wrong(raw, message):
    with pytest.raises(ValueError) as caught:
        from_esri(raw)
    assert str(caught.value) == message


def test_geometry_collection_has_no_esri_form():
    with pytest.raises(ValueError) as caught:
        to_esri(GeometryCollection([Point(0, 0)]))
    assert str(caught.value) == "a GeometryCollection has no Esri JSON form"
