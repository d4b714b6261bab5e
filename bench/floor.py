"""The floor: a minimal Starlette app under uvicorn, doing the least each figure
needs.

- ``GET|POST /constant`` (any other path too) answers a JSON constant;
- ``POST /insert`` inserts the posted form as one row into SQLite (WAL,
  ``synchronous=FULL`` as gpserver's store) and answers the row's id;
- ``GET /read/<key>`` reads one job row by primary key from a gpserver store
  (``--read-db``) and answers it as JSON.

It runs with the settings ``gpserver serve`` gives uvicorn (one process, the same
event loop and HTTP implementation uvicorn picks here, no access log), so the
difference between it and gpserver is what gpserver itself costs per request.
The database work runs on the event loop itself, with one connection each: the
cheapest way there is, which is what a floor is for.
"""

from __future__ import annotations

import argparse
import sqlite3
import uuid
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ANSWER = {"total": 1000, "cancelled": 40, "failed": 80, "succeeded": 850}
READ_COLUMNS = ("job_id", "status", "submitted_ms", "ended_ms", "progress_percent")


class Stores:
    """The floor's two SQLite connections, opened when the app starts."""

    insert: sqlite3.Connection | None = None
    read: sqlite3.Connection | None = None


async def constant(request: Request) -> JSONResponse:
    return JSONResponse(ANSWER)


async def insert(request: Request) -> JSONResponse:
    assert Stores.insert is not None, "start the floor with --insert-db"
    form = await request.form()
    row_id = f"j{uuid.uuid4().hex}"
    with Stores.insert:
        Stores.insert.execute(
            "INSERT INTO rows (id, body) VALUES (?, ?)",
            (row_id, "&".join(f"{k}={v}" for k, v in form.items())),
        )
    return JSONResponse({"jobId": row_id, "jobStatus": "esriJobSubmitted"})


async def read(request: Request) -> JSONResponse:
    assert Stores.read is not None, "start the floor with --read-db"
    row = Stores.read.execute(
        f"SELECT {', '.join(READ_COLUMNS)} FROM jobs WHERE job_id = ?",
        (request.path_params["key"],),
    ).fetchone()
    if row is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(dict(zip(READ_COLUMNS, row, strict=True)))


app = Starlette(
    routes=[
        Route("/insert", insert, methods=["POST"]),
        Route("/read/{key}", read),
        Route("/{path:path}", constant, methods=["GET", "POST"]),
    ]
)


def open_insert_store(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)"
    )
    return connection


def open_read_store(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--insert-db", type=Path, help="SQLite file for /insert")
    parser.add_argument("--read-db", type=Path, help="a gpserver store for /read")
    args = parser.parse_args()
    if args.insert_db is not None:
        Stores.insert = open_insert_store(args.insert_db)
    if args.read_db is not None:
        Stores.read = open_read_store(args.read_db)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
