"""Many threads moving jobs at once through the Jobs API on a real SQLite store.

The per-service counters behind ``jobs/statistics`` change in the same transaction
as the rows they count. Whatever the interleaving of submits, cancels, deletes,
purges and workers finishing jobs, they must end equal to a count of the rows, and
no reader may ever see one below zero.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from gpserver.db import sqlite_url
from gpserver.errors import BadRequest, NotFound
from gpserver.jobs import tables
from gpserver.jobs.jobsdir import JobsDirectory, service_dir_name
from gpserver.jobs.model import Statistics
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.jobs.store import JobStore

SERVICES = ("Tests/One", "Tests/Two")
THREADS = 6
OPERATIONS_PER_THREAD = 60
# What a client or worker may be told when another thread got there first.
RACE_ERRORS = (BadRequest, NotFound, IllegalTransition)


@pytest.fixture
def jobs(tmp_path: Path) -> Jobs:
    store = JobStore(sqlite_url(tmp_path / "store.db"))
    store.create_schema()
    return Jobs(store, JobsDirectory(tmp_path / "arcgisjobs"), machine="test-host")


class Traffic:
    """The operations the threads pick from, over the jobs any of them made."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.known: list[str] = []
        self.lock = threading.Lock()

    def pick(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.known) if self.known else None

    def submit(self, rng: random.Random, worker: str) -> None:
        user = rng.choice([None, "alice", "bob"])
        job = self.jobs.submit(rng.choice(SERVICES), "Wait", {"seconds": 1}, user)
        with self.lock:
            self.known.append(job.job_id)

    def cancel(self, rng: random.Random, worker: str) -> None:
        if job_id := self.pick(rng):
            self.jobs.request_cancel(job_id)

    def delete(self, rng: random.Random, worker: str) -> None:
        # No wait: a job still stopping is refused, as a client would be told.
        if job_id := self.pick(rng):
            self.jobs.delete(job_id, wait_seconds=0)

    def purge(self, rng: random.Random, worker: str) -> None:
        self.jobs.purge_queue(rng.choice(SERVICES))

    def work(self, rng: random.Random, worker: str) -> None:
        """Claim a job and end it the way the worker pool does."""
        job = self.jobs.claim_next(rng.choice(SERVICES), worker)
        if job is None:
            return
        self.jobs.directory.prepare(job.service, job.job_id)
        outcome = rng.choice(["succeed", "fail", "time out"])
        current = self.jobs.get(job.job_id)
        try:
            if outcome == "succeed":
                self.jobs.succeed(current, {"waited": 1.0})
            elif outcome == "fail":
                self.jobs.fail(current, "failed on purpose")
            else:
                self.jobs.time_out(current, 1)
        except IllegalTransition as exc:
            # Cancelled while it ran: the worker stops and says so.
            if exc.current is JobStatus.CANCELLING:
                self.jobs.finish_cancelled(self.jobs.get(job.job_id))


def _run_thread(
    traffic: Traffic, seed: int, index: int, errors: list[BaseException]
) -> None:
    rng = random.Random(seed * 100 + index)
    operations: list[Callable[[random.Random, str], None]] = [
        traffic.submit,
        traffic.submit,
        traffic.cancel,
        traffic.delete,
        traffic.work,
        traffic.work,
        traffic.purge,
    ]
    weights = [3, 3, 2, 2, 3, 3, 1]
    for _ in range(OPERATIONS_PER_THREAD):
        operation = rng.choices(operations, weights)[0]
        try:
            operation(rng, f"worker-{index}")
        except RACE_ERRORS:
            continue
        except BaseException as exc:
            errors.append(exc)
            return


def _sample(jobs: Jobs, stop: threading.Event, seen: list[Statistics]) -> None:
    while not stop.is_set():
        seen.extend(jobs.statistics(service) for service in SERVICES)
        time.sleep(0.002)


def _counted_rows(database: Path, service: str) -> Statistics:
    with sqlite3.connect(database) as conn:
        rows = dict(
            conn.execute(
                "SELECT status, COUNT(*) FROM jobs WHERE service = ? GROUP BY status",
                (service,),
            ).fetchall()
        )
    return Statistics(
        total=sum(n for s, n in rows.items() if s != JobStatus.DELETING.ordinal),
        cancelled=rows.get(JobStatus.CANCELLED.ordinal, 0),
        failed=rows.get(JobStatus.FAILED.ordinal, 0),
        succeeded=rows.get(JobStatus.SUCCEEDED.ordinal, 0),
    )


def test_statistics_equal_the_rows_after_concurrent_traffic(
    jobs: Jobs, tmp_path: Path
) -> None:
    seed = int(os.environ.get("GPSERVER_TEST_SEED") or random.randrange(1_000_000))
    traffic = Traffic(jobs)
    errors: list[BaseException] = []
    seen: list[Statistics] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(jobs, stop, seen))
    threads = [
        threading.Thread(target=_run_thread, args=(traffic, seed, i, errors))
        for i in range(THREADS)
    ]

    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stop.set()
    sampler.join(timeout=10)

    hint = f"rerun with GPSERVER_TEST_SEED={seed}"
    assert not errors, f"{errors!r}; {hint}"
    counted = {s: _counted_rows(tmp_path / "store.db", s) for s in SERVICES}
    assert {s: jobs.statistics(s) for s in SERVICES} == counted, hint
    assert sum(c.total for c in counted.values()) > 0, hint
    assert len(seen) > 2 * len(SERVICES), "the sampler never ran beside the traffic"
    negative = [s for s in seen if min(s.total, s.cancelled, s.failed, s.succeeded) < 0]
    assert not negative, hint
    overfull = [s for s in seen if s.cancelled + s.failed + s.succeeded > s.total]
    assert not overfull, hint


def test_deleted_jobs_leave_neither_row_nor_data_nor_folder(jobs: Jobs) -> None:
    # A delete moves a row to Deleting, removes the folder, then the row and its
    # data; a concurrent cancel or worker must not leave a job half deleted.
    traffic = Traffic(jobs)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_run_thread, args=(traffic, 7, i, errors))
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert jobs.store.in_states([JobStatus.DELETING]) == []
    kept = jobs.store.in_states(JobStatus)
    rows = {job.job_id for job in kept}
    folders = {
        path.name
        for service in SERVICES
        for path in (jobs.directory.root / service_dir_name(service)).glob("j*")
    }
    # Only jobs that a worker started have a folder: those cancelled while
    # queued never needed one.
    assert folders == {job.job_id for job in kept if job.started_ms is not None}
    with jobs.store.db.read() as conn:
        data = set(conn.execute(select(tables.job_data.c.job_id)).scalars())
    assert data == rows
    assert len(rows) < len(traffic.known), "no job was deleted"
