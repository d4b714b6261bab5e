"""Paging through a service's jobs: every page the same, read from either end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpserver.db import Database, sqlite_url
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobFilter, JobStore
from tests.conftest import PostgresDatabases
from tests.jobs.test_group_insert import a_job

SERVICE = "Samples/Diagnostics"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "store.db")
    else:
        databases: PostgresDatabases = request.getfixturevalue("postgres_url")
        url = databases()
    database = Database(url)
    database.upgrade()
    store = JobStore(database)
    yield store
    store.dispose()
    if request.param == "postgresql":
        databases.drop(url)


def seeded(store: JobStore) -> list[str]:
    """23 jobs of the service (several submitted in the same millisecond), one of
    them being deleted, and 4 of another service; the ids in submission order."""
    jobs = [a_job(f"j{n:032x}") for n in range(23)]
    jobs = [
        job.__class__(**{**job.__dict__, "submitted_ms": 1000 + (n * 7) % 5})
        for n, job in enumerate(jobs)
    ]
    others = [a_job(service="Other/Service") for _ in range(4)]
    store.insert_jobs([(job, "{}") for job in jobs + others])
    store.transition(jobs[5].job_id, JobStatus.CANCELLED)
    store.transition(jobs[5].job_id, JobStatus.DELETING)
    ordered = sorted(jobs, key=lambda job: (job.submitted_ms, job.job_id))
    return [job.job_id for job in ordered]


@pytest.mark.parametrize("filters", [JobFilter(), JobFilter(start_ms=0)])
def test_every_page_is_the_slice_of_the_whole_list(
    store: JobStore, filters: JobFilter
) -> None:
    expected = seeded(store)

    for start in range(26):
        total, page = store.query(SERVICE, filters, start, 5)
        assert total == 23
        assert [job.job_id for job in page] == expected[start : start + 5]


def test_a_filtered_query_counts_only_what_matches(store: JobStore) -> None:
    expected = seeded(store)
    late = JobFilter(start_ms=1003)

    total, page = store.query(SERVICE, late, 0, 100)

    matching = [job_id for n, job_id in enumerate(expected) if n >= len(expected) - 9]
    assert total == 9
    assert [job.job_id for job in page] == matching
    assert [job.job_id for job in store.query(SERVICE, late, 6, 5)[1]] == matching[6:]
