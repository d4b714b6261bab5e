"""``gpserver jobs stats`` and ``gpserver jobs query`` on a store made by hand."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpserver.cli import main
from gpserver.db import sqlite_url
from gpserver.jobs.model import Job
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore

CONFIG = """
[server]
samples = false

[[services]]
folder = "Tests"
name = "Diag"
toolbox = "gpserver.samples.diagnostics"
"""

SERVICE = "Tests/Diag"
# 2026-12-04T16:00:00Z, and the jobs one minute apart from it.
BASE_MS = 1_796_400_000_000
MINUTE = 60_000


@pytest.fixture(autouse=True)
def root_logging() -> Iterator[None]:
    """Undo the logging main() sets up for the process.

    Its handler writes to the sys.stderr of the moment, which is this test's
    capture; left in place, later tests would log into a closed stream.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _job(number: int, username: str | None, task: str = "Wait") -> Job:
    submitted = BASE_MS + number * MINUTE
    return Job(
        job_id=f"j{number:032x}",
        service=SERVICE,
        task=task,
        status=JobStatus.SUBMITTED,
        username=username,
        machine=None,
        submitted_ms=submitted,
        started_ms=None,
        ended_ms=None,
        modified_ms=submitted,
        progress_percent=None,
        progress_message=None,
        worker=None,
        heartbeat_ms=None,
    )


@pytest.fixture
def site(tmp_path: Path) -> list[str]:
    """Four jobs: succeeded (alice), failed (anonymous), cancelled, still queued."""
    config = tmp_path / "site.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    data.mkdir()
    store = JobStore(sqlite_url(data / "gpserver.db"))
    store.create_schema()
    jobs = [_job(1, "alice"), _job(2, None, "Fail"), _job(3, "bob"), _job(4, None)]
    for job in jobs:
        store.insert_job(job, '{"inputs": {}}')
    ended = {"ended_ms": BASE_MS + 10 * MINUTE}
    store.transition(jobs[0].job_id, JobStatus.EXECUTING, machine="node1")
    store.transition(jobs[0].job_id, JobStatus.SUCCEEDED, **ended)
    store.transition(jobs[1].job_id, JobStatus.EXECUTING, machine="node1")
    store.transition(jobs[1].job_id, JobStatus.FAILED, **ended)
    store.transition(jobs[2].job_id, JobStatus.CANCELLED, **ended)
    store.dispose()
    return ["--data-dir", str(data), "--config", str(config)]


def test_stats_prints_the_counts_of_a_service(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "stats", "tests/diag", *site]) == 0

    assert capsys.readouterr().out == (
        "SERVICE     TOTAL  CANCELLED  FAILED  SUCCEEDED\n"
        "Tests/Diag      4          1       1          1\n"
    )


def test_query_lists_the_jobs_oldest_first(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "query", SERVICE, *site]) == 0

    assert capsys.readouterr().out == (
        "JOB ID                             STATUS            USER         "
        "SUBMITTED                 ENDED                     TASK  MACHINE\n"
        "j00000000000000000000000000000001  esriJobSucceeded  alice        "
        "2026-12-04T16:01:00.000Z  2026-12-04T16:10:00.000Z  Wait  node1\n"
        "j00000000000000000000000000000002  esriJobFailed     (anonymous)  "
        "2026-12-04T16:02:00.000Z  2026-12-04T16:10:00.000Z  Fail  node1\n"
        "j00000000000000000000000000000003  esriJobCancelled  bob          "
        "2026-12-04T16:03:00.000Z  2026-12-04T16:10:00.000Z  Wait  -\n"
        "j00000000000000000000000000000004  esriJobSubmitted  (anonymous)  "
        "2026-12-04T16:04:00.000Z  -                         Wait  -\n"
        "4 of 4 jobs\n"
    )


def _listed(out: str) -> list[int]:
    """The numbers of the listed jobs, from their made-up ids."""
    lines = out.splitlines()[1:-1]
    return [int(line.split()[0][1:], 16) for line in lines]


