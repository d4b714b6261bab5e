"""Two web nodes and two workers on one PostgreSQL store and one Redis broker.

The tests share one cluster and run in the order written: the last one kills a
worker for good.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.distributed.conftest import HEARTBEAT_TIMEOUT, Cluster
from tests.distributed.counts import counted
from tests.e2e.admin import ADMIN_USERNAME, Admin, sign_in
from tests.e2e.server import Client

WAIT = "Tests/Diagnostics/GPServer/Wait"
FAIL = "Tests/Diagnostics/GPServer/Fail"
SHORT = "Tests/Short/GPServer/Wait"
ECHO_SYNC = "Tests/Sync/GPServer/Echo"
SERVICE = "services/Tests/Diagnostics.GPServer"
STATISTICS = f"admin/{SERVICE}/jobs/statistics"


def clients(cluster: Cluster) -> tuple[Client, Client]:
    return Client(cluster.a.root), Client(cluster.b.root)


def worker_of(cluster: Cluster, job_id: str) -> str:
    """The ``host:pid`` of the Celery worker process that claimed the job."""
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            worker = conn.execute(
                text("select worker from jobs where job_id = :id"), {"id": job_id}
            ).scalar_one()
    finally:
        engine.dispose()
    return str(worker)


def statistics(root: str, token: str) -> Any:
    reply = httpx.post(f"{root}/{STATISTICS}", data={"f": "json", "token": token})
    assert reply.status_code == 200, reply.text
    return reply.json()


def errors(job: dict[str, Any]) -> list[str]:
    return [
        m["description"]
        for m in job["messages"]
        if m["type"] == "esriJobMessageTypeError"
    ]


def test_a_job_submitted_on_one_node_succeeds_when_polled_on_the_other(
    cluster: Cluster,
) -> None:
    a, b = clients(cluster)
    job_id = a.submit(WAIT, seconds=0.5)

    job = b.wait(WAIT, job_id, timeout=30)

    assert job["jobStatus"] == "esriJobSucceeded", job
    assert b.result(WAIT, job_id, "waited")["value"] == 0.5
    assert a.result(WAIT, job_id, "waited")["value"] == 0.5


def test_fail_ends_failed_with_its_message(cluster: Cluster) -> None:
    a, b = clients(cluster)
    job_id = b.submit(FAIL, message="the river is dry")

    job = a.wait(FAIL, job_id, timeout=30)

    assert job["jobStatus"] == "esriJobFailed"
    assert errors(job) == ["the river is dry"]


def test_a_synchronous_service_runs_on_the_web_node(cluster: Cluster) -> None:
    a, b = clients(cluster)
    for client in (a, b):
        answer = client.get(f"rest/services/{ECHO_SYNC}/execute", in_string="here")
        values = {r["paramName"]: r["value"] for r in answer["results"]}
        assert values["out_string"] == "here"


def test_a_token_from_one_node_works_on_the_other(cluster: Cluster) -> None:
    token = sign_in(cluster.a.root)

    reply = httpx.get(
        f"{cluster.b.root}/admin/info",
        params={"f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {token}"},
    )

    assert reply.json()["loggedInUser"] == ADMIN_USERNAME


def test_a_running_job_cancelled_on_the_other_node_ends_within_two_seconds(
    cluster: Cluster,
) -> None:
    a, b = clients(cluster)
    job_id = a.submit(WAIT, seconds=60)
    a.wait_status(WAIT, job_id, "esriJobExecuting")

    asked = time.monotonic()
    b.post(f"rest/services/{WAIT}/jobs/{job_id}/cancel")
    a.wait_status(WAIT, job_id, "esriJobCancelled", timeout=2)

    assert time.monotonic() - asked < 2


def test_a_job_past_max_usage_time_is_stopped_and_timed_out(cluster: Cluster) -> None:
    # Wait ignores the time limit, so this shows the worker kills the tool.
    a, b = clients(cluster)
    job_id = a.submit(SHORT, seconds=60)

    job = b.wait(SHORT, job_id, timeout=20)

    assert job["jobStatus"] == "esriJobTimedOut"
    assert "maxUsageTime of 1.5 seconds" in errors(job)[-1]


def test_statistics_agree_between_the_nodes(cluster: Cluster) -> None:
    token = sign_in(cluster.a.root)

    on_a = statistics(cluster.a.root, token)
    on_b = statistics(cluster.b.root, token)

    assert on_a == on_b
    assert on_a["total"] >= 3
    assert min(on_a["succeeded"], on_a["failed"], on_a["cancelled"]) >= 1


def test_a_service_stopped_on_one_node_keeps_its_queue_until_started_on_the_other(
    cluster: Cluster,
) -> None:
    a, b = clients(cluster)
    admin_a, admin_b = Admin(cluster.a.root), Admin(cluster.b.root)
    running = [a.submit(WAIT, seconds=60) for _ in cluster.workers]
    for job_id in running:
        a.wait_status(WAIT, job_id, "esriJobExecuting")
    queued = a.submit(WAIT, seconds=0)

    assert admin_a.post(f"{SERVICE}/stop") == {"status": "success"}
    refused = b.post(f"rest/services/{WAIT}/submitJob", seconds=0)
    assert refused["error"]["code"] == 503
    # Freed workers take the queued job's task but leave the job queued.
    for job_id in running:
        b.post(f"rest/services/{WAIT}/jobs/{job_id}/cancel")
        b.wait_status(WAIT, job_id, "esriJobCancelled")
    with pytest.raises(AssertionError, match="never became esriJobExecuting"):
        a.wait_status(WAIT, queued, "esriJobExecuting", timeout=1)

    assert admin_b.post(f"{SERVICE}/start") == {"status": "success"}
    assert a.wait(WAIT, queued, timeout=30)["jobStatus"] == "esriJobSucceeded"


def test_a_killed_worker_fails_its_job_and_the_other_runs_the_next(
    cluster: Cluster,
) -> None:
    a, b = clients(cluster)
    job_id = a.submit(WAIT, seconds=60)
    a.wait_status(WAIT, job_id, "esriJobExecuting")
    pid = int(worker_of(cluster, job_id).rpartition(":")[2])
    (doomed,) = [w for w in cluster.workers if pid in w.pids()]
    (survivor,) = [w for w in cluster.workers if w is not doomed]

    doomed.kill()
    killed = time.monotonic()
    job = b.wait(WAIT, job_id, timeout=HEARTBEAT_TIMEOUT + 5)

    assert job["jobStatus"] == "esriJobFailed"
    assert "stopped" in errors(job)[-1]
    # The watch looks every third of the timeout; the last heartbeat may be a
    # quarter of it older than the kill.
    assert time.monotonic() - killed < HEARTBEAT_TIMEOUT * 1.6
    next_id = b.submit(WAIT, seconds=0.2)
    assert a.wait(WAIT, next_id, timeout=30)["jobStatus"] == "esriJobSucceeded"
    next_pid = int(worker_of(cluster, next_id).rpartition(":")[2])
    assert next_pid in survivor.pids()
    token = sign_in(cluster.b.root)
    assert statistics(cluster.b.root, token) == counted(
        cluster.database_url, "Tests/Diagnostics"
    )
