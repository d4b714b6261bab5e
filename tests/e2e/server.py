"""A real `gpserver serve` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

FINISHED = {"esriJobSucceeded", "esriJobFailed", "esriJobCancelled", "esriJobTimedOut"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """Starts, stops and kills one server; its output goes to a log file."""

    def __init__(
        self,
        data_dir: Path,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.config = config
        self.env = env
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}/arcgis"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL the server and every worker it started."""
        assert self.process is not None
        children = _children(self.process.pid)
        self.process.kill()
        self.process.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


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
