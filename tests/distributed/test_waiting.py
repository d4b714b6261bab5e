"""Jobs handed to the workers show esriJobWaiting until a worker claims them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpserver.db import sqlite_url
from gpserver.execution.remote import WaitingMarks
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    store = JobStore(sqlite_url(tmp_path / "store.db"))
    store.create_schema()
    yield Jobs(store, JobsDirectory(tmp_path / "arcgisjobs"), machine="test-host")
    store.dispose()


def test_sent_jobs_turn_waiting_together_unless_claimed_first(jobs: Jobs) -> None:
    marks = WaitingMarks(jobs)
    sent = [jobs.submit("Tests/Plain", "Wait", {}, None) for _ in range(3)]
    for job in sent:
        marks.add(job.job_id)
    jobs.claim(sent[0].job_id, "w1")

    assert marks.run_once() == 2
    assert marks.run_once() == 0

    statuses = [jobs.get(job.job_id).status for job in sent]
    assert statuses == [JobStatus.EXECUTING, JobStatus.WAITING, JobStatus.WAITING]


def test_stopping_marks_what_was_sent_last(jobs: Jobs) -> None:
    marks = WaitingMarks(jobs)
    marks.start()
    job = jobs.submit("Tests/Plain", "Wait", {}, None)
    marks.add(job.job_id)

    marks.stop()

    assert jobs.get(job.job_id).status is JobStatus.WAITING
