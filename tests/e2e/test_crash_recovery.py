"""A server killed in the middle of its work, and a jobs directory that refuses writes.

A worker killed with SIGKILL mid-job is covered in test_job_lifecycle.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.admin import Admin, start_site
from tests.e2e.server import Client, ServerProcess

CONFIG = """
[server]
samples = false
cleanupInterval = 0.5

[[services]]
folder = "Tests"
name = "Burst"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 2

[[services]]
folder = "Tests"
name = "Kept"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
"""

BURST = "Tests/Burst/GPServer/Wait"
KEPT = "Tests/Kept/GPServer/Wait"
BURST_JOBS = "services/Tests/Burst.GPServer/jobs"
DELETING = 9
COUNTED = {4: "succeeded", 5: "failed", 8: "cancelled"}
BURST_SECONDS = 8
"""The longest the burst runs; it is killed sooner once it did enough."""
KILL_AFTER_SUBMITS = 20
MAX_SUBMITS_PER_THREAD = 60


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_site(tmp_path, CONFIG)
    yield process
    process.stop()


def store_path(site: ServerProcess) -> Path:
    return site.data_dir / "gpserver.db"


def jobs_root(site: ServerProcess) -> Path:
    return site.data_dir / "arcgisjobs"


def query(site: ServerProcess, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(store_path(site), timeout=30) as conn:
        rows = conn.execute(sql, args).fetchall()
    conn.close()
    return rows


def age(site: ServerProcess, service_dir: str, job_ids: list[str]) -> None:
    """Make jobs look an hour old: folder first, then record, as a sweep reads them.

    A job cancelled while queued never started, and has no folder.
    """
    then = time.time() - 3600
    for job_id in job_ids:
        with contextlib.suppress(FileNotFoundError):
            os.utime(jobs_root(site) / service_dir / job_id, (then, then))
    with sqlite3.connect(store_path(site), timeout=30) as conn:
        conn.executemany(
            "UPDATE jobs SET modified_ms = ? WHERE job_id = ?",
            [(int(then * 1000), job_id) for job_id in job_ids],
        )
    conn.close()


def counted(site: ServerProcess) -> dict[str, dict[str, int]]:
    """Each service's four statistics as a fresh count over the job rows."""
    counts: dict[str, dict[str, int]] = {}
    rows = query(
        site,
        "SELECT service, status, COUNT(*) FROM jobs WHERE status != ? "
        "GROUP BY service, status",
        DELETING,
    )
    for service, status, n in rows:
        entry = counts.setdefault(
            service, {"total": 0, "cancelled": 0, "failed": 0, "succeeded": 0}
        )
        entry["total"] += n
        if status in COUNTED:
            entry[COUNTED[status]] = n
    return counts


def kept_counters(site: ServerProcess) -> dict[str, dict[str, int]]:
    rows = query(
        site,
        "SELECT service, total, cancelled, failed, succeeded FROM service_counters",
    )
    return {
        service: {"total": t, "cancelled": c, "failed": f, "succeeded": s}
        for service, t, c, f, s in rows
        if t or c or f or s
    }


def job_folders(site: ServerProcess) -> set[str]:
    return {p.name for p in jobs_root(site).glob("*/*")}


@dataclass
class Burst:
    """What the client threads saw, up to the moment the server died."""

    acknowledged: list[str] = field(default_factory=list)
    cancels: int = 0
    cleans: int = 0
    removed: int = 0
    surprises: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def until_the_server_dies(
    burst: Burst, stop: threading.Event, step: Callable[[], None]
) -> None:
    while not stop.is_set():
        try:
            step()
        except httpx.HTTPError:
            return  # the server was killed under this request
        except AssertionError as exc:  # an HTTP status other than 200
            with burst.lock:
                burst.surprises.append(str(exc))
            return


def prepared_old_jobs(client: Client, admin: Admin) -> list[str]:
    """Sixty cancelled jobs, for the burst's cleanups to make old and remove."""
    running = [client.submit(BURST, seconds=60) for _ in range(2)]
    for job_id in running:
        client.wait_status(BURST, job_id, "esriJobExecuting")
    queued = [client.submit(BURST, seconds=0) for _ in range(60)]
    assert admin.post(f"{BURST_JOBS}/purgeQueue") == {"status": "success"}
    for job_id in running:
        client.post(f"rest/services/{BURST}/jobs/{job_id}/cancel")
    for job_id in running:
        client.wait_status(BURST, job_id, "esriJobCancelled")
    return queued


def burst_then_kill(site: ServerProcess, admin: Admin, old: list[str]) -> Burst:
    """Three threads submit (two also cancel) and one cleans, until a SIGKILL.

    The kill comes once twenty submits and two cleans were answered, or after
    BURST_SECONDS; each thread stops at its first failed request.
    """
    client = Client(site.root)
    burst = Burst()
    stop = threading.Event()

    def submit(cancel_every: int) -> Callable[[], None]:
        made = 0

        def step() -> None:
            nonlocal made
            if made >= MAX_SUBMITS_PER_THREAD:
                stop.wait(0.05)
                return
            answer = client.post(f"rest/services/{BURST}/submitJob", seconds=0.2)
            if "jobId" not in answer:
                with burst.lock:
                    burst.surprises.append(str(answer))
                return
            made += 1
            with burst.lock:
                burst.acknowledged.append(answer["jobId"])
            if cancel_every and made % cancel_every == 0:
                # Waiting, executing or already ended: each answer is fine here.
                client.post(f"rest/services/{BURST}/jobs/{answer['jobId']}/cancel")
                with burst.lock:
                    burst.cancels += 1

        return step

    def clean() -> None:
        with burst.lock:
            chunk = old[burst.cleans * 10 : burst.cleans * 10 + 10]
        if chunk:
            age(site, "tests_burst_gpserver", chunk)
        answer = admin.post("system/directories/arcgisjobs/clean")
        with burst.lock:
            if answer.get("status") != "success":
                burst.surprises.append(str(answer))
                return
            burst.cleans += 1
            burst.removed += answer["removedJobs"]
        stop.wait(0.05)

    threads = [
        threading.Thread(target=until_the_server_dies, args=(burst, stop, step))
        for step in (submit(0), submit(3), submit(2), clean)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BURST_SECONDS
    while time.monotonic() < deadline and not (
        len(burst.acknowledged) >= KILL_AFTER_SUBMITS and burst.cleans >= 2
    ):
        time.sleep(0.02)
    site.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=35)
    assert not any(thread.is_alive() for thread in threads)
    return burst


