"""A gpserver site for the benchmarks: its configuration, its process, its admin.

The site publishes one service, ``Samples/Diagnostics``, and nothing else, so no
sample data is loaded and one worker process starts. The sweeper's interval is a
day: the benchmarks start every sweep themselves, and a sweep that started on its
own in the middle of a statistics run would be measured by accident.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import httpx
from harness import Cores, Server, free_port, pinned

SERVICE = "Samples/Diagnostics"
TASK = "Wait"
ADMIN_USERNAME = "benchadmin"
ADMIN_PASSWORD = "a benchmark password, long enough"

SITE_TOML = """\
[server]
samples = false
cleanupInterval = 86400

[[services]]
folder = "Samples"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
"""


def start_gpserver(data_dir: Path, cores: Cores, name: str = "gpserver") -> Server:
    """``gpserver serve`` (embedded mode: SQLite, local workers) on a free port."""
    config = data_dir.parent / f"{data_dir.name}-site.toml"
    config.write_text(SITE_TOML)
    port = free_port()
    command = [sys.executable, "-m", "gpserver.cli", "--log-level", "warning"]
    command += ["serve", "--port", str(port), "--data-dir", str(data_dir)]
    command += ["--config", str(config)]
    server = Server(
        name,
        pinned(command, cores.server),
        port,
        f"{root(port)}/rest/info/healthCheck?f=json",
        data_dir.parent / f"{data_dir.name}-server.log",
        env={
            "GPSERVER_ADMIN_USERNAME": ADMIN_USERNAME,
            "GPSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
        },
    )
    server.start()
    return server


def root(port: int) -> str:
    return f"http://127.0.0.1:{port}/arcgis"


def sign_in(port: int) -> str:
    reply = httpx.post(
        f"{root(port)}/tokens/generateToken",
        data={
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "expiration": "600",
            "f": "json",
        },
        timeout=30,
    )
    reply.raise_for_status()
    return str(reply.json()["token"])


def statistics_url(port: int) -> str:
    folder, name = SERVICE.split("/")
    return f"{root(port)}/admin/services/{folder}/{name}.GPServer/jobs/statistics"


def query_url(port: int) -> str:
    folder, name = SERVICE.split("/")
    return f"{root(port)}/admin/services/{folder}/{name}.GPServer/jobs/query"


def submit_url(port: int) -> str:
    return f"{root(port)}/rest/services/{SERVICE}/GPServer/{TASK}/submitJob"


def job_url(port: int, job_id: str) -> str:
    return f"{root(port)}/rest/services/{SERVICE}/GPServer/{TASK}/jobs/{job_id}?f=json"


def clean_url(port: int) -> str:
    return f"{root(port)}/admin/system/directories/arcgisjobs/clean"


def stored_total(db_path: Path) -> int:
    """The service's job count as the store holds it, read beside the server."""
    uri = f"file:{db_path}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
        row = conn.execute(
            "SELECT total FROM service_counters WHERE service = ?", (SERVICE,)
        ).fetchone()
    return int(row[0]) if row else 0
