"""The one database the site keeps: engines, transactions and the shared schema.

Jobs and security each declare their tables on :data:`metadata` and run their
statements through a :class:`Database`, so both live in one store (SQLite in the
embedded mode, PostgreSQL when scaled out) and one schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gpserver.errors import StorageError

metadata = MetaData()


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def safe_url(url: str) -> str:
    """A database URL without its password, fit for a log."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """Engines for one store URL, and transactions that report failures plainly."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._writer = _sqlite_engine(url, immediate=True)
            self._reader = _sqlite_engine(url, immediate=False)
        else:
            self._writer = create_engine(url, pool_pre_ping=True)
            self._reader = self._writer

    def create_schema(self) -> None:
        # Importing the table modules registers their tables on the shared metadata.
        import gpserver.jobs.tables
        import gpserver.security.tables
        import gpserver.settings  # noqa: F401

        metadata.create_all(self._writer)

    def dispose(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        try:
            with self._writer.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"the store refused a write: {exc.orig}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self._reader.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"the store cannot be read: {exc.orig}") from exc

    def insert(self) -> Any:
        """The dialect's INSERT, which has ON CONFLICT for upserts."""
        return sqlite.insert if self.is_sqlite else postgresql.insert


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    """An engine whose transactions begin the way SQLite needs for many processes.

    Writers begin IMMEDIATE so that two processes never both hold a read snapshot and
    then fail to upgrade it to a write (SQLite answers that with an instant "database
    is locked" instead of waiting). Readers stay deferred and run beside a writer
    thanks to WAL.
    """
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before submitJob answers, even if the machine
        # loses power right after.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
