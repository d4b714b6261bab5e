from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gpserver.db import Database

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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--gp-mode",
        choices=["embedded", "distributed"],
        help="what each end-to-end server is: one embedded `gpserver serve` "
        "(default), or two web nodes and two workers on PostgreSQL and Redis; "
        "also GPSERVER_TEST_MODE",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded_only(reason): the test checks what only the embedded mode has "
        "(its SQLite file, its data-directory lock, its local worker pool, one "
        "process to crash); the reason says which",
    )
    config.addinivalue_line(
        "markers",
        "distributed_gap(reason): a feature the distributed mode still lacks (issue "
        "#7); the test is expected to fail there, and must pass once it is built",
    )
    mode = config.getoption("--gp-mode")
    if mode:
        # Read by tests.e2e.server, and by the processes the tests start.
        os.environ["GPSERVER_TEST_MODE"] = mode


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("GPSERVER_TEST_MODE") != "distributed":
        return
    for item in items:
        marker = item.get_closest_marker("embedded_only")
        if marker is not None:
            reason = _reason(item, marker)
            item.add_marker(pytest.mark.skip(reason=f"embedded mode only: {reason}"))
        gap = item.get_closest_marker("distributed_gap")
        if gap is not None:
            # Strict: a test that starts passing says the gap is closed.
            reason = f"missing in the distributed mode: {_reason(item, gap)}"
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def _reason(item: pytest.Item, marker: pytest.Mark) -> str:
    reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
    assert reason, f"{item.nodeid}: {marker.name} needs a reason"
    return str(reason)


@pytest.fixture(scope="session", autouse=True)
def _distributed_sites_databases() -> Iterator[None]:
    """Drop the databases that distributed end-to-end sites made, at the end."""
    yield
    if os.environ.get("GPSERVER_TEST_MODE") == "distributed":
        from tests.distributed.site import drop_databases

        drop_databases()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[PostgresDatabases]:
    """Call it for the URL of a new database on the local PostgreSQL.

    Each database is dropped by ``postgres_url.drop(url)`` or, at the latest, when
    the session ends.
    """
    databases = PostgresDatabases(ADMIN_URL)
    yield databases
    databases.close()


@pytest.fixture(scope="module")
def postgres_store(postgres_url: PostgresDatabases) -> Iterator[str]:
    """One PostgreSQL database with gpserver's schema for the module; each test
    empties the tables it uses."""
    url = postgres_url()
    database = Database(url)
    database.upgrade()
    database.dispose()
    yield url
    postgres_url.drop(url)
