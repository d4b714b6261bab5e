from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gpserver.db import Database, sqlite_url
from gpserver.jobs.store import JobStore
from tests.conftest import PostgresDatabases


@pytest.fixture(scope="module")
def postgres_store(postgres_url: PostgresDatabases) -> Iterator[str]:
    """One PostgreSQL database for the module; each test empties its tables."""
    url = postgres_url()
    database = Database(url)
    database.upgrade()
    database.dispose()
    yield url
    postgres_url.drop(url)


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
