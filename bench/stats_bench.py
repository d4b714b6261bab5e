"""Scenario 1: ``jobs/statistics`` over stores of growing size, beside the floor.

For each size a fresh store is filled straight into SQLite (rows only: the
statistics answer reads no folder), a real ``gpserver serve`` is started on it,
and rounds alternate between the floor app and gpserver, so that whatever else
the machine is doing weighs on both alike. The figure that matters is gpserver's
throughput and latency as a ratio of the floor's in the same round.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import seed
from gpsite import SERVICE, TASK, sign_in, start_gpserver, statistics_url
from harness import (
    Cores,
    Load,
    Server,
    free_port,
    idle_cpu_share,
    pinned,
    run_load,
    spread,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gpserver.db import Database, sqlite_url
from gpserver.jobs.cleanup import Cleanup, CleanupSettings
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.service import Jobs
from gpserver.jobs.store import JobStore
from gpserver.settings import SettingsStore

FLATNESS_LIMIT = 1.3
RECENT_MINUTES = (1.0, 300.0)
"""Younger than the default maxFileAge of 360 minutes: nothing here is expired."""


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    runs: int
    seconds: float
    concurrency: int


def run(workdir: Path, cores: Cores, plan: Plan, deadline: float) -> dict[str, Any]:
    floor = _start_plain("floor", "floor.py", workdir, cores)
    ceiling = _start_plain("ceiling", "ceiling.py", workdir, cores)
    report: dict[str, Any] = {"sizes": [], "skipped": []}
    try:
        for size in plan.sizes:
            if time.monotonic() > deadline:
                report["skipped"].append(size)
                continue
            report["sizes"].append(_one_size(size, workdir, cores, plan, floor))
        report["client_ceiling"] = _client_ceiling(cores, plan, floor, ceiling)
    finally:
        floor.stop()
        ceiling.stop()
    report["flatness"] = _flatness(report["sizes"])
    return report


def _start_plain(name: str, script: str, workdir: Path, cores: Cores) -> Server:
    port = free_port()
    path = Path(__file__).with_name(script)
    server = Server(
        name,
        pinned([sys.executable, str(path), "--port", str(port)], cores.server),
        port,
        f"http://127.0.0.1:{port}/",
        workdir / f"{name}.log",
    )
    server.start()
    return server


def _one_size(
    size: int, workdir: Path, cores: Cores, plan: Plan, floor: Server
) -> dict[str, Any]:
    data_dir = workdir / f"statistics-{size}"
    began = time.monotonic()
    db_path = seed.create_store(data_dir)
    counts = seed.insert_finished_jobs(
        db_path,
        SERVICE,
        TASK,
        size,
        age_minutes=RECENT_MINUTES,
        rng=random.Random(size),
    )
    fill_seconds = time.monotonic() - began
    idle_sweep = _idle_sweep(data_dir)
    print(f"  {size:>9,} jobs: store filled in {fill_seconds:.1f} s", flush=True)

    server = start_gpserver(data_dir, cores, f"gpserver-{size}")
    try:
        token = sign_in(server.port)
        body = urlencode({"f": "json", "token": token})
        answer = httpx.post(
            statistics_url(server.port),
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=60,
        ).json()
        idle_cpu = idle_cpu_share(server)
        lock_wait = _write_lock_wait(db_path)
        expected = {
            "total": counts.total,
            "cancelled": counts.cancelled,
            "failed": counts.failed,
            "succeeded": counts.succeeded,
        }
        gp_load = Load(
            [statistics_url(server.port)],
            "POST",
            body,
            '"succeeded"',
            plan.concurrency,
            plan.seconds,
        )
        floor_load = Load(
            [f"http://127.0.0.1:{floor.port}/statistics"],
            "POST",
            body,
            '"succeeded"',
            plan.concurrency,
            plan.seconds,
        )
        rounds = _alternate(gp_load, server, floor_load, floor, cores, plan.runs)
    finally:
        server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"  {size:>9,} jobs: {_summary_line(rounds)}", flush=True)
    return {
        "jobs": size,
        "fill_seconds": fill_seconds,
        "server_start_seconds": server.started_in,
        "idle_sweep": idle_sweep,
        "idle_server_cpu_share": idle_cpu,
        "write_lock_wait_ms": lock_wait,
        "answer": answer,
        "answer_matches_store": answer == expected,
        "rounds": rounds,
        "summary": _summarize(rounds),
    }


def _idle_sweep(data_dir: Path) -> dict[str, Any]:
    """What one sweep costs when nothing is expired, as the server's sweeper runs
    it every interval, and SQLite's plan for its query of expired jobs."""
    database = Database(sqlite_url(data_dir / "gpserver.db"))
    jobs = Jobs(JobStore(database), JobsDirectory(data_dir / "arcgisjobs"))
    cleanup = Cleanup(jobs, SettingsStore(database), CleanupSettings())
    statements: list[tuple[str, Any]] = []

    def remember(
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if "modified_ms <" in statement:
            statements.append((statement, parameters))

    took = []
    event.listen(Engine, "before_cursor_execute", remember)
    try:
        for _ in range(3):
            began = time.perf_counter()
            removed = cleanup.sweep(360)
            took.append(time.perf_counter() - began)
            assert removed == 0, "a statistics store must hold no expired job"
    finally:
        event.remove(Engine, "before_cursor_execute", remember)
        database.dispose()
    return {"seconds": spread(took), "query_plan": _plan(data_dir, statements[:1])}


def _plan(data_dir: Path, statements: list[tuple[str, Any]]) -> list[str]:
    if not statements:
        return []
    statement, parameters = statements[0]
    with closing(sqlite3.connect(data_dir / "gpserver.db")) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return [str(row[-1]) for row in rows]


def _write_lock_wait(db_path: Path, samples: int = 10) -> dict[str, float]:
    """How long a writer waits for the store's write lock while the server idles:
    what a submitJob would wait before it can insert its row."""
    waits = []
    deadline = time.monotonic() + 20
    with closing(sqlite3.connect(db_path, timeout=30, isolation_level=None)) as conn:
        for _ in range(samples):
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            waits.append((time.perf_counter() - began) * 1000)
            conn.execute("COMMIT")
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return spread(waits)


def _alternate(
    gp_load: Load, gp: Server, floor_load: Load, floor: Server, cores: Cores, runs: int
) -> list[dict[str, Any]]:
    """Rounds of one floor run and one gpserver run, the order swapped each round.

    gpserver is frozen while the floor runs: both are on the same core.
    """
    short = Load(
        gp_load.urls,
        gp_load.method,
        gp_load.data,
        gp_load.expect,
        gp_load.concurrency,
        1.0,
    )
    run_load(short, cores, gp)
    rounds = []
    for index in range(runs):
        order = ["floor", "gpserver"] if index % 2 == 0 else ["gpserver", "floor"]
        measured = {}
        for name in order:
            if name == "floor":
                # An idle gpserver is not idle on a large store (its pool polls
                # the queue); frozen, it takes nothing from the floor's core.
                gp.pause()
                try:
                    measured[name] = run_load(floor_load, cores, floor)
                finally:
                    gp.resume()
            else:
                measured[name] = run_load(gp_load, cores, gp)
        rounds.append(measured)
    return rounds


def _summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def values(name: str, key: str) -> list[float]:
        if key == "rps":
            return [r[name]["rps"] for r in rounds]
        return [r[name]["latency_ms"][key] for r in rounds]

    summary: dict[str, Any] = {}
    for name in ("gpserver", "floor"):
        summary[name] = {
            key: spread(values(name, key)) for key in ("rps", "p50", "p99")
        }
        summary[name]["errors"] = sum(r[name]["errors"] for r in rounds)
        summary[name]["server_cpu_share"] = spread(
            [r[name]["server_cpu_share"] for r in rounds]
        )
        summary[name]["server_cpu_ms_per_request"] = spread(
            [r[name]["server_cpu_ms_per_request"] for r in rounds]
        )
        summary[name]["client_cpu_share"] = spread(
            [r[name]["client_cpu_share"] for r in rounds]
        )
    summary["rps_ratio"] = spread(
        [r["gpserver"]["rps"] / r["floor"]["rps"] for r in rounds]
    )
    summary["p50_ratio"] = spread(
        [
            r["gpserver"]["latency_ms"]["p50"] / r["floor"]["latency_ms"]["p50"]
            for r in rounds
        ]
    )
    return summary


def _summary_line(rounds: list[dict[str, Any]]) -> str:
    s = _summarize(rounds)
    return (
        f"gpserver {s['gpserver']['rps']['median']:,.0f} req/s "
        f"(p50 {s['gpserver']['p50']['median']:.1f} ms), floor "
        f"{s['floor']['rps']['median']:,.0f} req/s, ratio "
        f"{s['rps_ratio']['median']:.2f}"
    )


def _client_ceiling(
    cores: Cores, plan: Plan, floor: Server, ceiling: Server
) -> dict[str, Any]:
    """The load generator against a bare canned-answer server, beside the floor."""
    body = "f=json&token=x"
    loads = {
        "ceiling": Load(
            [f"http://127.0.0.1:{ceiling.port}/statistics"],
            "POST",
            body,
            '"succeeded"',
            plan.concurrency,
            plan.seconds,
        ),
        "floor": Load(
            [f"http://127.0.0.1:{floor.port}/statistics"],
            "POST",
            body,
            '"succeeded"',
            plan.concurrency,
            plan.seconds,
        ),
    }
    servers = {"ceiling": ceiling, "floor": floor}
    rounds = []
    for index in range(plan.runs):
        order = ["ceiling", "floor"] if index % 2 == 0 else ["floor", "ceiling"]
        rounds.append({n: run_load(loads[n], cores, servers[n]) for n in order})
    print(
        "  client ceiling: "
        f"{spread([r['ceiling']['rps'] for r in rounds])['median']:,.0f} req/s",
        flush=True,
    )
    return {
        "rounds": rounds,
        "ceiling_rps": spread([r["ceiling"]["rps"] for r in rounds]),
        "floor_rps": spread([r["floor"]["rps"] for r in rounds]),
        "floor_to_ceiling": spread(
            [r["floor"]["rps"] / r["ceiling"]["rps"] for r in rounds]
        ),
        "client_cpu_share_at_ceiling": spread(
            [r["ceiling"]["client_cpu_share"] for r in rounds]
        ),
    }


def _flatness(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Largest store against smallest, each figure as "how many times worse".

    The verdict takes gpserver's own figures: throughput, median latency and CPU
    time per request. The same comparison of each size's ratio to the floor is
    given beside them; the floor does not depend on the store, so when it moved
    between the two sizes the machine did, and the floor-relative figure says how
    much of the change that explains.
    """
    if len(sizes) < 2:
        return {}
    small, large = sizes[0]["summary"], sizes[-1]["summary"]

    def worse(key: str, lower_is_better: bool, name: str = "gpserver") -> float:
        a = small[name][key]["median"]
        b = large[name][key]["median"]
        return float(b / a if lower_is_better else a / b)

    own = {
        "throughput": worse("rps", lower_is_better=False),
        "p50_latency": worse("p50", lower_is_better=True),
        "cpu_per_request": worse("server_cpu_ms_per_request", lower_is_better=True),
    }
    return {
        "smallest": sizes[0]["jobs"],
        "largest": sizes[-1]["jobs"],
        "gpserver": own,
        "floor_throughput_drift": worse("rps", lower_is_better=False, name="floor"),
        "throughput_vs_floor": small["rps_ratio"]["median"]
        / large["rps_ratio"]["median"],
        "p50_vs_floor": large["p50_ratio"]["median"] / small["p50_ratio"]["median"],
        "limit": FLATNESS_LIMIT,
        "met": max(own.values()) <= FLATNESS_LIMIT,
    }
