"""The jobs directory's cleanup and the start-up repairs, on a real SQLite store.

Jobs are made old by setting their ``modified_ms`` back with a direct UPDATE and
their folder's modification time back with ``os.utime``: the sweep looks at both.
A job has a folder once it has started or been given a message; one cancelled
while queued never has one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text, update

from gpserver.db import Database, sqlite_url
from gpserver.errors import NotFound
from gpserver.jobs import tables
from gpserver.jobs.cleanup import BATCH, Cleanup, CleanupSettings, Recovery, Sweeper
from gpserver.jobs.jobsdir import JobsDirectory, service_dir_name
from gpserver.jobs.model import Job, Statistics, new_job_id, now_ms
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore
from gpserver.settings import SettingsStore
from tests.jobs.test_store import as_legacy, data_ids

SERVICE = "Samples/Diagnostics"
AGE = 360
"""The default maxFileAge in minutes; jobs are aged past it by ``OLD``."""
OLD = 400
LOST_INPUTS = (
    "The job's folder in the jobs directory disappeared; its inputs are lost. "
    "Submit it again."
)


def open_jobs(root: Path) -> Jobs:
    store = JobStore(sqlite_url(root / "store.db"))
    store.create_schema()
    return Jobs(store, JobsDirectory(root / "arcgisjobs"), machine="test-host")


def cleanup_of(jobs: Jobs) -> Cleanup:
    return Cleanup(jobs, SettingsStore(jobs.store.db), CleanupSettings())


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    opened = open_jobs(tmp_path)
    yield opened
    opened.store.dispose()


@pytest.fixture
def cleanup(jobs: Jobs) -> Cleanup:
    return cleanup_of(jobs)


def age_rows(jobs: Jobs, job_ids: list[str], minutes: float) -> None:
    with jobs.store.db.write() as conn:
        conn.execute(
            update(tables.jobs)
            .where(tables.jobs.c.job_id.in_(job_ids))
            .values(modified_ms=now_ms() - int(minutes * 60_000))
        )


def age_folders(jobs: Jobs, job_ids: list[str], minutes: float) -> None:
    """Age the folders of those jobs that have one."""
    then = time.time() - minutes * 60
    for job_id in job_ids:
        folder = jobs.directory.job_dir(SERVICE, job_id)
        if folder.is_dir():
            os.utime(folder, (then, then))


def age(jobs: Jobs, job_ids: list[str], minutes: float = OLD) -> None:
    age_folders(jobs, job_ids, minutes)
    age_rows(jobs, job_ids, minutes)


def counted(db: Database, service: str) -> Statistics:
    """The four counts of ``jobs/statistics`` taken afresh from the job rows."""
    with db.read() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT status, COUNT(*) FROM jobs WHERE service = :service "
                    "AND status != :deleting GROUP BY status"
                ),
                {"service": service, "deleting": JobStatus.DELETING.ordinal},
            ).all()
        )
    return Statistics(
        total=sum(rows.values()),
        cancelled=rows.get(JobStatus.CANCELLED.ordinal, 0),
        failed=rows.get(JobStatus.FAILED.ordinal, 0),
        succeeded=rows.get(JobStatus.SUCCEEDED.ordinal, 0),
    )


def folders(jobs: Jobs) -> set[str]:
    service_dir = jobs.directory.root / service_dir_name(SERVICE)
    if not service_dir.is_dir():
        return set()
    return {p.name for p in service_dir.iterdir()}


def row_ids(jobs: Jobs) -> set[str]:
    with jobs.store.db.read() as conn:
        return set(conn.execute(text("SELECT job_id FROM jobs")).scalars())


def status_of(jobs: Jobs, job_id: str) -> JobStatus:
    return jobs.get(job_id).status


def started(jobs: Jobs, service: str = SERVICE) -> Job:
    """A job claimed by a worker, with the folder its worker makes first."""
    job = jobs.submit(service, "Wait", {}, None)
    claimed = jobs.claim(job.job_id, "w1")
    jobs.directory.prepare(service, job.job_id)
    return claimed


# -- sweep ----------------------------------------------------------------------


def test_sweep_removes_only_finished_jobs_older_than_the_age(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    ids = [jobs.submit(SERVICE, "Wait", {}, None).job_id for _ in range(6)]
    for job_id in ids[:5]:
        jobs.claim(job_id, "w1")
        jobs.directory.prepare(SERVICE, job_id)
    jobs.succeed(jobs.get(ids[0]), {"waited": 0})
    jobs.fail(jobs.get(ids[1]), "broken")
    jobs.time_out(jobs.get(ids[2]), 1)
    jobs.request_cancel(ids[3])  # executing: it becomes Cancelling
    jobs.request_cancel(ids[5])  # queued: Cancelled at once
    waiting = jobs.submit(SERVICE, "Wait", {}, None).job_id
    jobs.mark_waiting(SERVICE)
    submitted = jobs.submit(SERVICE, "Wait", {}, None).job_id
    young = jobs.submit(SERVICE, "Wait", {}, None).job_id
    jobs.request_cancel(young)
    assert [status_of(jobs, i) for i in [*ids, waiting, submitted, young]] == [
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.TIMED_OUT,
        JobStatus.CANCELLING,
        JobStatus.EXECUTING,
        JobStatus.CANCELLED,
        JobStatus.WAITING,
        JobStatus.SUBMITTED,
        JobStatus.CANCELLED,
    ]
    age(jobs, [*ids, waiting, submitted], minutes=30 * 24 * 60)
    assert jobs.statistics(SERVICE) == Statistics(
        total=9, cancelled=2, failed=1, succeeded=1
    )
    assert folders(jobs) == set(ids[:5])

    removed = cleanup.sweep(AGE)

    assert removed == 4
    assert row_ids(jobs) == {ids[3], ids[4], waiting, submitted, young}
    assert data_ids(jobs) == row_ids(jobs)
    assert folders(jobs) == {ids[3], ids[4]}
    assert jobs.statistics(SERVICE) == Statistics(
        total=5, cancelled=1, failed=0, succeeded=0
    )
    assert jobs.statistics(SERVICE) == counted(jobs.store.db, SERVICE)
    assert cleanup.sweep(AGE) == 0


def test_sweep_skips_a_job_whose_folder_changed_recently(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    job = started(jobs)
    jobs.fail(job, "broken")
    age_rows(jobs, [job.job_id], OLD)

    assert cleanup.sweep(AGE) == 0

    # The record now carries the folder's age, so the next sweep leaves it too.
    assert jobs.get(job.job_id).modified_ms > now_ms() - 60_000
    assert cleanup.sweep(AGE) == 0
    age(jobs, [job.job_id])
    assert cleanup.sweep(AGE) == 1
    assert row_ids(jobs) == set()
    assert folders(jobs) == set()


def test_sweep_of_one_service_leaves_the_others(jobs: Jobs, cleanup: Cleanup) -> None:
    other = started(jobs, "Other/Service")
    mine = started(jobs)
    for job in (other, mine):
        jobs.fail(job, "broken")
    age_rows(jobs, [other.job_id, mine.job_id], OLD)
    age_folders(jobs, [mine.job_id], OLD)
    then = time.time() - OLD * 60
    os.utime(jobs.directory.job_dir("Other/Service", other.job_id), (then, then))

    assert cleanup.sweep(AGE, service=SERVICE) == 1

    assert row_ids(jobs) == {other.job_id}
    assert data_ids(jobs) == {other.job_id}
    assert folders(jobs) == set()
    assert jobs.directory.job_dir("Other/Service", other.job_id).is_dir()


def test_sweep_removes_the_data_of_jobs_that_never_had_a_folder(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    cancelled = jobs.submit(SERVICE, "Wait", {"inputs": {"seconds": 5}}, None)
    jobs.request_cancel(cancelled.job_id)
    done = jobs.submit(SERVICE, "Wait", {"inputs": {"seconds": 0}}, None)
    jobs.claim(done.job_id, "w1")
    jobs.succeed(jobs.get(done.job_id), {"waited": {"value": 0.0}})
    kept = jobs.submit(SERVICE, "Wait", {}, None)
    age_rows(jobs, [cancelled.job_id, done.job_id, kept.job_id], OLD)
    assert data_ids(jobs) == {cancelled.job_id, done.job_id, kept.job_id}

    assert cleanup.sweep(AGE) == 2

    assert row_ids(jobs) == {kept.job_id}
    assert data_ids(jobs) == {kept.job_id}
    assert jobs.store.results_of(done.job_id) == (False, None)
    assert not jobs.directory.root.exists()
    assert jobs.statistics(SERVICE) == Statistics(total=1)


def test_sweep_of_thousands_of_jobs_works_in_batches(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    count = 4 * BATCH + 250
    ids = [new_job_id() for _ in range(count)]
    old = now_ms() - OLD * 60_000
    # Written directly: thousands of submits, each fsynced, would take a minute.
    with jobs.store.db.write() as conn:
        conn.execute(
            tables.jobs.insert(),
            [
                {
                    "job_id": job_id,
                    "service": SERVICE,
                    "task": "Wait",
                    "status": JobStatus.CANCELLED.ordinal,
                    "submitted_ms": old,
                    "ended_ms": old,
                    "modified_ms": old,
                }
                for job_id in ids
            ],
        )
        conn.execute(
            tables.job_data.insert(),
            [{"job_id": job_id, "inputs": "{}"} for job_id in ids],
        )
        conn.execute(
            tables.service_counters.insert().values(
                service=SERVICE, total=count, cancelled=count, failed=0, succeeded=0
            )
        )
    for job_id in ids:
        jobs.directory.job_dir(SERVICE, job_id).mkdir(parents=True)
    age_folders(jobs, ids, OLD)
    assert counted(jobs.store.db, SERVICE) == Statistics(count, count, 0, 0)
    batches: list[int] = []

    removed = cleanup.sweep(AGE, progress=batches.append)

    assert removed == 2250
    assert batches == [500, 500, 500, 500, 250]
    assert row_ids(jobs) == set()
    assert data_ids(jobs) == set()
    assert folders(jobs) == set()
    assert jobs.statistics(SERVICE) == Statistics(0, 0, 0, 0)


# -- recover --------------------------------------------------------------------


def test_recover_finishes_a_deletion_a_crash_interrupted(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    kept = started(jobs)
    doomed = started(jobs)
    jobs.fail(doomed, "broken")
    # What Jobs.delete does first; the crash comes before the folder and row go.
    jobs.store.transition(doomed.job_id, JobStatus.DELETING)
    before = jobs.statistics(SERVICE)
    assert before == Statistics(total=1, cancelled=0, failed=0, succeeded=0)
    assert folders(jobs) == {kept.job_id, doomed.job_id}

    report = cleanup.recover(orphan_min_age=0)

    assert report == Recovery(deletions_finished=1, orphan_folders=0)
    assert row_ids(jobs) == {kept.job_id}
    assert data_ids(jobs) == {kept.job_id}
    assert folders(jobs) == {kept.job_id}
    assert jobs.statistics(SERVICE) == before
    assert jobs.statistics(SERVICE) == counted(jobs.store.db, SERVICE)


def test_recover_removes_folders_without_a_record(jobs: Jobs, cleanup: Cleanup) -> None:
    kept = started(jobs)
    queued = jobs.submit(SERVICE, "Wait", {}, None)
    orphans = [new_job_id() for _ in range(3)]
    for job_id in orphans:
        (jobs.directory.job_dir(SERVICE, job_id) / "scratch").mkdir(parents=True)
        (jobs.directory.job_dir(SERVICE, job_id) / "inputs.json").write_text("{}")

    # A young folder may be a submit in flight on another node: left alone.
    assert cleanup.recover(orphan_min_age=60) == Recovery()
    assert folders(jobs) == {kept.job_id, *orphans}

    assert cleanup.recover(orphan_min_age=0) == Recovery(orphan_folders=3)
    assert folders(jobs) == {kept.job_id}
    assert status_of(jobs, kept.job_id) is JobStatus.EXECUTING
    assert status_of(jobs, queued.job_id) is JobStatus.SUBMITTED


def test_recover_fails_a_job_made_before_the_store_kept_inputs_whose_folder_vanished(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    lost = jobs.submit(SERVICE, "Wait", {}, None)
    as_legacy(jobs, lost, {"inputs": {"seconds": 1}})
    jobs.directory.remove(SERVICE, lost.job_id)
    legacy = jobs.submit(SERVICE, "Wait", {}, None)
    as_legacy(jobs, legacy, {"inputs": {"seconds": 2}})
    queued = jobs.submit(SERVICE, "Wait", {"inputs": {"seconds": 3}}, None)
    executing = jobs.submit(SERVICE, "Wait", {"inputs": {"seconds": 4}}, None)
    jobs.claim(executing.job_id, "w1")
    assert folders(jobs) == {legacy.job_id}

    report = cleanup.recover(orphan_min_age=0)

    assert report == Recovery(lost_inputs=1)
    assert status_of(jobs, lost.job_id) is JobStatus.FAILED
    assert [(m.type, m.description) for m in jobs.messages(lost)] == [
        ("esriJobMessageTypeError", LOST_INPUTS)
    ]
    assert status_of(jobs, legacy.job_id) is JobStatus.SUBMITTED
    assert jobs.inputs(legacy) == {"inputs": {"seconds": 2}}
    # Their inputs are in the store: no folder is needed until they start.
    assert status_of(jobs, queued.job_id) is JobStatus.SUBMITTED
    assert status_of(jobs, executing.job_id) is JobStatus.EXECUTING
    assert jobs.inputs(queued) == {"inputs": {"seconds": 3}}
    assert folders(jobs) == {lost.job_id, legacy.job_id}
    assert jobs.statistics(SERVICE) == Statistics(total=4, failed=1)
    assert cleanup.recover(orphan_min_age=0) == Recovery()


# -- the sweeper's lease --------------------------------------------------------


def test_one_sweeper_holds_the_lease_and_another_takes_over_when_it_lapses(
    tmp_path: Path,
) -> None:
    first_jobs = open_jobs(tmp_path)
    second_jobs = open_jobs(tmp_path)  # another node: its own engines, same store
    interval = 0.2
    first = Sweeper(cleanup_of(first_jobs), interval)
    second = Sweeper(cleanup_of(second_jobs), interval)

    def expired_job() -> str:
        job = first_jobs.submit(SERVICE, "Wait", {}, None)
        first_jobs.request_cancel(job.job_id)
        age(first_jobs, [job.job_id])
        return job.job_id

    try:
        expired_job()
        assert first.run_once() == 1
        waiting = expired_job()
        assert second.run_once() == 0
        assert row_ids(first_jobs) == {waiting}
        assert first.run_once() == 1  # the holder renews its own lease

        expired_job()
        time.sleep(interval * 3 + 0.2)
        assert second.run_once() == 1
        expired_job()
        assert first.run_once() == 0
        assert second.run_once() == 1
        assert row_ids(first_jobs) == set()
    finally:
        first_jobs.store.dispose()
        second_jobs.store.dispose()


def test_a_sweeper_does_nothing_when_cleanup_is_off(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.request_cancel(job.job_id)
    age(jobs, [job.job_id])
    cleanup.update(CleanupSettings("NONE", AGE))

    assert Sweeper(cleanup, 60).run_once() == 0

    assert row_ids(jobs) == {job.job_id}
    cleanup.update(CleanupSettings("TIME_ELAPSED_SINCE_LAST_MODIFIED", AGE))
    assert Sweeper(cleanup, 60).run_once() == 1


# -- a service folder that is not a folder ----------------------------------------


def block_service_folder(jobs: Jobs) -> None:
    """Put a regular file where the service's folder of jobs should be."""
    service_dir = jobs.directory.root / service_dir_name(SERVICE)
    if service_dir.exists():
        service_dir.rename(service_dir.with_name("aside"))
    service_dir.parent.mkdir(parents=True, exist_ok=True)
    service_dir.write_text("not a folder")


