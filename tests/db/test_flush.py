"""Commits made without waiting for the disk reach it when the store is flushed."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gpserver.db import Database, StoreFlusher, sqlite_url
from gpserver.errors import StorageError
from tests.conftest import PostgresDatabases


class FsyncLog:
    """Calls the real os.fsync and notes the path of each file it was given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        self.seen = threading.Event()
        self._fsync = os.fsync
        monkeypatch.setattr(os, "fsync", self)

    def __call__(self, fd: int) -> None:
        self._fsync(fd)
        self.paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        self.seen.set()


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> FsyncLog:
    return FsyncLog(monkeypatch)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(sqlite_url(tmp_path / "store.db"))
    database.create_schema()
    yield database
    database.dispose()


def open_files(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path``."""
    fds = Path("/proc/self/fd").iterdir()
    return sum(1 for fd in fds if os.path.realpath(fd) == str(path))


def write_lazily(database: Database, name: str) -> None:
    with database.write(durable=False) as conn:
        conn.execute(
            text("INSERT INTO settings (name, value) VALUES (:name, 'v')"),
            {"name": name},
        )


def test_flush_puts_the_wal_file_on_disk(
    database: Database, tmp_path: Path, fsyncs: FsyncLog
) -> None:
    write_lazily(database, "lazy")
    wal = tmp_path / "store.db-wal"
    assert wal.stat().st_size > 0

    database.flush()

    assert fsyncs.paths == [str(wal)]
    other = Database(database.url)
    with other.read() as conn:
        assert (
            conn.execute(
                text("SELECT value FROM settings WHERE name = 'lazy'")
            ).scalar_one()
            == "v"
        )
    other.dispose()


def test_a_flush_the_disk_refuses_raises_a_storage_error_that_says_why(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A disk that fails a flush cannot be made on demand; the OS call stands in.
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    write_lazily(database, "lazy")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    open_before = open_files(tmp_path / "store.db-wal")

    with pytest.raises(StorageError) as raised:
        database.flush()

    assert str(raised.value) == "the store cannot be flushed: Input/output error"
    assert open_files(tmp_path / "store.db-wal") == open_before


def test_flush_does_nothing_when_there_is_no_wal_file(
    tmp_path: Path, fsyncs: FsyncLog
) -> None:
    never_opened = Database(sqlite_url(tmp_path / "new.db"))
    never_opened.flush()

    # The last connection to close checkpoints the WAL and removes the file.
    closed = Database(sqlite_url(tmp_path / "closed.db"))
    closed.create_schema()
    closed.dispose()
    closed.flush()

    assert fsyncs.paths == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closed.db"]


def test_flush_of_a_postgresql_store_does_nothing(
    postgres_url: PostgresDatabases, fsyncs: FsyncLog
) -> None:
    url = postgres_url()
    database = Database(url)
    database.flush()
    database.dispose()
    postgres_url.drop(url)
    assert fsyncs.paths == []


def test_the_flusher_flushes_on_its_interval(
    database: Database, tmp_path: Path, fsyncs: FsyncLog
) -> None:
    flusher = StoreFlusher(database, interval=0.05, machine="test-host")
    write_lazily(database, "lazy")

    flusher.start()
    assert fsyncs.seen.wait(5)
    flusher.stop()

    assert set(fsyncs.paths) == {str(tmp_path / "store.db-wal")}


def test_the_flusher_flushes_once_more_when_it_stops(
    database: Database, tmp_path: Path, fsyncs: FsyncLog
) -> None:
    # Its interval never comes: the flush is the one that stopping makes.
    flusher = StoreFlusher(database, interval=3600, machine="test-host")
    flusher.start()
    write_lazily(database, "last")

    flusher.stop()

    assert fsyncs.paths == [str(tmp_path / "store.db-wal")]
