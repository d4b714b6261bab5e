"""The job store: every SQL statement on jobs, each named after what it does.

Writers go through :meth:`JobStore.transition`, which moves a job only from the states
that may lead to the wanted one, in a single guarded UPDATE, and changes the service's
counters in the same transaction. A late report from a worker therefore cannot move a
cancelled job back to executing, whatever the timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from gpserver.db import Database, QuickTransaction
from gpserver.errors import NotFound
from gpserver.jobs import tables
from gpserver.jobs.model import Job, Statistics, now_ms
from gpserver.jobs.states import (
    FINISHED,
    JobStatus,
    check_transition,
)

log = logging.getLogger(__name__)

_COUNTED = {
    JobStatus.CANCELLED: "cancelled",
    JobStatus.FAILED: "failed",
    JobStatus.SUCCEEDED: "succeeded",
}


# The two reads nearly every request makes, built once (see Database.read_one).
JOB_BY_ID = select(tables.jobs).where(tables.jobs.c.job_id == bindparam("job_id"))
INPUTS_OF_JOB = select(tables.job_data.c.inputs).where(
    tables.job_data.c.job_id == bindparam("job_id")
)
RESULTS_OF_JOB = select(tables.job_data.c.results).where(
    tables.job_data.c.job_id == bindparam("job_id")
)
COUNTERS_OF_SERVICE = select(tables.service_counters).where(
    tables.service_counters.c.service == bindparam("service")
)

# Claiming a job, once for every job run, built once too.
_OLDEST_IN_STATE = (
    select(tables.jobs.c.submitted_ms, tables.jobs.c.job_id)
    .where(tables.jobs.c.service == bindparam("service"))
    .where(tables.jobs.c.status == bindparam("status"))
    .order_by(tables.jobs.c.submitted_ms, tables.jobs.c.job_id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_OLDEST_IN_STATE_READ = (
    select(tables.jobs.c.job_id)
    .where(tables.jobs.c.service == bindparam("service"))
    .where(tables.jobs.c.status == bindparam("status"))
    .limit(1)
)
_START_JOB = (
    update(tables.jobs)
    .where(tables.jobs.c.job_id == bindparam("id"))
    .values(
        status=JobStatus.EXECUTING.ordinal,
        started_ms=bindparam("now"),
        modified_ms=bindparam("now"),
        heartbeat_ms=bindparam("now"),
        worker=bindparam("worker"),
        machine=bindparam("machine"),
    )
)

_MARK_WAITING = (
    update(tables.jobs)
    .where(tables.jobs.c.service == bindparam("service"))
    .where(tables.jobs.c.status == JobStatus.SUBMITTED.ordinal)
    .where(tables.jobs.c.submitted_ms <= bindparam("before"))
    .values(status=JobStatus.WAITING.ordinal, modified_ms=bindparam("now"))
    .returning(tables.jobs.c.job_id)
)
_INSERT_JOB = tables.jobs.insert()
_INSERT_DATA = tables.job_data.insert()
_SET_RESULTS = (
    update(tables.job_data)
    .where(tables.job_data.c.job_id == bindparam("d_job_id"))
    .values(results=bindparam("d_results"))
)
_MOVES: dict[tuple[str, ...], Any] = {}


def _move_statement(names: tuple[str, ...]) -> Any:
    """The UPDATE that moves a job from one state to another and sets ``names``;
    one per set of names, built once, so the store can keep it compiled."""
    statement = _MOVES.get(names)
    if statement is None:
        jobs = tables.jobs
        statement = (
            update(jobs)
            .where(jobs.c.job_id == bindparam("m_job_id"))
            .where(jobs.c.status == bindparam("m_before"))
            .values(
                status=bindparam("m_status"),
                **{name: bindparam(f"m_{name}") for name in names},
            )
        )
        _MOVES[names] = statement
    return statement


_STATUS_TO_CHANGE = (
    select(tables.jobs.c.status)
    .where(tables.jobs.c.job_id == bindparam("job_id"))
    .with_for_update()
)


def _add_to_counters(insert: Any) -> Any:
    """Add to a service's counters, making its row if it has none: the statement
    for the dialect's ``insert``, taking the service and a delta for each count."""
    counters = tables.service_counters
    names = ("total", "cancelled", "failed", "succeeded")
    statement = insert(counters).values(
        service=bindparam("service"), **{name: bindparam(name) for name in names}
    )
    return statement.on_conflict_do_update(
        index_elements=[counters.c.service],
        set_={name: counters.c[name] + statement.excluded[name] for name in names},
    )