def test_reads_of_a_job_behind_a_blocked_folder_find_no_files(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {"inputs": {"seconds": 0}}, None)
    jobs.add_message(job, "esriJobMessageTypeInformative", "started")
    legacy = jobs.submit(SERVICE, "Wait", {}, None)
    as_legacy(jobs, legacy, {"inputs": {"seconds": 1}})
    block_service_folder(jobs)

    assert jobs.messages(job) == []
    assert jobs.results(job) == {}
    assert jobs.inputs(job) == {"inputs": {"seconds": 0}}
    assert jobs.results(legacy) == {}
    with pytest.raises(NotFound, match=r"the job's files are missing \(inputs.json\)"):
        jobs.inputs(legacy)


def lost_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if getattr(r, "event", None) == "job.message_lost"
    ]


def test_a_message_to_a_job_behind_a_blocked_folder_is_logged_naming_the_folder(
    jobs: Jobs, caplog: pytest.LogCaptureFixture
) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    block_service_folder(jobs)

    jobs.add_message(job, "esriJobMessageTypeInformative", "started")

    folder = jobs.directory.job_dir(SERVICE, job.job_id)
    assert lost_messages(caplog) == [
        f"job {job.job_id}: a message could not be written to its folder (cannot "
        f"make the job's folder {folder} in the jobs directory: Not a directory): "
        "started"
    ]
    assert jobs.messages(job) == []


