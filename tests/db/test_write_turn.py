"""Writers to one SQLite store take turns, across threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from gpserver.db import Database, sqlite_url

HOLD = """
import sys, time
from sqlalchemy import text
from gpserver.db import Database
database = Database(sys.argv[1])
with database.write() as conn:
    conn.execute(text("INSERT INTO settings (name, value) VALUES ('holder', 'x')"))
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
database.dispose()
"""


def test_a_writer_waits_for_another_process_then_goes_on(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "store.db")
    database = Database(url)
    database.create_schema()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url, "0.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "holding\n"

    began = time.monotonic()
    with database.write() as conn:
        conn.execute(text("INSERT INTO settings (name, value) VALUES ('second', 'y')"))
    waited = time.monotonic() - began

    assert holder.wait(10) == 0
    holder.stdout.close()
    assert 0.2 < waited < 5
    with database.read() as conn:
        names = conn.execute(text("SELECT name FROM settings ORDER BY name")).scalars()
        assert [n for n in names if n in ("holder", "second")] == ["holder", "second"]
    database.dispose()


def test_writers_in_many_threads_all_commit(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "store.db"))
    database.create_schema()

    def write(n: int) -> None:
        for m in range(10):
            with database.write() as conn:
                conn.execute(
                    text("INSERT INTO settings (name, value) VALUES (:n, 'v')"),
                    {"n": f"t{n}-{m}"},
                )

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    with database.read() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM settings WHERE name LIKE 't%'")
        ).scalar_one()
    assert count == 80
    database.dispose()
