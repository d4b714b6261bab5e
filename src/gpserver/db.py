"""The one database the site keeps: engines, transactions and the shared schema.

Jobs and security each declare their tables on :data:`metadata` and run their
statements through a :class:`Database`, so both live in one store (SQLite in the
embedded mode, PostgreSQL when scaled out) and one schema, whose history is the
Alembic revisions in :mod:`gpserver.migrations`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Select,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from gpserver.errors import ConfigError, StorageError
from gpserver.periodic import Periodic

log = logging.getLogger(__name__)

metadata = MetaData()

WAL_CHECKPOINT_PAGES = 10_000
"""Pages (4 KB) the write-ahead log grows by before a commit copies them into the
store: SQLite's default of 1,000 makes a busy server copy, and flush, the same
few pages of job rows and counters ten times as often."""

# Any fixed number: the PostgreSQL advisory lock that lets upgrades take turns.
_UPGRADE_LOCK = 0x67707372


class StoreSchemaError(ConfigError):
    """The store's schema is not the one this gpserver needs; the message says why
    and what to run."""


def load_tables() -> None:
    """Register every table on :data:`metadata` (importing a table module does it)."""
    import gpserver.jobs.tables
    import gpserver.security.tables
    import gpserver.settings  # noqa: F401


def sqlite_url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def safe_url(url: str) -> str:
    """A database URL without its password, fit for a log."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """Engines for one store URL, and transactions that report failures plainly."""

    def __init__(self, url: str) -> None:
        # A bare postgresql:// would pick psycopg2, which gpserver does not install.
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._path = make_url(url).database if self.is_sqlite else None
        self._wal = f"{self._path}-wal" if self.is_sqlite else ""
        # The quick paths' SQLite connections: one per thread and use, made
        # directly, since handing a connection out of SQLAlchemy's pool and back
        # costs more than most of the statements run on it.
        self._local = threading.local()
        self._epoch = 0
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._compiled: dict[Select[Any], tuple[str, dict[str, Any], Any, Any]] = {}
        # SQLite lets one writer in at a time and makes the others retry after
        # sleeps of up to 100 ms, so that under load a write waits far longer than
        # the one before it takes; the threads of this process queue here instead,
        # and each goes on the moment the one before it commits.
        self._write_turn: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        )
        try:
            if self.is_sqlite:
                self._writer = _sqlite_engine(url, immediate=True)
                self._reader = _sqlite_engine(url, immediate=False)
                self._lazy_writer = _sqlite_engine(url, immediate=True, lazy=True)
            else:
                self._writer = create_engine(url, pool_pre_ping=True)
                self._reader = self._writer
                self._lazy_writer = self._writer
        except (ArgumentError, ImportError) as exc:
            raise ConfigError(
                f"the database URL {safe_url(url)} cannot be used: {exc}; use "
                "sqlite+pysqlite:///<path> or postgresql+psycopg://<user>@<host>/<db>"
            ) from None

    def create_schema(self) -> None:
        """A store ready for use, for tests and tools that start from nothing: the
        same as :meth:`upgrade`."""
        self.upgrade()

    def prepare_schema(self) -> None:
        """Make sure the schema fits this gpserver before a server starts on it.

        The embedded SQLite store serves one machine, so it follows the code on its
        own and the quick start stays one command. A shared PostgreSQL store is
        upgraded on purpose by an operator, as other nodes may still run older code.
        """
        if self.is_sqlite:
            self.upgrade()
        else:
            self.check_schema()

    def upgrade(self) -> None:
        """Bring the schema to this gpserver's revision; nothing to do is fine.

        A store made before the schema had revisions is recognised by its tables
        and marked as the first revision.
        """
        # Imported here, as below: workers open a Database too and need no Alembic.
        _quiet_alembic()
        from gpserver import migrations

        with self.write() as conn:
            if not self.is_sqlite:
                # Nodes upgrading at once take turns; the later ones find it done.
                conn.execute(select(func.pg_advisory_xact_lock(_UPGRADE_LOCK)))
            try:
                before, after = migrations.upgrade(conn)
            except migrations.UnknownRevision as exc:
                raise StoreSchemaError(self._too_new(str(exc))) from exc
            except migrations.UnrecognisedStore as exc:
                raise StoreSchemaError(
                    f"the store at {safe_url(self.url)} has tables but no revision, "
                    f"and they are not the ones gpserver made ({exc}); point gpserver "
                    "at an empty database or move those tables away"
                ) from exc
        if before != after:
            log.info(
                "the store at %s was upgraded from revision %s to %s",
                safe_url(self.url),
                before or "none",
                after,
                extra={"event": "db.upgraded"},
            )

    def check_schema(self) -> None:
        """Raise StoreSchemaError unless the store is at this gpserver's revision."""
        _quiet_alembic()
        from gpserver import migrations

        with self.read() as conn:
            revision = migrations.current(conn)
        needed = migrations.head()
        if revision == needed:
            return
        if revision is not None and not migrations.known(revision):
            raise StoreSchemaError(self._too_new(revision))
        raise StoreSchemaError(
            f"the store at {safe_url(self.url)} is at revision {revision or 'none'}, "
            f"this gpserver needs {needed}; run `gpserver db upgrade`"
        )

    def _too_new(self, revision: str) -> str:
        from gpserver import migrations

        return (
            f"the store at {safe_url(self.url)} is at revision {revision}, which "
            f"this gpserver does not know (it needs {migrations.head()}): a newer "
            "gpserver upgraded it; run that version"
        )

    def dispose(self) -> None:
        with self._opened_lock:
            self._epoch += 1
            opened, self._opened = self._opened, []
        for connection in opened:
            with contextlib.suppress(sqlite3.Error):
                connection.close()
        self._writer.dispose()
        self._lazy_writer.dispose()
        self._reader.dispose()

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction; ``durable=False`` for changes that may be lost to a
        power cut (not to a crash of the process) without harm.

        On SQLite such a commit skips the wait for the disk; the next durable
        commit writes it down with its own, and :class:`StoreFlusher` within a
        second if none comes. Meant for what the server can redo or that a
        start-up repairs: a job moved from Submitted to Executing or Waiting,
        progress, heartbeats, a job's end (after a power cut such a job is found
        executing and failed, as after a crash).
        """
        engine = self._writer if durable else self._lazy_writer
        try:
            with self._write_turn, engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"the store refused a write: {exc.orig}") from exc

    def flush(self) -> None:
        """Put on disk the commits made with ``durable=False`` so far.

        In WAL mode a commit is appended to the ``-wal`` file; flushing that file
        makes every commit in it durable, whichever process made it.
        """
        if not self.is_sqlite:
            return
        try:
            fd = os.open(self._wal, os.O_RDONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"the store cannot be flushed: {exc.strerror}") from exc
        try:
            os.fsync(fd)
        except OSError as exc:
            raise StorageError(f"the store cannot be flushed: {exc.strerror}") from exc
        finally:
            os.close(fd)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self._reader.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"the store cannot be read: {exc.orig}") from exc

    @contextmanager
    def quick_write(self, *, durable: bool = True) -> Iterator[QuickTransaction]:
        """A write transaction on the driver's connection, for the statements that
        every job runs (its insert, claim and end).

        Like :meth:`write`, but each statement is compiled once and run without
        the engine's per-call work, which is most of what a statement costs on
        SQLite. For statements over plain integer and text columns only, whose
        values need no conversion, and without expanding ``IN`` lists.
        """
        engine = self._writer if durable else self._lazy_writer
        dbapi = engine.dialect.loaded_dbapi
        try:
            with self._write_turn:
                connection, pooled = self._driver(
                    engine, "durable" if durable else "lazy"
                )
                cursor = connection.cursor()
                try:
                    if self.is_sqlite:
                        cursor.execute("BEGIN IMMEDIATE")
                    try:
                        yield QuickTransaction(self, cursor)
                    except BaseException:
                        connection.rollback()
                        raise
                    if self.is_sqlite:
                        cursor.execute("COMMIT")
                    else:
                        connection.commit()
                finally:
                    with contextlib.suppress(Exception):
                        cursor.close()
                    if pooled:
                        connection.close()
        except dbapi.OperationalError as exc:
            raise StorageError(f"the store refused a write: {exc}") from exc

    def _driver(self, engine: Engine, use: str) -> tuple[Any, bool]:
        """A driver connection for a quick path, and whether it is the pool's (to
        be given back) rather than this thread's own."""
        if not self.is_sqlite:
            return engine.raw_connection(), True
        kept = getattr(self._local, use, None)
        if kept is not None and kept[0] == self._epoch:
            return kept[1], False
        assert self._path is not None
        connection = sqlite3.connect(
            self._path, timeout=30, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        synchronous = "NORMAL" if use == "lazy" else "FULL"
        connection.execute(f"PRAGMA synchronous={synchronous}")
        with self._opened_lock:
            self._opened.append(connection)
            setattr(self._local, use, (self._epoch, connection))
        return connection, False

    def read_one(self, statement: Select[Any], **params: Any) -> Any | None:
        """The first row of a one-statement read, or None, by the quickest path.

        The statement is compiled once and run on the driver's connection, which
        spares the engine's per-call work and the transaction around it: about a
        tenth of a millisecond, much of what a job status poll costs. For reads of
        plain integer and text columns, whose values need no conversion.
        """
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compile(statement)
        sql, defaults, order, row_type = compiled
        values = defaults | params
        arguments: Any = [values[name] for name in order] if order else values
        connection, pooled = self._driver(self._reader, "read")
        try:
            cursor = connection.cursor()
            try:
                row = cursor.execute(sql, arguments).fetchone()
            finally:
                cursor.close()
        except self._reader.dialect.loaded_dbapi.OperationalError as exc:
            raise StorageError(f"the store cannot be read: {exc}") from exc
        finally:
            if pooled:
                connection.close()
        return row_type._make(row) if row is not None else None

    def _compile(self, statement: Any) -> tuple[str, dict[str, Any], Any, Any]:
        compiled = statement.compile(dialect=self._reader.dialect)
        selected = getattr(statement, "selected_columns", None)
        if selected is None:  # an INSERT, UPDATE or DELETE, maybe with RETURNING
            selected = getattr(compiled, "returning", None) or []
        names = [str(column.key) for column in selected]
        entry = (
            str(compiled),
            dict(compiled.params),
            compiled.positiontup if compiled.positional else None,
            namedtuple("Row", names) if names else None,
        )
        self._compiled[statement] = entry
        return entry

    def insert(self) -> Any:
        """The dialect's INSERT, which has ON CONFLICT for upserts."""
        return sqlite.insert if self.is_sqlite else postgresql.insert


class QuickTransaction:
    """The statements of one :meth:`Database.quick_write`."""

    def __init__(self, database: Database, cursor: Any) -> None:
        self._database = database
        self._cursor = cursor

    def execute(self, statement: Any, parameters: dict[str, Any] | None = None) -> int:
        """Run a statement; the number of rows it changed."""
        sql, arguments, _ = self._prepared(statement, parameters or {})
        self._cursor.execute(sql, arguments)
        return int(self._cursor.rowcount)

    def executemany(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        compiled = self._compiled(statement)
        sql, defaults, order = compiled[0], compiled[1], compiled[2]
        if order:
            arguments: Any = [
                [(defaults | row)[name] for name in order] for row in rows
            ]
        else:
            arguments = [defaults | row for row in rows]
        self._cursor.executemany(sql, arguments)

    def one(self, statement: Any, parameters: dict[str, Any] | None = None) -> Any:
        """The first row a SELECT (or a statement with RETURNING) gives, or None."""
        sql, arguments, row_type = self._prepared(statement, parameters or {})
        row = self._cursor.execute(sql, arguments).fetchone()
        if row is None:
            return None
        self._cursor.fetchall()  # the rest, so the statement is done
        return row_type._make(row)

    def all(
        self, statement: Any, parameters: dict[str, Any] | None = None
    ) -> list[Any]:
        """Every row a SELECT (or a statement with RETURNING) gives."""
        sql, arguments, row_type = self._prepared(statement, parameters or {})
        return [row_type._make(row) for row in self._cursor.execute(sql, arguments)]

    def _compiled(self, statement: Any) -> tuple[str, dict[str, Any], Any, Any]:
        compiled = self._database._compiled.get(statement)
        return compiled or self._database._compile(statement)

    def _prepared(
        self, statement: Any, parameters: dict[str, Any]
    ) -> tuple[str, Any, Any]:
        sql, defaults, order, row_type = self._compiled(statement)
        values = defaults | parameters
        arguments = [values[name] for name in order] if order else values
        return sql, arguments, row_type


class StoreFlusher(Periodic):
    """Flushes the embedded store every ``interval`` seconds (:meth:`Database.flush`),
    so that no change waits for the disk longer than that."""

    name = "store-flusher"

    def __init__(self, database: Database, interval: float, machine: str) -> None:
        super().__init__(interval, machine)
        self.database = database

    def run_once(self) -> int:
        self.database.flush()
        return 0

    def stop(self) -> None:
        super().stop()
        self.database.flush()


def _quiet_alembic() -> None:
    # Alembic reports its plugins and dialect at INFO each time it is used; an
    # operator needs only the line saying what was upgraded, which we log.
    logger = logging.getLogger("alembic")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _sqlite_engine(url: str, *, immediate: bool, lazy: bool = False) -> Engine:
    """An engine whose transactions begin the way SQLite needs for many processes.

    Writers begin IMMEDIATE so that two processes never both hold a read snapshot and
    then fail to upgrade it to a write (SQLite answers that with an instant "database
    is locked" instead of waiting). Readers stay deferred and run beside a writer
    thanks to WAL.
    """
    engine = create_engine(
        url,
        connect_args={"timeout": 30},
        # A reader's transactions end when its Connection closes, and read_one runs
        # one statement outside any: nothing is left to roll back on check-in.
        pool_reset_on_return="rollback" if immediate else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        # FULL: a commit is on disk before submitJob answers, even if the machine
        # loses power right after. NORMAL (lazy) leaves the disk to the next one.
        cursor.execute(f"PRAGMA synchronous={'NORMAL' if lazy else 'FULL'}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
