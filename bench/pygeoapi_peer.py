"""pygeoapi as a peer for figures 1 to 4, with its TinyDB and PostgreSQL managers.

pygeoapi is installed in bench/.venv (bench/requirements-peers.txt), never in the
project's environment, and served by uvicorn from its Starlette app with one
process, like gpserver. Its ``hello-world`` process runs asynchronously when
asked with ``Prefer: respond-async``: the answer is 201 with the job's URL in
``Location``, and the job runs in a thread of the web process. A config file and
an OpenAPI document are generated in the work directory; the PostgreSQL manager
gets a database of its own, created here and dropped at the end, with the
``jobs`` table its manager reflects (columns as its job records name them).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import endtoend
import httpx
import psycopg
import rounds
from endtoend import Tally
from harness import BENCH, Cores, Load, Server, free_port, on_core, pinned, run_load
from rounds import Contender

PYTHON = BENCH / ".venv" / "bin" / "python"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BODY = json.dumps({"inputs": {"name": "bench"}})
TINYDB_POLL_LIMIT = 100_000
"""Largest store polled through TinyDB: its manager reads the whole JSON file on
every call, so a million jobs would make each poll take seconds."""
FINISHED = ("successful", "failed", "dismissed")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

JOBS_TABLE = """
CREATE TABLE jobs (
    type varchar NOT NULL DEFAULT 'process',
    identifier varchar PRIMARY KEY,
    process_id varchar NOT NULL,
    created timestamp,
    started timestamp,
    updated timestamp,
    finished timestamp,
    status varchar NOT NULL,
    location varchar,
    mimetype varchar,
    message varchar,
    progress integer NOT NULL
)
"""


@dataclass(frozen=True)
class Plan:
    runs: int
    seconds: float
    concurrency: int
    batch: int
    latency_jobs: int
    poll_sizes: tuple[int, ...]
    drain_limit: float = 300.0


def available() -> str:
    """'' when pygeoapi can run here, else why not."""
    if not PYTHON.exists():
        return "bench/.venv is missing (run bench/run.sh)"
    done = subprocess.run(
        [str(PYTHON), "-c", "import pygeoapi, tinydb, psycopg2, geoalchemy2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stderr.strip().splitlines()[-1] if done.returncode else ""


def version() -> str:
    done = subprocess.run(
        [str(PYTHON), "-c", "import pygeoapi; print(pygeoapi.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip() or "not installed"


def run(workdir: Path, cores: Cores, plan: Plan) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for manager in ("tinydb", "postgresql"):
        print(f"  pygeoapi, {manager} manager:", flush=True)
        try:
            report[manager] = _one_manager(manager, workdir, cores, plan)
        except Exception as exc:  # a broken peer is reported, not hidden
            report[manager] = {"broken": f"{type(exc).__name__}: {exc}"}
            print(f"    broken: {report[manager]['broken']}", flush=True)
    return report


def _one_manager(
    manager: str, workdir: Path, cores: Cores, plan: Plan
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with _site(manager, workdir / f"pygeoapi-{manager}", 0, cores) as site:
        result["submit"] = _submits(site, cores, plan, workdir)
        result["batch"] = _batches(site, cores, plan)
        result["latency"] = _latencies(site, cores, plan)
    result["polls"] = {}
    for size in plan.poll_sizes:
        if manager == "tinydb" and size > TINYDB_POLL_LIMIT:
            result["polls"][str(size)] = {
                "skipped": "TinyDB reads its whole file on every call"
            }
            continue
        folder = workdir / f"pygeoapi-{manager}-{size}"
        with _site(manager, folder, size, cores) as site:
            result["polls"][str(size)] = _polls(site, size, cores, plan, workdir)
    return result


@dataclass
class Site:
    manager: str
    server: Server
    tally: Callable[[float], Tally]
    job_ids: list[str]

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@contextmanager
def _site(manager: str, folder: Path, jobs: int, cores: Cores) -> Iterator[Site]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    database = f"ebench_pygeoapi_{os.getpid()}_{port}"
    if manager == "tinydb":
        connection: Any = str(folder / "jobs.json")
        job_ids = _seed_tinydb(folder / "jobs.json", jobs)
    else:
        _create_database(database)
        connection = {
            "host": "127.0.0.1",
            "port": 5432,
            "database": database,
            "user": "postgres",
            "password": "",
        }
        job_ids = _seed_postgresql(database, jobs)
    try:
        config = _write_config(folder, port, manager, connection)
        server = _start(folder, port, config, cores)
        try:
            yield Site(manager, server, _tally_reader(manager, connection), job_ids)
        finally:
            server.stop()
    finally:
        if manager == "postgresql":
            _drop_database(database)


def _write_config(folder: Path, port: int, manager: str, connection: Any) -> Path:
    url = f"http://127.0.0.1:{port}"
    (folder / "outputs").mkdir(exist_ok=True)
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 50},
            "map": {"url": f"{url}/tiles/{{z}}/{{x}}/{{y}}.png", "attribution": ""},
            "manager": {
                "name": "TinyDB" if manager == "tinydb" else "PostgreSQL",
                "connection": connection,
                "output_dir": str(folder / "outputs"),
            },
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "bench",
                "description": "bench",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": url,
                "url": url,
            },
            "license": {"name": "none", "url": url},
            "provider": {"name": "bench", "url": url},
            "contact": {"name": "bench", "role": "pointOfContact"},
        },
        "resources": {
            "hello-world": {"type": "process", "processor": {"name": "HelloWorld"}}
        },
    }
    path = folder / "pygeoapi-config.yml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    openapi = folder / "pygeoapi-openapi.yml"
    generate = [str(PYTHON.with_name("pygeoapi")), "openapi", "generate", str(path)]
    subprocess.run(
        [*generate, "--output-file", str(openapi)],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYGEOAPI_CONFIG": str(path)},
    )
    return path


def _start(folder: Path, port: int, config: Path, cores: Cores) -> Server:
    command = [str(PYTHON), "-m", "uvicorn", "pygeoapi.starlette_app:APP"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    command += ["--log-level", "warning", "--timeout-graceful-shutdown", "5"]
    server = Server(
        "pygeoapi",
        pinned(command, cores.server),
        port,
        f"http://127.0.0.1:{port}/processes?f=json",
        folder / "server.log",
        env={
            "PYGEOAPI_CONFIG": str(config),
            "PYGEOAPI_OPENAPI": str(folder / "pygeoapi-openapi.yml"),
        },
    )
    server.start()
    return server


def _submit_load(site: Site, plan: Plan) -> Load:
    return Load(
        [f"{site.root}/processes/hello-world/execution"],
        "POST",
        BODY,
        None,
        plan.concurrency,
        plan.seconds,
        status=201,
        headers=("Content-Type: application/json", "Prefer: respond-async"),
    )


def _submits(site: Site, cores: Cores, plan: Plan, workdir: Path) -> dict[str, Any]:
    def drain(result: dict[str, Any]) -> dict[str, Any]:
        return endtoend.wait_for_batch(lambda: site.tally(0), 0, plan.drain_limit)

    name = f"pygeoapi-{site.manager}"
    contender = Contender(name, _submit_load(site, plan), site.server, drain)
    measured = rounds.alternate([contender], cores, plan.runs, workdir)
    summary = rounds.summarize(measured, name)
    print(f"    1 submit: {rounds.line(summary)}", flush=True)
    return {"rounds": measured, "summary": summary[name]}


def _batches(site: Site, cores: Cores, plan: Plan) -> dict[str, Any]:
    load = replace(
        _submit_load(site, plan),
        seconds=plan.drain_limit,
        warmup=0.0,
        max_requests=plan.batch,
    )
    batches = []
    for _ in range(plan.runs):
        since = time.time()
        sent = run_load(load, cores, site.server)
        batch = endtoend.wait_for_batch(
            partial(site.tally, since), sent["requests"], plan.drain_limit
        )
        batches.append({**batch, "submit_errors": sent["errors"]})
    summary = endtoend.batch_summary(batches)
    print(
        f"    2 completed/s: {summary['completed_per_second']['median']:,.0f}",
        flush=True,
    )
    return {"batches": batches, "summary": summary}


def _latencies(site: Site, cores: Cores, plan: Plan) -> dict[str, Any]:
    runs = []
    with on_core(cores.client), httpx.Client(timeout=30) as client:
        for _ in range(plan.runs):
            runs.append([_one_job(client, site) for _ in range(plan.latency_jobs)])
    summary = endtoend.latency_summary(runs)
    print(
        f"    3 one job: server {summary['server_ms']['median']:.1f} ms, "
        f"client {summary['client_ms']['median']:.1f} ms",
        flush=True,
    )
    return {"runs": runs, "summary": summary}


def _one_job(client: httpx.Client, site: Site) -> dict[str, float]:
    began = time.perf_counter()
    reply = client.post(
        f"{site.root}/processes/hello-world/execution",
        content=BODY,
        headers={"Content-Type": "application/json", "Prefer": "respond-async"},
    )
    url = reply.headers["Location"]
    url += ("&" if "?" in url else "?") + "f=json"
    deadline = time.monotonic() + 60
    job: dict[str, Any] = {}
    while job.get("status") != "successful" and time.monotonic() < deadline:
        time.sleep(endtoend.POLL_INTERVAL)
        job = client.get(url).json()
    seen = time.perf_counter() - began
    if job.get("status") != "successful":
        return {"failed": 1.0}
    span = _parse(job["finished"]) - _parse(job["created"])
    return {"server_ms": span * 1000, "client_ms": seen * 1000}


def _polls(
    site: Site, size: int, cores: Cores, plan: Plan, workdir: Path
) -> dict[str, Any]:
    name = f"pygeoapi-{site.manager}"
    load = Load(
        [f"{site.root}/jobs/{j}?f=json" for j in site.job_ids],
        "GET",
        None,
        '"status"',
        plan.concurrency,
        plan.seconds,
    )
    measured = rounds.alternate(
        [Contender(name, load, site.server)], cores, plan.runs, workdir
    )
    summary = rounds.summarize(measured, name)
    print(f"    4 polls, {size:,} jobs: {rounds.line(summary)}", flush=True)
    return {"rounds": measured, "summary": summary[name]}


def _parse(text: str) -> float:
    """A pygeoapi time (ISO 8601, UTC, with or without fractions) in epoch s."""
    text = text.rstrip("Z").replace(" ", "T")
    if "+" in text[10:]:
        text = text[: 10 + text[10:].index("+")]
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _job_rows(count: int) -> Iterator[dict[str, Any]]:
    """Finished hello-world jobs, as pygeoapi's manager writes them."""
    now = datetime.now(UTC)
    for index in range(count):
        finished = now - timedelta(seconds=index)
        created = finished - timedelta(milliseconds=50)
        yield {
            "type": "process",
            "identifier": str(uuid.uuid1()),
            "process_id": "hello-world",
            "created": created.strftime(TIME_FORMAT),
            "started": created.strftime(TIME_FORMAT),
            "updated": finished.strftime(TIME_FORMAT),
            "finished": finished.strftime(TIME_FORMAT),
            "status": "successful",
            "location": None,
            "mimetype": "application/json",
            "message": "Job complete",
            "progress": 100,
        }