def admin_statistics(site: ServerProcess) -> dict[str, int]:
    answer: dict[str, int] = Admin(site.root).post(f"{BURST_JOBS}/statistics")
    return answer


@pytest.mark.embedded_only(
    reason="kills the one server process and reads its SQLite file; distributed "
    "web nodes leave running jobs to the heartbeat watch (tests/distributed)"
)
def test_a_server_killed_mid_burst_restarts_whole(site: ServerProcess) -> None:
    client = Client(site.root)
    admin = Admin(site.root)
    assert admin.post("system/directories/arcgisjobs/edit", maxFileAge=1) == {
        "status": "success"
    }
    old = prepared_old_jobs(client, admin)

    burst = burst_then_kill(site, admin, old)

    assert burst.surprises == []
    assert len(burst.acknowledged) >= 5
    assert burst.cancels >= 1
    assert burst.cleans >= 1
    site.start()
    for job_id in burst.acknowledged:
        job = client.get(f"rest/services/{BURST}/jobs/{job_id}")
        assert job.get("jobId") == job_id, job
    # Queued jobs run after the restart; compare counts once they all ended.
    for job_id in burst.acknowledged:
        client.wait(BURST, job_id)
    # A submit whose answer the kill swallowed may still be queued or running: its
    # job is real, so wait for it too before reading two counts at two moments.
    deadline = time.monotonic() + 30
    unfinished = "SELECT COUNT(*) FROM jobs WHERE status IN (0, 1, 2, 3, 7)"
    while query(site, unfinished) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.1)
    after = counted(site)
    assert admin_statistics(site) == after["Tests/Burst"]
    site.stop()

    assert query(site, "SELECT job_id FROM jobs WHERE status = ?", DELETING) == []
    stored = {job_id for (job_id,) in query(site, "SELECT job_id FROM jobs")}
    # Every folder belongs to a job; a job cancelled before it started has none.
    assert job_folders(site) <= stored
    with_data = {job_id for (job_id,) in query(site, "SELECT job_id FROM job_data")}
    assert with_data == stored
    assert set(burst.acknowledged) <= stored
    assert len(set(old) - stored) >= 10  # each clean first made ten of them old
    assert kept_counters(site) == after


def test_an_unusable_jobs_folder_fails_its_jobs_and_keeps_reads(
    site: ServerProcess,
) -> None:
    client = Client(site.root)
    kept = client.submit(KEPT, seconds=0)
    broken_job = client.submit(BURST, seconds=0)
    for task, job_id in ((KEPT, kept), (BURST, broken_job)):
        assert client.wait(task, job_id)["jobStatus"] == "esriJobSucceeded"
    service_dir = jobs_root(site) / "tests_burst_gpserver"
    aside = service_dir.with_name("aside")
    service_dir.rename(aside)
    service_dir.write_text("not a folder")
    rows_before = site.sql("SELECT COUNT(*) FROM jobs")
    folders_before = sorted(p.name for p in jobs_root(site).glob("*/*"))

    # The store holds a job's inputs, so the submit is accepted; the job cannot
    # make its folder, and fails with the reason in the log.
    blocked = client.submit(BURST, seconds=0)
    assert client.wait(BURST, blocked)["jobStatus"] == "esriJobFailed"
    assert (
        f"job {blocked} cannot start: cannot make the job's folder "
        f"{service_dir / blocked} in the jobs directory: Not a directory"
    ) in site.log_text()
    assert site.sql("SELECT COUNT(*) FROM jobs") == [(rows_before[0][0] + 1,)]
    assert sorted(p.name for p in jobs_root(site).glob("*/*")) == folders_before
    health = httpx.get(f"{site.root}/rest/info/healthCheck?f=json", timeout=30)
    assert (health.status_code, health.json()) == (
        503,
        {
            "success": False,
            "messages": [
                f"the jobs directory {service_dir} is not writable: a file "
                "stands where the folder should be"
            ],
        },
    )
    job = client.get(f"rest/services/{KEPT}/jobs/{kept}")
    assert job["jobStatus"] == "esriJobSucceeded"
    assert client.result(KEPT, kept, "waited")["value"] == 0
    # The job of the blocked service still answers from its record; its files
    # are out of reach until the folder is back.
    job = client.get(f"rest/services/{BURST}/jobs/{broken_job}")
    assert (job["jobStatus"], job["messages"]) == ("esriJobSucceeded", [])
    other = client.submit(KEPT, seconds=0)
    assert client.wait(KEPT, other)["jobStatus"] == "esriJobSucceeded"

    service_dir.unlink()
    shutil.move(aside, service_dir)
    again = client.submit(BURST, seconds=0)
    assert client.wait(BURST, again)["jobStatus"] == "esriJobSucceeded"
    assert client.result(BURST, broken_job, "waited")["value"] == 0
