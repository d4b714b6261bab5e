"""Bad requests get the REST error envelope naming what was wrong, never a 5xx."""

from __future__ import annotations

import httpx

from tests.e2e.server import Client, ServerProcess

DIAG = "Samples/Diagnostics/GPServer"


def test_a_malformed_number_names_the_parameter(server: ServerProcess) -> None:
    reply = httpx.post(
        f"{server.root}/rest/services/{DIAG}/Wait/submitJob",
        data={"seconds": "soon", "f": "json"},
    )
    assert reply.status_code == 200
    error = reply.json()["error"]
    assert error["code"] == 400
    assert "'seconds'" in error["message"]


def test_a_missing_required_parameter_is_named(client: Client) -> None:
    error = client.post(f"rest/services/{DIAG}/Wait/submitJob")["error"]
    assert error["code"] == 400
    assert "'seconds'" in error["message"]
    assert "required" in error["message"]


def test_execute_on_an_asynchronous_service_is_refused(client: Client) -> None:
    assert client.post(f"rest/services/{DIAG}/Wait/execute", seconds=1) == {
        "error": {
            "code": 400,
            "message": (
                "Samples/Diagnostics is an asynchronous service: use submitJob, "
                "not execute"
            ),
            "details": [],
        }
    }


def test_submit_job_on_a_synchronous_service_is_refused(client: Client) -> None:
    answer = client.post(
        "rest/services/Samples/DiagnosticsSync/GPServer/Echo/submitJob"
    )
    assert answer["error"]["message"] == (
        "Samples/DiagnosticsSync is a synchronous service: use execute, not submitJob"
    )


def test_a_json_body_is_refused_with_a_reason(server: ServerProcess) -> None:
    reply = httpx.post(
        f"{server.root}/rest/services/{DIAG}/Wait/submitJob?f=json",
        json={"seconds": 1},
    )
    assert reply.status_code == 200
    assert reply.json()["error"]["message"] == (
        "Request body must be form-encoded (application/x-www-form-urlencoded), "
        "not JSON"
    )


def test_results_of_an_unknown_parameter_are_not_found(client: Client) -> None:
    job_id = client.submit(f"{DIAG}/Wait", seconds=0)
    client.wait(f"{DIAG}/Wait", job_id)
    answer = client.get(f"rest/services/{DIAG}/Wait/jobs/{job_id}/results/nope")
    assert answer == {
        "error": {
            "code": 404,
            "message": f"job {job_id} has no result parameter 'nope'",
            "details": [],
        }
    }


def test_a_job_is_only_found_under_its_own_task(client: Client) -> None:
    job_id = client.submit(f"{DIAG}/Wait", seconds=0)
    answer = client.get(f"rest/services/{DIAG}/Fail/jobs/{job_id}")
    assert answer["error"]["code"] == 404
