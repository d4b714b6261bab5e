from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gpserver.db import Database, sqlite_url
from gpserver.errors import NotFound
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Statistics, is_job_id
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.jobs.store import JobStore
from tests.conftest import PostgresDatabases

SERVICE = "Samples/Diagnostics"


@pytest.fixture(scope="module")
def postgres_store(postgres_url: PostgresDatabases) -> Iterator[str]:
    """One PostgreSQL database for the module; each test empties its tables."""
    url = postgres_url()
    database = Database(url)
    database.upgrade()
    database.dispose()
    yield url
    postgres_url.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Jobs]:
    if request.param == "sqlite":
        store = JobStore(sqlite_url(tmp_path / "store.db"))
        store.create_schema()
    else:
        store = JobStore(request.getfixturevalue("postgres_store"))
        with store.db.write() as conn:
            conn.execute(text("TRUNCATE jobs, service_counters"))
    yield Jobs(store, JobsDirectory(tmp_path / "arcgisjobs"), machine="test-host")
    store.dispose()


def test_submit_writes_inputs_and_row(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {"inputs": {"seconds": 1}}, None)
    assert is_job_id(job.job_id)
    assert jobs.get(job.job_id).status is JobStatus.SUBMITTED
    assert jobs.inputs(job) == {"inputs": {"seconds": 1}}
    folder = jobs.directory.job_dir(SERVICE, job.job_id)
    assert folder == jobs.directory.root / "samples_diagnostics_gpserver" / job.job_id
    assert (folder / "scratch").is_dir()


def test_statistics_count_every_finished_state(jobs: Jobs) -> None:
    ids = [jobs.submit(SERVICE, "Wait", {}, None).job_id for _ in range(5)]
    jobs.request_cancel(ids[0])
    for _ in range(4):
        assert jobs.claim_next(SERVICE, "w1") is not None
    jobs.succeed(jobs.get(ids[1]), {})
    jobs.succeed(jobs.get(ids[2]), {})
    jobs.fail(jobs.get(ids[3]), "broken")
    jobs.time_out(jobs.get(ids[4]), 1)
    assert jobs.statistics(SERVICE) == Statistics(
        total=5, cancelled=1, failed=1, succeeded=2
    )
    assert jobs.statistics("Other/Service") == Statistics(0, 0, 0, 0)


def test_claim_takes_the_oldest_queued_job(jobs: Jobs) -> None:
    first = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.submit(SERVICE, "Wait", {}, None)
    claimed = jobs.claim_next(SERVICE, "w1")
    assert claimed is not None
    assert claimed.job_id == first.job_id
    assert claimed.status is JobStatus.EXECUTING
    assert claimed.worker == "w1"
    assert claimed.machine == "test-host"


def test_claims_from_many_threads_never_share_a_job(jobs: Jobs) -> None:
    submitted = {jobs.submit(SERVICE, "Wait", {}, None).job_id for _ in range(40)}
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all(name: str) -> None:
        while (job := jobs.claim_next(SERVICE, name)) is not None:
            with lock:
                claimed.append(job.job_id)

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(submitted)


def test_jobs_handed_to_the_workers_wait_until_one_claims_them(jobs: Jobs) -> None:
    sent = [jobs.submit(SERVICE, "Wait", {}, None).job_id for _ in range(2)]

    assert sorted(jobs.wait_for_instances(sent)) == sorted(sent)

    assert [jobs.get(job_id).status for job_id in sent] == [JobStatus.WAITING] * 2
    claimed = jobs.claim(sent[0], "w1")
    assert claimed.status is JobStatus.EXECUTING


def test_jobs_claimed_or_cancelled_first_do_not_turn_waiting(jobs: Jobs) -> None:
    claimed = jobs.submit(SERVICE, "Wait", {}, None)
    cancelled = jobs.submit(SERVICE, "Wait", {}, None)
    sent = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.claim(claimed.job_id, "w1")
    jobs.request_cancel(cancelled.job_id)

    moved = jobs.wait_for_instances([claimed.job_id, cancelled.job_id, sent.job_id])

    assert moved == [sent.job_id]
    assert jobs.get(claimed.job_id).status is JobStatus.EXECUTING
    assert jobs.get(cancelled.job_id).status is JobStatus.CANCELLED


def test_cancel_of_a_queued_job_is_immediate(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    assert jobs.request_cancel(job.job_id).status is JobStatus.CANCELLED
    assert jobs.claim_next(SERVICE, "w1") is None


def test_cancel_of_a_running_job_asks_it_to_stop(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.claim_next(SERVICE, "w1")
    assert jobs.request_cancel(job.job_id).status is JobStatus.CANCELLING
    assert jobs.is_cancel_requested(job)
    with pytest.raises(IllegalTransition):
        jobs.succeed(jobs.get(job.job_id), {})
    assert jobs.finish_cancelled(job).status is JobStatus.CANCELLED


def test_cancel_of_a_finished_job_is_refused(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.claim_next(SERVICE, "w1")
    jobs.succeed(job, {"out": 1})
    with pytest.raises(Exception, match="Invalid or missing input parameters"):
        jobs.request_cancel(job.job_id)


def test_unknown_job_is_not_found(jobs: Jobs) -> None:
    with pytest.raises(NotFound, match="job j0 does not exist"):
        jobs.get("j0")


def test_messages_are_kept_in_order_and_a_torn_line_is_skipped(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.add_message(job, "esriJobMessageTypeInformative", "one")
    jobs.add_message(job, "esriJobMessageTypeWarning", "two")
    path = jobs.directory.job_dir(SERVICE, job.job_id) / "messages.jsonl"
    with open(path, "a") as handle:
        handle.write('{"type": "esriJobMess')
    assert [(m.type, m.description) for m in jobs.messages(job)] == [
        ("esriJobMessageTypeInformative", "one"),
        ("esriJobMessageTypeWarning", "two"),
    ]


def test_jobs_running_at_a_crash_end_failed_with_a_reason(jobs: Jobs) -> None:
    running = jobs.submit(SERVICE, "Wait", {}, None)
    queued = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.claim_next(SERVICE, "w1")
    assert jobs.fail_interrupted() == 1
    assert jobs.get(running.job_id).status is JobStatus.FAILED
    assert jobs.get(queued.job_id).status is JobStatus.SUBMITTED
    assert [m.description for m in jobs.messages(running)] == [
        "The server stopped while the job was running; run it again."
    ]
    assert jobs.statistics(SERVICE) == Statistics(total=2, failed=1)
