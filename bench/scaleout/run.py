"""Scale-out benchmark: completed jobs/s by worker count, submits/s by web nodes.

Every figure of the distributed mode is measured beside the same figure for the
embedded mode, in the same run, on this machine: see bench/scaleout/README.md.
Run it with ``bench/scaleout/run.sh``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import ADMIN_URL, PostgresDatabases  # noqa: E402
from tests.distributed.cluster import RedisDatabase, WorkerProcess  # noqa: E402
from tests.e2e.server import ServerProcess  # noqa: E402

LOAD_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
TASK = "Bench/Trivial/GPServer/Wait"
SITE = """\
[server]
samples = false
cleanupInterval = 86400
jobsDirectory = "{jobs}"

[[services]]
folder = "Bench"
name = "Trivial"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = {instances}
minInstancesPerNode = {instances}
"""


@contextmanager
def embedded(folder: Path, instances: int) -> Iterator[list[str]]:
    folder.mkdir(parents=True)
    config = folder / "site.toml"
    config.write_text(SITE.format(instances=instances, jobs=folder / "jobs"))
    server = ServerProcess(folder / "data", config, distributed=False)
    server.start()
    try:
        yield [server.root]
    finally:
        server.stop()


@contextmanager
def distributed(
    folder: Path, databases: PostgresDatabases, nodes: int, concurrency: int | None
) -> Iterator[list[str]]:
    """``nodes`` web nodes and, unless ``concurrency`` is None, one worker."""
    folder.mkdir(parents=True)
    config = folder / "site.toml"
    # The jobs directory every node and the worker share.
    config.write_text(SITE.format(instances=concurrency or 1, jobs=folder / "jobs"))
    database_url = databases()
    redis = RedisDatabase()
    env = {"GPSERVER_DATABASE_URL": database_url, "GPSERVER_BROKER_URL": redis.claim()}
    data = folder / "data"
    subprocess.run(
        [
            *(sys.executable, "-m", "gpserver.cli", "db", "upgrade"),
            *("--data-dir", str(data), "--config", str(config)),
        ],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    servers = [
        ServerProcess(folder / f"node-{n}", config, env, distributed=False)
        for n in range(nodes)
    ]
    workers = []
    if concurrency is not None:
        options = ("--concurrency", str(concurrency))
        workers = [WorkerProcess(folder / "worker", config, env, options)]
    try:
        for worker in workers:
            worker.start(1)
        for server in servers:
            server.start()
        yield [s.root for s in servers]
    finally:
        for server in servers:
            server.stop()
        for worker in workers:
            worker.stop()
        redis.release()
        databases.drop(database_url)


def completed(roots: list[str], seconds: float) -> dict[str, Any]:
    command = [str(LOAD_PYTHON), str(ROOT / "bench" / "scaleout" / "jobs_load.py")]
    for root in roots:
        command += ["--task-url", f"{root}/rest/services/{TASK}"]
    command += ["--concurrency", "16", "--seconds", str(seconds)]
    answer: dict[str, Any] = json.loads(subprocess.check_output(command))
    return answer


def submits(roots: list[str], seconds: float, folder: Path) -> dict[str, Any]:
    urls = folder / "urls.txt"
    urls.write_text(
        "".join(f"{root}/rest/services/{TASK}/submitJob\n" for root in roots)
    )
    command = [str(LOAD_PYTHON), str(ROOT / "bench" / "load.py")]
    command += ["--urls-file", str(urls), "--method", "POST"]
    command += ["--data", "seconds=0&f=json", "--expect", "jobId"]
    command += ["--concurrency", "16", "--seconds", str(seconds), "--warmup", "1"]
    lines = subprocess.check_output(command, text=True).splitlines()
    answer: dict[str, Any] = json.loads(lines[-1])
    return answer


def machine() -> dict[str, str]:
    def output(*command: str) -> str:
        try:
            return subprocess.check_output(command, text=True).strip().splitlines()[0]
        except (OSError, subprocess.CalledProcessError):
            return "?"

    return {
        "cpus": str(os.cpu_count()),
        "cpu": output("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": output("psql", "--version"),
        "redis": output("redis-server", "--version"),
        "gpserver commit": output(
            "git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"
        ),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/scaleout/results")
    args = parser.parse_args()
    info = machine()
    databases = PostgresDatabases(ADMIN_URL)
    rows: list[tuple[str, str, float, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="gp-scaleout-") as scratch:
            base = Path(scratch)
            for n in (1, 2, 4):
                with embedded(base / f"e{n}", n) as roots:
                    local = completed(roots, args.seconds)["jobs_per_second"]
                with distributed(base / f"d{n}", databases, 1, n) as roots:
                    remote = completed(roots, args.seconds)["jobs_per_second"]
                rows.append(
                    ("completed jobs/s", f"{n} worker processes", local, remote)
                )
                print(rows[-1], flush=True)
            with embedded(base / "es", 1) as roots:
                local = submits(roots, args.seconds, base / "es")["rps"]
            for nodes in (1, 2):
                folder = base / f"ds{nodes}"
                with distributed(folder, databases, nodes, None) as roots:
                    remote = submits(roots, args.seconds, folder)["rps"]
                rows.append(("submits/s", f"{nodes} web nodes", local, remote))
                print(rows[-1], flush=True)
    finally:
        databases.close()
    write_report(args, info, rows)


def write_report(
    args: argparse.Namespace,
    info: dict[str, str],
    rows: list[tuple[str, str, float, float]],
) -> None:
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M")
    lines = [f"# Scale-out benchmark, {stamp}", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [
        f"- command: `bench/scaleout/run.sh --seconds {args.seconds:g}`",
        "- load: 16 closed-loop clients (aiohttp); jobs are Wait seconds=0",
        "",
        "| figure | distributed setting | embedded | distributed |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c:.1f} | {d:.1f} |" for a, b, c, d in rows]
    lines += [
        "",
        "Embedded: one `gpserver serve` with maxInstancesPerNode = the worker count "
        "(completed jobs) or 1 (submits). Distributed: web nodes and one `gpserver "
        "worker --concurrency N` on PostgreSQL and Redis, on the same machine; for "
        "submits no worker runs, so only the web nodes' submit path is measured.",
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{stamp}.md"
    path.write_text("\n".join(lines))
    print(f"written {path}")


if __name__ == "__main__":
    main()
