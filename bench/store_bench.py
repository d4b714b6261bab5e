"""Figures 4 to 7: what reading the store costs as it grows.

For each store size a fresh store is filled straight into SQLite (seed.py), a real
``gpserver serve`` is started on it, and each figure planned for that size is
measured in rounds against the floor (rounds.py):

- 4, job status polls (``jobs/<jobId>?f=json``) over 1,000 jobs that have
  folders, beside the floor reading the same rows by primary key;
- 5, ``jobs/statistics`` (POST, token in the body), beside the floor's constant;
- 6, ``jobs/query`` (POST) for the first page and the last page, one client at
  a time, for its median latency;
- 7, the server's and its workers' RSS high-water marks, read at the end, after
  every other figure at that size has run against the same process.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import sys
import time
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import rounds
import seed
import spy
from gpsite import (
    SERVICE,
    TASK,
    job_url,
    query_url,
    sign_in,
    start_gpserver,
    statistics_url,
)
from harness import (
    Cores,
    Load,
    Server,
    free_port,
    idle_cpu_share,
    pinned,
    spread,
)
from rounds import Contender

FLATNESS_LIMIT = 1.3
POLLED_JOBS = 1_000
RECENT_MINUTES = (1.0, 300.0)
"""Younger than the default maxFileAge of 360 minutes: nothing here is expired."""
PAGE = 10


@dataclass(frozen=True)
class Plan:
    statistics_sizes: tuple[int, ...]
    poll_sizes: tuple[int, ...]
    query_sizes: tuple[int, ...]
    memory_sizes: tuple[int, ...]
    runs: int
    seconds: float
    concurrency: int
    profile: bool = True
    """py-spy over the largest store's figures (see spy.py)."""

    @property
    def sizes(self) -> list[int]:
        every = (
            self.statistics_sizes + self.poll_sizes + self.query_sizes
        ) + self.memory_sizes
        return sorted(set(every))


def run(workdir: Path, cores: Cores, plan: Plan, deadline: float) -> dict[str, Any]:
    report: dict[str, Any] = {"sizes": [], "skipped": []}
    for size in plan.sizes:
        if time.monotonic() > deadline:
            report["skipped"].append(size)
            continue
        report["sizes"].append(_one_size(size, workdir, cores, plan))
    report["client_ceiling"] = _client_ceiling(workdir, cores, plan)
    report["flatness"] = {
        "statistics": _flatness(report["sizes"], "statistics"),
        "polls": _flatness(report["sizes"], "polls"),
    }
    return report


def start_plain(
    name: str, script: str, workdir: Path, cores: Cores, *options: str
) -> Server:
    """floor.py or ceiling.py on a free port, on the servers' core."""
    port = free_port()
    path = Path(__file__).with_name(script)
    command = [sys.executable, str(path), "--port", str(port), *options]
    server = Server(
        name,
        pinned(command, cores.server),
        port,
        f"http://127.0.0.1:{port}/",
        workdir / f"{name}.log",
    )
    server.start()
    return server


