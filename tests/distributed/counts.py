"""What the Administrator API says a service's jobs are, and what the store holds."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import create_engine, text

from gpserver.jobs.states import JobStatus

COUNTED = {
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}


def statistics(root: str, token: str, service: str) -> Any:
    reply = httpx.post(
        f"{root}/admin/services/{service}.GPServer/jobs/statistics",
        data={"f": "json", "token": token},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def counted(database_url: str, service: str) -> dict[str, int]:
    """The four statistics counted afresh from the job rows."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("select status, count(*) from jobs where service = :s group by 1"),
                {"s": service},
            ).all()
    finally:
        engine.dispose()
    by_status = {int(status): int(count) for status, count in rows}
    counts = {"total": sum(by_status.values())}
    for name, status in COUNTED.items():
        counts[name] = by_status.get(status.ordinal, 0)
    return counts
