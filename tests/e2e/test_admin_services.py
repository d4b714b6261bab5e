"""The services resources of the Administrator API, against a real server.

The last test restarts the module's server; it stays last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.admin import Admin, start_site
from tests.e2e.server import Client, ServerProcess, site_instances

CONFIG = """
[server]
samples = false

[[services]]
name = "Echo"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"
description = "Echo at the root."
# Only listed, never run: no worker to start.
minInstancesPerNode = 0

[[services]]
folder = "Tests"
name = "Editable"
toolbox = "gpserver.samples.diagnostics"
description = "Edited by the tests."

[[services]]
folder = "Tests"
name = "Stoppable"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1

[[services]]
folder = "Tests"
name = "Limits"
toolbox = "gpserver.samples.diagnostics"
"""

EDITABLE = "services/Tests/Editable.GPServer"
STOPPABLE = "services/Tests/Stoppable.GPServer"
EDITABLE_WAIT = "Tests/Editable/GPServer/Wait"
STOPPABLE_WAIT = "Tests/Stoppable/GPServer/Wait"
LIMITS_WAIT = "Tests/Limits/GPServer/Wait"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("admin-services"), CONFIG)
    yield process
    process.stop()


@pytest.fixture
def admin(site: ServerProcess) -> Admin:
    # Signed in anew for each test: the last one restarts the server.
    return Admin(site.root)


@pytest.fixture(scope="module")
def client(site: ServerProcess) -> Client:
    return Client(site.root)


def test_root_lists_root_services_and_folders(admin: Admin) -> None:
    assert admin.get("services") == {
        "folderName": "/",
        "description": "Root folder",
        "webEncrypted": False,
        "isDefault": True,
        "folders": ["Tests"],
        "services": [
            {
                "folderName": "/",
                "serviceName": "Echo",
                "type": "GPServer",
                "description": "Echo at the root.",
            }
        ],
    }


def test_root_detail_adds_the_folders_detail(admin: Admin) -> None:
    answer = admin.get("services", detail="true")

    assert answer["foldersDetail"] == [
        {
            "folderName": "Tests",
            "description": "",
            "webEncrypted": False,
            "isDefault": False,
        }
    ]


def test_folder_lists_its_services(admin: Admin) -> None:
    assert admin.get("services/Tests") == {
        "folderName": "Tests",
        "description": "",
        "webEncrypted": False,
        "isDefault": False,
        "folders": [],
        "services": [
            {
                "folderName": "Tests",
                "serviceName": "Editable",
                "type": "GPServer",
                "description": "Edited by the tests.",
            },
            {
                "folderName": "Tests",
                "serviceName": "Limits",
                "type": "GPServer",
                "description": "",
            },
            {
                "folderName": "Tests",
                "serviceName": "Stoppable",
                "type": "GPServer",
                "description": "",
            },
        ],
    }


def test_unknown_folder_is_not_found(admin: Admin) -> None:
    assert admin.get("services/Nowhere") == {
        "status": "error",
        "messages": ["folder Nowhere does not exist"],
        "code": 404,
    }


def test_service_json_names_its_jobs_directory_and_execution_type(
    site: ServerProcess, admin: Admin
) -> None:
    editable = admin.get(EDITABLE)
    echo = admin.get("services/Echo.GPServer")

    assert editable["serviceName"] == "Editable"
    assert editable["type"] == "GPServer"
    assert editable["configuredState"] == "STARTED"
    assert editable["properties"]["jobsDirectory"] == str(
        site.data_dir.resolve() / "arcgisjobs"
    )
    assert editable["properties"]["executionType"] == "Asynchronous"
    assert echo["properties"]["executionType"] == "Synchronous"
    assert echo["properties"]["toolbox"] == "gpserver.samples.diagnostics_sync"


def test_status_says_started(admin: Admin) -> None:
    assert admin.get(f"{STOPPABLE}/status") == {
        "configuredState": "STARTED",
        "realTimeState": "STARTED",
    }


def test_stop_refuses_new_jobs_and_keeps_the_queued_ones(
    admin: Admin, client: Client
) -> None:
    # One instance per node: a job for each keeps them all busy.
    running = [
        client.submit(STOPPABLE_WAIT, seconds=120) for _ in range(site_instances(1))
    ]
    for job_id in running:
        client.wait_status(STOPPABLE_WAIT, job_id, "esriJobExecuting")
    queued = client.submit(STOPPABLE_WAIT, seconds=0)
    client.wait_status(STOPPABLE_WAIT, queued, "esriJobWaiting")

    assert admin.post(f"{STOPPABLE}/stop") == {"status": "success"}

    assert admin.get(f"{STOPPABLE}/status") == {
        "configuredState": "STOPPED",
        "realTimeState": "STOPPED",
    }
    refused = client.post(f"rest/services/{STOPPABLE_WAIT}/submitJob", seconds=0)
    assert refused == {
        "error": {
            "code": 503,
            "message": "Service Tests/Stoppable is stopped; an administrator can "
            "start it",
            "details": [],
        }
    }
    # The instances the running jobs held become free; a stopped service does not
    # give them the queued job.
    for job_id in running:
        client.post(f"rest/services/{STOPPABLE_WAIT}/jobs/{job_id}/cancel")
        client.wait_status(STOPPABLE_WAIT, job_id, "esriJobCancelled")
    time_to_claim = 1.0
    with pytest.raises(AssertionError, match="never became esriJobExecuting"):
        client.wait_status(
            STOPPABLE_WAIT, queued, "esriJobExecuting", timeout=time_to_claim
        )

    assert admin.post(f"{STOPPABLE}/start") == {"status": "success"}

    done = client.wait(STOPPABLE_WAIT, queued)
    assert done["jobStatus"] == "esriJobSucceeded"
    assert admin.get(f"{STOPPABLE}/status")["configuredState"] == "STARTED"


def test_edit_with_fields_takes_effect_at_once(admin: Admin, client: Client) -> None:
    answer = admin.post(
        f"{EDITABLE}/edit",
        maxInstancesPerNode="1",
        maxUsageTime="120",
        maximumRecords="5",
        showMessages="Error",
    )

    assert answer == {"status": "success"}
    service = admin.get(EDITABLE)
    assert (service["maxInstancesPerNode"], service["maxUsageTime"]) == (1, 120)
    assert service["properties"]["maximumRecords"] == "5"
    assert service["properties"]["showMessages"] == "Error"
    assert client.get("rest/services/Tests/Editable/GPServer")["maximumRecords"] == 5
    # One instance per node now: the next job waits for one of these.
    first = [
        client.submit(EDITABLE_WAIT, seconds=120) for _ in range(site_instances(1))
    ]
    for job_id in first:
        client.wait_status(EDITABLE_WAIT, job_id, "esriJobExecuting")
    second = client.submit(EDITABLE_WAIT, seconds=0)
    client.wait_status(EDITABLE_WAIT, second, "esriJobWaiting")
    for job_id in first:
        client.post(f"rest/services/{EDITABLE_WAIT}/jobs/{job_id}/cancel")
    job = client.wait(EDITABLE_WAIT, second)
    assert job["jobStatus"] == "esriJobSucceeded"
    assert job["messages"] == []


def test_edit_with_service_json_takes_effect_at_once(
    admin: Admin, client: Client
) -> None:
    service = admin.get(EDITABLE)
    service["maxInstancesPerNode"] = 2
    service["maxUsageTime"] = 300
    service["properties"]["maximumRecords"] = "7"
    service["properties"]["showMessages"] = "Info"

    answer = admin.post(f"{EDITABLE}/edit", service=json.dumps(service))

    assert answer == {"status": "success"}
    assert admin.get(EDITABLE) == service
    assert client.get("rest/services/Tests/Editable/GPServer")["maximumRecords"] == 7
    job = client.wait(EDITABLE_WAIT, client.submit(EDITABLE_WAIT, seconds=0))
    assert [m["description"] for m in job["messages"]][1] == "Waited 0 seconds."


def test_edit_leaves_running_jobs_the_max_usage_time_they_started_with(
    admin: Admin, client: Client
) -> None:
    # ServicePool.reconfigure promises that running jobs keep their limits; the
    # pool's watch reads the edited maxUsageTime instead, so this job is stopped
    # as timed out the moment the edit lands. Known failure, reported.
    job_id = client.submit(LIMITS_WAIT, seconds=2.5)
    client.wait_status(LIMITS_WAIT, job_id, "esriJobExecuting")

    admin.post("services/Tests/Limits.GPServer/edit", maxUsageTime="1")

    assert client.wait(LIMITS_WAIT, job_id)["jobStatus"] == "esriJobSucceeded"


@pytest.mark.parametrize(
    ("field", "value", "messages"),
    [
        (
            "maxInstancesPerNode",
            "many",
            ["maxInstancesPerNode must be an integer, not 'many'"],
        ),
        ("maxUsageTime", "soon", ["maxUsageTime must be a number, not 'soon'"]),
        (
            "maximumRecords",
            "-3",
            [
                "Unable to edit service Tests/Editable",
                "service.maximumRecords: must be at least 1, got -3",
            ],
        ),
        (
            "showMessages",
            "Loud",
            [
                "Unable to edit service Tests/Editable",
                "service.showMessages: 'Loud' is not one of "
                "('None', 'Error', 'Warning', 'Info')",
            ],
        ),
    ],
)
def test_bad_edit_value_names_the_key(
    admin: Admin, field: str, value: str, messages: list[str]
) -> None:
    before = admin.get(EDITABLE)

    answer = admin.post(f"{EDITABLE}/edit", **{field: value})

    assert answer == {"status": "error", "messages": messages, "code": 400}
    assert admin.get(EDITABLE) == before


def test_bad_service_json_is_refused(admin: Admin) -> None:
    answer = admin.post(f"{EDITABLE}/edit", service="{not json")

    assert answer == {
        "status": "error",
        "messages": [
            "Invalid value for parameter 'service': expected the service's JSON"
        ],
        "code": 400,
    }


def test_edit_without_changes_says_what_may_change(admin: Admin) -> None:
    answer = admin.post(f"{EDITABLE}/edit")

    assert answer["code"] == 400
    assert answer["messages"] == [
        "Nothing to edit: give service=<JSON> or one of description, "
        "minInstancesPerNode, maxInstancesPerNode, maxUsageTime, maxWaitTime, "
        "maximumRecords, showMessages"
    ]


def test_edits_and_stop_are_kept_across_a_restart(
    site: ServerProcess, admin: Admin
) -> None:
    admin.post(f"{EDITABLE}/edit", maximumRecords="9", showMessages="Warning")
    admin.post(f"{STOPPABLE}/stop")
    before = admin.get(EDITABLE)

    site.stop()
    site.start()

    again = Admin(site.root)
    assert again.get(EDITABLE) == before
    assert (before["maxInstancesPerNode"], before["maxUsageTime"]) == (2, 300)
    assert before["properties"]["maximumRecords"] == "9"
    assert before["properties"]["showMessages"] == "Warning"
    client = Client(site.root)
    assert client.get("rest/services/Tests/Editable/GPServer")["maximumRecords"] == 9
    assert again.get(f"{STOPPABLE}/status")["configuredState"] == "STOPPED"
