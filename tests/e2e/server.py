"""A real `gpserver serve` process on a free loopback port, for end-to-end tests.

In the distributed test mode (``pytest --gp-mode=distributed`` or
``GPSERVER_TEST_MODE=distributed``) each :class:`ServerProcess` is instead a whole
distributed site behind the same port: see :mod:`tests.distributed.site`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import create_engine, text

from gpserver.db import sqlite_url

if TYPE_CHECKING:
    from tests.distributed.site import DistributedSite

MODE_VARIABLE = "GPSERVER_TEST_MODE"
MODES = ("embedded", "distributed")

FINISHED = {"esriJobSucceeded", "esriJobFailed", "esriJobCancelled", "esriJobTimedOut"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mode() -> str:
    """``embedded`` or ``distributed``: what a :class:`ServerProcess` starts."""
    mode = os.environ.get(MODE_VARIABLE) or MODES[0]
    if mode not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={mode!r}: expected one of {MODES}")
    return mode


def site_instances(per_node: int) -> int:
    """How many jobs of a service with ``maxInstancesPerNode = per_node`` run at
    once on a server of the test mode: the embedded server is one node, and a
    distributed site has that many on each of its workers."""
    if test_mode() != "distributed":
        return per_node
    from tests.distributed.site import WORKERS

    return per_node * WORKERS


class ServerProcess:
    """Starts, stops and kills one server; its output goes to a log file.

    ``distributed`` (by default the test mode's choice) makes it a distributed
    site of two web nodes and two workers behind a balancer on :attr:`port`.
    """

    def __init__(
        self,
        data_dir: Path,
        config: Path | None = None,
        env: dict[str, str] | None = None,
        *,
        distributed: bool | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.config = config
        self.env = env
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}/arcgis"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        if distributed is None:
            distributed = test_mode() == "distributed"
        self.distributed = distributed
        self.site: DistributedSite | None = None

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the site's store, for tests that look inside."""
        if self.site is not None and self.site.database_url is not None:
            return self.site.database_url
        return sqlite_url(self.data_dir / "gpserver.db")

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Run one SQL statement (``:name`` parameters) on the store; its rows."""
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            engine.dispose()

    def start(self, timeout: float = 60) -> None:
        if self.distributed:
            self._start_site(timeout)
            return
        command = [
            sys.executable,
            "-m",
            "gpserver.cli",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=log,
                env=None if self.env is None else {**os.environ, **self.env},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                reply = httpx.get(
                    f"{self.root}/rest/info/healthCheck?f=json", timeout=2
                )
                if reply.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start within {timeout} s; {self.log_path}")

    def _start_site(self, timeout: float) -> None:
        from tests.distributed.site import DistributedSite

        if self.site is None:
            self.site = DistributedSite(self)
        self.site.start(timeout)
        self.process = self.site.nodes[0].process

    def stop(self) -> None:
        if self.site is not None:
            self.site.stop()
            return
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL the server and every worker it started."""
        if self.site is not None:
            self.site.kill()
            return
        assert self.process is not None
        children = _children(self.process.pid)
        self.process.kill()
        self.process.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log_text(self) -> str:
        """The server's log; in the distributed mode, every node's and worker's."""
        paths = self.site.log_paths if self.site is not None else [self.log_path]
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())


def _children(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            kids = [int(p) for p in path.read_text().split()]
        except OSError:
            kids = []
        found += kids
        pending += kids
    return found


class Client:
    """Small helpers over httpx for the GP REST API."""

    def __init__(self, root: str) -> None:
        self.root = root

    def get(self, path: str, **params: Any) -> Any:
        params.setdefault("f", "json")
        reply = httpx.get(f"{self.root}/{path}", params=params, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def post(self, path: str, **data: Any) -> Any:
        data.setdefault("f", "json")
        reply = httpx.post(f"{self.root}/{path}", data=data, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def submit(self, task_path: str, **inputs: Any) -> str:
        answer = self.post(f"rest/services/{task_path}/submitJob", **inputs)
        assert "jobId" in answer, answer
        return str(answer["jobId"])

    def wait(self, task_path: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.get(f"rest/services/{task_path}/jobs/{job_id}")
            if job["jobStatus"] in FINISHED:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish within {timeout} s")

    def wait_status(
        self, task_path: str, job_id: str, status: str, timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.get(f"rest/services/{task_path}/jobs/{job_id}")
            if job["jobStatus"] == status:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never became {status}: {job}")

    def result(self, task_path: str, job_id: str, name: str) -> Any:
        return self.get(f"rest/services/{task_path}/jobs/{job_id}/results/{name}")
