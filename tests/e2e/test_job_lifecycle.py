"""Jobs from submit to their end, with real worker processes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpserver.db import sqlite_url
from gpserver.execution.worker import JOB_NICENESS
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.service import Jobs
from gpserver.jobs.store import JobStore
from tests.e2e.server import Client, ServerProcess, _children, site_instances

WAIT = "Samples/Diagnostics/GPServer/Wait"
FAIL = "Samples/Diagnostics/GPServer/Fail"
LIMITED = "Tests/Limited/GPServer/Wait"
ECHO_SYNC = "Samples/DiagnosticsSync/GPServer/Echo"

LIMITED_CONFIG = """
[server]
samples = false

[[services]]
folder = "Tests"
name = "Limited"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 1
minInstancesPerNode = 1
maxUsageTime = 1.5
showMessages = "Error"
"""

# One worker for each kind of service, so that the workers can be told apart.
ONE_WORKER_EACH_CONFIG = """
[server]
samples = false

[[services]]
folder = "Samples"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
executionType = "asynchronous"
maxInstancesPerNode = 1
minInstancesPerNode = 1

[[services]]
folder = "Samples"
name = "DiagnosticsSync"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"
maxInstancesPerNode = 1
minInstancesPerNode = 1
"""


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat from the third on: the name before them
    may hold spaces."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def niceness(pid: int) -> int:
    return int(stat_fields(pid)[19 - 3])


def parent(pid: int) -> int:
    return int(stat_fields(pid)[4 - 3])


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    folder = tmp_path_factory.mktemp("limited")
    config = folder / "site.toml"
    config.write_text(LIMITED_CONFIG)
    process = ServerProcess(folder / "data", config)
    process.start()
    yield Client(process.root)
    process.stop()


def test_wait_reports_progress_while_executing(client: Client) -> None:
    job_id = client.submit(WAIT, seconds=3)
    job = client.wait_status(WAIT, job_id, "esriJobExecuting")
    deadline = time.monotonic() + 5
    while "percent" not in job.get("progress", {}) and time.monotonic() < deadline:
        time.sleep(0.1)
        job = client.get(f"rest/services/{WAIT}/jobs/{job_id}")
    assert job["progress"]["type"] == "step"
    assert 0 <= job["progress"]["percent"] <= 100
    done = client.wait(WAIT, job_id)
    assert done["jobStatus"] == "esriJobSucceeded"
    assert "progress" not in done
    assert done["results"] == {"waited": {"paramUrl": "results/waited"}}
    assert done["inputs"] == {"seconds": {"paramUrl": "inputs/seconds"}}
    assert client.result(WAIT, job_id, "waited")["dataType"] == "GPDouble"
    assert client.get(f"rest/services/{WAIT}/jobs/{job_id}/inputs/seconds") == {
        "paramName": "seconds",
        "dataType": "GPDouble",
        "value": 3.0,
    }


def test_cancel_stops_a_long_wait_within_two_seconds(client: Client) -> None:
    job_id = client.submit(WAIT, seconds=60)
    client.wait_status(WAIT, job_id, "esriJobExecuting")
    started = time.monotonic()
    answer = client.post(f"rest/services/{WAIT}/jobs/{job_id}/cancel")
    assert answer["jobId"] == job_id
    assert answer["jobStatus"] in ("esriJobCancelling", "esriJobCancelled")
    client.wait_status(WAIT, job_id, "esriJobCancelled", timeout=2)
    assert time.monotonic() - started < 2
    again = client.post(f"rest/services/{WAIT}/jobs/{job_id}/cancel")
    assert again["error"]["message"] == "Invalid or missing input parameters"


def test_fail_ends_failed_with_its_message_and_no_traceback(
    client: Client, server: ServerProcess
) -> None:
    job_id = client.submit(FAIL, message="the river is dry")
    job = client.wait(FAIL, job_id)
    assert job["jobStatus"] == "esriJobFailed"
    errors = [m for m in job["messages"] if m["type"] == "esriJobMessageTypeError"]
    assert errors == [
        {"type": "esriJobMessageTypeError", "description": "the river is dry"}
    ]
    assert "Traceback" not in str(job)
    assert "RuntimeError: the river is dry" in server.log_text()


def test_return_messages_false_leaves_messages_out(client: Client) -> None:
    job_id = client.submit(FAIL, message="quiet")
    client.wait(FAIL, job_id)
    job = client.get(f"rest/services/{FAIL}/jobs/{job_id}", returnMessages="false")
    assert job["messages"] == []


def test_a_job_past_max_usage_time_ends_timed_out(limited: Client) -> None:
    job_id = limited.submit(LIMITED, seconds=30)
    job = limited.wait(LIMITED, job_id, timeout=10)
    assert job["jobStatus"] == "esriJobTimedOut"
    # showMessages = Error: only the error message is shown.
    assert job["messages"] == [
        {
            "type": "esriJobMessageTypeError",
            "description": (
                "The job ran longer than the service's maxUsageTime of 1.5 seconds "
                "and was stopped."
            ),
        }
    ]


def test_jobs_beyond_the_instance_limit_wait(limited: Client) -> None:
    # One instance per node: as many jobs run as the server has nodes.
    first = [limited.submit(LIMITED, seconds=1) for _ in range(site_instances(1))]
    beyond = limited.submit(LIMITED, seconds=0)
    for job_id in first:
        limited.wait_status(LIMITED, job_id, "esriJobExecuting")
    limited.wait_status(LIMITED, beyond, "esriJobWaiting")
    for job_id in [*first, beyond]:
        assert limited.wait(LIMITED, job_id)["jobStatus"] == "esriJobSucceeded"


@pytest.mark.embedded_only(
    reason="kills a process of the server's local worker pool; "
    "tests/distributed kills a `gpserver worker` instead"
)
def test_a_killed_worker_fails_its_job_and_is_replaced(
    client: Client, server: ServerProcess
) -> None:
    job_id = client.submit(WAIT, seconds=60)
    client.wait_status(WAIT, job_id, "esriJobExecuting")
    store = JobStore(sqlite_url(server.data_dir / "gpserver.db"))
    worker = store.get(job_id)
    store.dispose()
    assert worker is not None and worker.worker is not None
    os.kill(int(worker.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    job = client.wait(WAIT, job_id, timeout=5)
    assert job["jobStatus"] == "esriJobFailed"
    assert job["messages"][-1] == {
        "type": "esriJobMessageTypeError",
        "description": (
            "The process running the job stopped unexpectedly (exit code -9)."
        ),
    }
    next_id = client.submit(WAIT, seconds=0)
    assert client.wait(WAIT, next_id)["jobStatus"] == "esriJobSucceeded"


@pytest.mark.embedded_only(
    reason="the embedded server fails the jobs its crash interrupted when it "
    "restarts; distributed web nodes leave that to the heartbeat watch"
)
def test_jobs_survive_a_restart_and_running_ones_fail(
    own_server: ServerProcess,
) -> None:
    own_server.start()
    client = Client(own_server.root)
    finished = client.submit(WAIT, seconds=0)
    client.wait(WAIT, finished)
    running = client.submit(WAIT, seconds=60)
    client.wait_status(WAIT, running, "esriJobExecuting")
    own_server.kill()

    own_server.start()
    assert client.get(f"rest/services/{WAIT}/jobs/{finished}")["jobStatus"] == (
        "esriJobSucceeded"
    )
    assert client.result(WAIT, finished, "waited")["value"] == 0
    job = client.get(f"rest/services/{WAIT}/jobs/{running}")
    assert job["jobStatus"] == "esriJobFailed"
    assert job["messages"][-1]["description"] == (
        "The server stopped while the job was running; run it again."
    )


def test_queued_jobs_run_after_a_restart(own_server: ServerProcess) -> None:
    own_server.start()
    client = Client(own_server.root)
    own_server.stop()
    # A job accepted just before a crash, never picked up: written as submitJob does.
    store = JobStore(own_server.database_url)
    jobs = Jobs(store, JobsDirectory(own_server.data_dir / "arcgisjobs"))
    job = jobs.submit(
        "Samples/Diagnostics", "Wait", {"inputs": {"seconds": 0}, "context": {}}, None
    )
    store.dispose()
    own_server.start()
    assert client.wait(WAIT, job.job_id)["jobStatus"] == "esriJobSucceeded"


@pytest.mark.embedded_only(
    reason="the local pool's workers watch their server process; distributed "
    "workers have no server process to outlive"
)
def test_workers_end_themselves_when_the_server_is_killed(
    own_server: ServerProcess,
) -> None:
    own_server.start()
    client = Client(own_server.root)
    job_id = client.submit(WAIT, seconds=60)
    client.wait_status(WAIT, job_id, "esriJobExecuting")
    store = JobStore(sqlite_url(own_server.data_dir / "gpserver.db"))
    job = store.get(job_id)
    store.dispose()
    assert job is not None and job.worker is not None
    worker_pid = int(job.worker.rsplit(":", 1)[1])

    assert own_server.process is not None
    own_server.process.kill()  # the server alone, not its workers
    own_server.process.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and Path(f"/proc/{worker_pid}").exists():
        time.sleep(0.05)
    status = Path(f"/proc/{worker_pid}/status")
    alive = status.exists() and "zombie" not in status.read_text()
    assert not alive, "the worker outlived its server by more than 3 s"


@pytest.mark.embedded_only(
    reason="reads the priority of the embedded server's local worker processes"
)
def test_job_workers_run_at_a_lower_priority_than_the_server_and_sync_ones_do_not(
    tmp_path: Path,
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(ONE_WORKER_EACH_CONFIG)
    server = ServerProcess(tmp_path / "data", config)
    server.start()
    try:
        client = Client(server.root)
        answer = client.post(f"rest/services/{ECHO_SYNC}/execute", in_long="3")
        assert {"paramName": "out_long", "dataType": "GPLong", "value": 3} in (
            answer["results"]
        )
        job_id = client.submit(WAIT, seconds=0)
        assert client.wait(WAIT, job_id)["jobStatus"] == "esriJobSucceeded"
        store = JobStore(server.database_url)
        job = store.get(job_id)
        store.dispose()
        assert job is not None and job.worker is not None
        job_worker = int(job.worker.rsplit(":", 1)[1])

        assert server.process is not None
        server_pid = server.process.pid
        processes = _children(server_pid)
        priorities = {pid: niceness(pid) for pid in [server_pid, *processes]}
        # The server's own children are the fork server and the resource tracker;
        # the fork server's are the workers.
        workers = [pid for pid in processes if parent(pid) != server_pid]
    finally:
        server.stop()

    (sync_worker,) = [pid for pid in workers if pid != job_worker]
    base = priorities[server_pid]
    assert sorted(workers) == sorted([job_worker, sync_worker])
    assert priorities == {pid: base for pid in priorities} | {
        job_worker: min(base + JOB_NICENESS, 19),
        sync_worker: base,
    }
