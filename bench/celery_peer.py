"""Celery as a peer for figures 2 and 3: a Redis broker, a prefork worker with two
processes, and a task that does nothing (celery_noop.py).

The broker and the result backend are one Redis database of the benchmark's
own (13, or the next empty one up to 15), flushed before and after. The client
runs in this process, on the load generator's core: figure 2 sends a batch of
tasks and waits for every result, figure 3 sends one task at a time and waits
for its result (``delay().get()``), which is Celery's round trip.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import endtoend
import redis
from harness import BENCH, Cores, Server, on_core, pinned, spread

REDIS_DATABASES = (13, 14, 15)


def available() -> str:
    """'' when Redis answers and a database of ours is free, else why not."""
    try:
        _free_database()
    except (redis.RedisError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def run(
    workdir: Path, cores: Cores, runs: int, batch: int, latency_jobs: int
) -> dict[str, Any]:
    number = _free_database()
    url = f"redis://127.0.0.1:6379/{number}"
    os.environ["BENCH_CELERY_URL"] = url
    noop = importlib.import_module("celery_noop").noop
    worker = _start_worker(url, workdir, cores, noop.app)
    try:
        with on_core(cores.client):
            report = {
                "redis_database": number,
                "batch": _batches(noop, runs, batch),
                "latency": _latencies(noop, runs, latency_jobs),
            }
        report["memory"] = worker.peak_memory()
    finally:
        worker.stop()
        redis.Redis.from_url(url).flushdb()
    return report


def _free_database() -> int:
    for number in REDIS_DATABASES:
        client = redis.Redis(host="127.0.0.1", port=6379, db=number)
        if client.dbsize() == 0:
            return number
    raise RuntimeError(f"Redis databases {REDIS_DATABASES} are all in use")


def _start_worker(url: str, workdir: Path, cores: Cores, app: Any) -> Server:
    command = [sys.executable, "-m", "celery", "-A", "celery_noop", "worker"]
    command += ["--pool", "prefork", "--concurrency", "2", "--loglevel", "warning"]
    command += ["--without-gossip", "--without-mingle"]

    def ready() -> bool:
        return bool(app.control.ping(timeout=0.5))

    worker = Server(
        "celery",
        pinned(command, cores.server),
        0,
        None,
        workdir / "celery.log",
        env={"BENCH_CELERY_URL": url},
        ready=ready,
        cwd=BENCH,
    )
    worker.start()
    return worker


def _batches(noop: Any, runs: int, batch: int) -> dict[str, Any]:
    batches = []
    for _ in range(runs):
        began = time.time()
        results = [noop.delay() for _ in range(batch)]
        for result in results:
            result.get(timeout=300)
        done = [r._get_task_meta()["date_done"] for r in results]
        last = max(_epoch(d) for d in done)
        span = last - began
        batches.append(
            {
                "expected": batch,
                "succeeded": sum(r.successful() for r in results),
                "other_finished": sum(not r.successful() for r in results),
                "unfinished": 0,
                "store_span_seconds": span,
                "completed_per_second": batch / span if span > 0 else 0.0,
                "complete": True,
            }
        )
    summary = endtoend.batch_summary(batches)
    print(
        f"  celery 2 completed/s: {summary['completed_per_second']['median']:,.0f}",
        flush=True,
    )
    return {"batches": batches, "summary": summary}


def _epoch(done: Any) -> float:
    """A result's ``date_done`` (a datetime, or its ISO text) in epoch seconds."""
    if isinstance(done, str):
        done = datetime.fromisoformat(done)
    return float(done.replace(tzinfo=done.tzinfo or UTC).timestamp())


def _latencies(noop: Any, runs: int, jobs: int) -> dict[str, Any]:
    medians = []
    for _ in range(runs):
        took = []
        for _ in range(jobs):
            began = time.perf_counter()
            noop.delay().get(timeout=60)
            took.append((time.perf_counter() - began) * 1000)
        medians.append(sorted(took)[len(took) // 2])
    round_trip = spread(medians)
    summary = {"round_trip_ms": round_trip, "jobs_per_run": jobs}
    print(
        f"  celery 3 round trip: {round_trip['median']:.1f} ms",
        flush=True,
    )
    return {"summary": summary, "medians": medians}


def combined(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Two series of Celery's figures 2 and 3, taken just before and just after
    gpserver's, as one: a machine that speeds up or slows down during the run
    then moves both sides of the comparison alike."""
    if "broken" in before or "broken" in after:
        return before if "broken" in before else after
    batches = before["batch"]["batches"] + after["batch"]["batches"]
    medians = before["latency"]["medians"] + after["latency"]["medians"]
    jobs = before["latency"]["summary"]["jobs_per_run"]
    return {
        "redis_database": after["redis_database"],
        "series": 2,
        "batch": {"batches": batches, "summary": endtoend.batch_summary(batches)},
        "latency": {
            "medians": medians,
            "summary": {"round_trip_ms": spread(medians), "jobs_per_run": jobs},
        },
        "memory": after["memory"],
    }
