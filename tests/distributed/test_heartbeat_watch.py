"""The lost-worker watch, the resending of lost tasks and the named claim, on a
real SQLite store.

Heartbeats and queued jobs are made old with a direct UPDATE, as a worker that
stopped, or a broker that forgot their tasks, leaves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from gpserver.catalog.state import STOPPED, ServiceStates
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


# -- queued jobs whose task the broker lost --------------------------------------

RESEND_AFTER = 60.0


class Queues:
    """Task counts per service queue, as the broker would answer them."""

    def __init__(self) -> None:
        self.lengths: dict[str, int | None] = {}

    def __call__(self, service: str) -> int | None:
        return self.lengths.get(service, 0)


@pytest.fixture
def queues() -> Queues:
    return Queues()


@pytest.fixture
def resending(jobs: Jobs, resent: list[Job], queues: Queues) -> HeartbeatWatch:
    return HeartbeatWatch(
        jobs,
        SettingsStore(jobs.store.db),
        TIMEOUT,
        repeatable=frozenset(),
        resend=resent.append,
        resend_after=RESEND_AFTER,
        queue_length=queues,
    )


def queued(jobs: Jobs, service: str = SERVICE, age: float = 0) -> Job:
    """A queued job that last changed ``age`` seconds ago."""
    job = jobs.submit(service, "Wait", {"inputs": {}}, None)
    with jobs.store.db.write() as conn:
        conn.execute(
            update(tables.jobs)
            .where(tables.jobs.c.job_id == job.job_id)
            .values(modified_ms=now_ms() - int(age * 1000))
        )
    return jobs.get(job.job_id)


def test_a_queued_job_missing_from_an_empty_queue_is_sent_again_and_logged(
    jobs: Jobs,
    resending: HeartbeatWatch,
    resent: list[Job],
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = queued(jobs, age=RESEND_AFTER + 5)
    fresh = queued(jobs, age=RESEND_AFTER - 5)

    assert resending.run_once() == 1

    assert [j.job_id for j in resent] == [old.job_id]
    assert jobs.get(old.job_id).status is JobStatus.SUBMITTED
    assert jobs.get(old.job_id).modified_ms > old.modified_ms
    assert jobs.get(fresh.job_id).modified_ms == fresh.modified_ms
    (record,) = [r for r in caplog.records if getattr(r, "event", "") == "job.resent"]
    assert record.getMessage() == (
        f"job {old.job_id} queued for 65 s and its task is not in the queue of "
        f"{SERVICE} (0 waiting there); sent again"
    )


def test_a_job_sent_again_waits_a_whole_period_before_the_next_time(
    jobs: Jobs, resending: HeartbeatWatch, resent: list[Job]
) -> None:
    queued(jobs, age=RESEND_AFTER + 5)

    resending.run_once()
    resending.run_once()

    assert len(resent) == 1


def test_queued_jobs_are_not_sent_again_while_the_queue_holds_a_task_for_each(
    jobs: Jobs, resending: HeartbeatWatch, resent: list[Job], queues: Queues
) -> None:
    queued(jobs, age=RESEND_AFTER + 5)
    queued(jobs, age=1)
    queues.lengths[SERVICE] = 2

    assert resending.run_once() == 0

    queues.lengths[SERVICE] = 1
    assert resending.run_once() == 1
    assert len(resent) == 1


def test_nothing_is_sent_while_the_broker_does_not_answer(
    jobs: Jobs, resending: HeartbeatWatch, resent: list[Job], queues: Queues
) -> None:
    queued(jobs, age=RESEND_AFTER + 5)
    queues.lengths[SERVICE] = None

    assert resending.run_once() == 0
    assert resent == []


def test_the_queued_jobs_of_a_stopped_service_are_left_to_its_start(
    jobs: Jobs, resending: HeartbeatWatch, resent: list[Job]
) -> None:
    queued(jobs, age=RESEND_AFTER + 5)
    ServiceStates(SettingsStore(jobs.store.db)).set_state(SERVICE, STOPPED)

    assert resending.run_once() == 0
    assert resent == []
