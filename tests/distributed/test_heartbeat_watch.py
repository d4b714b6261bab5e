"""The lost-worker watch and the named claim, on a real SQLite store.

Heartbeats are made old with a direct UPDATE, as a worker that stopped leaves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from gpserver.db import sqlite_url
from gpserver.execution.heartbeats import HeartbeatWatch
from gpserver.jobs import tables
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Job, now_ms
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.jobs.store import JobStore
from gpserver.settings import SettingsStore

SERVICE = "Tests/Plain"
REPEATABLE = "Tests/Repeatable"
TIMEOUT = 30.0


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    store = JobStore(sqlite_url(tmp_path / "store.db"))
    store.create_schema()
    yield Jobs(store, JobsDirectory(tmp_path / "arcgisjobs"), machine="test-host")
    store.dispose()


@pytest.fixture
def resent() -> list[Job]:
    return []


@pytest.fixture
def watch(jobs: Jobs, resent: list[Job]) -> HeartbeatWatch:
    return HeartbeatWatch(
        jobs,
        SettingsStore(jobs.store.db),
        TIMEOUT,
        repeatable=frozenset({REPEATABLE}),
        resend=resent.append,
    )


def running(jobs: Jobs, service: str = SERVICE, silent_for: float = 0) -> Job:
    """A job claimed by a worker whose last heartbeat is ``silent_for`` seconds old."""
    job = jobs.submit(service, "Wait", {"inputs": {}}, None)
    jobs.claim(job.job_id, "test-host:1")
    with jobs.store.db.write() as conn:
        conn.execute(
            update(tables.jobs)
            .where(tables.jobs.c.job_id == job.job_id)
            .values(heartbeat_ms=now_ms() - int(silent_for * 1000))
        )
    return jobs.get(job.job_id)


def test_a_job_without_heartbeats_is_failed_with_a_reason(
    jobs: Jobs, watch: HeartbeatWatch
) -> None:
    job = running(jobs, silent_for=TIMEOUT + 5)

    assert watch.run_once() == 1

    assert jobs.get(job.job_id).status is JobStatus.FAILED
    last = jobs.messages(job)[-1]
    assert "worker machine running the job (test-host) stopped" in last.description


def test_a_job_with_fresh_heartbeats_is_left_alone(
    jobs: Jobs, watch: HeartbeatWatch
) -> None:
    job = running(jobs, silent_for=TIMEOUT - 5)

    assert watch.run_once() == 0

    assert jobs.get(job.job_id).status is JobStatus.EXECUTING


def test_a_lost_job_of_a_repeatable_service_is_queued_and_sent_again(
    jobs: Jobs, watch: HeartbeatWatch, resent: list[Job]
) -> None:
    job = running(jobs, REPEATABLE, silent_for=TIMEOUT + 5)

    watch.run_once()

    again = jobs.get(job.job_id)
    assert again.status is JobStatus.SUBMITTED
    assert (again.worker, again.started_ms, again.heartbeat_ms) == (None, None, None)
    assert [j.job_id for j in resent] == [job.job_id]
    assert jobs.claim(job.job_id, "test-host:2").status is JobStatus.EXECUTING


def test_a_lost_job_that_was_cancelling_ends_cancelled(
    jobs: Jobs, watch: HeartbeatWatch
) -> None:
    job = running(jobs, silent_for=TIMEOUT + 5)
    jobs.request_cancel(job.job_id)

    watch.run_once()

    assert jobs.get(job.job_id).status is JobStatus.CANCELLED


def test_only_the_node_holding_the_lease_looks(
    jobs: Jobs, watch: HeartbeatWatch, resent: list[Job]
) -> None:
    other = HeartbeatWatch(
        jobs,
        SettingsStore(jobs.store.db),
        TIMEOUT,
        repeatable=frozenset(),
        resend=resent.append,
    )
    watch.run_once()
    job = running(jobs, silent_for=TIMEOUT + 5)

    assert other.run_once() == 0
    assert jobs.get(job.job_id).status is JobStatus.EXECUTING


@pytest.mark.parametrize("first", ["claim", "cancel"])
def test_a_job_is_claimed_once_and_never_after_a_cancel(jobs: Jobs, first: str) -> None:
    job = jobs.submit(SERVICE, "Wait", {"inputs": {}}, None)
    if first == "claim":
        jobs.claim(job.job_id, "test-host:1")
    else:
        jobs.request_cancel(job.job_id)

    with pytest.raises(IllegalTransition):
        jobs.claim(job.job_id, "test-host:2")
