"""The job record as every layer sees it."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from gpserver.jobs.states import JobStatus


class _RandomBytes:
    """Random bytes from the operating system, fetched 4 KB at a time: asking
    for 16 at a time costs a system call per submit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""

    def take(self, size: int) -> bytes:
        with self._lock:
            if len(self._pool) < size:
                self._pool = secrets.token_bytes(4096)
            taken, self._pool = self._pool[:size], self._pool[size:]
        return taken

    def forget(self) -> None:
        """In a forked child: the parent's bytes are the parent's."""
        self._lock = threading.Lock()
        self._pool = b""


_random = _RandomBytes()
os.register_at_fork(after_in_child=_random.forget)


def new_job_id() -> str:
    """``j`` followed by 32 lowercase hex characters, as ArcGIS Server makes them;
    unguessable, since an anonymous job's id is all it takes to read it."""
    return "j" + _random.take(16).hex()


_JOB_ID = re.compile(r"j[0-9a-f]{32}")


def is_job_id(text: str) -> bool:
    return _JOB_ID.fullmatch(text) is not None


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Job:
    """One asynchronous job; built from a store row, never edited in place."""

    job_id: str
    service: str
    task: str
    status: JobStatus
    username: str | None
    machine: str | None
    submitted_ms: int
    started_ms: int | None
    ended_ms: int | None
    modified_ms: int
    progress_percent: int | None
    progress_message: str | None
    worker: str | None
    heartbeat_ms: int | None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        return cls(
            job_id=row.job_id,
            service=row.service,
            task=row.task,
            status=JobStatus.from_ordinal(row.status),
            username=row.username,
            machine=row.machine,
            submitted_ms=row.submitted_ms,
            started_ms=row.started_ms,
            ended_ms=row.ended_ms,
            modified_ms=row.modified_ms,
            progress_percent=row.progress_percent,
            progress_message=row.progress_message,
            worker=row.worker,
            heartbeat_ms=row.heartbeat_ms,
        )


@dataclass(frozen=True)
class Statistics:
    """The four counts of ``jobs/statistics`` for one service."""

    total: int = 0
    cancelled: int = 0
    failed: int = 0
    succeeded: int = 0