class NoJobData(Exception):
    """The job has no data row: it was submitted before the store kept inputs."""


class JobStore:
    """Jobs and their per-service counters in SQLite or PostgreSQL."""

    def __init__(self, database: Database | str) -> None:
        self.db = database if isinstance(database, Database) else Database(database)
        self._write = self.db.write
        self._read = self.db.read
        self._inserts = _GroupInsert(
            lambda batch: self.insert_jobs(batch, early=len(batch) == 1)
        )
        self._add_to_counters = _add_to_counters(self.db.insert())
        self.on_visible: Callable[[list[Job]], None] | None = None
        """Told of inserted jobs as soon as other connections can see them."""

    def create_schema(self) -> None:
        self.db.create_schema()

    def dispose(self) -> None:
        self.db.dispose()

    # -- writes ---------------------------------------------------------------

    def insert_job(self, job: Job, inputs: str) -> None:
        """Insert a job with its inputs (JSON text); both are committed, on disk,
        when this returns.

        Jobs inserted at about the same time share one transaction, so that they
        share its wait for the disk (see :class:`_GroupInsert`).
        """
        self._inserts.insert((job, inputs))

    async def insert_job_async(self, job: Job, inputs: str) -> None:
        """:meth:`insert_job` for a caller on an event loop."""
        await self._inserts.insert_async((job, inputs))

    def insert_jobs(self, jobs: list[NewJob], *, early: bool = False) -> None:
        """Insert jobs with their inputs in one transaction, on disk on return,
        and tell :attr:`on_visible` of them once other connections see them.

        ``early`` (SQLite): commit without waiting for the disk, tell, then flush
        the write-ahead log, so that workers start on the jobs while the disk
        catches up; nobody is answered before the flush. For a lone submit: a
        batch waits for its flush with the store's lock held, which keeps the
        workers it wakes from contending for the lock with the next batch.
        """
        totals: dict[str, int] = {}
        early = early and self.db.is_sqlite
        with self.db.quick_write(durable=not early) as tx:
            tx.executemany(_INSERT_JOB, [_row_values(job) for job, _ in jobs])
            tx.executemany(
                _INSERT_DATA,
                [{"job_id": job.job_id, "inputs": inputs} for job, inputs in jobs],
            )
            for job, _ in jobs:
                totals[job.service] = totals.get(job.service, 0) + 1
            for service, count in totals.items():
                self._count(tx, service, total=count)
        if self.on_visible is not None:
            try:
                self.on_visible([job for job, _ in jobs])
            except Exception:
                # A worker that is not told finds the job at its next look.
                log.exception("telling the workers of submitted jobs failed")
        if early:
            self.db.flush()

    def transition(
        self,
        job_id: str,
        wanted: JobStatus,
        *,
        results: str | None = None,
        inputs: str | None = None,
        durable: bool = True,
        **values: Any,
    ) -> tuple[Job, JobStatus]:
        """Move a job to ``wanted``; return the new job and the state it left.

        ``results`` (JSON text) are stored in the same transaction; a job without a
        data row gets one when its ``inputs`` are given too, else NoJobData is
        raised and nothing changes. ``durable`` as for :meth:`Database.write`.
        Raises IllegalTransition when the job is in a state that cannot lead there,
        and NotFound when it does not exist.
        """
        values.setdefault("modified_ms", now_ms())
        with self.db.quick_write(durable=durable) as tx:
            before = tx.one(_STATUS_TO_CHANGE, {"job_id": job_id})
            if before is None:
                raise NotFound(f"job {job_id} does not exist")
            previous = JobStatus.from_ordinal(before.status)
            check_transition(job_id, previous, wanted)

            # The row is locked (PostgreSQL) or the store is (SQLite) since the
            # read above, so the state it had is the state it has.
            tx.execute(
                _move_statement(tuple(sorted(values))),
                {f"m_{name}": value for name, value in values.items()}
                | {"m_job_id": job_id, "m_before": before.status}
                | {"m_status": wanted.ordinal},
            )
            row = tx.one(JOB_BY_ID, {"job_id": job_id})
            if results is not None:
                kept = tx.execute(
                    _SET_RESULTS, {"d_job_id": job_id, "d_results": results}
                )
                if kept == 0:
                    if inputs is None:
                        raise NoJobData(job_id)
                    tx.execute(
                        _INSERT_DATA,
                        {"job_id": job_id, "inputs": inputs, "results": results},
                    )
            if wanted in _COUNTED:
                self._count(tx, row.service, **{_COUNTED[wanted]: 1})
            elif wanted is JobStatus.DELETING:
                # A job being deleted is no longer held: it leaves the counts now,
                # in the same transaction, so a crash before its row is gone cannot
                # count it twice or not at all.
                deltas = {"total": -1}
                if previous in _COUNTED:
                    deltas[_COUNTED[previous]] = -1
                self._count(tx, row.service, **deltas)
        return Job.from_row(row), previous

    def remove_deleted(self, job_id: str) -> bool:
        """Drop the row of a job in Deleting; its counts were taken off already."""
        return self.remove_all_deleted([job_id]) == 1

    def claim_next(self, service: str, worker: str, machine: str) -> Job | None:
        """Start the oldest queued job of a service, or return None.

        Not a durable write: a claim lost to a power cut leaves the job queued, and
        a queued job runs again when the server starts, as after any crash.
        """
        now = now_ms()
        with self.db.quick_write(durable=False) as tx:
            # One indexed look-up per queued state, each answered straight from
            # ix_jobs_service_status_submitted: with both states in one IN (...)
            # SQLite prefers the index that avoids the sort and walks every job of
            # the service, seconds on a store of a million jobs.
            # On PostgreSQL claimers run side by side: each locks the job it looks
            # at and passes over those that others hold. SQLite ignores the lock;
            # its IMMEDIATE transactions run one claimer at a time.
            candidates = []
            for state in (JobStatus.SUBMITTED, JobStatus.WAITING):
                found = tx.one(
                    _OLDEST_IN_STATE, {"service": service, "status": state.ordinal}
                )
                if found is not None:
                    candidates.append(tuple(found))
            job_id = min(candidates)[1] if candidates else None
            if job_id is None:
                return None
            tx.execute(
                _START_JOB,
                {"id": job_id, "now": now, "worker": worker, "machine": machine},
            )
            row = tx.one(JOB_BY_ID, {"job_id": job_id})
        return Job.from_row(row)

    def mark_waiting(self, service: str, submitted_before_ms: int) -> list[str]:
        """Move a service's Submitted jobs to Waiting, those submitted at or before
        the time given: no instance is free for them."""
        parameters = {"service": service, "before": submitted_before_ms}
        with self.db.quick_write(durable=False) as tx:
            moved = tx.all(_MARK_WAITING, parameters | {"now": now_ms()})
        return [row.job_id for row in moved]

    def mark_jobs_waiting(self, job_ids: list[str]) -> list[str]:
        """Move those of these jobs still Submitted to Waiting; return their ids."""
        with self.db.write(durable=False) as conn:
            moved = conn.execute(
                update(tables.jobs)
                .where(tables.jobs.c.job_id.in_(job_ids))
                .where(tables.jobs.c.status == JobStatus.SUBMITTED.ordinal)
                .values(status=JobStatus.WAITING.ordinal, modified_ms=now_ms())
                .returning(tables.jobs.c.job_id)
            )
            return list(moved.scalars())

    def set_progress(
        self, job_id: str, percent: int | None, message: str | None
    ) -> None:
        with self.db.write(durable=False) as conn:
            conn.execute(
                update(tables.jobs)
                .where(tables.jobs.c.job_id == job_id)
                .where(tables.jobs.c.status == JobStatus.EXECUTING.ordinal)
                .values(progress_percent=percent, progress_message=message)
            )

    def touch(self, job_id: str) -> None:
        """Record that a job changed (a new message), for cleanup by age."""
        with self.db.write(durable=False) as conn:
            conn.execute(
                update(tables.jobs)
                .where(tables.jobs.c.job_id == job_id)
                .values(modified_ms=now_ms())
            )

    def touch_all(self, job_ids: list[str]) -> None:
        with self.db.write(durable=False) as conn:
            conn.execute(
                update(tables.jobs)
                .where(tables.jobs.c.job_id.in_(job_ids))
                .values(modified_ms=now_ms())
            )

    def heartbeat(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)
        if not ids:
            return
        with self.db.write(durable=False) as conn:
            conn.execute(
                update(tables.jobs)
                .where(tables.jobs.c.job_id.in_(ids))
                .values(heartbeat_ms=now_ms())
            )

    def expired(
        self, older_than_ms: int, limit: int, service: str | None = None
    ) -> list[Job]:
        """Finished jobs last changed before ``older_than_ms``, oldest first."""
        jobs = tables.jobs
        query = (
            select(jobs)
            .where(jobs.c.status.in_([s.ordinal for s in FINISHED]))
            .where(jobs.c.modified_ms < older_than_ms)
        )
        if service is not None:
            query = query.where(jobs.c.service == service)
        with self._read() as conn:
            rows = conn.execute(query.order_by(jobs.c.modified_ms).limit(limit)).all()
        return [Job.from_row(r) for r in rows]

    def count_expired(self, older_than_ms: int, service: str | None = None) -> int:
        jobs = tables.jobs
        query = (
            select(func.count())
            .select_from(jobs)
            .where(jobs.c.status.in_([s.ordinal for s in FINISHED]))
            .where(jobs.c.modified_ms < older_than_ms)
        )
        if service is not None:
            query = query.where(jobs.c.service == service)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def mark_deleting(self, job_ids: list[str], older_than_ms: int) -> list[Job]:
        """Move still-finished, still-expired jobs to Deleting in one transaction.

        The counters lose them in the same transaction. Returns the jobs moved, with
        the state they left, so their folders can be removed next.
        """
        jobs = tables.jobs
        finished = [s.ordinal for s in FINISHED]
        with self._write() as conn:
            rows = conn.execute(
                select(jobs)
                .where(jobs.c.job_id.in_(job_ids))
                .where(jobs.c.status.in_(finished))
                .where(jobs.c.modified_ms < older_than_ms)
                .with_for_update()
            ).all()
            if not rows:
                return []
            conn.execute(
                update(jobs)
                .where(jobs.c.job_id.in_([r.job_id for r in rows]))
                .where(jobs.c.status.in_(finished))
                .values(status=JobStatus.DELETING.ordinal, modified_ms=now_ms())
            )
            deltas: dict[str, dict[str, int]] = {}
            for row in rows:
                counts = deltas.setdefault(row.service, {"total": 0})
                counts["total"] -= 1
                column = _COUNTED.get(JobStatus.from_ordinal(row.status))
                if column:
                    counts[column] = counts.get(column, 0) - 1
            for service_key, counts in deltas.items():
                self._count(conn, service_key, **counts)
        return [Job.from_row(r) for r in rows]

    def remove_all_deleted(self, job_ids: list[str]) -> int:
        with self._write() as conn:
            gone = list(
                conn.execute(
                    delete(tables.jobs)
                    .where(tables.jobs.c.job_id.in_(job_ids))
                    .where(tables.jobs.c.status == JobStatus.DELETING.ordinal)
                    .returning(tables.jobs.c.job_id)
                ).scalars()
            )
            if gone:
                conn.execute(
                    delete(tables.job_data).where(tables.job_data.c.job_id.in_(gone))
                )
        return len(gone)

    def existing_ids(self, job_ids: list[str]) -> set[str]:
        with self._read() as conn:
            rows = conn.execute(
                select(tables.jobs.c.job_id).where(tables.jobs.c.job_id.in_(job_ids))
            ).scalars()
            return set(rows)

    def _count(
        self, conn: Connection | QuickTransaction, service: str, **deltas: int
    ) -> None:
        row = {"service": service, "total": 0, "cancelled": 0, "failed": 0}
        row |= {"succeeded": 0}
        conn.execute(self._add_to_counters, row | deltas)

    # -- reads ----------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        row = self.db.read_one(JOB_BY_ID, job_id=job_id)
        return Job.from_row(row) if row is not None else None

    def inputs_of(self, job_id: str) -> str | None:
        """A job's inputs as stored (JSON text); None for a job that has no data
        row, which a job made before the store kept them does not."""
        row = self.db.read_one(INPUTS_OF_JOB, job_id=job_id)
        return row.inputs if row is not None else None

    def results_of(self, job_id: str) -> tuple[bool, str | None]:
        """Whether the job has a data row, and its results (JSON text) if any."""
        row = self.db.read_one(RESULTS_OF_JOB, job_id=job_id)
        return (row is not None, row.results if row is not None else None)

    def statuses(self, job_ids: Iterable[str]) -> dict[str, JobStatus]:
        ids = list(job_ids)
        if not ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                select(tables.jobs.c.job_id, tables.jobs.c.status).where(
                    tables.jobs.c.job_id.in_(ids)
                )
            ).all()
        return {r.job_id: JobStatus.from_ordinal(r.status) for r in rows}

    def in_states(
        self, states: Iterable[JobStatus], service: str | None = None
    ) -> list[Job]:
        query = select(tables.jobs).where(
            tables.jobs.c.status.in_([s.ordinal for s in states])
        )
        if service is not None:
            query = query.where(tables.jobs.c.service == service)
        with self._read() as conn:
            rows = conn.execute(query.order_by(tables.jobs.c.submitted_ms)).all()
        return [Job.from_row(r) for r in rows]

    def queued_before(self, changed_before_ms: int, limit: int) -> list[Job]:
        """Queued jobs not changed since ``changed_before_ms``, oldest change first."""
        queued = [JobStatus.SUBMITTED.ordinal, JobStatus.WAITING.ordinal]
        query = (
            select(tables.jobs)
            .where(tables.jobs.c.status.in_(queued))
            .where(tables.jobs.c.modified_ms < changed_before_ms)
            .order_by(tables.jobs.c.modified_ms)
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [Job.from_row(r) for r in rows]

    def has_queued(self, service: str) -> bool:
        """Whether a job of the service waits to be claimed (see claim_next)."""
        for state in (JobStatus.SUBMITTED, JobStatus.WAITING):
            row = self.db.read_one(
                _OLDEST_IN_STATE_READ, service=service, status=state.ordinal
            )
            if row is not None:
                return True
        return False

    def running_on(self, service: str, worker: str) -> list[Job]:
        """The jobs of a service that the store says ``worker`` is running."""
        running = [JobStatus.EXECUTING.ordinal, JobStatus.CANCELLING.ordinal]
        with self._read() as conn:
            rows = conn.execute(
                select(tables.jobs)
                .where(tables.jobs.c.service == service)
                .where(tables.jobs.c.status.in_(running))
                .where(tables.jobs.c.worker == worker)
            ).all()
        return [Job.from_row(r) for r in rows]

    def count_queued(self, service: str) -> int:
        queued = [JobStatus.SUBMITTED.ordinal, JobStatus.WAITING.ordinal]
        with self._read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(tables.jobs)
                    .where(tables.jobs.c.service == service)
                    .where(tables.jobs.c.status.in_(queued))
                ).scalar_one()
            )

    def query(
        self, service: str, filters: JobFilter, start: int, number: int
    ) -> tuple[int, list[Job]]:
        """One page of a service's jobs by submission time, and how many match.

        Oldest first, so that jobs submitted while a client pages through do not
        shift the pages it has not read yet.
        """
        jobs = tables.jobs
        where = [jobs.c.service == service]
        if filters.start_ms is not None:
            where.append(jobs.c.submitted_ms >= filters.start_ms)
        if filters.end_ms is not None:
            where.append(jobs.c.submitted_ms <= filters.end_ms)
        if filters.status is not None:
            where.append(jobs.c.status == filters.status.ordinal)
        if filters.anonymous:
            where.append(jobs.c.username.is_(None))
        elif filters.username is not None:
            where.append(func.lower(jobs.c.username) == filters.username.lower())
        if filters.machine is not None:
            where.append(func.lower(jobs.c.machine) == filters.machine.lower())
        with self._read() as conn:
            if filters.selects_all:
                total = self._held_jobs(conn, service)
            else:
                total = conn.execute(
                    select(func.count()).select_from(jobs).where(*where)
                ).scalar_one()
            rows = self._page(conn, where, int(total), start, number)
        return int(total), [Job.from_row(r) for r in rows]

    def _held_jobs(self, conn: Connection, service: str) -> int:
        """How many rows a service has, without counting them one by one: its
        counters' total, plus the rows being deleted, which left the counters."""
        counters = tables.service_counters
        total = conn.execute(
            select(counters.c.total).where(counters.c.service == service)
        ).scalar_one_or_none()
        deleting = conn.execute(
            select(func.count())
            .select_from(tables.jobs)
            .where(tables.jobs.c.service == service)
            .where(tables.jobs.c.status == JobStatus.DELETING.ordinal)
        ).scalar_one()
        return int(total or 0) + int(deleting)

    @staticmethod
    def _page(
        conn: Connection, where: list[Any], total: int, start: int, number: int
    ) -> list[Any]:
        """Rows ``start`` to ``start + number`` in submission order.

        An OFFSET walks past every row it skips, so a page nearer the end is read
        backwards from the end: the last page of a million jobs skips none.
        """
        jobs = tables.jobs
        remaining = total - start
        if remaining <= 0 or start <= remaining:
            return list(
                conn.execute(
                    select(jobs)
                    .where(*where)
                    .order_by(jobs.c.submitted_ms, jobs.c.job_id)
                    .offset(start)
                    .limit(number)
                ).all()
            )
        count = min(number, remaining)
        rows = conn.execute(
            select(jobs)
            .where(*where)
            .order_by(jobs.c.submitted_ms.desc(), jobs.c.job_id.desc())
            .offset(remaining - count)
            .limit(count)
        ).all()
        return list(reversed(rows))

    def statistics(self, service: str) -> Statistics:
        row = self.db.read_one(COUNTERS_OF_SERVICE, service=service)
        if row is None:
            return Statistics()
        return Statistics(row.total, row.cancelled, row.failed, row.succeeded)


