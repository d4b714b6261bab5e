"""The Natural Earth tools over submitJob, checked against independent answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import LinearRing, box

from tests.e2e.gp import (
    WEB_MERCATOR_JSON,
    arcgis_core_point_set,
    full_point_set,
    raw_get,
    result_value,
    run_job,
    shape,
    vertices,
)
from tests.e2e.reference import (
    WGS84,
    countries_meeting,
    geodesic_circle_area,
    haversine_km,
    place,
    places,
)
from tests.e2e.server import Client, ServerProcess

NATURAL_EARTH = "Samples/NaturalEarth/GPServer"
BUFFER = f"{NATURAL_EARTH}/BufferPoints"
PLACES_NEAR = f"{NATURAL_EARTH}/PlacesNear"
PROJECT = f"{NATURAL_EARTH}/ProjectFeatures"
EXTRACT = f"{NATURAL_EARTH}/ExtractLayer"

CITIES = {
    name: place("ne_110m_populated_places", name)
    for name in ("Paris", "Nairobi", "Tokyo")
}
HUNDRED_KM = json.dumps({"distance": 100, "units": "esriKilometers"})
# An area of interest that meets exactly these four countries of the 1:110m layer.
AREA = box(5, 49.5, 7, 50.5)
AREA_COUNTRIES = ["Belgium", "France", "Germany", "Luxembourg"]


def _buffered(client: Client, points: str) -> dict[str, Any]:
    job_id = run_job(client, BUFFER, points=points, distance=HUNDRED_KM)
    buffered: dict[str, Any] = result_value(client, BUFFER, job_id, "buffered")
    return buffered


@pytest.fixture(scope="module")
def buffered(client: Client) -> dict[str, Any]:
    return _buffered(client, full_point_set(CITIES))


def test_buffer_points_draws_true_geodesic_circles(buffered: dict[str, Any]) -> None:
    assert buffered["geometryType"] == "esriGeometryPolygon"
    assert buffered["spatialReference"] == {"wkid": 4326, "latestWkid": 4326}
    assert buffered["exceededTransferLimit"] is False
    assert [f["attributes"]["name"] for f in buffered["features"]] == list(CITIES)

    for feature, (lon, lat) in zip(buffered["features"], CITIES.values(), strict=True):
        (ring,) = feature["geometry"]["rings"]
        area, _ = WGS84.geometry_area_perimeter(shape(feature["geometry"]))
        assert abs(area) == pytest.approx(
            geodesic_circle_area(lon, lat, 100_000), rel=0.005
        )
        ring_lons, ring_lats = np.array(ring).T
        _, _, metres = WGS84.inv(
            np.full(ring_lons.size, lon),
            np.full(ring_lats.size, lat),
            ring_lons,
            ring_lats,
        )
        assert metres == pytest.approx(100_000, rel=0.001)
        # Esri JSON writes outer rings clockwise.
        assert not LinearRing(ring).is_ccw


def test_buffer_points_reads_points_sent_the_arcgis_core_way(
    client: Client, buffered: dict[str, Any]
) -> None:
    core = _buffered(client, arcgis_core_point_set(CITIES))
    assert core["spatialReference"] == buffered["spatialReference"]
    assert [f["geometry"] for f in core["features"]] == [
        f["geometry"] for f in buffered["features"]
    ]
    assert [f["attributes"] for f in core["features"]] == [
        f["attributes"] for f in buffered["features"]
    ]


def test_places_near_finds_what_haversine_finds(client: Client) -> None:
    paris = place("ne_50m_populated_places", "Paris")
    within = {
        name: haversine_km(*paris, lon, lat)
        for name, lon, lat in places("ne_50m_populated_places")
        if haversine_km(*paris, lon, lat) <= 500
    }
    job_id = run_job(
        client,
        PLACES_NEAR,
        features=full_point_set({"Paris": paris}),
        distance=json.dumps({"distance": 500, "units": "esriKilometers"}),
    )

    found = result_value(client, PLACES_NEAR, job_id, "places")["features"]
    names = [f["attributes"]["NAME"] for f in found]
    assert sorted(names) == sorted(within)
    assert result_value(client, PLACES_NEAR, job_id, "count") == len(within) == 29
    # Geodesic distances, nearest first, within the 0.5 % a sphere is off by.
    distances = [f["attributes"]["distance_km"] for f in found]
    assert distances == sorted(distances)
    for name, distance in zip(names, distances, strict=True):
        assert distance == pytest.approx(within[name], rel=0.005, abs=0.001)


PROJECTED_SETS = {
    "points": {
        "geometryType": "esriGeometryPoint",
        "features": [
            {"geometry": {"x": 2.35, "y": 48.85}, "attributes": {"n": "Paris"}},
            {"geometry": {"x": -74.0, "y": 40.7}, "attributes": {"n": "New York"}},
            {"geometry": {"x": 151.2, "y": -33.87}, "attributes": {"n": "Sydney"}},
        ],
    },
    "line": {
        "geometryType": "esriGeometryPolyline",
        "features": [{"geometry": {"paths": [[[0, 0], [10, 10], [20, -5]]]}}],
    },
    "polygon": {
        "geometryType": "esriGeometryPolygon",
        "features": [
            {
                "geometry": {
                    "rings": [
                        [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
                        [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]],
                    ]
                }
            }
        ],
    },
}


@pytest.mark.parametrize("wkid", [3857, 102100])
@pytest.mark.parametrize("kind", PROJECTED_SETS)
def test_project_features_agrees_with_pyproj(
    client: Client, kind: str, wkid: int
) -> None:
    sent = {**PROJECTED_SETS[kind], "spatialReference": {"wkid": 4326}}
    job_id = run_job(client, PROJECT, features=json.dumps(sent), output_wkid=wkid)

    projected = result_value(client, PROJECT, job_id, "projected")
    assert projected["spatialReference"] == WEB_MERCATOR_JSON
    assert projected["geometryType"] == sent["geometryType"]
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    for got, given in zip(projected["features"], sent["features"], strict=True):
        expected = np.column_stack(
            to_mercator.transform(*np.array(vertices(given["geometry"])).T)
        )
        np.testing.assert_allclose(
            vertices(got["geometry"]), expected, rtol=0, atol=1e-6
        )


@pytest.fixture(scope="module")
def extracted(client: Client) -> tuple[str, dict[str, Any], str]:
    """A countries extract: its job id, its features and its GeoJSON file's URL."""
    area = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"rings": [list(AREA.exterior.coords)[::-1]]}}],
    }
    job_id = run_job(
        client, EXTRACT, layer="countries", area_of_interest=json.dumps(area)
    )
    features = result_value(client, EXTRACT, job_id, "features")
    url = result_value(client, EXTRACT, job_id, "geojson")["url"]
    return job_id, features, url


