"""The jobs directory in the Administrator API and its cleanup, on a real server.

The site sweeps every second. Jobs are made old while it runs: the test sets their
folder's modification time back, then their ``modified_ms`` in the store,
which is what an hour of waiting would do, and a sweep looks at both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.admin import Admin, start_site
from tests.e2e.server import Client, ServerProcess, site_instances

CONFIG = """
[server]
samples = false
cleanupInterval = 1

[[services]]
folder = "Tests"
name = "Single"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
"""

SERVICE = "Tests/Single"
WAIT = "Tests/Single/GPServer/Wait"
FAIL = "Tests/Single/GPServer/Fail"
JOBS = "services/Tests/Single.GPServer/jobs"
DIRECTORY = "system/directories/arcgisjobs"
TIME_ELAPSED = "TIME_ELAPSED_SINCE_LAST_MODIFIED"
DELETING = 9
COUNTED = {4: "succeeded", 5: "failed", 8: "cancelled"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("cleanup"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin(site: ServerProcess) -> Admin:
    return Admin(site.root)


@pytest.fixture(scope="module")
def client(site: ServerProcess) -> Client:
    return Client(site.root)


def service_folder(site: ServerProcess) -> Path:
    return site.data_dir / "arcgisjobs" / "tests_single_gpserver"


def age(site: ServerProcess, job_ids: list[str], minutes: float) -> None:
    """Make jobs look last changed ``minutes`` ago, folder first, then record.

    A job that never started has no folder."""
    then = time.time() - minutes * 60
    for job_id in job_ids:
        folder = service_folder(site) / job_id
        if folder.is_dir():
            os.utime(folder, (then, then))
    for job_id in job_ids:
        site.sql(
            "UPDATE jobs SET modified_ms = :ms WHERE job_id = :id",
            ms=int(then * 1000),
            id=job_id,
        )


def stored_ids(site: ServerProcess) -> set[str]:
    rows = site.sql("SELECT job_id FROM jobs WHERE service = :s", s=SERVICE)
    return {job_id for (job_id,) in rows}


def data_ids(site: ServerProcess) -> set[str]:
    """The jobs whose inputs and results the store holds (the site has one service)."""
    return {job_id for (job_id,) in site.sql("SELECT job_id FROM job_data")}


def counted(site: ServerProcess) -> dict[str, int]:
    """jobs/statistics as a fresh count over the store's rows would give it."""
    rows = site.sql(
        "SELECT status, COUNT(*) FROM jobs WHERE service = :s AND status != :d "
        "GROUP BY status",
        s=SERVICE,
        d=DELETING,
    )
    counts = {"total": sum(n for _, n in rows), "cancelled": 0, "failed": 0}
    counts["succeeded"] = 0
    for status, n in rows:
        if status in COUNTED:
            counts[COUNTED[status]] = n
    return counts


def folder_names(site: ServerProcess) -> set[str]:
    return {p.name for p in service_folder(site).iterdir()}


def finished(client: Client, task: str, **inputs: object) -> str:
    job_id = client.submit(task, **inputs)
    client.wait(task, job_id)
    return job_id


def edit(admin: Admin, **changes: object) -> None:
    assert admin.post(f"{DIRECTORY}/edit", **changes) == {"status": "success"}


def test_directories_list_the_jobs_directory_with_its_defaults(
    site: ServerProcess, admin: Admin
) -> None:
    jobs_directory = {
        "name": "arcgisjobs",
        "physicalPath": str(site.data_dir / "arcgisjobs"),
        "directoryType": "JOBS",
        "cleanupMode": TIME_ELAPSED,
        "maxFileAge": 360,
        "description": "The folders of asynchronous jobs: messages and scratch files",
        "virtualPath": "/rest/directories/arcgisjobs",
    }

    assert admin.get("system/directories") == {"directories": [jobs_directory]}
    assert admin.get(DIRECTORY) == jobs_directory


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"cleanupMode": "SOMETIMES"},
            "Invalid value for parameter 'cleanupMode': 'SOMETIMES' is not one of "
            "NONE, TIME_ELAPSED_SINCE_LAST_MODIFIED",
        ),
        (
            {"maxFileAge": "six hours"},
            "Invalid value for parameter 'maxFileAge': expected a whole number of "
            "minutes, got 'six hours'",
        ),
        (
            {"maxFileAge": "0"},
            "Invalid value for parameter 'maxFileAge': expected a whole number of "
            "minutes from 1 to 5256000 (ten years), got 0",
        ),
        (
            {"maxFileAge": "-5"},
            "Invalid value for parameter 'maxFileAge': expected a whole number of "
            "minutes from 1 to 5256000 (ten years), got -5",
        ),
        (
            {"maxFileAge": "99999999999999999999999"},
            "Invalid value for parameter 'maxFileAge': expected a whole number of "
            "minutes from 1 to 5256000 (ten years), got 99999999999999999999999",
        ),
        (
            {"physicalPath": "/elsewhere"},
            "physicalPath of the jobs directory is set in the configuration file "
            "(server.jobsDirectory), not through edit",
        ),
    ],
)
def test_edit_refuses_bad_values_and_changes_nothing(
    admin: Admin, changes: dict[str, str], message: str
) -> None:
    before = admin.get(DIRECTORY)

    answer = admin.post(f"{DIRECTORY}/edit", **changes)

    assert answer == {"status": "error", "messages": [message], "code": 400}
    assert admin.get(DIRECTORY) == before


