from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PostgresDatabases
from tests.distributed.cluster import RedisDatabase, WorkerProcess
from tests.e2e.admin import ADMIN_ENV
from tests.e2e.server import ServerProcess

HEARTBEAT_TIMEOUT = 4.0
"""Short, so that a lost worker's job is settled within the test's patience."""

CONFIG = f"""
[server]
samples = false
jobsDirectory = "{{jobs}}"
workerHeartbeatTimeout = {HEARTBEAT_TIMEOUT}

[[services]]
folder = "Tests"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
maxUsageTime = 120

[[services]]
folder = "Tests"
name = "Short"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
maxUsageTime = 1.5

[[services]]
folder = "Tests"
name = "Sync"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"
"""
SERVICES = 2
"""Asynchronous services: each worker runs a Celery worker for each."""


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    workers: list[WorkerProcess]
    database_url: str


@pytest.fixture(scope="module")
def redis_db() -> Iterator[RedisDatabase]:
    database = RedisDatabase()
    database.claim()
    database.flush()
    yield database
    database.release()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: PostgresDatabases,
    redis_db: RedisDatabase,
) -> Iterator[Cluster]:
    """Two web nodes and two workers sharing one store, broker and jobs directory."""
    folder = tmp_path_factory.mktemp("cluster")
    broker_url = f"redis://127.0.0.1:6379/{redis_db.number}"
    with running_cluster(folder, postgres_url, broker_url, CONFIG) as started:
        yield started


@contextlib.contextmanager
def running_cluster(
    folder: Path,
    postgres_url: PostgresDatabases,
    broker_url: str,
    config_text: str,
    services: int = SERVICES,
) -> Iterator[Cluster]:
    """Start a cluster on a new database of its own; stop it and drop the database."""
    config = folder / "site.toml"
    config.write_text(config_text.format(jobs=folder / "shared-jobs"))
    database_url = postgres_url()
    env = {
        **ADMIN_ENV,
        "GPSERVER_DATABASE_URL": database_url,
        "GPSERVER_BROKER_URL": broker_url,
    }
    upgrade = [sys.executable, "-m", "gpserver.cli", "db", "upgrade"]
    subprocess.run(
        [*upgrade, "--data-dir", str(folder / "admin"), "--config", str(config)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    workers = [WorkerProcess(folder / f"worker-{n}", config, env) for n in (1, 2)]
    nodes = [
        ServerProcess(folder / name, config, env, distributed=False)
        for name in ("node-a", "node-b")
    ]
    try:
        # Started side by side: each takes a few seconds to import and connect.
        with ThreadPoolExecutor() as pool:
            started = [pool.submit(w.start, services) for w in workers]
            started += [pool.submit(n.start) for n in nodes]
            for future in started:
                future.result()
        yield Cluster(nodes[0], nodes[1], workers, database_url)
    finally:
        for node in nodes:
            node.stop()
        for worker in workers:
            worker.stop()
        postgres_url.drop(database_url)