def test_sweep_removes_old_jobs_behind_a_blocked_folder(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.request_cancel(job.job_id)
    age(jobs, [job.job_id])
    block_service_folder(jobs)

    assert cleanup.sweep(AGE) == 1

    assert row_ids(jobs) == set()
    assert jobs.statistics(SERVICE) == Statistics(0, 0, 0, 0)


def test_recover_leaves_queued_jobs_behind_a_blocked_folder_alone(
    jobs: Jobs, cleanup: Cleanup
) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    block_service_folder(jobs)

    assert cleanup.recover(orphan_min_age=0) == Recovery()

    assert status_of(jobs, job.job_id) is JobStatus.SUBMITTED


def test_recover_fails_a_lost_job_behind_a_blocked_folder_and_logs_why(
    jobs: Jobs, cleanup: Cleanup, caplog: pytest.LogCaptureFixture
) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    as_legacy(jobs, job, {})
    block_service_folder(jobs)

    assert cleanup.recover(orphan_min_age=0) == Recovery(lost_inputs=1)

    assert status_of(jobs, job.job_id) is JobStatus.FAILED
    folder = jobs.directory.job_dir(SERVICE, job.job_id)
    assert lost_messages(caplog) == [
        f"job {job.job_id}: a message could not be written to its folder (cannot "
        f"make the job's folder {folder} in the jobs directory: Not a directory): "
        f"{LOST_INPUTS}"
    ]