def test_edit_by_get_is_refused(admin: Admin) -> None:
    assert admin.get(f"{DIRECTORY}/edit", cleanupMode="NONE") == {
        "status": "error",
        "messages": ["edit accepts POST only"],
        "code": 405,
    }


def test_sweeps_remove_old_finished_jobs_and_keep_queued_and_running_ones(
    site: ServerProcess, admin: Admin, client: Client
) -> None:
    edit(admin, cleanupMode="NONE", maxFileAge=1)
    old_finished = [finished(client, WAIT, seconds=0) for _ in range(3)]
    old_finished += [finished(client, FAIL) for _ in range(2)]
    young = finished(client, WAIT, seconds=0)
    # One instance per node: a job for each keeps them all busy.
    executing = [client.submit(WAIT, seconds=60) for _ in range(site_instances(1))]
    for job_id in executing:
        client.wait_status(WAIT, job_id, "esriJobExecuting")
    waiting = client.submit(WAIT, seconds=0)
    client.wait_status(WAIT, waiting, "esriJobWaiting")
    cancelled = client.submit(WAIT, seconds=0)
    client.wait_status(WAIT, cancelled, "esriJobWaiting")
    client.post(f"rest/services/{WAIT}/jobs/{cancelled}/cancel")
    client.wait_status(WAIT, cancelled, "esriJobCancelled")
    old_finished.append(cancelled)
    age(site, [*old_finished, *executing, waiting], minutes=5)
    held = len(old_finished) + 2 + len(executing)
    assert admin.post_text(f"{JOBS}/statistics") == (
        f'{{"total":{held},"cancelled":1,"failed":2,"succeeded":4}}'
    )

    # cleanupMode NONE: two sweep intervals pass and nothing goes.
    time.sleep(2.2)
    assert len(stored_ids(site)) == held

    edit(admin, cleanupMode=TIME_ELAPSED)
    deadline = time.monotonic() + 5
    while stored_ids(site) != {young, *executing, waiting}:
        assert time.monotonic() < deadline, stored_ids(site)
        time.sleep(0.1)

    # The waiting job has not started: it has no folder yet.
    assert folder_names(site) == {young, *executing}
    assert data_ids(site) == {young, *executing, waiting}
    assert admin.post(f"{JOBS}/statistics") == counted(site)
    kept = 2 + len(executing)
    assert counted(site) == {"total": kept, "cancelled": 0, "failed": 0, "succeeded": 1}
    for job_id in executing:
        job = client.get(f"rest/services/{WAIT}/jobs/{job_id}")
        assert job["jobStatus"] == "esriJobExecuting"
    job = client.get(f"rest/services/{WAIT}/jobs/{waiting}")
    assert job["jobStatus"] == "esriJobWaiting"
    gone = client.get(f"rest/services/{WAIT}/jobs/{old_finished[0]}")
    assert gone["error"]["code"] == 404
    jobs_root = service_folder(site).parent
    assert [p.name for p in jobs_root.iterdir()] == ["tests_single_gpserver"]

    for job_id in executing:
        client.post(f"rest/services/{WAIT}/jobs/{job_id}/cancel")
        client.wait_status(WAIT, job_id, "esriJobCancelled")
    client.wait(WAIT, waiting)


def test_clean_removes_old_finished_jobs_and_says_how_many(
    site: ServerProcess, admin: Admin, client: Client
) -> None:
    # With the sweeper off, only clean removes anything.
    edit(admin, cleanupMode="NONE", maxFileAge=1)
    old = [finished(client, WAIT, seconds=0) for _ in range(2)]
    old.append(finished(client, FAIL))
    young = finished(client, WAIT, seconds=0)
    before = stored_ids(site)
    age(site, old, minutes=2)

    answer = admin.post_text(f"{DIRECTORY}/clean")

    assert answer == '{"status":"success","removedJobs":3}'
    assert stored_ids(site) == before - set(old)
    assert young in stored_ids(site)
    assert folder_names(site) == stored_ids(site)
    assert data_ids(site) == stored_ids(site)
    assert admin.post(f"{JOBS}/statistics") == counted(site)
    assert admin.post(f"{DIRECTORY}/clean") == {"status": "success", "removedJobs": 0}


def test_edit_is_kept_across_a_restart(site: ServerProcess, admin: Admin) -> None:
    edit(admin, cleanupMode="NONE", maxFileAge=45)
    assert admin.get(DIRECTORY)["cleanupMode"] == "NONE"
    assert admin.get(DIRECTORY)["maxFileAge"] == 45
    edit(admin, maxFileAge=90)  # the mode is kept when only the age is given
    assert admin.get(DIRECTORY)["cleanupMode"] == "NONE"

    site.stop()
    site.start()

    after = Admin(site.root).get(DIRECTORY)
    assert (after["cleanupMode"], after["maxFileAge"]) == ("NONE", 90)
