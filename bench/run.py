"""Run every benchmark and record the results: ``python bench/run.py [options]``.

Run it with the project's Python (``.venv/bin/python``); ``bench/run.sh`` does,
after making the load generator's own venv. Results go to
``bench/results/<date>T<time>.json`` and a ``.md`` beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import celery_peer
import pygeoapi_peer
import report
import store_bench
import submit_bench
import sweep_bench
from harness import BENCH, REPO, Cores, load_python

QUIET = 0.25
"""Share of both cores busy with other work above which a run is flagged noisy."""


def main() -> int:
    args = _arguments()
    began = time.monotonic()
    deadline = began + args.budget
    cores = Cores.pick()
    workdir = Path(tempfile.mkdtemp(prefix="gpserver-bench-", dir=args.workdir))
    tmpfs = _tmpfs_dir(args) if args.sweep else None
    results: dict[str, Any] = {"environment": _environment(cores, args, workdir)}
    print(f"gpserver bench: {cores.describe()}; work files in {workdir}", flush=True)
    try:
        results["busy_before"] = _wait_for_quiet(args.wait_quiet)
        results.update(run_figures(workdir, cores, plans(args), deadline))
        if args.sweep:
            print("cleanup sweeper:", flush=True)
            results["sweep"] = sweep_bench.run(
                workdir, tmpfs, cores, _sweep_plan(args), deadline
            )
        results["busy_after"] = _busy_share()
    finally:
        results["seconds"] = time.monotonic() - began
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            if tmpfs is not None:
                shutil.rmtree(tmpfs, ignore_errors=True)
    written = _write(results, args.results)
    if not args.quick and args.results == BENCH / "results":
        # The latest full run is the one bench/README.md points to.
        shutil.copyfile(written, BENCH / "RESULTS.md")
    print(f"done in {results['seconds'] / 60:.1f} min; results in {written}")
    return 0


@dataclass(frozen=True)
class Plans:
    submit: submit_bench.Plan
    pygeoapi: pygeoapi_peer.Plan | None
    celery: bool
    store: store_bench.Plan


def plans(args: argparse.Namespace) -> Plans:
    small = args.quick or args.no_million
    runs, seconds = (2, 2.0) if args.quick else (args.runs, args.seconds)
    batch = 200 if args.quick else args.batch
    latency_jobs = 5 if args.quick else 20
    big = 100_000 if small else 1_000_000
    submit = submit_bench.Plan(runs, seconds, args.concurrency, batch, latency_jobs)
    pygeoapi = pygeoapi_peer.Plan(
        runs, seconds, args.concurrency, batch, latency_jobs, (10_000, big)
    )
    store = store_bench.Plan(
        statistics_sizes=(1_000, 100_000) if small else (1_000, 100_000, big),
        poll_sizes=(10_000, big),
        query_sizes=(big,),
        memory_sizes=(10_000, big),
        runs=runs,
        seconds=seconds,
        concurrency=args.concurrency,
    )
    return Plans(submit, None if args.no_peers else pygeoapi, not args.no_peers, store)


def run_figures(
    workdir: Path, cores: Cores, plan: Plans, deadline: float
) -> dict[str, Any]:
    """Figures 1 to 7 with their baselines: gpserver and the floor, the peers,
    then the stores of growing size."""
    results: dict[str, Any] = {}
    celery_before = _celery(workdir, cores, plan, "before gpserver's") or {}
    print("figures 1-3, gpserver and the floor:", flush=True)
    results["submit"] = submit_bench.run(workdir, cores, plan.submit)
    results["busy_after_submit"] = _busy_share()
    if plan.pygeoapi is not None:
        print("figures 1-4, pygeoapi:", flush=True)
        broken = pygeoapi_peer.available()
        results["pygeoapi"] = (
            {"broken": broken}
            if broken
            else pygeoapi_peer.run(workdir, cores, plan.pygeoapi)
        )
    celery_after = _celery(workdir, cores, plan, "after gpserver's")
    if celery_after is not None:
        results["celery"] = celery_peer.combined(celery_before, celery_after)
    results["busy_between"] = _busy_share()
    print("figures 4-7, stores of growing size:", flush=True)
    results["store"] = store_bench.run(workdir, cores, plan.store, deadline)
    return results


def _celery(
    workdir: Path, cores: Cores, plan: Plans, when: str
) -> dict[str, Any] | None:
    """Celery's figures 2 and 3, once before and once after gpserver's."""
    if not plan.celery:
        return None
    print(f"figures 2-3, Celery, {when}:", flush=True)
    broken = celery_peer.available()
    if broken:
        return {"broken": broken}
    p = plan.submit
    return celery_peer.run(workdir, cores, p.runs, p.batch, p.latency_jobs)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run: stores up to 100,000 jobs, 2 runs of 2 s, "
        "batches of 200 jobs",
    )
    parser.add_argument(
        "--no-million",
        action="store_true",
        help="100,000 jobs instead of 1,000,000 for the largest store",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="leave out pygeoapi and Celery"
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also the cleanup sweeper over --expired jobs (about 4 minutes)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=500,
        help="jobs in one figure-2 batch (default 500)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="measurements per figure (default 3)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=4.0,
        help="length of one measurement in seconds (default 4)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--expired",
        type=int,
        default=100_000,
        help="expired jobs for the sweeper (default 100,000)",
    )
    parser.add_argument(
        "--no-tmpfs",
        action="store_true",
        help="sweep on the disk only, not also on /dev/shm",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=3600,
        help="seconds after which no new store size starts (default 3600)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        help="wait up to this many seconds for other work to end",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where stores and folders go (default: the system temp)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work files")
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    return parser.parse_args()


def _sweep_plan(args: argparse.Namespace) -> sweep_bench.Plan:
    if args.quick:
        return sweep_bench.Plan(20_000, 3, 2.0, 3.0, args.concurrency)
    runs = min(args.runs, 3)
    return sweep_bench.Plan(
        args.expired, runs, args.seconds, 2 * args.seconds, args.concurrency
    )


def _tmpfs_dir(args: argparse.Namespace) -> Path | None:
    shm = Path("/dev/shm")
    if args.no_tmpfs or not shm.is_dir() or shutil.disk_usage(shm).free < 2 << 30:
        return None
    return Path(tempfile.mkdtemp(prefix="gpserver-bench-", dir=shm))


def _busy_share(seconds: float = 1.0) -> float:
    """How busy the machine's cores were over ``seconds``, from /proc/stat."""

    def sample() -> tuple[int, int]:
        fields = [
            int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]
        ]
        idle = fields[3] + fields[4]
        return sum(fields[:8]), idle

    total_a, idle_a = sample()
    time.sleep(seconds)
    total_b, idle_b = sample()
    return 1 - (idle_b - idle_a) / max(1, total_b - total_a)