@pytest.mark.parametrize(
    ("options", "numbers"),
    [
        (["--status", "esriJobFailed"], [2]),
        (["--status", "cancelled"], [3]),
        (["--status", "Submitted"], [4]),
        (["--user", "alice"], [1]),
        (["--user", "BOB"], [3]),
        (["--user", "null"], [2, 4]),
        (["--since", str(BASE_MS + 2 * MINUTE)], [2, 3, 4]),
        (["--since", str(BASE_MS + 2 * MINUTE + 1)], [3, 4]),
        (["--since", "1796400120"], [2, 3, 4]),
        (["--since", "2026-12-04T16:02:00Z"], [2, 3, 4]),
        (["--until", "2026-12-04T16:02:00"], [1, 2]),
        (
            ["--since", "2026-12-04T16:02:00Z", "--until", "2026-12-04T16:03:00Z"],
            [2, 3],
        ),
        (["--user", "null", "--status", "esriJobFailed"], [2]),
    ],
)
def test_query_filters(
    site: list[str],
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    numbers: list[int],
) -> None:
    assert main(["jobs", "query", SERVICE, *options, *site]) == 0

    out = capsys.readouterr().out
    assert _listed(out) == numbers
    assert out.endswith(f"\n{len(numbers)} of {len(numbers)} jobs\n")


def test_query_number_shows_the_first_jobs_and_the_total(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "query", SERVICE, "--number", "2", *site]) == 0

    out = capsys.readouterr().out
    assert _listed(out) == [1, 2]
    assert out.endswith("\n2 of 4 jobs\n")


def test_query_with_nothing_to_list_prints_the_headings(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "query", SERVICE, "--user", "carol", *site]) == 0

    assert capsys.readouterr().out == (
        "JOB ID  STATUS  USER  SUBMITTED  ENDED  TASK  MACHINE\n0 of 0 jobs\n"
    )


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            ["--status", "done"],
            "argument --status: 'done' is not a job status; use one of esriJobNew, "
            "esriJobSubmitted, esriJobWaiting, esriJobExecuting, esriJobSucceeded, "
            "esriJobFailed, esriJobTimedOut, esriJobCancelling, esriJobCancelled",
        ),
        (
            ["--since", "yesterday"],
            "argument --since: 'yesterday' is not a time; give epoch milliseconds, "
            "epoch seconds or ISO 8601 such as 2026-12-04T16:00:00Z",
        ),
        (
            ["--number", "1001"],
            "argument --number: '1001' is not a whole number from 1 to 1000",
        ),
        (
            ["--number", "all"],
            "argument --number: 'all' is not a whole number from 1 to 1000",
        ),
    ],
)
def test_bad_option_is_a_usage_error(
    site: list[str],
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    error: str,
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["jobs", "query", SERVICE, *options, *site])

    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(f"gpserver jobs query: error: {error}\n")


def test_unknown_service_names_the_known_ones(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "stats", "Tests/Nope", *site]) == 1

    assert capsys.readouterr().err == (
        "gpserver: no service Tests/Nope in this site; it has Tests/Diag\n"
    )


def test_missing_store_is_reported_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(CONFIG)
    data = tmp_path / "elsewhere"
    data.mkdir()

    code = main(
        ["jobs", "stats", SERVICE, "--data-dir", str(data), "--config", str(config)]
    )

    assert code == 1
    assert capsys.readouterr().err == (
        f"gpserver: there is no job store at {data / 'gpserver.db'}; is --data-dir "
        "the one the server uses?\n"
    )
    assert list(data.iterdir()) == []


def test_clean_removes_the_old_finished_jobs_and_says_how_many(
    site: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(tmp_path / "data" / "gpserver.db") as conn:
        conn.execute("UPDATE jobs SET modified_ms = ?", (BASE_MS,))
    folder = tmp_path / "data" / "arcgisjobs" / "tests_diag_gpserver" / f"j{1:032x}"
    folder.mkdir(parents=True)
    os.utime(folder, (BASE_MS / 1000, BASE_MS / 1000))

    assert main(["jobs", "clean", "--older-than", "60", *site]) == 0
    assert capsys.readouterr().out == (
        "removed 3 finished jobs older than 60 minutes from every service\n"
    )
    assert not folder.exists()
    with sqlite3.connect(tmp_path / "data" / "gpserver.db") as conn:
        kept = conn.execute("SELECT job_id FROM job_data").fetchall()
    assert kept == [(f"j{4:032x}",)]
    assert main(["jobs", "stats", "Tests/Diag", *site]) == 0
    assert capsys.readouterr().out == (
        "SERVICE     TOTAL  CANCELLED  FAILED  SUCCEEDED\n"
        "Tests/Diag      1          0       0          0\n"
    )


def test_clean_keeps_jobs_younger_than_the_age(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "clean", "--service", "Tests/Diag", *site]) == 0
    assert capsys.readouterr().out == (
        "removed 0 finished jobs older than 360 minutes from Tests/Diag\n"
    )


def test_clean_refuses_an_age_below_one_minute(
    site: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["jobs", "clean", "--older-than", "0", *site])
    assert caught.value.code == 2
    assert "expected a whole number of minutes from 1 to 5256000, not '0'" in (
        capsys.readouterr().err
    )
