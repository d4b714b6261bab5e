"""Group commit of submitted jobs: many threads, few transactions, nothing lost."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from gpserver.db import sqlite_url
from gpserver.jobs.model import Job, Statistics, new_job_id
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore, _GroupInsert

SERVICE = "Samples/Diagnostics"


def a_job(job_id: str | None = None, service: str = SERVICE) -> Job:
    return Job(
        job_id=job_id or new_job_id(),
        service=service,
        task="Wait",
        status=JobStatus.SUBMITTED,
        username=None,
        machine=None,
        submitted_ms=1,
        started_ms=None,
        ended_ms=None,
        modified_ms=1,
        progress_percent=None,
        progress_message=None,
        worker=None,
        heartbeat_ms=None,
    )


def inputs_of(job: Job) -> str:
    """Inputs that tell the jobs apart, so a job stored with another's shows."""
    return json.dumps({"inputs": {"id": job.job_id}})


class HeldWriter:
    """Writes batches into a list; the first write waits until it is let go, so
    that the inserts arriving meanwhile queue up behind it."""

    def __init__(self, fail_on: str = "") -> None:
        self.batches: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, jobs: list[tuple[Job, str]]) -> None:
        if not self.first_started.is_set():
            self.first_started.set()
            self.release.wait(10)
        ids = [job.job_id for job, _ in jobs]
        if self.fail_on in ids:
            raise ValueError(f"cannot write {self.fail_on}")
        self.batches.append(ids)


def insert_in_threads(group: _GroupInsert, jobs: list[Job]) -> dict[str, str]:
    """Insert the first job, then the rest while the first is being written."""
    outcome: dict[str, str] = {}

    def insert(job: Job) -> None:
        try:
            group.insert((job, "{}"))
            outcome[job.job_id] = "written"
        except ValueError as exc:
            outcome[job.job_id] = str(exc)

    first = threading.Thread(target=insert, args=(jobs[0],))
    first.start()
    writer = group.write
    assert isinstance(writer, HeldWriter)
    assert writer.first_started.wait(10)
    others = [threading.Thread(target=insert, args=(job,)) for job in jobs[1:]]
    for thread in others:
        thread.start()
    while len(group._queue) < len(others):
        threading.Event().wait(0.001)
    writer.release.set()
    for thread in [first, *others]:
        thread.join(10)
    return outcome


def test_inserts_that_wait_for_a_write_go_together_in_the_next() -> None:
    writer = HeldWriter()
    jobs = [a_job(f"j{n:032x}") for n in range(9)]

    outcome = insert_in_threads(_GroupInsert(writer), jobs)

    assert outcome == {job.job_id: "written" for job in jobs}
    assert writer.batches[0] == [jobs[0].job_id]
    assert sorted(writer.batches[1]) == sorted(job.job_id for job in jobs[1:])
    assert len(writer.batches) == 2


def test_a_failed_group_write_fails_only_the_bad_job() -> None:
    jobs = [a_job(f"j{n:032x}") for n in range(6)]
    bad = jobs[3].job_id
    writer = HeldWriter(fail_on=bad)

    outcome = insert_in_threads(_GroupInsert(writer), jobs)

    assert outcome == {
        job.job_id: f"cannot write {bad}" if job.job_id == bad else "written"
        for job in jobs
    }
    written = sorted(i for batch in writer.batches for i in batch)
    assert written == sorted(job.job_id for job in jobs if job.job_id != bad)


@pytest.mark.parametrize("threads", [1, 16])
def test_jobs_inserted_from_many_threads_are_all_stored_and_counted(
    tmp_path: Path, threads: int
) -> None:
    store = JobStore(sqlite_url(tmp_path / "store.db"))
    store.create_schema()
    jobs = [a_job(service=SERVICE if n % 3 else "Other") for n in range(240)]
    share = [jobs[n::threads] for n in range(threads)]

    workers = [
        threading.Thread(
            target=lambda mine: [store.insert_job(j, inputs_of(j)) for j in mine],
            args=(s,),
        )
        for s in share
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert store.existing_ids([j.job_id for j in jobs]) == {j.job_id for j in jobs}
    assert [store.inputs_of(j.job_id) for j in jobs] == [inputs_of(j) for j in jobs]
    assert store.statistics(SERVICE) == Statistics(total=160)
    assert store.statistics("Other") == Statistics(total=80)
    store.dispose()
