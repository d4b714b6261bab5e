"""Every GP data type through Samples/Diagnostics/Echo and back, over HTTP."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from gpserver.web.rest.routes import QUICK_SUBMIT_BYTES
from tests.e2e.gp import result_value, run_job
from tests.e2e.server import Client

ECHO = "Samples/Diagnostics/GPServer/Echo"
ECHO_SYNC = "Samples/DiagnosticsSync/GPServer/Echo"

NEW_YEAR_2008 = 1199145600000  # 2008-01-01T00:00:00Z in epoch milliseconds
FILE_URL = "http://127.0.0.1:9/data/stations.csv"
WGS84_OUT = {"wkid": 4326, "latestWkid": 4326}
OBJECTID = {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}
WHEN = {"name": "when", "type": "esriFieldTypeDate", "alias": "When"}
LABEL = {"name": "label", "type": "esriFieldTypeString", "alias": "label", "length": 20}

FEATURE_SET = {
    "geometryType": "esriGeometryPolyline",
    "spatialReference": {"wkid": 4326},
    "fields": [WHEN, LABEL],
    "features": [
        {
            "geometry": {"paths": [[[2.35, 48.85], [13.4, 52.52]]]},
            "attributes": {"when": NEW_YEAR_2008, "label": "Paris-Berlin"},
        }
    ],
}
RECORD_SET = {
    "fields": [WHEN, LABEL],
    "features": [
        {"attributes": {"when": -86400000, "label": "eve"}},
        {"attributes": {"when": None, "label": None}},
    ],
}

# The form text a client sends for each input, as JSON text where the type is JSON.
INPUTS = {
    "in_string": "héllo, world",
    "in_long": "-7",
    "in_double": "2.25",
    "in_boolean": "true",
    "in_date": str(NEW_YEAR_2008),
    "in_linear_unit": json.dumps({"distance": 2.5, "units": "esriKilometers"}),
    "in_feature_set": json.dumps(FEATURE_SET),
    "in_record_set": json.dumps(RECORD_SET),
    "in_data_file": json.dumps({"url": FILE_URL}),
    "in_multi_string": json.dumps(["a", "b, c"]),
    "in_multi_long": "[1, 2, 3]",
    "in_multi_double": "[1.5, 2]",
    "in_multi_boolean": "[true, false]",
    "in_multi_date": json.dumps([0, NEW_YEAR_2008]),
    "in_multi_linear_unit": json.dumps(
        [{"distance": 1, "units": "esriMiles"}, {"distance": 3, "units": "esriFeet"}]
    ),
    "in_multi_data_file": json.dumps([{"url": FILE_URL}]),
}

# How each input is stored and shown under inputs/<name>.
CANONICAL = {
    "in_string": ("GPString", "héllo, world"),
    "in_long": ("GPLong", -7),
    "in_double": ("GPDouble", 2.25),
    "in_boolean": ("GPBoolean", True),
    "in_date": ("GPDate", NEW_YEAR_2008),
    "in_linear_unit": (
        "GPLinearUnit",
        {"distance": 2.5, "units": "esriKilometers"},
    ),
    "in_feature_set": (
        "GPFeatureRecordSetLayer",
        {
            "displayFieldName": "",
            "geometryType": "esriGeometryPolyline",
            "spatialReference": WGS84_OUT,
            "fields": [WHEN, LABEL],
            "features": [
                {
                    "geometry": {"paths": [[[2.35, 48.85], [13.4, 52.52]]]},
                    "attributes": {"when": NEW_YEAR_2008, "label": "Paris-Berlin"},
                }
            ],
            "exceededTransferLimit": False,
        },
    ),
    "in_record_set": (
        "GPRecordSet",
        {
            "fields": [WHEN, LABEL],
            "features": [
                {"attributes": {"when": -86400000, "label": "eve"}},
                {"attributes": {"when": None, "label": None}},
            ],
            "exceededTransferLimit": False,
        },
    ),
    "in_data_file": ("GPDataFile", {"url": FILE_URL}),
    "in_multi_string": ("GPMultiValue:GPString", ["a", "b, c"]),
    "in_multi_long": ("GPMultiValue:GPLong", [1, 2, 3]),
    "in_multi_double": ("GPMultiValue:GPDouble", [1.5, 2.0]),
    "in_multi_boolean": ("GPMultiValue:GPBoolean", [True, False]),
    "in_multi_date": ("GPMultiValue:GPDate", [0, NEW_YEAR_2008]),
    "in_multi_linear_unit": (
        "GPMultiValue:GPLinearUnit",
        [
            {"distance": 1.0, "units": "esriMiles"},
            {"distance": 3.0, "units": "esriFeet"},
        ],
    ),
    "in_multi_data_file": ("GPMultiValue:GPDataFile", [{"url": FILE_URL}]),
}


def _output_value(data_type: str, value: Any) -> Any:
    """An output is its input, with the object ids a result feature set gets."""
    if data_type not in ("GPFeatureRecordSetLayer", "GPRecordSet"):
        return value
    features = [
        {**feature, "attributes": {"OBJECTID": index, **feature["attributes"]}}
        for index, feature in enumerate(value["features"], start=1)
    ]
    return {**value, "fields": [OBJECTID, *value["fields"]], "features": features}


# Every result, in the order the task declares its outputs.
RESULTS = [
    {
        "paramName": "out_" + name.removeprefix("in_"),
        "dataType": data_type,
        "value": _output_value(data_type, value),
    }
    for name, (data_type, value) in CANONICAL.items()
]


def _submit_with_get(client: Client, task: str, inputs: dict[str, str]) -> str:
    reply = httpx.get(
        f"{client.root}/rest/services/{task}/submitJob",
        params={**inputs, "f": "json"},
    )
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["jobStatus"] == "esriJobSubmitted", answer
    job_id: str = answer["jobId"]
    assert client.wait(task, job_id)["jobStatus"] == "esriJobSucceeded"
    return job_id


@pytest.fixture(scope="module")
def posted(client: Client) -> str:
    """The id of an Echo job given every input by POST."""
    return run_job(client, ECHO, **INPUTS)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_submit_job_echoes_every_type(client: Client, posted: str, method: str) -> None:
    job_id = posted if method == "POST" else _submit_with_get(client, ECHO, INPUTS)

    job = client.get(f"rest/services/{ECHO}/jobs/{job_id}")
    assert job["results"] == {
        r["paramName"]: {"paramUrl": f"results/{r['paramName']}"} for r in RESULTS
    }
    assert job["inputs"] == {n: {"paramUrl": f"inputs/{n}"} for n in INPUTS}
    results = [client.result(ECHO, job_id, r["paramName"]) for r in RESULTS]
    assert results == RESULTS


def test_inputs_show_the_canonical_value(client: Client, posted: str) -> None:
    for name, (data_type, value) in CANONICAL.items():
        shown = client.get(f"rest/services/{ECHO}/jobs/{posted}/inputs/{name}")
        assert shown == {"paramName": name, "dataType": data_type, "value": value}


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_execute_echoes_every_type_at_once(client: Client, method: str) -> None:
    url = f"{client.root}/rest/services/{ECHO_SYNC}/execute"
    form = {**INPUTS, "f": "json"}
    if method == "POST":
        reply = httpx.post(url, data=form)
    else:
        reply = httpx.get(url, params=form)

    assert reply.status_code == 200
    answer = reply.json()
    assert set(answer) == {"results", "messages"}
    assert answer["results"] == RESULTS
    assert isinstance(answer["messages"], list)


def _echoed(client: Client, name: str, sent: str) -> Any:
    answer = client.post(f"rest/services/{ECHO_SYNC}/execute", **{name: sent})
    out = "out_" + name.removeprefix("in_")
    (result,) = [r for r in answer["results"] if r["paramName"] == out]
    return result["value"]


# What clients other than a careful JSON writer send (see clients.md), and what it
# must mean.
ALTERNATIVES = [
    ("in_multi_string", "a,b", ["a", "b"]),
    ("in_multi_string", "['a', 'b']", ["a", "b"]),
    ("in_multi_long", "1, 2", [1, 2]),
    ("in_multi_boolean", "[True, False]", [True, False]),
    ("in_multi_date", f"0,{NEW_YEAR_2008}", [0, NEW_YEAR_2008]),
    ("in_boolean", "True", True),
    ("in_boolean", "False", False),
    ("in_string", "", None),
    ("in_long", "", None),
    ("in_double", "null", None),
    ("in_multi_string", "", None),
    ("in_feature_set", "", None),
    ("in_record_set", "", None),
    ("in_data_file", '{"url": ""}', None),
    ("in_data_file", FILE_URL, {"url": FILE_URL}),
    ("in_date", "2008-01-01T00:00:00", NEW_YEAR_2008),
    (
        "in_date",
        json.dumps({"date": "01/01/2008", "format": "MM/dd/yyyy"}),
        NEW_YEAR_2008,
    ),
    (
        "in_linear_unit",
        "2.5 Kilometers",
        {"distance": 2.5, "units": "esriKilometers"},
    ),
    ("in_linear_unit", '{"distance": 3}', {"distance": 3.0, "units": "esriMeters"}),
]


@pytest.mark.parametrize(("name", "sent", "expected"), ALTERNATIVES)
def test_alternative_encodings_mean_the_same(
    client: Client, name: str, sent: str, expected: Any
) -> None:
    assert _echoed(client, name, sent) == expected


def test_alternative_encodings_are_stored_canonically(client: Client) -> None:
    sent = {
        "in_multi_string": "['a', 'b']",
        "in_multi_long": "1,2",
        "in_boolean": "True",
        "in_string": "",
        "in_data_file": '{"url": ""}',
        "in_date": "2008-01-01T00:00:00",
        "in_linear_unit": "2.5 Kilometers",
    }
    job_id = run_job(client, ECHO, **sent)
    shown = {
        name: client.get(f"rest/services/{ECHO}/jobs/{job_id}/inputs/{name}")["value"]
        for name in sent
    }
    assert shown == {
        "in_multi_string": ["a", "b"],
        "in_multi_long": [1, 2],
        "in_boolean": True,
        "in_string": None,
        "in_data_file": None,
        "in_date": NEW_YEAR_2008,
        "in_linear_unit": {"distance": 2.5, "units": "esriKilometers"},
    }


def test_feature_sets_from_other_clients_are_completed(client: Client) -> None:
    # esri-leaflet-gp: the spatial reference only on each geometry, no fields.
    leaflet = {
        "geometryType": "esriGeometryPoint",
        "features": [
            {"geometry": {"x": 1, "y": 2, "spatialReference": {"wkid": 4326}}}
        ],
    }
    assert _echoed(client, "in_feature_set", json.dumps(leaflet)) == {
        "displayFieldName": "",
        "geometryType": "esriGeometryPoint",
        "spatialReference": WGS84_OUT,
        "fields": [OBJECTID],
        "features": [{"geometry": {"x": 1.0, "y": 2.0}, "attributes": {"OBJECTID": 1}}],
        "exceededTransferLimit": False,
    }


def test_rings_come_back_in_esri_order(client: Client) -> None:
    # Counter-clockwise outer ring, clockwise hole: the reverse of Esri JSON's rule.
    polygon = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "features": [
            {
                "geometry": {
                    "rings": [
                        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                        [[2, 2], [2, 4], [4, 4], [4, 2], [2, 2]],
                    ]
                }
            }
        ],
    }
    echoed = _echoed(client, "in_feature_set", json.dumps(polygon))
    assert echoed["features"][0]["geometry"] == {
        "rings": [
            [[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0], [0.0, 0.0]],
            [[2.0, 2.0], [4.0, 2.0], [4.0, 4.0], [2.0, 4.0], [2.0, 2.0]],
        ]
    }


def _body_size(inputs: dict[str, str]) -> int:
    """The bytes of the form Client.post sends for these inputs."""
    return len(urlencode({**inputs, "f": "json"}).encode())


def test_a_submit_above_16_kb_of_text_succeeds(client: Client) -> None:
    # Such a body is read and checked in a thread, not on the event loop.
    text = "".join(f"{n:05d} Zürich → 東京 ✓\n" for n in range(1000))
    assert _body_size({"in_string": text}) > QUICK_SUBMIT_BYTES

    job_id = run_job(client, ECHO, in_string=text)

    assert result_value(client, ECHO, job_id, "out_string") == text
    assert client.get(f"rest/services/{ECHO}/jobs/{job_id}/inputs/in_string") == {
        "paramName": "in_string",
        "dataType": "GPString",
        "value": text,
    }


def test_a_submit_of_a_feature_set_above_16_kb_succeeds(client: Client) -> None:
    names = {"name": "name", "type": "esriFieldTypeString", "alias": "name"}
    features = [
        {
            "geometry": {"x": n / 4 - 180, "y": n / 8 - 60},
            "attributes": {"name": f"p{n}"},
        }
        for n in range(400)
    ]
    points = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 4326},
        "fields": [names],
        "features": features,
    }
    sent = json.dumps(points)
    assert _body_size({"in_feature_set": sent}) > QUICK_SUBMIT_BYTES

    job_id = run_job(client, ECHO, in_feature_set=sent)

    # Features sent without an object id get one, numbered from 1.
    assert result_value(client, ECHO, job_id, "out_feature_set") == {
        "displayFieldName": "",
        "geometryType": "esriGeometryPoint",
        "spatialReference": WGS84_OUT,
        "fields": [OBJECTID, names],
        "features": [
            {
                "geometry": {"x": n / 4 - 180, "y": n / 8 - 60},
                "attributes": {"OBJECTID": n + 1, "name": f"p{n}"},
            }
            for n in range(400)
        ],
        "exceededTransferLimit": False,
    }
