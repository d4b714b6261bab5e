"""The quick paths: compiled-once statements on the driver's own connections."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import bindparam, delete, select, text, update

from gpserver.db import Database, sqlite_url
from gpserver.settings import settings

INSERT = settings.insert()
VALUE_OF = select(settings.c.value).where(settings.c.name == bindparam("name"))
RENAME_VALUE = (
    update(settings)
    .where(settings.c.name == bindparam("n"))
    .values(value=bindparam("v"))
)
TAKE = (
    delete(settings)
    .where(settings.c.name == bindparam("n"))
    .returning(settings.c.name, settings.c.value)
)

COMMIT_ELSEWHERE = """
import sys
from sqlalchemy import text
from gpserver.db import Database
database = Database(sys.argv[1])
with database.write() as conn:
    conn.execute(
        text("INSERT INTO settings (name, value) VALUES (:name, :value)"),
        {"name": sys.argv[2], "value": sys.argv[3]},
    )
database.dispose()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(sqlite_url(tmp_path / "store.db"))
        database.create_schema()
    else:
        database = Database(request.getfixturevalue("postgres_store"))
        with database.write() as conn:
            conn.execute(text("DELETE FROM settings"))
    yield database
    database.dispose()


def stored(database: Database) -> list[tuple[str, str]]:
    """Every setting, by a plain read through the engine."""
    with database.read() as conn:
        rows = conn.execute(select(settings).order_by(settings.c.name)).all()
    return [(row.name, row.value) for row in rows]


def test_execute_executemany_and_one_in_one_transaction(database: Database) -> None:
    with database.quick_write() as tx:
        tx.executemany(
            INSERT,
            [
                {"name": "a", "value": "Zürich"},
                {"name": "b", "value": "東京"},
                {"name": "c", "value": "✓"},
            ],
        )
        assert tx.execute(RENAME_VALUE, {"n": "b", "v": "Tōkyō"}) == 1
        assert tx.execute(RENAME_VALUE, {"n": "missing", "v": "x"}) == 0
        found = tx.one(VALUE_OF, {"name": "a"})
        assert found == ("Zürich",)
        assert found.value == "Zürich"
        assert tx.one(VALUE_OF, {"name": "missing"}) is None
        taken = tx.one(TAKE, {"n": "c"})
        assert (taken.name, taken.value) == ("c", "✓")

    assert stored(database) == [("a", "Zürich"), ("b", "Tōkyō")]


def test_a_lazy_quick_write_commits_too(database: Database) -> None:
    with database.quick_write(durable=False) as tx:
        tx.execute(INSERT, {"name": "lazy", "value": "v"})

    assert stored(database) == [("lazy", "v")]


def test_an_exception_inside_a_quick_write_rolls_it_back(database: Database) -> None:
    with database.quick_write() as tx:
        tx.execute(INSERT, {"name": "kept", "value": "1"})

    with (
        pytest.raises(ValueError, match=r"^the tool changed its mind$"),
        database.quick_write() as tx,
    ):
        tx.execute(INSERT, {"name": "dropped", "value": "2"})
        tx.execute(RENAME_VALUE, {"n": "kept", "v": "changed"})
        raise ValueError("the tool changed its mind")

    assert stored(database) == [("kept", "1")]
    # The thread's connection is fit for the next transaction.
    with database.quick_write() as tx:
        tx.execute(INSERT, {"name": "after", "value": "3"})
    assert stored(database) == [("after", "3"), ("kept", "1")]


def test_read_one_sees_a_commit_of_another_process_at_once(
    database: Database,
) -> None:
    # The first read opens this thread's connection; the second must not answer
    # from a snapshot taken then.
    assert database.read_one(VALUE_OF, name="elsewhere") is None

    subprocess.run(
        [sys.executable, "-c", COMMIT_ELSEWHERE, database.url, "elsewhere", "fresh"],
        check=True,
        timeout=60,
    )

    assert database.read_one(VALUE_OF, name="elsewhere") == ("fresh",)


def test_read_one_sees_a_quick_write_of_another_thread(database: Database) -> None:
    assert database.read_one(VALUE_OF, name="threaded") is None

    def write() -> None:
        with database.quick_write() as tx:
            tx.execute(INSERT, {"name": "threaded", "value": "yes"})

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(30)

    assert database.read_one(VALUE_OF, name="threaded") == ("yes",)


def test_dispose_closes_every_thread_connection_and_reuse_reconnects(
    tmp_path: Path,
) -> None:
    database = Database(sqlite_url(tmp_path / "store.db"))
    database.create_schema()

    def write() -> None:
        with database.quick_write(durable=False) as tx:
            tx.execute(INSERT, {"name": "other thread", "value": "1"})

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(30)
    with database.quick_write() as tx:
        tx.execute(INSERT, {"name": "this thread", "value": "2"})
    assert database.read_one(VALUE_OF, name="other thread") == ("1",)
    assert (tmp_path / "store.db-wal").exists()

    database.dispose()

    # SQLite removes the write-ahead log when its last connection closes: those
    # the other thread opened are closed too.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.db"]
    assert database.read_one(VALUE_OF, name="this thread") == ("2",)
    with database.quick_write() as tx:
        tx.execute(INSERT, {"name": "after", "value": "3"})
    assert stored(database) == [
        ("after", "3"),
        ("other thread", "1"),
        ("this thread", "2"),
    ]
    database.dispose()


def test_a_postgresql_store_is_used_again_after_dispose(
    postgres_store: str,
) -> None:
    database = Database(postgres_store)
    with database.write() as conn:
        conn.execute(text("DELETE FROM settings"))
    with database.quick_write() as tx:
        tx.execute(INSERT, {"name": "before", "value": "1"})
    assert database.read_one(VALUE_OF, name="before") == ("1",)

    database.dispose()

    assert database.read_one(VALUE_OF, name="before") == ("1",)
    with database.quick_write() as tx:
        tx.execute(INSERT, {"name": "after", "value": "2"})
    assert stored(database) == [("after", "2"), ("before", "1")]
    database.dispose()
