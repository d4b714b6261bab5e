"""Figures 1 to 3 for gpserver, beside the floor's insert.

1. ``submitJob`` of ``Samples/Diagnostics/Wait`` with ``seconds=0`` and ``f=json``
   in rounds with the floor inserting the same form into SQLite. After each
   gpserver run the queue is left to drain, so that every run starts alike.
2. A batch of the same jobs submitted over HTTP (16 clients), until the store
   says every one succeeded, with the default worker pool.
3. One job at a time: submitted, then polled until it succeeded.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import endtoend
import httpx
import rounds
import spy
from endtoend import Tally
from gpsite import job_url, start_gpserver, submit_url
from harness import Cores, Load, Server, on_core, run_load
from rounds import Contender
from store_bench import start_plain

from gpserver.jobs.states import JobStatus

SUBMIT_BODY = "seconds=0&f=json"
FINISHED = tuple(s.ordinal for s in JobStatus if s.is_finished)


@dataclass(frozen=True)
class Plan:
    runs: int
    seconds: float
    concurrency: int
    batch: int
    """Jobs in one figure-2 batch."""
    latency_jobs: int
    """Jobs in one figure-3 run."""
    drain_limit: float = 300.0
    profile: bool = True
    """py-spy over one more submit run (see spy.py)."""


def run(workdir: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    data_dir = workdir / "submit"
    floor = start_plain(
        "floor-insert", "floor.py", workdir, cores, "--insert-db", str(workdir / "i.db")
    )
    try:
        server = start_gpserver(data_dir, cores, "gpserver-submit")
    except BaseException:
        floor.stop()
        raise
    store = data_dir / "gpserver.db"
    try:
        report = {
            "submit": _submits(server, floor, store, cores, plan, workdir),
            "batch": _batches(server, store, cores, plan),
            "latency": _latencies(server, store, cores, plan),
            "memory": server.peak_memory(),
        }
        if plan.profile:
            gp = submit_load(submit_url(server.port), plan)
            report["profile"] = spy.profile("submit", server, gp, cores, workdir)
    finally:
        server.stop()
        floor.stop()
    return report


def submit_load(url: str, plan: Plan) -> Load:
    return Load([url], "POST", SUBMIT_BODY, '"jobId"', plan.concurrency, plan.seconds)


def _submits(
    server: Server,
    floor: Server,
    store: Path,
    cores: Cores,
    plan: Plan,
    workdir: Path,
) -> dict[str, Any]:
    def drain(result: dict[str, Any]) -> dict[str, Any]:
        return endtoend.wait_for_batch(lambda: tally(store, 0), 0, plan.drain_limit)

    gp = submit_load(submit_url(server.port), plan)
    floor_load = replace(gp, urls=[f"http://127.0.0.1:{floor.port}/insert"])
    measured = rounds.alternate(
        [
            Contender("gpserver", gp, server, drain),
            Contender("floor", floor_load, floor),
        ],
        cores,
        plan.runs,
        workdir,
    )
    summary = rounds.summarize(measured, "floor")
    print(f"  1 submitJob: {rounds.line(summary)}", flush=True)
    return {"rounds": measured, "summary": summary}


def _batches(server: Server, store: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    load = replace(
        submit_load(submit_url(server.port), plan),
        seconds=plan.drain_limit,
        warmup=0.0,
        max_requests=plan.batch,
    )
    batches = []
    for _ in range(plan.runs):
        since_ms = int(time.time() * 1000)
        sent = run_load(load, cores, server)
        expected = sent["requests"]
        batch = endtoend.wait_for_batch(
            partial(tally, store, since_ms), expected, plan.drain_limit
        )
        batches.append({**batch, "submit_errors": sent["errors"]})
    summary = endtoend.batch_summary(batches)
    print(
        f"  2 completed/s: {summary['completed_per_second']['median']:,.0f}",
        flush=True,
    )
    return {"batches": batches, "summary": summary}


def _latencies(server: Server, store: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    runs = []
    with on_core(cores.client), httpx.Client(timeout=30) as client:
        for _ in range(plan.runs):
            runs.append(
                [_one_job(client, server.port, store) for _ in range(plan.latency_jobs)]
            )
    summary = endtoend.latency_summary(runs)
    print(
        f"  3 one job: server {summary['server_ms']['median']:.1f} ms, "
        f"client {summary['client_ms']['median']:.1f} ms",
        flush=True,
    )
    return {"runs": runs, "summary": summary}


def _one_job(client: httpx.Client, port: int, store: Path) -> dict[str, float]:
    began = time.perf_counter()
    reply = client.post(
        submit_url(port),
        content=SUBMIT_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    job_id = reply.json()["jobId"]
    url = job_url(port, job_id)
    deadline = time.monotonic() + 60
    status = ""
    while status != "esriJobSucceeded" and time.monotonic() < deadline:
        time.sleep(endtoend.POLL_INTERVAL)
        status = client.get(url).json()["jobStatus"]
    seen = time.perf_counter() - began
    if status != "esriJobSucceeded":
        return {"failed": 1.0}
    with closing(_read_only(store)) as conn:
        submitted, ended = conn.execute(
            "SELECT submitted_ms, ended_ms FROM jobs WHERE job_id = ?", (job_id,)
        ).fetchone()
    return {"server_ms": float(ended - submitted), "client_ms": seen * 1000}


def tally(store: Path, since_ms: int) -> Tally:
    """The store's jobs submitted at or after ``since_ms``, by how they stand."""
    with closing(_read_only(store)) as conn:
        rows = conn.execute(
            "SELECT status, COUNT(*), MIN(submitted_ms), MAX(ended_ms) FROM jobs "
            "WHERE submitted_ms >= ? GROUP BY status",
            (since_ms,),
        ).fetchall()
    succeeded = other = unfinished = 0
    firsts, lasts = [], []
    for status, count, first, last in rows:
        if status == JobStatus.SUCCEEDED.ordinal:
            succeeded += count
        elif status in FINISHED:
            other += count
        else:
            unfinished += count
        firsts.append(first)
        if last is not None:
            lasts.append(last)
    return Tally(
        succeeded,
        other,
        unfinished,
        min(firsts) / 1000 if firsts else None,
        max(lasts) / 1000 if lasts else None,
    )


def _read_only(store: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
