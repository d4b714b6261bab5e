"""The geoprocessing environment a request sets: ``context`` and ``env:*``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from pyproj import Transformer

from tests.e2e.gp import (
    WEB_MERCATOR_JSON,
    full_point_set,
    result_value,
    run_job,
    vertices,
)
from tests.e2e.reference import place
from tests.e2e.server import Client

BUFFER = "Samples/NaturalEarth/GPServer/BufferPoints"
POINTS = full_point_set(
    {
        name: place("ne_110m_populated_places", name)
        for name in ("Paris", "Nairobi", "Tokyo")
    }
)
DISTANCE = json.dumps({"distance": 100, "units": "esriKilometers"})


def _buffer(client: Client, **environment: str) -> dict[str, Any]:
    job_id = run_job(client, BUFFER, points=POINTS, distance=DISTANCE, **environment)
    buffered: dict[str, Any] = result_value(client, BUFFER, job_id, "buffered")
    return buffered


@pytest.fixture(scope="module")
def in_wgs84(client: Client) -> dict[str, Any]:
    return _buffer(client)


@pytest.mark.parametrize(
    "environment",
    [
        {"context": json.dumps({"outSR": 3857})},
        {"context": json.dumps({"outSR": {"wkid": 102100}})},
        {"env:outSR": "3857"},
        {"context": json.dumps({"processSR": 3857})},
        {"env:processSR": "102100"},
    ],
    ids=[
        "context-wkid",
        "context-object",
        "env-outSR",
        "context-processSR",
        "env-processSR",
    ],
)
def test_output_comes_back_in_the_requested_spatial_reference(
    client: Client, in_wgs84: dict[str, Any], environment: dict[str, str]
) -> None:
    buffered = _buffer(client, **environment)
    assert buffered["spatialReference"] == WEB_MERCATOR_JSON
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    for got, plain in zip(buffered["features"], in_wgs84["features"], strict=True):
        lons, lats = np.array(vertices(plain["geometry"])).T
        expected = np.column_stack(to_mercator.transform(lons, lats))
        np.testing.assert_allclose(
            vertices(got["geometry"]), expected, rtol=0, atol=1e-6
        )


def test_context_wins_over_env(client: Client) -> None:
    buffered = _buffer(
        client, context=json.dumps({"outSR": 3857}), **{"env:outSR": "4326"}
    )
    assert buffered["spatialReference"] == WEB_MERCATOR_JSON


def test_an_extent_keeps_only_the_features_it_meets(client: Client) -> None:
    around_paris = {"xmin": 0, "ymin": 5e6, "xmax": 1e6, "ymax": 7e6}
    extent = {**around_paris, "spatialReference": {"wkid": 3857}}
    buffered = _buffer(client, context=json.dumps({"extent": extent}))
    assert [f["attributes"]["name"] for f in buffered["features"]] == ["Paris"]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("context", "{outSR: 3857}", "expected a JSON object like"),
        ("context", "3857", "expected a JSON object like"),
        ("context", '{"outSR": "north"}', "outSR: expected a wkid like 4326"),
        ("context", '{"outSR": 999999}', "outSR: unknown spatial reference wkid"),
        ("env:outSR", "north", "expected a wkid like 4326"),
    ],
)
def test_a_bad_environment_is_a_400_naming_it(
    client: Client, name: str, value: str, reason: str
) -> None:
    answer = client.post(
        f"rest/services/{BUFFER}/submitJob",
        points=POINTS,
        distance=DISTANCE,
        **{name: value},
    )
    error = answer["error"]
    assert error["code"] == 400
    assert error["message"].startswith(f"Invalid value for parameter '{name}': ")
    assert reason in error["message"]
