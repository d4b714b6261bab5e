"""A broker that dies mid-run and comes back empty loses no acknowledged job.

The cluster's broker is a ``redis-server`` of the test's own, kept in memory only:
killing it loses every task it held, as a Redis restart without persistence does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PostgresDatabases
from tests.distributed.cluster import RedisServer
from tests.distributed.conftest import Cluster, running_cluster
from tests.distributed.counts import counted, statistics
from tests.e2e.admin import sign_in
from tests.e2e.server import Client, free_port

WAIT = "Tests/Diagnostics/GPServer/Wait"
SERVICE = "Tests/Diagnostics"
CONFIG = """
[server]
samples = false
jobsDirectory = "{jobs}"
workerHeartbeatTimeout = 4
resendQueuedAfter = 2

[[services]]
folder = "Tests"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 2
maxUsageTime = 120
"""
REFUSED = {
    "error": {
        "code": 503,
        "message": "the job queue cannot be reached right now; try again later",
        "details": [],
    }
}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cluster(
    tmp_path: Path, postgres_url: PostgresDatabases, broker: RedisServer
) -> Iterator[Cluster]:
    with running_cluster(tmp_path, postgres_url, broker.url, CONFIG, 1) as started:
        yield started


class Submitter(threading.Thread):
    """Submits one-second jobs, alternating between the nodes, until stopped."""

    def __init__(self, roots: list[str]) -> None:
        super().__init__(name="submitter")
        self.roots = roots
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.done = threading.Event()

    def run(self) -> None:
        turn = 0
        while not self.done.is_set():
            root = self.roots[turn % len(self.roots)]
            turn += 1
            reply = httpx.post(
                f"{root}/rest/services/{WAIT}/submitJob",
                data={"seconds": 1, "f": "json"},
                timeout=30,
            )
            self.answers.append((reply.status_code, reply.json()))
            time.sleep(0.05)

    def accepted(self) -> list[str]:
        return [str(a["jobId"]) for _, a in self.answers if "jobId" in a]

    def refused(self) -> list[tuple[int, dict[str, Any]]]:
        return [(code, a) for code, a in self.answers if "jobId" not in a]


def health(root: str) -> tuple[int, Any]:
    reply = httpx.get(f"{root}/rest/info/healthCheck", params={"f": "json"})
    return reply.status_code, reply.json()


def wait_health(root: str, code: int, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, answer = health(root)
        if status == code:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"the health check never answered {code}")


def test_every_job_acknowledged_around_a_broker_restart_ends_and_counts_agree(
    cluster: Cluster, broker: RedisServer
) -> None:
    submitter = Submitter([cluster.a.root, cluster.b.root])
    submitter.start()
    try:
        # Four instances take four one-second jobs a second; the rest queue up.
        time.sleep(3)
        broker.kill()
        down = wait_health(cluster.a.root, 503)
        time.sleep(1)
        broker.start()
        wait_health(cluster.a.root, 200)
        time.sleep(1)
    finally:
        submitter.done.set()
        submitter.join()

    accepted = submitter.accepted()
    client = Client(cluster.b.root)
    ends = {job_id: client.wait(WAIT, job_id, timeout=90) for job_id in accepted}

    assert down == {
        "success": False,
        "messages": [f"the broker ({broker.url}) does not answer"],
    }
    assert len(accepted) > 10
    assert {job["jobStatus"] for job in ends.values()} == {"esriJobSucceeded"}
    # Submits while the broker was down were refused in the envelope, their
    # jobs failed at once: none waits for a task that never comes.
    refused = submitter.refused()
    assert refused
    assert refused == [(200, REFUSED)] * len(refused)
    # Tasks the broker forgot were sent again, and each job still ran once.
    log = cluster.a.log_text() + cluster.b.log_text()
    assert "; sent again" in log
    token = sign_in(cluster.a.root)
    assert statistics(cluster.a.root, token, SERVICE) == counted(
        cluster.database_url, SERVICE
    )
    assert counted(cluster.database_url, SERVICE) == {
        "total": len(submitter.answers),
        "succeeded": len(accepted),
        "failed": len(refused),
        "cancelled": 0,
    }