NewJob = tuple[Job, str]
"""A job to insert, with its inputs as JSON text."""


@dataclass
class _Pending:
    item: NewJob
    done: threading.Event | None = None
    future: asyncio.Future[None] | None = None
    error: BaseException | None = None


class _GroupInsert:
    """Group commit: inserts that arrive while one transaction is being written
    wait for it to end, then go to the store together in the next one.

    A commit waits for the disk (SQLite's synchronous=FULL, PostgreSQL's WAL
    flush); written one by one, sixteen submits wait sixteen times. One thread of
    its own writes every batch, so a caller on an event loop awaits its insert
    without a thread of its own, and a caller in a thread blocks on it. When a
    shared write fails, each job of it is tried alone, so one bad row fails one
    submit.
    """

    def __init__(self, write: Callable[[list[NewJob]], None]) -> None:
        self.write = write
        self._queue: list[_Pending] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def insert(self, item: NewJob) -> None:
        """Insert and block until the job is committed; raise what the write raised."""
        pending = _Pending(item, done=threading.Event())
        self._enqueue(pending)
        assert pending.done is not None
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    async def insert_async(self, item: NewJob) -> None:
        """The same for a caller on an event loop, which goes on serving meanwhile."""
        pending = _Pending(item, future=asyncio.get_running_loop().create_future())
        self._enqueue(pending)
        assert pending.future is not None
        await pending.future

    def _enqueue(self, pending: _Pending) -> None:
        with self._lock:
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="job-inserts", daemon=True
                )
                self._thread.start()
            self._arrived.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._arrived.wait()
                batch, self._queue = self._queue, []
            self._write(batch)
            _settle(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            self.write([pending.item for pending in batch])
            return
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
        for pending in batch:
            try:
                self.write([pending.item])
            except BaseException as exc:
                pending.error = exc


def _settle(batch: list[_Pending]) -> None:
    """Wake every caller of a written batch: threads at once, and each event loop
    once for all of its callers."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        if pending.done is not None:
            pending.done.set()
        elif pending.future is not None:
            by_loop.setdefault(pending.future.get_loop(), []).append(pending)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a loop that has closed
            loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(waiting: list[_Pending]) -> None:
    for pending in waiting:
        future = pending.future
        if future is None or future.done():
            continue  # its request was given up meanwhile
        if pending.error is not None:
            future.set_exception(pending.error)
        else:
            future.set_result(None)


@dataclass(frozen=True)
class JobFilter:
    """What an admin query selects; None means "any"."""

    start_ms: int | None = None
    end_ms: int | None = None
    status: JobStatus | None = None
    username: str | None = None
    anonymous: bool = False
    machine: str | None = None

    @property
    def selects_all(self) -> bool:
        """Whether every job of the service matches (a start time of 0 included)."""
        return (
            (self.start_ms is None or self.start_ms <= 0)
            and self.end_ms is None
            and self.status is None
            and self.username is None
            and not self.anonymous
            and self.machine is None
        )


def _row_values(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "service": job.service,
        "task": job.task,
        "status": job.status.ordinal,
        "username": job.username,
        "machine": job.machine,
        "submitted_ms": job.submitted_ms,
        "started_ms": job.started_ms,
        "ended_ms": job.ended_ms,
        "modified_ms": job.modified_ms,
        "progress_percent": job.progress_percent,
        "progress_message": job.progress_message,
        "worker": job.worker,
        "heartbeat_ms": job.heartbeat_ms,
    }
