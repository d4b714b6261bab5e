import math

import pytest
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, Polygon

from gpserver.gptypes.spatialref import (
    crs_from_esri,
    crs_to_esri,
    project,
    project_many,
    transformer,
)

WGS84 = CRS.from_epsg(4326)
WEB_MERCATOR = CRS.from_epsg(3857)


@pytest.mark.parametrize(
    "raw",
    [
        4326,
        4326.0,
        "4326",
        " 4326 ",
        {"wkid": 4326},
        {"wkid": 4326, "latestWkid": 4326},
        {"wkid": "4326"},
        '{"wkid": 4326}',
    ],
)
def test_wgs84_in_every_form(raw):
    assert crs_from_esri(raw) == WGS84


@pytest.mark.parametrize(
    "raw",
    [
        102100,
        {"wkid": 102100},
        {"wkid": 102100, "latestWkid": 3857},
        {"wkid": 102113},
        {"latestWkid": 3857},
        3857,
    ],
)
def test_esri_web_mercator_wkids_are_epsg_3857(raw):
    assert crs_from_esri(raw) == WEB_MERCATOR


def test_esri_only_wkid_falls_back_to_the_esri_authority():
    assert crs_from_esri(54030) == CRS.from_user_input("ESRI:54030")


def test_latest_wkid_wins_over_a_retired_wkid():
    assert crs_from_esri({"wkid": 102113, "latestWkid": 4326}) == WGS84


def test_unknown_latest_wkid_falls_back_to_wkid():
    assert crs_from_esri({"wkid": 4326, "latestWkid": 999999}) == WGS84


def test_wkt_of_a_known_wkid_reads_as_that_wkid():
    assert crs_from_esri({"wkt": WGS84.to_wkt("WKT1_ESRI")}) == WGS84
    assert crs_from_esri({"wkt2": WEB_MERCATOR.to_wkt()}) == WEB_MERCATOR


def test_custom_wkt():
    wkt = CRS.from_proj4("+proj=tmerc +lon_0=7 +datum=WGS84").to_wkt("WKT1_ESRI")
    assert crs_from_esri({"wkt": wkt}) == CRS.from_wkt(wkt)


@pytest.mark.parametrize("absent", [None, "", "  ", {}, {"wkid": None}])
def test_absent_spatial_reference_is_none(absent):
    assert crs_from_esri(absent) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (999999, "unknown spatial reference wkid 999999"),
        ({"wkid": 999999}, "unknown spatial reference wkid 999999"),
        (
            "wgs84",
            'expected a wkid like 4326 or a JSON object like {"wkid": 4326}; '
            "got 'wgs84'",
        ),
        (
            True,
            'expected a wkid like 4326 or a JSON object like {"wkid": 4326}; got True',
        ),
        (4326.5, "a wkid is a positive whole number; got 4326.5"),
        (-1, "a wkid is a positive whole number; got -1"),
        ({"wkid": "abc"}, "wkid must be a number; got 'abc'"),
        ({"wkt": "GEOGCS[nonsense"}, "wkt is not a coordinate system WKT"),
    ],
)
def test_bad_spatial_reference_says_why(raw, message):
    with pytest.raises(ValueError) as caught:
        crs_from_esri(raw)
    assert str(caught.value) == message


def test_web_mercator_is_written_as_esri_clients_expect():
    expected = {"wkid": 102100, "latestWkid": 3857}
    assert crs_to_esri(WEB_MERCATOR) == expected
    assert crs_to_esri(CRS.from_user_input("ESRI:102100")) == expected


def test_epsg_crs_is_written_with_wkid_and_latest_wkid():
    assert crs_to_esri(WGS84) == {"wkid": 4326, "latestWkid": 4326}
    assert crs_to_esri(CRS.from_epsg(32633)) == {"wkid": 32633, "latestWkid": 32633}


def test_esri_crs_is_written_with_its_wkid():
    assert crs_to_esri(CRS.from_user_input("ESRI:54030")) == {"wkid": 54030}


def test_crs_without_a_code_is_written_as_esri_wkt():
    custom = CRS.from_proj4("+proj=tmerc +lat_0=1 +lon_0=7 +datum=WGS84")
    written = crs_to_esri(custom)

    assert list(written) == ["wkt"]
    assert written["wkt"].startswith(
        'PROJCS["unknown",GEOGCS["GCS_unknown",DATUM["D_WGS_1984"'
    )
    assert crs_from_esri(written).equals(custom, ignore_axis_order=True)


def test_written_form_is_a_fresh_dict_each_time():
    crs_to_esri(WGS84)["wkid"] = 1
    assert crs_to_esri(WGS84) == {"wkid": 4326, "latestWkid": 4326}


def test_project_point_to_web_mercator_matches_pyproj():
    lon, lat = -122.4194, 37.7749
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(
        lon, lat
    )

    projected = project(Point(lon, lat), WGS84, crs_from_esri(102100))

    assert (projected.x, projected.y) == (x, y)
    # And both agree with the spherical Mercator formula.
    radius = 6378137.0
    assert projected.x == pytest.approx(radius * math.radians(lon))
    assert projected.y == pytest.approx(
        radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    )


def test_project_keeps_z_and_structure():
    polygon = Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5)])
    projected = project(polygon, WGS84, WEB_MERCATOR)
    assert projected.has_z
    assert [c[2] for c in projected.exterior.coords] == [5.0, 5.0, 5.0, 5.0]


def test_project_many_handles_none_and_mixed_dimensions():
    geometries = [Point(1, 1), None, LineString([(0, 0, 1), (1, 1, 2)])]
    moved = project_many(geometries, WGS84, WEB_MERCATOR)

    assert moved[1] is None
    assert not moved[0].has_z
    assert moved[2].has_z
    assert moved[0].x == pytest.approx(111319.49079327357)


def test_transformers_are_cached():
    assert transformer(WGS84, WEB_MERCATOR) is transformer(WGS84, WEB_MERCATOR)
