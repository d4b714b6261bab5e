"""Filling a job store fast: rows straight into SQLite, folders straight onto disk.

Going through ``submitJob`` would take hours for a million jobs, so the rows are
written with plain ``sqlite3`` in large transactions, after the server's own code
has created the schema. The ``service_counters`` row is written to match the rows,
as the store itself would have kept it.

Every seeded job is finished (Succeeded, Failed, Cancelled or TimedOut): a start-up
fails and gives a fresh folder to every unfinished job that has none, which would
turn a store without folders into thousands of writes before the first request.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gpserver.db import Database, sqlite_url
from gpserver.jobs.jobsdir import service_dir_name
from gpserver.jobs.states import JobStatus

CHUNK = 50_000
MINUTE_MS = 60_000

# Roughly what a busy service ends with: mostly successes, some failures.
ENDINGS = (
    (JobStatus.SUCCEEDED, 85),
    (JobStatus.FAILED, 8),
    (JobStatus.CANCELLED, 4),
    (JobStatus.TIMED_OUT, 3),
)
USERS = (None, None, None, "analyst1", "analyst2")

COLUMNS = (
    "job_id, service, task, status, username, machine, submitted_ms, started_ms, "
    "ended_ms, modified_ms, progress_percent, progress_message, worker, heartbeat_ms"
)


@dataclass
class Counts:
    """What ``service_counters`` holds for the seeded service; TimedOut jobs only
    count in ``total``, as in the store."""

    total: int = 0
    cancelled: int = 0
    failed: int = 0
    succeeded: int = 0
    job_ids: list[str] = field(default_factory=list, repr=False)


def create_store(data_dir: Path) -> Path:
    """An empty store with the server's schema; returns the database file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "gpserver.db"
    database = Database(sqlite_url(path))
    database.create_schema()
    database.dispose()
    return path


def insert_finished_jobs(
    db_path: Path,
    service: str,
    task: str,
    count: int,
    *,
    age_minutes: tuple[float, float],
    keep_ids: bool = False,
    users: tuple[str | None, ...] = USERS,
    rng: random.Random,
) -> Counts:
    """Add ``count`` finished jobs last changed ``age_minutes`` ago (low, high)."""
    counts = Counts()
    now = int(time.time() * 1000)
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        # Durability is not wanted while filling: a failed fill is started again.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        for chunk in _chunks(count):
            rows = [
                _row(service, task, now, age_minutes, users, rng) for _ in range(chunk)
            ]
            connection.execute("BEGIN")
            connection.executemany(
                f"INSERT INTO jobs ({COLUMNS}) VALUES ({', '.join('?' * 14)})", rows
            )
            connection.execute("COMMIT")
            _tally(counts, rows, keep_ids)
        _add_counters(connection, service, counts)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return counts


def make_folders(
    jobs_root: Path, service: str, job_ids: list[str], *, age_minutes: float
) -> None:
    """A folder with a small inputs.json per job, dated ``age_minutes`` ago.

    The date matters: the sweeper leaves a job whose folder changed after the
    cutoff, so folders made just now would all be kept.
    """
    parent = jobs_root / service_dir_name(service)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.time() - age_minutes * 60
    inputs = json.dumps({"inputs": {"seconds": 1}, "context": {}}).encode()
    for job_id in job_ids:
        folder = parent / job_id
        os.mkdir(folder)
        fd = os.open(folder / "inputs.json", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, inputs)
        finally:
            os.close(fd)
        os.utime(folder, (stamp, stamp))


def _chunks(count: int) -> Iterator[int]:
    while count > 0:
        yield min(CHUNK, count)
        count -= CHUNK


def _row(
    service: str,
    task: str,
    now: int,
    age_minutes: tuple[float, float],
    users: tuple[str | None, ...],
    rng: random.Random,
) -> tuple[object, ...]:
    status = rng.choices([s for s, _ in ENDINGS], [w for _, w in ENDINGS])[0]
    modified = now - int(rng.uniform(*age_minutes) * MINUTE_MS)
    started = modified - rng.randint(1_000, 60_000)
    submitted = started - rng.randint(100, 2_000)
    return (
        f"j{rng.getrandbits(128):032x}",
        service,
        task,
        status.ordinal,
        rng.choice(users),
        "bench-host",
        submitted,
        started,
        modified,
        modified,
        100 if status is JobStatus.SUCCEEDED else None,
        None,
        "bench-worker",
        modified,
    )


def _tally(counts: Counts, rows: list[tuple[object, ...]], keep_ids: bool) -> None:
    counts.total += len(rows)
    for row in rows:
        status = row[3]
        if status == JobStatus.SUCCEEDED.ordinal:
            counts.succeeded += 1
        elif status == JobStatus.FAILED.ordinal:
            counts.failed += 1
        elif status == JobStatus.CANCELLED.ordinal:
            counts.cancelled += 1
    if keep_ids:
        counts.job_ids += [str(row[0]) for row in rows]


def _add_counters(connection: sqlite3.Connection, service: str, c: Counts) -> None:
    connection.execute(
        "INSERT INTO service_counters (service, total, cancelled, failed, succeeded) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (service) DO UPDATE SET "
        "total = total + excluded.total, cancelled = cancelled + excluded.cancelled, "
        "failed = failed + excluded.failed, succeeded = succeeded + excluded.succeeded",
        (service, c.total, c.cancelled, c.failed, c.succeeded),
    )
