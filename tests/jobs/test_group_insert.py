"""Group commit of submitted jobs: many threads, few transactions, nothing lost."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gpserver.db import sqlite_url
from gpserver.jobs.model import Job, Statistics, new_job_id
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore, NewJob, _GroupInsert

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


class HeldBatches:
    """Passes each batch on to the store's own write and notes its size and
    whether it failed; the first waits until it is let go, so that the inserts
    arriving meanwhile go together in the next."""

    def __init__(self, write: Callable[[list[NewJob]], None]) -> None:
        self.write = write
        self.calls: list[tuple[int, str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()

    def __call__(self, batch: list[NewJob]) -> None:
        if not self.first_started.is_set():
            self.first_started.set()
            self.release.wait(10)
        try:
            self.write(batch)
        except Exception:
            self.calls.append((len(batch), "failed"))
            raise
        self.calls.append((len(batch), "written"))


def test_a_burst_of_inserts_from_an_event_loop_is_all_stored_and_counted(
    store: JobStore,
) -> None:
    jobs = [a_job(service=SERVICE if n % 5 else "Other") for n in range(50)]
    told: list[str] = []
    store.on_visible = lambda visible: told.extend(j.job_id for j in visible)

    async def burst() -> list[None]:
        inserts = [store.insert_job_async(j, inputs_of(j)) for j in jobs]
        return await asyncio.gather(*inserts)

    assert asyncio.run(burst()) == [None] * 50

    assert store.existing_ids([j.job_id for j in jobs]) == {j.job_id for j in jobs}
    assert [store.inputs_of(j.job_id) for j in jobs] == [inputs_of(j) for j in jobs]
    assert store.statistics(SERVICE) == Statistics(total=40)
    assert store.statistics("Other") == Statistics(total=10)
    assert sorted(told) == sorted(j.job_id for j in jobs)


def test_a_row_the_store_refuses_fails_only_its_own_caller_on_the_loop(
    store: JobStore,
) -> None:
    existing = a_job()
    store.insert_job(existing, inputs_of(existing))
    clash = a_job(existing.job_id)
    jobs = [a_job() for _ in range(24)] + [clash] + [a_job() for _ in range(25)]
    held = HeldBatches(store._inserts.write)
    store._inserts.write = held
    outcome: dict[int, str] = {}

    async def insert(n: int, job: Job) -> None:
        try:
            await store.insert_job_async(job, json.dumps({"n": n}))
            outcome[n] = "stored"
        except Exception as exc:
            outcome[n] = type(exc).__name__

    async def burst() -> None:
        first = asyncio.create_task(insert(0, jobs[0]))
        while not held.first_started.is_set():
            await asyncio.sleep(0.001)
        others = [asyncio.create_task(insert(n, jobs[n])) for n in range(1, 50)]
        while len(store._inserts._queue) < len(others):
            await asyncio.sleep(0.001)
        held.release.set()
        await asyncio.gather(first, *others)

    asyncio.run(burst())

    refused = "IntegrityError" if store.db.is_sqlite else "UniqueViolation"
    assert outcome == {n: refused if n == 24 else "stored" for n in range(50)}
    # The shared write failed as a whole; each of its jobs was then tried alone.
    alone = [(1, "failed" if n == 24 else "written") for n in range(1, 50)]
    assert held.calls == [(1, "written"), (49, "failed"), *alone]
    assert store.inputs_of(existing.job_id) == inputs_of(existing)
    assert [store.inputs_of(j.job_id) for n, j in enumerate(jobs) if n != 24] == [
        json.dumps({"n": n}) for n in range(50) if n != 24
    ]
    assert store.statistics(SERVICE) == Statistics(total=50)


@pytest.mark.parametrize("size", [1, 5])
def test_the_visible_hook_gets_the_jobs_once_others_can_read_them(
    store: JobStore, size: int
) -> None:
    # A batch of one goes the early way on SQLite (told before the flush).
    told: list[tuple[list[Job], list[Job | None]]] = []

    def visible(jobs: list[Job]) -> None:
        other = JobStore(store.db.url)
        told.append((jobs, [other.get(j.job_id) for j in jobs]))
        other.dispose()

    store.on_visible = visible
    jobs = [a_job(service=SERVICE if n % 2 else "Other") for n in range(size)]

    if size == 1:
        store.insert_job(jobs[0], inputs_of(jobs[0]))
    else:
        store.insert_jobs([(j, inputs_of(j)) for j in jobs])

    assert told == [(jobs, jobs)]
    assert store.statistics(SERVICE) == Statistics(total=size // 2)
    assert store.statistics("Other") == Statistics(total=size - size // 2)


class Steps:
    """What happens, in order: the visible hook, and each real fsync's file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[str] = []
        self._fsync = os.fsync
        monkeypatch.setattr(os, "fsync", self.fsync)

    def fsync(self, fd: int) -> None:
        self._fsync(fd)
        self.seen.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}')}")

    def told(self, jobs: list[Job]) -> None:
        self.seen.append(f"told {len(jobs)}")


def test_a_lone_insert_on_sqlite_tells_before_it_flushes_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JobStore(sqlite_url(tmp_path / "store.db"))
    store.create_schema()
    steps = Steps(monkeypatch)
    store.on_visible = steps.told
    job = a_job()

    store.insert_job(job, inputs_of(job))
    store.insert_jobs([(a_job(), "{}"), (a_job(), "{}")])

    # A batch commits with SQLite's own flush inside, before it tells.
    assert steps.seen == ["told 1", f"fsync {tmp_path / 'store.db-wal'}", "told 2"]
    store.dispose()


def test_a_failing_visible_hook_leaves_the_insert_done(
    store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(jobs: list[Job]) -> None:
        raise RuntimeError("no worker listens")

    store.on_visible = broken
    job = a_job()

    with caplog.at_level(logging.ERROR, logger="gpserver.jobs.store"):
        store.insert_job(job, inputs_of(job))

    assert store.get(job.job_id) == job
    assert store.statistics(SERVICE) == Statistics(total=1)
    assert [r.getMessage() for r in caplog.records] == [
        "telling the workers of submitted jobs failed"
    ]
