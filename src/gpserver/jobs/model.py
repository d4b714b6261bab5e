"""The job record as every layer sees it."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from gpserver.jobs.states import JobStatus


def new_job_id() -> str:
    """``j`` followed by 32 lowercase hex characters, as ArcGIS Server makes them."""
    return "j" + secrets.token_hex(16)


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
