from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The machine's PostgreSQL is shared: tests only ever drop databases they created.
ADMIN_URL = os.environ.get(
    "GPSERVER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class PostgresDatabases:
    """Makes empty databases with unique names and drops them again."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def __call__(self) -> str:
        """A new, empty database; its URL."""
        name = f"gpserver_test_{os.getpid()}_{secrets.token_hex(4)}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        assert name in self.created, f"{name} is not a database these tests made"
        # FORCE ends connections that an engine left in its pool.
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(self.admin_url.set(database=name).render_as_string(False))
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[PostgresDatabases]:
    """Call it for the URL of a new database on the local PostgreSQL.

    Each database is dropped by ``postgres_url.drop(url)`` or, at the latest, when
    the session ends.
    """
    databases = PostgresDatabases(ADMIN_URL)
    yield databases
    databases.close()
