from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from gpserver.errors import NotFound
from gpserver.jobs import tables
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Job, Statistics, is_job_id
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.jobs.store import JobStore

SERVICE = "Samples/Diagnostics"


@pytest.fixture
def jobs(store: JobStore, tmp_path: Path) -> Jobs:
    return Jobs(store, JobsDirectory(tmp_path / "arcgisjobs"), machine="test-host")


def data_ids(jobs: Jobs) -> set[str]:
    """The jobs that have a row in job_data."""
    with jobs.store.db.read() as conn:
        return set(conn.execute(select(tables.job_data.c.job_id)).scalars())


def as_legacy(jobs: Jobs, job: Job, inputs: dict[str, Any]) -> Path:
    """Make ``job`` look submitted before the store kept job data: no data row,
    its inputs in ``inputs.json`` in its folder; return the folder."""
    with jobs.store.db.write() as conn:
        conn.execute(
            delete(tables.job_data).where(tables.job_data.c.job_id == job.job_id)
        )
    folder = jobs.directory.prepare(job.service, job.job_id)
    (folder / "inputs.json").write_text(json.dumps(inputs), encoding="utf-8")
    return folder


def test_submit_keeps_the_inputs_in_the_store_and_writes_no_files(
    jobs: Jobs,
) -> None:
    inputs = {"inputs": {"seconds": 1, "label": "Zürich, 東京 ✓"}, "context": {}}

    job = jobs.submit(SERVICE, "Wait", inputs, None)

    assert is_job_id(job.job_id)
    assert jobs.get(job.job_id).status is JobStatus.SUBMITTED
    assert jobs.store.inputs_of(job.job_id) == (
        '{"inputs": {"seconds": 1, "label": "Zürich, 東京 ✓"}, "context": {}}'
    )
    assert jobs.inputs(job) == inputs
    assert jobs.has_inputs(job)
    assert jobs.results(job) == {}
    assert not jobs.directory.root.exists()
    folder = jobs.directory.job_dir(SERVICE, job.job_id)
    assert folder == jobs.directory.root / "samples_diagnostics_gpserver" / job.job_id


def test_a_job_gets_its_folder_when_it_starts(jobs: Jobs) -> None:
    job = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.claim_next(SERVICE, "w1")
    assert not jobs.directory.root.exists()

    # What execution.worker.run_job does first; twice is harmless.
    folder = jobs.directory.prepare(SERVICE, job.job_id)
    assert jobs.directory.prepare(SERVICE, job.job_id) == folder

    assert folder == jobs.directory.job_dir(SERVICE, job.job_id)
    # The scratch folder comes when the tool asks for it (context.output_dir).
    assert list(folder.iterdir()) == []


def test_results_are_kept_with_the_job_and_removed_with_it(jobs: Jobs) -> None:
    results = {"out": {"paramName": "out", "value": "Ångström ≈ 0.1 nm"}}
    job = jobs.submit(SERVICE, "Wait", {"inputs": {}}, None)
    other = jobs.submit(SERVICE, "Wait", {"inputs": {}}, None)
    jobs.claim_next(SERVICE, "w1")
    assert jobs.results(job) == {}

    jobs.succeed(jobs.get(job.job_id), results)

    assert jobs.results(jobs.get(job.job_id)) == results
    assert jobs.store.results_of(job.job_id) == (
        True,
        '{"out": {"paramName": "out", "value": "Ångström ≈ 0.1 nm"}}',
    )
    assert jobs.inputs(job) == {"inputs": {}}
    assert data_ids(jobs) == {job.job_id, other.job_id}

    jobs.delete(job.job_id)

    assert data_ids(jobs) == {other.job_id}
    assert jobs.store.inputs_of(job.job_id) is None
    assert jobs.store.results_of(job.job_id) == (False, None)
    assert jobs.statistics(SERVICE) == Statistics(total=1)


def test_a_job_made_before_the_store_kept_its_data_is_read_from_its_folder(
    jobs: Jobs,
) -> None:
    inputs = {"inputs": {"seconds": 2, "label": "café"}}
    job = jobs.submit(SERVICE, "Wait", {}, None)
    folder = as_legacy(jobs, job, inputs)
    (folder / "results.json").write_text(
        json.dumps({"waited": {"paramName": "waited", "value": 2.0}}),
        encoding="utf-8",
    )

    assert jobs.store.inputs_of(job.job_id) is None
    assert jobs.inputs(job) == inputs
    assert jobs.results(job) == {"waited": {"paramName": "waited", "value": 2.0}}
    assert jobs.has_inputs(job)
    (folder / "inputs.json").unlink()
    assert not jobs.has_inputs(job)
    with pytest.raises(NotFound, match=r"the job's files are missing \(inputs.json\)"):
        jobs.inputs(job)


def test_a_job_made_before_the_store_kept_its_data_keeps_the_results_of_its_run(
    jobs: Jobs,
) -> None:
    # Queued when the server was upgraded, run after: it has no data row to take
    # its results, so it gets one, with the inputs from its folder.
    job = jobs.submit(SERVICE, "Wait", {}, None)
    as_legacy(jobs, job, {"inputs": {"seconds": 0}})
    jobs.claim_next(SERVICE, "w1")

    jobs.succeed(jobs.get(job.job_id), {"waited": {"value": 0.0}})

    assert jobs.get(job.job_id).status is JobStatus.SUCCEEDED
    assert jobs.results(job) == {"waited": {"value": 0.0}}
    assert jobs.store.inputs_of(job.job_id) == '{"inputs": {"seconds": 0}}'
    assert jobs.statistics(SERVICE) == Statistics(total=1, succeeded=1)


