"""Processes of a benchmark: servers on one core, the load generator on another.

Every process here is started by the benchmark, pinned with ``taskset`` when the
machine has two cores or more, and ended by its own id. Every wait has a limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LOAD_SCRIPT = BENCH / "load.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cores:
    """Where servers and the load generator run; None when pinning is impossible."""

    server: int | None
    client: int | None

    @classmethod
    def pick(cls) -> Cores:
        usable = sorted(os.sched_getaffinity(0))
        if len(usable) < 2 or shutil.which("taskset") is None:
            return cls(None, None)
        return cls(usable[0], usable[1])

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (fewer than two cores, or no taskset)"
        return f"server on CPU {self.server}, load generator on CPU {self.client}"


def pinned(command: Sequence[str], core: int | None) -> list[str]:
    if core is None:
        return list(command)
    return ["taskset", "-c", str(core), *command]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process on a free loopback port, with its log in a file."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        port: int,
        health_url: str | None,
        log_path: Path,
        env: dict[str, str] | None = None,
        ready: Callable[[], bool] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``ready`` says the server is up when it has no health URL."""
        self.name = name
        self.command = list(command)
        self.port = port
        self.health_url = health_url
        self.log_path = log_path
        self.env = env
        self.ready = ready
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0

    def start(self, timeout: float = 180) -> None:
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=log,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
            )
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            if self._is_ready():
                self.started_in = time.monotonic() - began
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {timeout} s: {self.log_path}")

    def _is_ready(self) -> bool:
        if self.ready is not None:
            return self.ready()
        assert self.health_url is not None
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(self.health_url, timeout=2).status_code == 200
        return False

    def cpu_seconds(self) -> float:
        """CPU time of the server and every process it started, so far."""
        if self.process is None:
            return 0.0
        return sum(_cpu_of(pid) for pid in [self.process.pid, *_descendants(self)])

    def peak_memory(self) -> dict[str, Any]:
        """RSS high-water marks (VmHWM) in MB: the server process, and its
        descendants (worker pool, forkserver) each and added up."""
        if self.process is None:
            return {}
        children = {pid: _high_water_mb(pid) for pid in _descendants(self)}
        return {
            "server_mb": _high_water_mb(self.process.pid),
            "children_mb": sorted(children.values(), reverse=True),
            "children_total_mb": sum(children.values()),
        }

    def pause(self) -> None:
        """Freeze the server and its children (SIGSTOP), so that work it does in
        the background takes no CPU from a server measured beside it."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, number: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in [self.process.pid, *_descendants(self)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)

    def stop(self, grace: float = 15) -> None:
        """SIGINT, then SIGKILL for the server and its children if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.resume()
        children = _descendants(self)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _descendants(server: Server) -> list[int]:
    assert server.process is not None
    found: list[int] = []
    pending = [server.process.pid]
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


def _high_water_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_of(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name may hold spaces; the fields after it are fixed.
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass(frozen=True)
class Load:
    """What one closed-loop run asks for; see load.py for each field."""

    urls: Sequence[str]
    method: str = "GET"
    data: str | None = None
    expect: str | None = None
    concurrency: int = 16
    seconds: float = 5.0
    warmup: float = 0.5
    max_requests: int = 1_000_000
    status: int = 200
    headers: tuple[str, ...] = ()
    """Extra request headers, each ``"Name: value"``."""


def load_python() -> str:
    """The bench venv's Python (with aiohttp) if there is one, else this one."""
    candidate = BENCH / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def run_load(
    load: Load,
    cores: Cores,
    server: Server | None = None,
    stop_when: threading.Event | None = None,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Run load.py once; return its report with the server's CPU time added.

    The server's CPU time is read when load.py says its counted part starts and
    ends. ``stop_when`` ends the run early: load.py takes SIGINT as "stop and
    report".
    """
    urls_file = None
    arguments = ["--url", load.urls[0]]
    if len(load.urls) > 1:
        assert workdir is not None
        urls_file = workdir / f"urls-{time.monotonic_ns()}.txt"
        urls_file.write_text("\n".join(load.urls))
        arguments = ["--urls-file", str(urls_file)]
    arguments += ["--method", load.method, "--concurrency", str(load.concurrency)]
    arguments += ["--seconds", str(load.seconds), "--warmup", str(load.warmup)]
    arguments += ["--max-requests", str(load.max_requests)]
    if load.data is not None:
        arguments += ["--data", load.data]
    if load.expect is not None:
        arguments += ["--expect", load.expect]
    arguments += ["--status", str(load.status)]
    for header in load.headers:
        arguments += ["--header", header]
    command = pinned([load_python(), str(LOAD_SCRIPT), *arguments], cores.client)

    marks: dict[str, tuple[float, float]] = {}
    report: dict[str, Any] = {}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(load.warmup + load.seconds + 30, process.kill)
        watchdog.start()
        if stop_when is not None:
            threading.Thread(
                target=_interrupt_when, args=(process, stop_when), daemon=True
            ).start()
        try:
            assert process.stdout is not None and process.stderr is not None
            for line in process.stdout:
                word = line.strip()
                if word in ("measuring", "done"):
                    cpu = server.cpu_seconds() if server else 0.0
                    marks[word] = (time.monotonic(), cpu)
                elif word.startswith("{"):
                    report = json.loads(word)
            errors = process.stderr.read()
            process.wait(timeout=30)
        finally:
            watchdog.cancel()
            if urls_file is not None:
                urls_file.unlink(missing_ok=True)
    if process.returncode != 0 or not report:
        raise RuntimeError(f"load generator failed ({process.returncode}): {errors}")
    if server is not None and len(marks) == 2:
        wall = marks["done"][0] - marks["measuring"][0]
        cpu = marks["done"][1] - marks["measuring"][1]
        report["server_cpu_share"] = cpu / wall if wall else 0.0
        report["server_cpu_ms_per_request"] = (
            cpu * 1000 / report["requests"] if report["requests"] else float("nan")
        )
    return report


def _interrupt_when(process: subprocess.Popen[str], stop: threading.Event) -> None:
    while process.poll() is None:
        if stop.wait(0.05):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            return


def idle_cpu_share(server: Server, seconds: float = 3.0) -> float:
    """The share of a core the server uses with no request coming in."""
    before, began = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) / (time.monotonic() - began)


@contextlib.contextmanager
def on_core(core: int | None) -> Iterator[None]:
    """Run this process on ``core`` for a while: for clients that are not load.py."""
    if core is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median with the lowest and highest value of several runs."""
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan")}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }
