"""The sample services driven by @esri/arcgis-rest-request under Node.js.

node/gp-client.mjs makes the requests and prints what it got as one JSON object; it
needs `node` on PATH and the packages of node/package-lock.json installed
(`make install-test` runs `npm ci` there).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import ServerProcess

NODE_PROJECT = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def report(server: ServerProcess) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is not on PATH; the arcgis-rest-js tests need Node.js 20"
    assert (NODE_PROJECT / "node_modules").is_dir(), (
        f"run `npm ci` in {NODE_PROJECT} (or `make install-test`) first"
    )

    finished = subprocess.run(
        [node, "gp-client.mjs", server.root],
        cwd=NODE_PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    answer: dict[str, Any] = json.loads(finished.stdout)
    return answer


def test_reads_the_gpserver_directory(report: dict[str, Any]) -> None:
    assert report["service"] == {
        "tasks": ["Echo", "Wait", "Fail"],
        "executionType": "esriExecutionTypeAsynchronous",
    }


def test_wait_job_is_submitted_polled_and_its_result_read(
    report: dict[str, Any],
) -> None:
    assert report["wait"] == {
        "submitted": "esriJobSubmitted",
        "finished": "esriJobSucceeded",
        "results": {"waited": {"paramUrl": "results/waited"}},
        "waited": {"paramName": "waited", "dataType": "GPDouble", "value": 1},
    }


def test_execute_reads_a_multivalue_joined_with_commas(report: dict[str, Any]) -> None:
    assert report["echoJoined"] == {
        "out_string": "héllo, world",
        "out_multi_string": ["a", "b", "c"],
    }


def test_execute_reads_a_multivalue_sent_as_a_json_array(
    report: dict[str, Any],
) -> None:
    # The script sends in_string as "", which the server takes as "not given".
    assert report["echoJson"] == {"out_string": None, "out_multi_string": ["a,b", "c"]}


def test_error_answer_throws_arcgis_request_error(report: dict[str, Any]) -> None:
    message = "task 'NoSuchTask' does not exist in service Samples/Diagnostics"

    assert report["unknownTask"] == {
        "name": "ArcGISRequestError",
        "isArcGISRequestError": True,
        "code": 404,
        "message": f"404: {message}",
        "originalMessage": message,
    }