def test_a_message_to_a_queued_job_makes_its_folder(jobs: Jobs) -> None:
    queued = jobs.submit(SERVICE, "Wait", {}, None)
    stopped = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.claim(stopped.job_id, "w1")
    jobs.request_cancel(stopped.job_id)
    assert not jobs.directory.root.exists()

    jobs.add_message(queued, "esriJobMessageTypeWarning", "Requeued — ünïcode")
    # Cancelled before its worker made its folder.
    jobs.finish_cancelled(jobs.get(stopped.job_id))

    assert [(m.type, m.description) for m in jobs.messages(queued)] == [
        ("esriJobMessageTypeWarning", "Requeued — ünïcode")
    ]
    assert [(m.type, m.description) for m in jobs.messages(stopped)] == [
        ("esriJobMessageTypeWarning", "The job was cancelled.")
    ]
    for job in (queued, stopped):
        folder = jobs.directory.job_dir(SERVICE, job.job_id)
        assert sorted(p.name for p in folder.iterdir()) == ["messages.jsonl"]
    assert jobs.get(stopped.job_id).status is JobStatus.CANCELLED


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


def test_has_queued_sees_the_submitted_and_waiting_jobs_of_its_service(
    jobs: Jobs,
) -> None:
    assert jobs.store.has_queued(SERVICE) is False
    jobs.submit("Other/Service", "Wait", {}, None)
    assert jobs.store.has_queued(SERVICE) is False
    assert jobs.store.has_queued("Other/Service") is True

    waiting = jobs.submit(SERVICE, "Wait", {}, None)
    assert jobs.store.has_queued(SERVICE) is True
    assert jobs.wait_for_instances([waiting.job_id]) == [waiting.job_id]
    assert jobs.store.has_queued(SERVICE) is True

    assert jobs.claim_next(SERVICE, "w1") is not None
    assert jobs.store.has_queued(SERVICE) is False
    cancelled = jobs.submit(SERVICE, "Wait", {}, None)
    jobs.request_cancel(cancelled.job_id)
    assert jobs.store.has_queued(SERVICE) is False
    assert jobs.store.has_queued("Other/Service") is True


def test_running_on_lists_the_executing_and_cancelling_jobs_of_one_worker(
    jobs: Jobs,
) -> None:
    ids = [jobs.submit(SERVICE, "Wait", {}, None).job_id for _ in range(5)]
    elsewhere = jobs.submit("Other/Service", "Wait", {}, None).job_id
    for job_id, worker in zip(ids[:4], ["w1", "w1", "w1", "w2"], strict=True):
        jobs.claim(job_id, worker)
    jobs.claim(elsewhere, "w1")
    jobs.request_cancel(ids[1])  # Cancelling: its worker still runs it
    jobs.succeed(jobs.get(ids[2]), {})  # ended: no longer on the worker

    running = jobs.store.running_on(SERVICE, "w1")

    assert sorted((j.job_id, j.status) for j in running) == sorted(
        [(ids[0], JobStatus.EXECUTING), (ids[1], JobStatus.CANCELLING)]
    )
    assert [j.job_id for j in jobs.store.running_on(SERVICE, "w2")] == [ids[3]]
    assert jobs.store.running_on(SERVICE, "w3") == []
    assert [j.job_id for j in jobs.store.running_on("Other/Service", "w1")] == [
        elsewhere
    ]


def test_mark_waiting_moves_only_the_submitted_jobs_of_its_service(
    jobs: Jobs,
) -> None:
    old = [jobs.submit(SERVICE, "Wait", {}, None).job_id for _ in range(3)]
    young = jobs.submit(SERVICE, "Wait", {}, None).job_id
    running = jobs.submit(SERVICE, "Wait", {}, None).job_id
    jobs.claim(running, "w1")
    cancelled = jobs.submit(SERVICE, "Wait", {}, None).job_id
    jobs.request_cancel(cancelled)
    elsewhere = jobs.submit("Other/Service", "Wait", {}, None).job_id
    with jobs.store.db.write() as conn:
        for offset, job_id in enumerate([*old, running, cancelled, elsewhere]):
            conn.execute(
                update(tables.jobs)
                .where(tables.jobs.c.job_id == job_id)
                .values(submitted_ms=1_000 + offset)
            )
        conn.execute(
            update(tables.jobs)
            .where(tables.jobs.c.job_id == young)
            .values(submitted_ms=5_000)
        )

    assert jobs.store.mark_waiting(SERVICE, 999) == []
    assert sorted(jobs.store.mark_waiting(SERVICE, 1_001)) == sorted(old[:2])
    assert jobs.store.mark_waiting(SERVICE, 4_999) == old[2:]
    assert jobs.store.mark_waiting(SERVICE, 4_999) == []

    states = {
        job_id: jobs.get(job_id).status
        for job_id in [*old, young, running, cancelled, elsewhere]
    }
    assert states == {
        **{job_id: JobStatus.WAITING for job_id in old},
        young: JobStatus.SUBMITTED,
        running: JobStatus.EXECUTING,
        cancelled: JobStatus.CANCELLED,
        elsewhere: JobStatus.SUBMITTED,
    }
    # Waiting jobs are still claimed oldest first.
    claimed = jobs.claim_next(SERVICE, "w2")
    assert claimed is not None and claimed.job_id == old[0]
