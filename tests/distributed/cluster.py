"""A small distributed site on one machine: web nodes, workers, a store, a broker.

Every process is real: ``gpserver serve`` and ``gpserver worker`` on loopback,
against a PostgreSQL database of the test's own and a Redis database number that
the run claims for itself and empties again at the end.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.e2e.server import _children

REDIS_HOST = os.environ.get("GPSERVER_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = 6379
OWNER_KEY = "gpserver-test-owner"


class RedisDatabase:
    """A Redis database number held by this run alone, by a marker key in it."""

    def __init__(self) -> None:
        self.number = -1
        self.client: redis.Redis | None = None

    def claim(self) -> str:
        """Take an empty database number; return the broker URL for it."""
        numbers = list(range(1, 16))
        random.shuffle(numbers)
        owner = f"{os.getpid()}:{time.time()}"
        for number in numbers:
            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
            # An empty database with our marker set first is ours; another run
            # that looks at it a moment later sees a key and moves on.
            if client.dbsize() == 0 and client.set(OWNER_KEY, owner, nx=True):
                self.number, self.client = number, client
                return f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}"
            client.close()
        raise RuntimeError("no empty Redis database number is free for the tests")

    def flush(self) -> None:
        """Empty the database but keep holding it."""
        assert self.client is not None
        self.client.flushdb()
        self.client.set(OWNER_KEY, "held")

    def release(self) -> None:
        if self.client is not None:
            self.client.flushdb()
            self.client.close()
            self.client = None


class WorkerProcess:
    """One ``gpserver worker`` with its Celery worker processes."""

    def __init__(
        self,
        folder: Path,
        config: Path,
        env: dict[str, str],
        options: tuple[str, ...] = (),
    ) -> None:
        self.folder = folder
        self.config = config
        self.env = env
        self.options = options
        self.log_path = folder.parent / f"{folder.name}-worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, services: int, timeout: float = 60) -> None:
        """Start it and wait until the Celery worker of each service is ready."""
        command = [
            sys.executable,
            "-m",
            "gpserver.cli",
            "worker",
            "--data-dir",
            str(self.folder),
            "--config",
            str(self.config),
            *self.options,
        ]
        # A restarted worker appends to its log: count only the new lines.
        before = len(self.log_text())
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=log, env={**os.environ, **self.env}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early; see {self.log_path}")
            if self.log_text()[before:].count(" ready.") >= services:
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready within {timeout} s; {self.log_path}")

    def pids(self) -> set[int]:
        assert self.process is not None
        return {self.process.pid, *_children(self.process.pid)}

    def kill(self) -> None:
        """SIGKILL the worker and everything it started, as a machine stopping."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()

    def stop(self, timeout: float = 30) -> None:
        """Ask it to stop; kill it if its running jobs take longer than ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class RedisServer:
    """A ``redis-server`` of the test's own on a free loopback port, kept in memory
    only, so that killing it loses every task it held."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log_path = folder / f"redis-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> None:
        command = [
            "redis-server",
            *("--bind", "127.0.0.1", "--port", str(self.port)),
            *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            *("--logfile", str(self.log_path)),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"redis-server did not start; see {self.log_path}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
