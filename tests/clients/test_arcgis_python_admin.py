"""The Administrator API driven by the ArcGIS API for Python (`arcgis.gis.server`).

``Server`` signs in with the REST token service and sends every admin request
through its ``Connection`` (``server._con``); service jobs live in
``arcgis/gis/server/admin/_services.py`` (``JobManager``, ``Job``). The client has
no helper for ``jobs/statistics`` or ``jobs/<id>/delete`` (its ``Job.delete``
posts ``cancel``), so those go through the connection, as a script would.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arcgis.gis.server import Server

from tests.e2e.admin import ADMIN_PASSWORD, ADMIN_USERNAME, sign_in, start_site
from tests.e2e.server import FINISHED, Client, ServerProcess

CONFIG = """
[server]
samples = true

[[services]]
folder = "Queue"
name = "Single"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
"""

WAIT = "Samples/Diagnostics/GPServer/Wait"
FAIL = "Samples/Diagnostics/GPServer/Fail"
SINGLE_WAIT = "Queue/Single/GPServer/Wait"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("python-admin"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(site: ServerProcess) -> Client:
    return Client(site.root)


@pytest.fixture
def server(site: ServerProcess, loopback_only: None) -> Server:
    # Made inside each test, so the loopback guard watches the client sign in.
    return Server(
        url=f"{site.root}/admin",
        token_url=f"{site.root}/tokens/generateToken",
        username=ADMIN_USERNAME,
        password=ADMIN_PASSWORD,
        all_ssl=False,
    )


def _service(server: Server, folder: str, name: str) -> Any:
    found = [s for s in server.services.list(folder=folder) if _name(s) == name]
    assert len(found) == 1, f"{folder}/{name} is not listed"
    return found[0]


def _name(service: Any) -> str:
    return str(service.properties["serviceName"])


def _wait_admin(job: Any, timeout: float = 30) -> str:
    """The job's status once finished, read through the client's own Job."""
    deadline = time.monotonic() + timeout
    while True:
        # Job caches its properties; a fresh Job reads them again.
        status = str(type(job)(url=job._url, con=job._con).properties["status"])
        if status in FINISHED or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


@dataclass(frozen=True)
class History:
    anonymous: list[str]
    mine: list[str]
    failed: list[str]
    start: datetime
    end: datetime


@pytest.fixture(scope="module")
def history(client: Client, site: ServerProcess) -> History:
    """12 succeeded jobs of Samples/Diagnostics, one of them the admin's, and 1 failed.

    Twelve is more than the client's page of ten, so search has to follow nextStart.
    """
    start = datetime.now(UTC) - timedelta(seconds=1)
    token = sign_in(site.root)
    anonymous = [client.submit(WAIT, seconds=0) for _ in range(11)]
    mine = [client.submit(WAIT, seconds=0, token=token)]
    failed = [client.submit(FAIL)]
    for job_id in anonymous:
        client.wait(WAIT, job_id)
    client.wait(FAIL, failed[0])
    deadline = time.monotonic() + 30
    while _rest_status(client, mine[0], token) not in FINISHED:
        assert time.monotonic() < deadline, "the administrator's job did not end"
        time.sleep(0.05)
    end = datetime.now(UTC) + timedelta(seconds=1)
    return History(anonymous, mine, failed, start, end)


def _rest_status(client: Client, job_id: str, token: str) -> str:
    job = client.get(f"rest/services/{WAIT}/jobs/{job_id}", token=token)
    return str(job["jobStatus"])


def _ids(jobs: list[Any]) -> list[str]:
    return [job._url.rsplit("/", 1)[-1] for job in jobs]


def test_services_list_of_a_folder(server: Server) -> None:
    services = server.services.list(folder="Samples")

    assert sorted(_name(s) for s in services) == [
        "Diagnostics",
        "DiagnosticsSync",
        "NaturalEarth",
    ]
    assert all(s.properties["type"] == "GPServer" for s in services)


def test_jobs_search_follows_the_pages(server: Server, history: History) -> None:
    start, end = history.start, history.end
    jobs = _service(server, "Samples", "Diagnostics").jobs

    found = jobs.search(start_time=start, end_time=end)

    everything = history.anonymous + history.mine + history.failed
    assert _ids(found) == everything


def test_jobs_search_filters_by_status_user_and_machine(
    server: Server, history: History
) -> None:
    start, end = history.start, history.end
    jobs = _service(server, "Samples", "Diagnostics").jobs

    failed = jobs.search(start_time=start, end_time=end, status="esriJobFailed")
    mine = jobs.search(start_time=start, end_time=end, username=ADMIN_USERNAME)
    here = jobs.search(start_time=start, end_time=end, machine=socket.gethostname())
    elsewhere = jobs.search(start_time=start, end_time=end, machine="elsewhere")

    assert _ids(failed) == history.failed
    assert _ids(mine) == history.mine
    assert len(here) == 13
    assert elsewhere == []


def test_job_properties_are_the_admin_job_json(
    server: Server, site: ServerProcess, history: History
) -> None:
    start, end = history.start, history.end
    jobs = _service(server, "Samples", "Diagnostics").jobs
    job = jobs.search(start_time=start, end_time=end, username=ADMIN_USERNAME)[0]

    properties = dict(job.properties)

    job_id = history.mine[0]
    assert sorted(properties) == [
        "endTime",
        "jobId",
        "lastMessage",
        "machinename",
        "startTime",
        "status",
        "submittedTime",
        "task",
        "url",
        "username",
    ]
    assert properties["jobId"] == job_id
    assert properties["status"] == "esriJobSucceeded"
    assert properties["username"] == ADMIN_USERNAME
    assert properties["machinename"] == socket.gethostname()
    assert properties["url"] == f"{site.root}/rest/services/{WAIT}/jobs/{job_id}"
    assert properties["submittedTime"] <= properties["startTime"]
    assert properties["startTime"] <= properties["endTime"]


def test_job_cancel_stops_a_running_job(server: Server, client: Client) -> None:
    job_id = client.submit(SINGLE_WAIT, seconds=120)
    client.wait_status(SINGLE_WAIT, job_id, "esriJobExecuting")
    jobs = _service(server, "Queue", "Single").jobs
    # The client needs both ends of the time window.
    since = datetime.now(UTC) - timedelta(minutes=5)
    until = datetime.now(UTC) + timedelta(minutes=5)
    running = jobs.search(start_time=since, end_time=until, status="esriJobExecuting")
    assert _ids(running) == [job_id]
    job = running[0]

    assert job.cancel() == "success"

    assert _wait_admin(job) == "esriJobCancelled"


def test_purge_cancels_the_queued_jobs_only(server: Server, client: Client) -> None:
    running = client.submit(SINGLE_WAIT, seconds=120)
    client.wait_status(SINGLE_WAIT, running, "esriJobExecuting")
    queued = [client.submit(SINGLE_WAIT, seconds=0) for _ in range(2)]
    for job_id in queued:
        client.wait_status(SINGLE_WAIT, job_id, "esriJobWaiting")
    jobs = _service(server, "Queue", "Single").jobs

    assert jobs.purge() == {"status": "success"}

    for job_id in queued:
        assert (
            client.get(f"rest/services/{SINGLE_WAIT}/jobs/{job_id}")["jobStatus"]
            == "esriJobCancelled"
        )
    still = client.get(f"rest/services/{SINGLE_WAIT}/jobs/{running}")
    assert still["jobStatus"] == "esriJobExecuting"
    client.post(f"rest/services/{SINGLE_WAIT}/jobs/{running}/cancel")
    client.wait_status(SINGLE_WAIT, running, "esriJobCancelled")


def test_statistics_and_delete_through_the_clients_connection(
    server: Server, client: Client
) -> None:
    service = _service(server, "Samples", "DiagnosticsSync")
    assert service.properties["properties"]["executionType"] == "Synchronous"
    diagnostics = _service(server, "Samples", "Diagnostics")
    jobs_url = f"{diagnostics.url}/jobs"
    job_id = client.submit(WAIT, seconds=0)
    client.wait(WAIT, job_id)
    before = server._con.post(f"{jobs_url}/statistics", {"f": "json"})

    deleted = server._con.post(f"{jobs_url}/{job_id}/delete", {"f": "json"})

    after = server._con.post(f"{jobs_url}/statistics", {"f": "json"})
    assert deleted == {"status": "success"}
    assert list(before) == ["total", "cancelled", "failed", "succeeded"]
    assert after == {
        **before,
        "total": before["total"] - 1,
        "succeeded": before["succeeded"] - 1,
    }
    gone = client.get(f"rest/services/{WAIT}/jobs/{job_id}")
    assert gone["error"]["code"] == 404
