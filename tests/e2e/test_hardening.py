"""Faults a new user found by trying to break the server, kept from coming back."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import httpx
import pytest

from tests.e2e.server import Client, ServerProcess, free_port

WAIT = "Samples/Diagnostics/GPServer/Wait"
SYNC_ECHO = "Samples/DiagnosticsSync/GPServer/Echo"


@pytest.mark.embedded_only(
    reason="the data-directory lock guards the embedded SQLite store; distributed "
    "web nodes share a data directory on purpose"
)
def test_a_second_server_on_the_same_data_dir_is_refused_and_harms_nothing(
    own_server: ServerProcess,
) -> None:
    own_server.start()
    client = Client(own_server.root)
    job_id = client.submit(WAIT, seconds=2)
    client.wait_status(WAIT, job_id, "esriJobExecuting")

    second = subprocess.run(
        [
            *(sys.executable, "-m", "gpserver.cli", "serve"),
            *("--port", str(free_port()), "--data-dir", str(own_server.data_dir)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert second.stderr.strip().startswith(
        f"gpserver: configuration error: {own_server.data_dir}: the data directory "
        "is in use by gpserver pid "
    )
    assert client.wait(WAIT, job_id)["jobStatus"] == "esriJobSucceeded"


def test_the_data_directory_is_private_to_its_owner(server: ServerProcess) -> None:
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700


def test_a_method_no_route_takes_gets_the_envelope(server: ServerProcess) -> None:
    reply = httpx.put(f"{server.root}/rest/services/{WAIT}/submitJob?f=json")
    assert reply.json() == {
        "error": {
            "code": 405,
            "message": (
                f"Method Not Allowed: PUT /arcgis/rest/services/{WAIT}/submitJob"
            ),
            "details": [],
        }
    }
    admin = httpx.put(f"{server.root}/admin/services?f=json")
    assert admin.json()["status"] == "error"
    assert admin.json()["code"] == 405


def test_an_unknown_admin_path_answers_in_the_admin_envelope(
    server: ServerProcess,
) -> None:
    reply = httpx.get(f"{server.root}/admin/nothing/here?f=json")
    assert reply.json() == {
        "status": "error",
        "messages": ["no resource at /arcgis/admin/nothing/here"],
        "code": 404,
    }


def test_a_field_of_several_megabytes_is_read(server: ServerProcess) -> None:
    points = [{"geometry": {"x": i % 180, "y": i % 80}} for i in range(60_000)]
    in_set = json.dumps({"geometryType": "esriGeometryPoint", "features": points})
    assert len(in_set) > 2**20  # Starlette's own limit for one field
    reply = httpx.post(
        f"{server.root}/rest/services/{SYNC_ECHO}/execute",
        data={"in_string": "big", "in_feature_set": in_set, "f": "json"},
        timeout=120,
    )
    results = {r["paramName"]: r["value"] for r in reply.json()["results"]}
    assert results["out_string"] == "big"
    # 60,000 features are more than maximumRecords (1000): the documented rule.
    assert results["out_feature_set"]["features"] == []
    assert results["out_feature_set"]["exceededTransferLimit"] is True
