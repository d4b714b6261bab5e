"""A submit while the broker does not answer fails the job instead of losing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpserver.catalog.state import ServiceStates
from gpserver.db import sqlite_url
from gpserver.execution.celery_app import make_app
from gpserver.execution.heartbeats import HeartbeatWatch
from gpserver.execution.pool import LocalExecutor
from gpserver.execution.remote import BrokerUnavailable, CeleryExecutor
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore
from gpserver.settings import SettingsStore

NOBODY = "redis://127.0.0.1:1/0"
"""A loopback port where nothing listens: the connection is refused at once."""


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    store = JobStore(sqlite_url(tmp_path / "store.db"))
    store.create_schema()
    yield Jobs(store, JobsDirectory(tmp_path / "arcgisjobs"), machine="test-host")
    store.dispose()


def test_a_job_the_broker_does_not_take_is_failed_and_the_client_told(
    jobs: Jobs,
) -> None:
    settings = SettingsStore(jobs.store.db)
    app = make_app(NOBODY)
    watch = HeartbeatWatch(
        jobs, settings, 30, repeatable=frozenset(), resend=lambda job: None
    )
    executor = CeleryExecutor(
        app, jobs, ServiceStates(settings), LocalExecutor({}), watch
    )
    job = jobs.submit("Tests/Plain", "Wait", {"inputs": {}}, None)

    try:
        with pytest.raises(BrokerUnavailable) as raised:
            executor.submitted(job)
    finally:
        app.close()

    assert raised.value.code == 503
    assert jobs.get(job.job_id).status is JobStatus.FAILED
    assert "the broker did not answer" in jobs.messages(job)[-1].description
