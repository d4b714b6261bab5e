"""The distributed stand-in for one embedded server in the end-to-end tests.

With ``--gp-mode=distributed`` a :class:`~tests.e2e.server.ServerProcess` becomes a
site of two web nodes and two ``gpserver worker`` processes behind a round-robin
balancer on the port the tests know, against a PostgreSQL database and a Redis
database number of its own. Web nodes and workers share the data directory, as
the scaling-out guide suggests for the jobs directory and result files.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from gpserver.config import load_site
from tests.conftest import ADMIN_URL, PostgresDatabases
from tests.distributed.cluster import RedisDatabase, WorkerProcess

if TYPE_CHECKING:
    from tests.e2e.server import ServerProcess

NODES = 2
WORKERS = 2
SERVER_SETTINGS = """\
workerHeartbeatTimeout = 6
resendQueuedAfter = 3
"""
"""Short enough that a lost task or worker is settled within a test's patience."""
BALANCER = Path(__file__).with_name("balancer.py")
STOP_WAIT = 10.0
"""How long a stopped worker may finish its running jobs before it is killed."""

_databases: PostgresDatabases | None = None


def databases() -> PostgresDatabases:
    """The PostgreSQL databases of this test run, made on first use."""
    global _databases
    if _databases is None:
        _databases = PostgresDatabases(ADMIN_URL)
    return _databases


def drop_databases() -> None:
    """Drop every database the distributed sites of this run made."""
    global _databases
    if _databases is not None:
        _databases.close()
        _databases = None


class DistributedSite:
    """Web nodes, workers and a balancer that stand in for ``front``'s server."""

    def __init__(self, front: ServerProcess) -> None:
        from tests.e2e.server import ServerProcess

        self.front = front
        self.database_url: str | None = None
        self.redis = RedisDatabase()
        folder = front.data_dir.parent
        self.config = folder / f"{front.data_dir.name}-distributed.toml"
        self.nodes = [
            ServerProcess(front.data_dir, self.config, distributed=False)
            for _ in range(NODES)
        ]
        for number, node in enumerate(self.nodes, 1):
            node.log_path = folder / f"{front.data_dir.name}-node-{number}.log"
        self.workers = [
            WorkerProcess(front.data_dir, self.config, {}) for _ in range(WORKERS)
        ]
        for number, worker in enumerate(self.workers, 1):
            worker.log_path = folder / f"{front.data_dir.name}-worker-{number}.log"
        self.balancer: subprocess.Popen[bytes] | None = None

    @property
    def log_paths(self) -> list[Path]:
        return [n.log_path for n in self.nodes] + [w.log_path for w in self.workers]

    def start(self, timeout: float) -> None:
        if self.database_url is None:
            self._prepare()
        assert self.database_url is not None
        env = {
            **(self.front.env or {}),
            "GPSERVER_DATABASE_URL": self.database_url,
            "GPSERVER_BROKER_URL": self.redis.claim(),
        }
        for process in [*self.nodes, *self.workers]:
            process.env = env
        services = self._asynchronous_services()
        workers = self.workers if services else []
        try:
            with ThreadPoolExecutor(NODES + WORKERS) as pool:
                started = [pool.submit(w.start, services, timeout) for w in workers]
                started += [pool.submit(n.start, timeout) for n in self.nodes]
                for future in started:
                    future.result()
            self._start_balancer()
        except Exception:
            # A fixture whose start fails never stops what did start.
            self.kill()
            raise

    def _prepare(self) -> None:
        """A database with the current schema and the site's file with test settings."""
        text = self.front.config.read_text() if self.front.config else ""
        if "[server]" in text:
            text = text.replace("[server]\n", f"[server]\n{SERVER_SETTINGS}", 1)
        else:
            text = f"[server]\n{SERVER_SETTINGS}\n{text}"
        self.config.write_text(text)
        url = databases()()
        subprocess.run(
            [
                *(sys.executable, "-m", "gpserver.cli", "db", "upgrade"),
                *("--data-dir", str(self.front.data_dir), "--config", str(self.config)),
            ],
            env={**os.environ, **(self.front.env or {}), "GPSERVER_DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        self.database_url = url

    def _asynchronous_services(self) -> int:
        config = load_site(self.config, self.front.data_dir)
        return sum(1 for service in config.services if service.is_async)

    def _start_balancer(self) -> None:
        ports = [str(n.port) for n in self.nodes]
        self.balancer = subprocess.Popen(
            [sys.executable, str(BALANCER), str(self.front.port), *ports]
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.front.port), timeout=1),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the balancer did not listen on {self.front.port}")

    def _stop_balancer(self) -> None:
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.send_signal(signal.SIGTERM)
            self.balancer.wait(timeout=10)
        self.balancer = None

    def stop(self) -> None:
        self._stop_balancer()
        with ThreadPoolExecutor(NODES + WORKERS) as pool:
            stopping = [pool.submit(n.stop) for n in self.nodes]
            stopping += [pool.submit(w.stop, STOP_WAIT) for w in self.workers]
            for future in stopping:
                future.result()
        # Tasks still queued are lost, as on a broker restart without persistence.
        self.redis.release()

    def kill(self) -> None:
        """SIGKILL every web node and worker, as a power cut of the whole site."""
        self._stop_balancer()
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.kill()
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.kill()
        self.redis.release()
