"""The jobs of a service in the Administrator API, against a real server.

Each group of tests has a service of its own, so the counts one group makes are
not disturbed by another: ``Counted`` for statistics and delete, ``Queried`` for
query and the job resource, ``Single`` (one instance) for purgeQueue.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.admin import ADMIN_USERNAME, Admin, start_site
from tests.e2e.server import FINISHED, Client, ServerProcess, site_instances

CONFIG = """
[server]
samples = false

[[services]]
folder = "Tests"
name = "Counted"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 4

[[services]]
folder = "Tests"
name = "Queried"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 4

[[services]]
folder = "Tests"
name = "Single"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
"""

COUNTED = "services/Tests/Counted.GPServer/jobs"
QUERIED = "services/Tests/Queried.GPServer/jobs"
SINGLE = "services/Tests/Single.GPServer/jobs"
COUNTED_WAIT = "Tests/Counted/GPServer/Wait"
COUNTED_FAIL = "Tests/Counted/GPServer/Fail"
QUERIED_WAIT = "Tests/Queried/GPServer/Wait"
QUERIED_FAIL = "Tests/Queried/GPServer/Fail"
SINGLE_WAIT = "Tests/Single/GPServer/Wait"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("admin-jobs"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin(site: ServerProcess) -> Admin:
    return Admin(site.root)


@pytest.fixture(scope="module")
def client(site: ServerProcess) -> Client:
    return Client(site.root)


# -- statistics and delete ----------------------------------------------------


@dataclass(frozen=True)
class Mixed:
    succeeded: list[str]
    failed: list[str]
    cancelled: list[str]
    running: str


@pytest.fixture(scope="module")
def mixed(client: Client, admin: Admin) -> Mixed:
    """5 succeeded, 2 failed, 2 cancelled and 1 running job of Tests/Counted."""
    succeeded = [client.submit(COUNTED_WAIT, seconds=0) for _ in range(5)]
    failed = [client.submit(COUNTED_FAIL) for _ in range(2)]
    for job_id in succeeded:
        assert client.wait(COUNTED_WAIT, job_id)["jobStatus"] == "esriJobSucceeded"
    for job_id in failed:
        assert client.wait(COUNTED_FAIL, job_id)["jobStatus"] == "esriJobFailed"

    long = [client.submit(COUNTED_WAIT, seconds=120) for _ in range(3)]
    for job_id in long:
        client.wait_status(COUNTED_WAIT, job_id, "esriJobExecuting")
    for job_id in long[:2]:
        assert admin.post(f"{COUNTED}/{job_id}/cancel") == {"status": "success"}
    for job_id in long[:2]:
        client.wait_status(COUNTED_WAIT, job_id, "esriJobCancelled")
    return Mixed(succeeded, failed, long[:2], long[2])


def test_statistics_counts_the_jobs_of_each_end(admin: Admin, mixed: Mixed) -> None:
    text = admin.post_text(f"{COUNTED}/statistics")

    assert text == '{"total":10,"cancelled":2,"failed":2,"succeeded":5}'


def test_statistics_pretty_prints_with_pjson(admin: Admin, mixed: Mixed) -> None:
    compact = admin.post_text(f"{COUNTED}/statistics")
    pretty = admin.post_text(f"{COUNTED}/statistics", f="pjson")

    assert pretty == json.dumps(json.loads(compact), indent=2)
    assert pretty.startswith('{\n  "total": ')


def test_statistics_by_get_names_post(admin: Admin) -> None:
    answer = admin.get(f"{COUNTED}/statistics")

    assert answer == {
        "status": "error",
        "messages": [
            "statistics must be requested with POST",
            "POST /arcgis/admin/services/Tests/Counted.GPServer/jobs/statistics "
            "with f=json and your token in the body",
        ],
        "code": 400,
    }


def test_statistics_page_is_a_form_that_posts(admin: Admin) -> None:
    page = admin.get_text(f"{COUNTED}/statistics", f="html")

    assert (
        '<form method="post" '
        'action="/arcgis/admin/services/Tests/Counted.GPServer/jobs/statistics">'
    ) in page
    assert '<input type="hidden" name="f" value="html">' in page
    assert 'name="token"' in page


def test_delete_removes_the_job_its_folder_and_its_count(
    site: ServerProcess, admin: Admin, mixed: Mixed
) -> None:
    # Runs after the statistics tests above, which see the ten jobs unchanged.
    job_id = mixed.succeeded[0]
    folder = site.data_dir / "arcgisjobs" / "tests_counted_gpserver" / job_id
    assert folder.is_dir()

    assert admin.post(f"{COUNTED}/{job_id}/delete") == {"status": "success"}

    assert admin.post_text(f"{COUNTED}/statistics") == (
        '{"total":9,"cancelled":2,"failed":2,"succeeded":4}'
    )
    assert not folder.exists()
    not_found = {
        "status": "error",
        "messages": [f"job {job_id} does not exist"],
        "code": 404,
    }
    assert admin.post(f"{COUNTED}/{job_id}/delete") == not_found
    assert admin.get(f"{COUNTED}/{job_id}") == not_found


def test_delete_cancels_a_running_job_first(
    site: ServerProcess, admin: Admin, mixed: Mixed
) -> None:
    job_id = mixed.running
    assert admin.get(f"{COUNTED}/{job_id}")["status"] == "esriJobExecuting"

    assert admin.post(f"{COUNTED}/{job_id}/delete") == {"status": "success"}

    assert f"job {job_id} esriJobExecuting -> esriJobCancelling" in site.log_text()
    assert f"job {job_id} esriJobCancelling -> esriJobCancelled" in site.log_text()
    assert admin.get(f"{COUNTED}/{job_id}")["code"] == 404
    # Cancelled, then deleted: it leaves the counts as if it never was.
    assert admin.post_text(f"{COUNTED}/statistics") == (
        '{"total":8,"cancelled":2,"failed":2,"succeeded":4}'
    )


# -- query and the job resource -----------------------------------------------


@dataclass(frozen=True)
class Submitted:
    job_id: str
    submitted_ms: int
    status: str
    username: str | None


@pytest.fixture(scope="module")
def queried(client: Client, admin: Admin) -> list[Submitted]:
    """25 finished jobs of Tests/Queried, oldest first.

    Every third is submitted by the administrator, the others anonymously; jobs
    3, 11 and 19 fail. A short pause between submits gives each its own
    millisecond, which the boundary tests rely on.
    """
    submitted = []
    for index in range(25):
        task = QUERIED_FAIL if index % 8 == 3 else QUERIED_WAIT
        inputs: dict[str, Any] = {} if task == QUERIED_FAIL else {"seconds": 0}
        if index % 3 == 0:
            inputs["token"] = admin.token
        submitted.append((client.submit(task, **inputs), task))
        time.sleep(0.003)
    for job_id, _ in submitted:
        _wait_finished(admin, f"{QUERIED}/{job_id}")

    answer = admin.get(f"{QUERIED}/query", startTime=0, number=100)
    jobs = [
        Submitted(j["jobId"], j["submittedTime"], j["status"], j["username"])
        for j in answer["results"].values()
    ]
    assert [j.job_id for j in jobs] == [job_id for job_id, _ in submitted]
    times = [j.submitted_ms for j in jobs]
    assert times == sorted(set(times)), "two jobs were submitted in one millisecond"
    return jobs


def _wait_finished(admin: Admin, path: str, timeout: float = 60) -> None:
    # The administrator's jobs are theirs alone on the REST side; the admin API
    # sees every job.
    deadline = time.monotonic() + timeout
    while admin.get(path)["status"] not in FINISHED:
        assert time.monotonic() < deadline, f"{path} did not finish"
        time.sleep(0.05)


def _ids(answer: dict[str, Any]) -> list[str]:
    return list(answer["results"])


def test_query_pages_by_ten(admin: Admin, queried: list[Submitted]) -> None:
    pages = [admin.get(f"{QUERIED}/query", startTime=0, start=s) for s in (1, 11, 21)]

    assert [(p["total"], p["start"], p["num"], p["nextStart"]) for p in pages] == [
        (25, 1, 10, 11),
        (25, 11, 10, 21),
        (25, 21, 5, -1),
    ]
    assert [i for p in pages for i in _ids(p)] == [j.job_id for j in queried]
    assert pages[0]["query"] == {
        "startTime": 0,
        "endTime": None,
        "start": 1,
        "number": 10,
    }


def test_query_number_is_at_most_1000(admin: Admin, queried: list[Submitted]) -> None:
    answer = admin.get(f"{QUERIED}/query", startTime=0, number=5000)

    assert answer["query"]["number"] == 1000
    assert answer["num"] == 25


def test_query_bad_paging_names_the_parameter(admin: Admin) -> None:
    answer = admin.get(f"{QUERIED}/query", startTime=0, start=0)

    assert answer == {
        "status": "error",
        "messages": [
            "Invalid value for parameter 'start': expected a whole number from 1 "
            "to 2147483647, got '0'"
        ],
        "code": 400,
    }


def test_query_refuses_a_start_too_large_for_the_store(admin: Admin) -> None:
    answer = admin.get(f"{QUERIED}/query", startTime=0, start="9" * 23)

    assert answer == {
        "status": "error",
        "messages": [
            "Invalid value for parameter 'start': expected a whole number from 1 "
            f"to 2147483647, got '{'9' * 23}'"
        ],
        "code": 400,
    }


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_query_time_formats_select_the_same_jobs(
    admin: Admin, queried: list[Submitted]
) -> None:
    first, last = queried[5].submitted_ms, queried[19].submitted_ms
    expected = [j.job_id for j in queried[5:20]]
    windows = {
        "epoch ms": (str(first), str(last)),
        "epoch seconds": (f"{first / 1000:.3f}", f"{last / 1000:.3f}"),
        "ISO 8601 UTC": (_iso(first), _iso(last)),
        "ISO 8601 naive": (_iso(first)[:-1], _iso(last)[:-1]),
        "ISO 8601 offset": (_iso(first)[:-1] + "+00:00", _iso(last)[:-1] + "+00:00"),
    }

    selected = {
        name: _ids(admin.get(f"{QUERIED}/query", startTime=a, endTime=b, number=100))
        for name, (a, b) in windows.items()
    }

    assert selected == dict.fromkeys(windows, expected)


def test_query_whole_seconds_are_read_as_seconds(
    admin: Admin, queried: list[Submitted]
) -> None:
    seconds = queried[0].submitted_ms // 1000

    answer = admin.get(f"{QUERIED}/query", startTime=seconds)

    assert answer["query"]["startTime"] == seconds * 1000
    assert answer["total"] == 25


def test_query_boundary_one_ms_after_submit_excludes_the_job(
    admin: Admin, queried: list[Submitted]
) -> None:
    job = queried[12]

    from_it = admin.get(f"{QUERIED}/query", startTime=job.submitted_ms, number=100)
    after_it = admin.get(f"{QUERIED}/query", startTime=job.submitted_ms + 1, number=100)
    up_to_it = admin.get(
        f"{QUERIED}/query", startTime=0, endTime=job.submitted_ms, number=100
    )
    before_it = admin.get(
        f"{QUERIED}/query", startTime=0, endTime=job.submitted_ms - 1, number=100
    )

    assert _ids(from_it) == [j.job_id for j in queried[12:]]
    assert _ids(after_it) == [j.job_id for j in queried[13:]]
    assert _ids(up_to_it) == [j.job_id for j in queried[:13]]
    assert _ids(before_it) == [j.job_id for j in queried[:12]]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("startTime", "last Tuesday"),
        ("endTime", "last Tuesday"),
        # Once a 500: the number reached SQLite, which cannot hold it.
        ("startTime", "1e30"),
        ("endTime", "-1e30"),
    ],
)
def test_query_bad_time_is_a_clear_error(admin: Admin, name: str, value: str) -> None:
    params = {"startTime": 0, name: value}

    answer = admin.get(f"{QUERIED}/query", **params)

    assert answer == {
        "status": "error",
        "messages": [
            f"Invalid value for parameter '{name}': expected epoch milliseconds, "
            "epoch seconds or an ISO 8601 time such as 2026-12-04T16:00:00Z; "
            f"got {value!r}"
        ],
        "code": 400,
    }


def test_query_without_start_time_says_it_is_required(admin: Admin) -> None:
    answer = admin.get(f"{QUERIED}/query")

    assert answer == {
        "status": "error",
        "messages": [
            "startTime is required: epoch milliseconds, epoch seconds or ISO 8601"
        ],
        "code": 400,
    }


@pytest.mark.parametrize("name", ["jobStatus", "status"])
def test_query_filters_by_status(
    admin: Admin, queried: list[Submitted], name: str
) -> None:
    params = {"startTime": 0, "number": 100, name: "esriJobFailed"}

    answer = admin.get(f"{QUERIED}/query", **params)

    failed = [queried[3].job_id, queried[11].job_id, queried[19].job_id]
    assert _ids(answer) == failed
    assert answer["query"]["jobStatus"] == "esriJobFailed"


def test_query_refuses_an_unknown_status(admin: Admin) -> None:
    answer = admin.get(f"{QUERIED}/query", startTime=0, jobStatus="esriJobDone")

    assert answer["code"] == 400
    assert answer["messages"][0].startswith(
        "Invalid value for parameter 'jobStatus': 'esriJobDone' is not one of "
        "esriJobNew, esriJobSubmitted,"
    )


def test_query_user_null_selects_anonymous_jobs(
    admin: Admin, queried: list[Submitted]
) -> None:
    answer = admin.get(f"{QUERIED}/query", startTime=0, number=100, userName="null")

    assert _ids(answer) == [j.job_id for j in queried if j.username is None]
    assert answer["total"] == 16
    assert answer["query"]["userName"] == "null"


def test_query_user_name_selects_that_users_jobs(
    admin: Admin, queried: list[Submitted]
) -> None:
    mine = [queried[i].job_id for i in range(0, 25, 3)]

    exact = admin.get(
        f"{QUERIED}/query", startTime=0, number=100, userName=ADMIN_USERNAME
    )
    upper = admin.get(
        f"{QUERIED}/query", startTime=0, number=100, userName=ADMIN_USERNAME.upper()
    )

    assert _ids(exact) == mine
    assert _ids(upper) == mine
    assert {j.username for j in queried if j.job_id in mine} == {ADMIN_USERNAME}


def test_query_machine_name_selects_the_machine_that_ran_the_jobs(
    admin: Admin, queried: list[Submitted]
) -> None:
    here = admin.get(
        f"{QUERIED}/query", startTime=0, number=100, machineName=socket.gethostname()
    )
    elsewhere = admin.get(
        f"{QUERIED}/query", startTime=0, number=100, machineName="elsewhere"
    )

    assert here["total"] == 25
    assert elsewhere["total"] == 0
    assert elsewhere["nextStart"] == -1


def test_job_resource_answers_the_admin_job_json(
    site: ServerProcess, admin: Admin, client: Client, queried: list[Submitted]
) -> None:
    job_id = queried[6].job_id
    ((submitted, started, ended),) = site.sql(
        "select submitted_ms, started_ms, ended_ms from jobs where job_id = :id",
        id=job_id,
    )
    rest_job = client.get(
        f"rest/services/{QUERIED_WAIT}/jobs/{job_id}", token=admin.token
    )
    last_message = rest_job["messages"][-1]

    answer = admin.get(f"{QUERIED}/{job_id}")

    assert answer == {
        "jobId": job_id,
        "submittedTime": submitted,
        "endTime": ended,
        "status": "esriJobSucceeded",
        "username": ADMIN_USERNAME,
        "machinename": socket.gethostname(),
        "url": f"{site.root}/rest/services/{QUERIED_WAIT}/jobs/{job_id}",
        "task": "Wait",
        "startTime": started,
        "lastMessage": last_message,
    }
    assert last_message["description"].startswith("Succeeded at ")


def test_job_of_another_service_is_not_found(
    admin: Admin, queried: list[Submitted]
) -> None:
    job_id = queried[0].job_id

    answer = admin.get(f"{COUNTED}/{job_id}")

    assert answer == {
        "status": "error",
        "messages": [f"job {job_id} does not exist"],
        "code": 404,
    }


def test_cancel_of_a_finished_job_is_an_admin_error(
    admin: Admin, queried: list[Submitted]
) -> None:
    job_id = queried[1].job_id

    answer = admin.post(f"{QUERIED}/{job_id}/cancel")

    assert answer == {
        "status": "error",
        "messages": [
            f"Unable to cancel job :[{job_id}]",
            "the job is esriJobSucceeded; only queued or running jobs stop",
        ],
        "code": 400,
    }


def test_jobs_resource_lists_statistics(admin: Admin) -> None:
    assert admin.get(QUERIED) == {"resources": ["statistics"]}


def test_changing_jobs_needs_post(admin: Admin, queried: list[Submitted]) -> None:
    answer = admin.get(f"{QUERIED}/{queried[0].job_id}/delete")

    assert answer == {
        "status": "error",
        "messages": ["delete accepts POST only"],
        "code": 405,
    }


# -- purgeQueue ---------------------------------------------------------------


def test_purge_queue_cancels_queued_jobs_and_leaves_the_running_ones(
    admin: Admin, client: Client
) -> None:
    # One instance per node: a job for each keeps them all busy.
    running = [
        client.submit(SINGLE_WAIT, seconds=120) for _ in range(site_instances(1))
    ]
    for job_id in running:
        client.wait_status(SINGLE_WAIT, job_id, "esriJobExecuting")
    queued = [client.submit(SINGLE_WAIT, seconds=0) for _ in range(3)]
    for job_id in queued:
        client.wait_status(SINGLE_WAIT, job_id, "esriJobWaiting")

    assert admin.post(f"{SINGLE}/purgeQueue") == {"status": "success"}

    statuses = [admin.get(f"{SINGLE}/{job_id}")["status"] for job_id in queued]
    assert statuses == ["esriJobCancelled"] * 3
    statuses = [admin.get(f"{SINGLE}/{job_id}")["status"] for job_id in running]
    assert statuses == ["esriJobExecuting"] * len(running)

    for job_id in running:
        assert admin.post(f"{SINGLE}/{job_id}/cancel") == {"status": "success"}
        client.wait_status(SINGLE_WAIT, job_id, "esriJobCancelled")
    jobs = len(running) + 3
    assert admin.post_text(f"{SINGLE}/statistics") == (
        f'{{"total":{jobs},"cancelled":{jobs},"failed":0,"succeeded":0}}'
    )