def _one_size(size: int, workdir: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    data_dir = workdir / f"store-{size}"
    began = time.monotonic()
    db_path, counts, polled = _fill(data_dir, size)
    fill_seconds = time.monotonic() - began
    print(f"  {size:>9,} jobs: store filled in {fill_seconds:.1f} s", flush=True)

    result: dict[str, Any] = {"jobs": size, "fill_seconds": fill_seconds}
    floor = start_plain(
        f"floor-{size}", "floor.py", workdir, cores, "--read-db", str(db_path)
    )
    try:
        server = start_gpserver(data_dir, cores, f"gpserver-{size}")
    except BaseException:
        floor.stop()
        raise
    try:
        result["server_start_seconds"] = server.started_in
        result["memory_after_start"] = server.peak_memory()
        result["idle_server_cpu_share"] = idle_cpu_share(server)
        token = sign_in(server.port)
        if size in plan.poll_sizes:
            result["polls"] = _polls(server, floor, polled, cores, plan, workdir)
        if size in plan.statistics_sizes:
            result["statistics"] = _statistics(
                server, floor, token, counts, cores, plan
            )
        if size in plan.query_sizes:
            result["query"] = _query(server, token, size, cores, plan)
        if size in plan.memory_sizes:
            result["memory"] = server.peak_memory()
        if plan.profile and size == plan.sizes[-1]:
            result["profiles"] = _profiles(result, server, cores, workdir)
        for figure in ("polls", "statistics"):
            result.get(figure, {}).pop("load", None)
        for page in ("first", "deep"):
            result.get("query", {}).get(page, {}).pop("load", None)
    finally:
        server.stop()
        floor.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def _fill(data_dir: Path, size: int) -> tuple[Path, seed.Counts, list[str]]:
    """A store of ``size`` finished jobs, ``POLLED_JOBS`` of them with folders."""
    rng = random.Random(size)
    db_path = seed.create_store(data_dir)
    polled = min(POLLED_JOBS, size)
    live = seed.insert_finished_jobs(
        db_path,
        SERVICE,
        TASK,
        polled,
        age_minutes=RECENT_MINUTES,
        keep_ids=True,
        # Anonymous, as the polls are: anyone else's job answers "not found".
        users=(None,),
        rng=rng,
    )
    seed.make_folders(data_dir / "arcgisjobs", SERVICE, live.job_ids, age_minutes=1)
    rest = seed.insert_finished_jobs(
        db_path, SERVICE, TASK, size - polled, age_minutes=RECENT_MINUTES, rng=rng
    )
    counts = seed.Counts(
        total=live.total + rest.total,
        cancelled=live.cancelled + rest.cancelled,
        failed=live.failed + rest.failed,
        succeeded=live.succeeded + rest.succeeded,
    )
    return db_path, counts, live.job_ids


def _polls(
    server: Server,
    floor: Server,
    job_ids: list[str],
    cores: Cores,
    plan: Plan,
    workdir: Path,
) -> dict[str, Any]:
    gp = Load(
        [job_url(server.port, j) for j in job_ids],
        "GET",
        None,
        '"jobStatus"',
        plan.concurrency,
        plan.seconds,
    )
    base = f"http://127.0.0.1:{floor.port}/read/"
    floor_load = replace(gp, urls=[base + j for j in job_ids], expect='"status"')
    measured = rounds.alternate(
        [Contender("gpserver", gp, server), Contender("floor", floor_load, floor)],
        cores,
        plan.runs,
        workdir,
    )
    summary = rounds.summarize(measured, "floor")
    print(f"      polls: {rounds.line(summary)}", flush=True)
    return {"rounds": measured, "summary": summary, "load": gp}


def _statistics(
    server: Server,
    floor: Server,
    token: str,
    counts: seed.Counts,
    cores: Cores,
    plan: Plan,
) -> dict[str, Any]:
    body = urlencode({"f": "json", "token": token})
    answer = _post(statistics_url(server.port), body)
    expected = {
        "total": counts.total,
        "cancelled": counts.cancelled,
        "failed": counts.failed,
        "succeeded": counts.succeeded,
    }
    gp = Load(
        [statistics_url(server.port)],
        "POST",
        body,
        '"succeeded"',
        plan.concurrency,
        plan.seconds,
    )
    floor_load = replace(gp, urls=[f"http://127.0.0.1:{floor.port}/statistics"])
    measured = rounds.alternate(
        [Contender("gpserver", gp, server), Contender("floor", floor_load, floor)],
        cores,
        plan.runs,
    )
    summary = rounds.summarize(measured, "floor")
    print(f"      statistics: {rounds.line(summary)}", flush=True)
    return {
        "answer": answer,
        "expected": expected,
        "answer_matches_store": answer == expected,
        "write_lock_wait_ms": _write_lock_wait(server),
        "rounds": measured,
        "summary": summary,
        "load": gp,
    }


def _query(
    server: Server, token: str, size: int, cores: Cores, plan: Plan
) -> dict[str, Any]:
    """The first and the last page of ``PAGE`` jobs, one client at a time."""
    pages = {"first": 1, "deep": max(1, size - PAGE + 1)}
    result: dict[str, Any] = {"page_size": PAGE}
    for name, start in pages.items():
        body = urlencode(
            {
                "f": "json",
                "token": token,
                "startTime": 0,
                "start": start,
                "number": PAGE,
            }
        )
        answer = _post(query_url(server.port), body)
        load = Load(
            [query_url(server.port)], "POST", body, '"results"', 1, plan.seconds
        )
        measured = rounds.alternate([Contender(name, load, server)], cores, plan.runs)
        summary = rounds.summarize(measured, name)[name]
        result[name] = {
            "start": start,
            "answer_total": answer.get("total"),
            "answer_num": answer.get("num"),
            "answer_next_start": answer.get("nextStart"),
            "rounds": measured,
            "summary": summary,
            "load": load,
        }
        print(
            f"      query {name} page (start {start:,}): "
            f"p50 {summary['p50']['median']:.1f} ms",
            flush=True,
        )
    return result


def _profiles(
    result: dict[str, Any], server: Server, cores: Cores, workdir: Path
) -> dict[str, Any]:
    """py-spy over one more run of each figure measured at this size."""
    profiles: dict[str, Any] = {}
    for figure in ("polls", "statistics"):
        if figure in result:
            load = result[figure]["load"]
            profiles[figure] = spy.profile(figure, server, load, cores, workdir)
    if "query" in result:
        load = result["query"]["deep"]["load"]
        profiles["query"] = spy.profile("query", server, load, cores, workdir)
    return profiles


def _post(url: str, body: str) -> dict[str, Any]:
    reply = httpx.post(
        url,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=120,
    )
    answer: dict[str, Any] = reply.json()
    return answer


def _write_lock_wait(server: Server, samples: int = 10) -> dict[str, float]:
    """How long a writer waits for the store's write lock while the server idles:
    what a submitJob would wait before it can insert its row."""
    db_path = Path(server.command[server.command.index("--data-dir") + 1])
    waits = []
    deadline = time.monotonic() + 20
    with closing(
        sqlite3.connect(db_path / "gpserver.db", timeout=30, isolation_level=None)
    ) as conn:
        for _ in range(samples):
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            waits.append((time.perf_counter() - began) * 1000)
            conn.execute("COMMIT")
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return spread(waits)


def _client_ceiling(workdir: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    """The load generator against a bare canned-answer server, beside the floor."""
    floor = start_plain("floor-ceiling", "floor.py", workdir, cores)
    ceiling = start_plain("ceiling", "ceiling.py", workdir, cores)
    try:
        load = Load(
            [f"http://127.0.0.1:{ceiling.port}/statistics"],
            "POST",
            "f=json&token=x",
            '"succeeded"',
            plan.concurrency,
            plan.seconds,
        )
        floor_load = replace(load, urls=[f"http://127.0.0.1:{floor.port}/statistics"])
        measured = rounds.alternate(
            [
                Contender("ceiling", load, ceiling),
                Contender("floor", floor_load, floor),
            ],
            cores,
            plan.runs,
        )
    finally:
        floor.stop()
        ceiling.stop()
    summary = rounds.summarize(measured, "ceiling")
    print(f"  client ceiling: {rounds.line(summary)}", flush=True)
    return {
        "rounds": measured,
        "ceiling_rps": summary["ceiling"]["rps"],
        "floor_rps": summary["floor"]["rps"],
        "floor_to_ceiling": summary["floor"]["rps_ratio"],
        "client_cpu_share_at_ceiling": summary["ceiling"]["client_cpu_share"],
    }


def _flatness(sizes: list[dict[str, Any]], figure: str) -> dict[str, Any]:
    """Largest store against smallest, each figure as "how many times worse".

    The verdict takes gpserver's own figures: throughput, median latency and CPU
    time per request. The floor's own drift between the two sizes is given
    beside them: the floor's constant does not read the store, so when it moved
    the machine did.
    """
    measured = [s for s in sizes if figure in s]
    if len(measured) < 2:
        return {}
    small = measured[0][figure]["summary"]
    large = measured[-1][figure]["summary"]

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
        "smallest": measured[0]["jobs"],
        "largest": measured[-1]["jobs"],
        "gpserver": own,
        "floor_throughput_drift": worse("rps", lower_is_better=False, name="floor"),
        "throughput_vs_floor": small["gpserver"]["rps_ratio"]["median"]
        / large["gpserver"]["rps_ratio"]["median"],
        "limit": FLATNESS_LIMIT,
        "met": max(own.values()) <= FLATNESS_LIMIT,
    }
