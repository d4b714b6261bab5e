"""The Services Directory resources as a client sees them over HTTP."""

from __future__ import annotations

import httpx

from tests.e2e.server import Client, ServerProcess

DIAG = "Samples/Diagnostics/GPServer"


def test_catalog_lists_the_samples_folder(client: Client) -> None:
    assert client.get("rest/services") == {
        "currentVersion": 11.1,
        "folders": ["Samples"],
        "services": [],
    }
    assert client.get("rest/services/Samples") == {
        "currentVersion": 11.1,
        "folders": [],
        "services": [
            {"name": "Samples/Diagnostics", "type": "GPServer"},
            {"name": "Samples/DiagnosticsSync", "type": "GPServer"},
            {"name": "Samples/NaturalEarth", "type": "GPServer"},
        ],
    }


def test_gpserver_resource_has_what_clients_need(client: Client) -> None:
    service = client.get(f"rest/services/{DIAG}")
    assert service == {
        "currentVersion": 11.1,
        "serviceDescription": service["serviceDescription"],
        "tasks": ["Echo", "Wait", "Fail"],
        "executionType": "esriExecutionTypeAsynchronous",
        "resultMapServerName": "",
        "maximumRecords": 1000,
        "capabilities": "",
    }
    sync = client.get("rest/services/Samples/DiagnosticsSync/GPServer")
    assert sync["executionType"] == "esriExecutionTypeSynchronous"
    assert sync["tasks"] == ["Echo"]


def test_task_describes_each_parameter(client: Client) -> None:
    task = client.get(f"rest/services/{DIAG}/Wait")
    assert task["name"] == "Wait"
    assert task["executionType"] == "esriExecutionTypeAsynchronous"
    names = [(p["name"], p["dataType"], p["direction"]) for p in task["parameters"]]
    assert names[0] == ("seconds", "GPDouble", "esriGPParameterDirectionInput")
    for parameter in task["parameters"]:
        assert set(parameter) >= {
            "name",
            "dataType",
            "displayName",
            "description",
            "direction",
            "defaultValue",
            "parameterType",
            "category",
        }


def test_info_advertises_the_token_service_from_the_host_used(
    client: Client, server: ServerProcess
) -> None:
    info = client.get("rest/info")
    assert info["currentVersion"] == 11.1
    assert info["authInfo"] == {
        "isTokenBasedSecurity": True,
        "tokenServicesUrl": f"http://127.0.0.1:{server.port}/arcgis/tokens/",
        "shortLivedTokenValidity": 60,
    }
    assert "owningSystemUrl" not in info
    assert client.get("info") == info


def test_health_check(client: Client) -> None:
    assert client.get("rest/info/healthCheck") == {"success": True}


def test_trailing_slash_and_post_are_accepted(client: Client) -> None:
    assert client.get(f"rest/services/{DIAG}/Wait/")["name"] == "Wait"
    assert client.post(f"rest/services/{DIAG}/Wait/")["name"] == "Wait"


def test_pjson_is_indented_and_equal_to_json(server: ServerProcess) -> None:
    reply = httpx.get(f"{server.root}/rest/services?f=pjson")
    assert reply.text.startswith('{\n  "currentVersion"')
    assert reply.json() == httpx.get(f"{server.root}/rest/services?f=json").json()


def test_jsonp_callback_wraps_the_answer(server: ServerProcess) -> None:
    reply = httpx.get(f"{server.root}/rest/info/healthCheck?f=json&callback=cb.done")
    assert reply.headers["content-type"].startswith("application/javascript")
    assert reply.text == 'cb.done({"success":true});'


def test_a_callback_that_is_not_a_name_is_refused(server: ServerProcess) -> None:
    reply = httpx.get(f"{server.root}/rest/info?f=json&callback=alert(1)")
    assert reply.json()["error"]["code"] == 400
    assert "callback" in reply.json()["error"]["message"]


def test_cors_echoes_the_origin_and_answers_preflight(server: ServerProcess) -> None:
    origin = "http://127.0.0.1:9999"
    reply = httpx.get(f"{server.root}/rest/info?f=json", headers={"Origin": origin})
    assert reply.headers["access-control-allow-origin"] == origin
    preflight = httpx.options(
        f"{server.root}/rest/services/{DIAG}/Wait/submitJob",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin


def test_html_is_the_default_format(server: ServerProcess) -> None:
    reply = httpx.get(f"{server.root}/rest/services/{DIAG}")
    assert reply.headers["content-type"].startswith("text/html")
    assert "Samples/Diagnostics" in reply.text


def test_unknown_resources_are_not_found_errors(client: Client) -> None:
    cases = {
        "rest/services/Nope": "folder Nope does not exist",
        "rest/services/Samples/Nope/GPServer": "service Samples/Nope does not exist",
        f"rest/services/{DIAG}/Nope": (
            "task 'Nope' does not exist in service Samples/Diagnostics"
        ),
        f"rest/services/{DIAG}/Wait/jobs/jdeadbeef": "job jdeadbeef does not exist",
        f"rest/services/{DIAG}/Wait/jobs/j{'0' * 32}": (
            f"job j{'0' * 32} does not exist"
        ),
    }
    for path, message in cases.items():
        assert client.get(path) == {
            "error": {"code": 404, "message": message, "details": []}
        }, path
