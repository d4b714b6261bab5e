"""Scenario 2: the cleanup sweeper over 100,000 expired jobs, rows and folders.

Two stores are swept, one with its jobs directory on the disk beside the data
(as a real site keeps it) and one on tmpfs, which takes the disk out and leaves
what the sweeper costs itself. On each:

1. ``Cleanup.sweep`` runs in a process of its own, in windows of bounded length
   (sweep_inproc.py), for the jobs removed per second;
2. a real server polls: job status requests at the same concurrency, first while
   idle, then while ``POST admin/system/directories/arcgisjobs/clean`` sweeps.
   The removal rate during those windows is read from the store's counters.

The server is stopped while the sweep still runs (SIGINT, then SIGKILL), which the
three-step removal is built to survive; its next start would finish the batch.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import seed
from gpsite import (
    SERVICE,
    TASK,
    clean_url,
    job_url,
    sign_in,
    start_gpserver,
    stored_total,
)
from harness import Cores, Load, pinned, run_load, spread

LIVE_JOBS = 1_000
LIVE_MINUTES = (1.0, 300.0)
EXPIRED_MINUTES = (420.0, 43_200.0)
FOLDER_AGE_MINUTES = 400.0
"""Older than the cutoff (360 minutes): the sweeper keeps jobs whose folder is newer."""


@dataclass(frozen=True)
class Plan:
    expired: int
    runs: int
    seconds: float
    inproc_seconds: float
    concurrency: int


def run(
    workdir: Path, tmpfs: Path | None, cores: Cores, plan: Plan, deadline: float
) -> dict[str, Any]:
    places = {"disk": workdir}
    if tmpfs is not None:
        places["tmpfs"] = tmpfs
    report: dict[str, Any] = {"expired_jobs": plan.expired, "places": {}}
    for name, base in places.items():
        if time.monotonic() > deadline:
            report["places"][name] = {"skipped": "time budget spent"}
            continue
        report["places"][name] = _one_place(name, base, cores, plan)
    return report


def _one_place(name: str, base: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    inproc_dir = base / f"sweep-{name}-inproc"
    server_dir = base / f"sweep-{name}-server"
    result: dict[str, Any] = {}
    try:
        result["seed_seconds"], _ = _seed(inproc_dir, plan.expired)
        print(
            f"  {name}: {plan.expired:,} expired jobs seeded in "
            f"{result['seed_seconds']:.1f} s",
            flush=True,
        )
        result["in_process"] = _in_process(inproc_dir, cores, plan)
        result["teardown"] = _remove_tree(inproc_dir)
        _, live = _seed(server_dir, plan.expired)
        result["server"] = _server_polls(server_dir, live, cores, plan)
    finally:
        result.setdefault("teardown", _remove_tree(inproc_dir))
        result["server_teardown"] = _remove_tree(server_dir)
    return result


def _seed(data_dir: Path, expired: int) -> tuple[float, list[str]]:
    began = time.monotonic()
    db_path = seed.create_store(data_dir)
    jobs_root = data_dir / "arcgisjobs"
    live = seed.insert_finished_jobs(
        db_path,
        SERVICE,
        TASK,
        LIVE_JOBS,
        age_minutes=LIVE_MINUTES,
        keep_ids=True,
        rng=random.Random(1),
    )
    seed.make_folders(jobs_root, SERVICE, live.job_ids, age_minutes=1)
    old = seed.insert_finished_jobs(
        db_path,
        SERVICE,
        TASK,
        expired,
        age_minutes=EXPIRED_MINUTES,
        keep_ids=True,
        rng=random.Random(2),
    )
    seed.make_folders(jobs_root, SERVICE, old.job_ids, age_minutes=FOLDER_AGE_MINUTES)
    return time.monotonic() - began, live.job_ids


def _in_process(data_dir: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    script = Path(__file__).with_name("sweep_inproc.py")
    command = [sys.executable, str(script), "--data-dir", str(data_dir)]
    command += ["--windows", str(plan.runs), "--seconds", str(plan.inproc_seconds)]
    limit = plan.runs * plan.inproc_seconds * 3 + 120
    done = subprocess.run(
        pinned(command, cores.server), capture_output=True, timeout=limit, check=True
    )
    windows = json.loads(done.stdout)["windows"]
    rates = [w["jobs_per_second"] for w in windows]
    print(f"  in-process sweep: {spread(rates)['median']:,.0f} jobs/s", flush=True)
    return {"windows": windows, "jobs_per_second": spread(rates)}


def _server_polls(
    data_dir: Path, live: list[str], cores: Cores, plan: Plan
) -> dict[str, Any]:
    server = start_gpserver(data_dir, cores, f"gpserver-{data_dir.name}")
    db_path = data_dir / "gpserver.db"
    try:
        token = sign_in(server.port)
        urls = [job_url(server.port, job_id) for job_id in live]
        load = Load(urls, "GET", None, '"jobStatus"', plan.concurrency, plan.seconds)
        warm = Load(urls, "GET", None, '"jobStatus"', plan.concurrency, 1.0)
        run_load(warm, cores, server, workdir=data_dir.parent)
        idle = [
            run_load(load, cores, server, workdir=data_dir.parent)
            for _ in range(plan.runs)
        ]

        done = threading.Event()
        clean: dict[str, Any] = {}
        sweeper = threading.Thread(
            target=_clean, args=(server.port, token, clean, done), daemon=True
        )
        total_before = stored_total(db_path)
        sweeper.start()
        time.sleep(0.3)
        sweeping = []
        for _ in range(plan.runs):
            before, began = stored_total(db_path), time.monotonic()
            poll = run_load(
                load, cores, server, stop_when=done, workdir=data_dir.parent
            )
            after, took = stored_total(db_path), time.monotonic() - began
            poll["removed_jobs"] = before - after
            poll["removed_per_second"] = (before - after) / took
            poll["sweep_finished_during_window"] = done.is_set()
            sweeping.append(poll)
            if done.is_set():
                break
        removed = total_before - stored_total(db_path)
    finally:
        stopping = time.monotonic()
        server.stop(grace=15)
        stop_seconds = time.monotonic() - stopping
    sweeper.join(timeout=30)
    idle_rps = spread([r["rps"] for r in idle])
    busy_rps = spread([r["rps"] for r in sweeping])
    print(
        f"  polls: idle {idle_rps['median']:,.0f} req/s, while sweeping "
        f"{busy_rps['median']:,.0f} req/s",
        flush=True,
    )
    return {
        "server_start_seconds": server.started_in,
        "idle": idle,
        "sweeping": sweeping,
        "idle_rps": idle_rps,
        "sweeping_rps": busy_rps,
        "sweeping_to_idle": busy_rps["median"] / idle_rps["median"],
        "idle_p50_ms": spread([r["latency_ms"]["p50"] for r in idle]),
        "sweeping_p50_ms": spread([r["latency_ms"]["p50"] for r in sweeping]),
        "sweeping_p99_ms": spread([r["latency_ms"]["p99"] for r in sweeping]),
        "removed_per_second": spread([r["removed_per_second"] for r in sweeping]),
        "removed_during_run": removed,
        "clean_request": clean,
        "stop_seconds": stop_seconds,
        "stop_exit_code": server.process.returncode if server.process else None,
    }


def _clean(
    port: int, token: str, outcome: dict[str, Any], done: threading.Event
) -> None:
    """POST clean and wait for it; the server may be stopped before it answers."""
    began = time.monotonic()
    try:
        reply = httpx.post(
            clean_url(port),
            content=urlencode({"f": "json", "token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=600,
        )
        outcome["answer"] = f"HTTP {reply.status_code}: {reply.text[:300]}"
    except httpx.HTTPError as exc:
        outcome["answer"] = f"no answer: {type(exc).__name__} (server stopped)"
    finally:
        outcome["seconds"] = time.monotonic() - began
        done.set()


def _remove_tree(path: Path) -> dict[str, Any]:
    """Remove a seeded tree with many threads; returns folders/s for comparison with
    the sweeper's one-at-a-time removal."""
    if not path.exists():
        return {"folders": 0, "seconds": 0.0}
    began = time.monotonic()
    service_dirs = [p for p in (path / "arcgisjobs").glob("*") if p.is_dir()]
    folders = [f for d in service_dirs for f in os.scandir(d) if f.is_dir()]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda f: shutil.rmtree(f.path, ignore_errors=True), folders))
    shutil.rmtree(path, ignore_errors=True)
    took = time.monotonic() - began
    return {
        "folders": len(folders),
        "seconds": took,
        "folders_per_second": len(folders) / took if took else 0.0,
    }