POLLED = 1_000


def _seed_tinydb(path: Path, count: int) -> list[str]:
    rows = list(_job_rows(count))
    table = {str(i + 1): row for i, row in enumerate(rows)}
    path.write_text(json.dumps({"_default": table}))
    return [r["identifier"] for r in rows[:POLLED]]


def _create_database(name: str) -> None:
    with closing(psycopg.connect(PG_ADMIN, autocommit=True)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with closing(psycopg.connect(_url(name), autocommit=True)) as conn:
        conn.execute(JOBS_TABLE)


def _drop_database(name: str) -> None:
    with closing(psycopg.connect(PG_ADMIN, autocommit=True)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


def _seed_postgresql(database: str, count: int) -> list[str]:
    ids: list[str] = []
    columns = "type, identifier, process_id, created, started, updated, finished, "
    columns += "status, location, mimetype, message, progress"
    with closing(psycopg.connect(_url(database))) as conn:
        with conn.cursor().copy(f"COPY jobs ({columns}) FROM STDIN") as copy:
            for row in _job_rows(count):
                copy.write_row(tuple(row.values()))
                if len(ids) < POLLED:
                    ids.append(row["identifier"])
        conn.commit()
        conn.execute("ANALYZE jobs")
        conn.commit()
    return ids


def _tally_reader(manager: str, connection: Any) -> Callable[[float], Tally]:
    if manager == "tinydb":
        return lambda since: _tinydb_tally(Path(connection), since)
    return lambda since: _postgresql_tally(connection["database"], since)


def _tinydb_tally(path: Path, since: float) -> Tally:
    rows: list[dict[str, Any]] = []
    for _ in range(50):
        try:
            rows = list(json.loads(path.read_text()).get("_default", {}).values())
            break
        except (ValueError, OSError):  # read while the manager rewrote it
            time.sleep(0.02)
    return _tally(
        [
            (r["status"], _parse(r["created"]), r["finished"] and _parse(r["finished"]))
            for r in rows
        ],
        since,
    )


def _postgresql_tally(database: str, since: float) -> Tally:
    with closing(psycopg.connect(_url(database))) as conn:
        rows = conn.execute(
            "SELECT status, extract(epoch FROM created)::float8, "
            "extract(epoch FROM finished)::float8 FROM jobs"
        ).fetchall()
    return _tally(rows, since)


def _tally(rows: list[tuple[Any, ...]], since: float) -> Tally:
    succeeded = other = unfinished = 0
    firsts, lasts = [], []
    for status, created, finished in rows:
        if created < since:
            continue
        if status == "successful":
            succeeded += 1
        elif status in FINISHED:
            other += 1
        else:
            unfinished += 1
        firsts.append(created)
        if finished:
            lasts.append(finished)
    return Tally(
        succeeded,
        other,
        unfinished,
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
    )
