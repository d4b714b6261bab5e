from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gpserver.db import sqlite_url
from gpserver.jobs.store import JobStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """An empty job store of each kind."""
    if request.param == "sqlite":
        store = JobStore(sqlite_url(tmp_path / "store.db"))
        store.create_schema()
    else:
        store = JobStore(request.getfixturevalue("postgres_store"))
        with store.db.write() as conn:
            conn.execute(text("TRUNCATE jobs, job_data, service_counters"))
    yield store
    store.dispose()