def _wait_for_quiet(limit: float) -> float:
    deadline = time.monotonic() + limit
    busy = _busy_share()
    while busy > QUIET and time.monotonic() < deadline:
        print(f"  the machine is {busy:.0%} busy with other work; waiting", flush=True)
        time.sleep(4)
        busy = _busy_share()
    if busy > QUIET:
        print(
            f"  warning: the machine is {busy:.0%} busy with other work; "
            "figures will be noisy",
            flush=True,
        )
    return busy


def _environment(
    cores: Cores, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    client = subprocess.run(
        [load_python(), "-c", "import aiohttp; print('aiohttp', aiohttp.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "work_tree_changed": bool(_git("status", "--porcelain", "--", "src")),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "pinning": cores.describe(),
        "load_client": client.stdout.strip() or "httpx (aiohttp missing)",
        "packages": {
            n: version(n)
            for n in (
                "uvicorn",
                "starlette",
                "SQLAlchemy",
                "httpx",
                "anyio",
                "celery",
                "redis",
            )
        }
        | {"pygeoapi (bench/.venv)": pygeoapi_peer.version()},
        "memory": _memory_total(),
        "kernel": platform.release(),
        "workdir_mount": _mount_of(workdir),
        "arguments": {k: str(v) for k, v in vars(args).items()},
    }


def _memory_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _git(*words: str) -> str:
    done = subprocess.run(
        ["git", *words], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _mount_of(path: Path) -> str:
    """The file system holding ``path`` and its mount options (discard matters)."""
    best = ("", "")
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, kind, options, *_ = line.split()
        if str(path).startswith(point) and len(point) > len(best[0]):
            best = (point, f"{kind} ({options}) on {point}")
    return best[1]


def _write(results: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%dT%H%M")
    json_path = folder / f"{stamp}.json"
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    md_path = folder / f"{stamp}.md"
    md_path.write_text(report.markdown(results))
    return md_path


if __name__ == "__main__":
    sys.exit(main())