def test_extract_layer_clips_the_countries_it_meets(
    extracted: tuple[str, dict[str, Any], str],
) -> None:
    _, features, _ = extracted
    names = [f["attributes"]["NAME"] for f in features["features"]]
    assert sorted(names) == AREA_COUNTRIES == countries_meeting(AREA)
    for feature in features["features"]:
        clipped = shape(feature["geometry"])
        assert AREA.buffer(1e-9).contains(clipped)


def test_extract_layer_geojson_is_downloadable_from_its_absolute_url(
    server: ServerProcess, extracted: tuple[str, dict[str, Any], str]
) -> None:
    job_id, features, url = extracted
    assert url == (
        f"http://127.0.0.1:{server.port}/arcgis/rest/directories/arcgisjobs/"
        f"samples_naturalearth_gpserver/{job_id}/scratch/countries.geojson"
    )
    reply = httpx.get(url)
    assert reply.status_code == 200
    collection = reply.json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(features["features"])
    names = [f["properties"]["NAME"] for f in collection["features"]]
    assert sorted(names) == AREA_COUNTRIES


def test_a_jobs_own_files_are_not_served(
    server: ServerProcess, client: Client, extracted: tuple[str, dict[str, Any], str]
) -> None:
    job_id, _, _ = extracted
    relative = f"samples_naturalearth_gpserver/{job_id}/messages.jsonl"
    assert (server.data_dir / "arcgisjobs" / relative).is_file()
    assert client.get(f"rest/directories/arcgisjobs/{relative}") == {
        "error": {
            "code": 404,
            "message": f"file {relative} does not exist",
            "details": [],
        }
    }


@pytest.mark.parametrize(
    "tail",
    [
        "scratch/../messages.jsonl",
        "scratch/%2e%2e/messages.jsonl",
        "scratch/..%2fmessages.jsonl",
        "scratch/%2e%2e%2fmessages.jsonl",
        "scratch/../../../../gpserver.db",
        "scratch/%2e%2e/%2e%2e/%2e%2e/%2e%2e/gpserver.db",
    ],
)
def test_dot_dot_cannot_leave_the_scratch_folder(
    server: ServerProcess, extracted: tuple[str, dict[str, Any], str], tail: str
) -> None:
    # A job's messages.jsonl sits one level above its scratch folder; the jobs
    # directory's own parent holds the server's database.
    job_id, _, _ = extracted
    folder = server.data_dir / "arcgisjobs" / "samples_naturalearth_gpserver" / job_id
    assert (folder / "messages.jsonl").is_file()
    status, body = raw_get(
        server,
        "/arcgis/rest/directories/arcgisjobs/samples_naturalearth_gpserver/"
        f"{job_id}/{tail}?f=json",
    )
    assert status == 200
    answer = json.loads(body)
    assert "error" in answer, f"served {body[:60]!r}"
    assert answer["error"]["code"] == 404
