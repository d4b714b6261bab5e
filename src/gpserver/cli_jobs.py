"""``gpserver jobs``: the job counts and job list of a service, read from the store.

Like ``gpserver db upgrade`` these commands need no running server: whoever can
read the store may look at its jobs. They read the same counters and run the same
query as the Administrator API's ``jobs/statistics`` and ``jobs/query``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy.engine import make_url

from gpserver.cli_table import print_table
from gpserver.config import SiteConfig, load_site
from gpserver.db import Database
from gpserver.errors import BadRequest, NotFound, StorageError
from gpserver.jobs.cleanup import MAX_FILE_AGE, Cleanup, CleanupSettings
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Job, now_ms
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobFilter, JobStore
from gpserver.jobs.times import parse_time
from gpserver.settings import SettingsStore

SiteOptions = Callable[[argparse.ArgumentParser], None]
DEFAULT_NUMBER = 100
MAX_NUMBER = 1000
PROGRESS_THRESHOLD = 1000
ANONYMOUS = "null"
"""The user name that selects anonymous jobs, as ``userName=null`` does in the API."""
# A job being deleted is gone for every reader; Deleted is never stored.
LISTED_STATUSES = tuple(
    s for s in JobStatus if s not in (JobStatus.DELETING, JobStatus.DELETED)
)


def add_jobs_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    site_options: SiteOptions,
) -> None:
    jobs = commands.add_parser(
        "jobs", help="look at and clean up the jobs of a service"
    )
    actions = jobs.add_subparsers(required=True, metavar="ACTION")

    stats = actions.add_parser(
        "stats", help="how many jobs a service holds, and how many ended each way"
    )
    site_options(stats)
    stats.add_argument("service", help="the service, as folder/name")
    stats.set_defaults(command=jobs_stats)

    query = actions.add_parser(
        "query", help="list a service's jobs, oldest first, with filters"
    )
    site_options(query)
    query.add_argument("service", help="the service, as folder/name")
    query.add_argument(
        "--status", type=_status, help="only jobs in this state, e.g. esriJobFailed"
    )
    query.add_argument(
        "--user", help=f"only jobs of this user; {ANONYMOUS} for anonymous jobs"
    )
    query.add_argument(
        "--since",
        type=_time,
        help="only jobs submitted at or after this time: epoch ms or s, or ISO 8601",
    )
    query.add_argument(
        "--until", type=_time, help="only jobs submitted at or before this time"
    )
    query.add_argument(
        "--number",
        type=_number,
        default=DEFAULT_NUMBER,
        help=f"list at most this many (default {DEFAULT_NUMBER}, most {MAX_NUMBER})",
    )
    query.set_defaults(command=jobs_query)

    clean = actions.add_parser(
        "clean",
        help="remove finished jobs older than an age now, as the cleanup would",
    )
    site_options(clean)
    clean.add_argument(
        "--older-than",
        type=_minutes,
        metavar="MINUTES",
        help="age in minutes (default: the jobs directory's maxFileAge)",
    )
    clean.add_argument(
        "--service",
        action="append",
        help="only this service (folder/name); may be given several times",
    )
    clean.set_defaults(command=jobs_clean)


def jobs_stats(args: argparse.Namespace) -> int:
    config = load_site(args.config, args.data_dir.resolve())
    service = _service_key(config, args.service)
    with _store(config) as store:
        counts = store.statistics(service)
    rows: list[list[str | int]] = [
        [service, counts.total, counts.cancelled, counts.failed, counts.succeeded]
    ]
    print_table(["SERVICE", "TOTAL", "CANCELLED", "FAILED", "SUCCEEDED"], rows)
    return 0


def jobs_query(args: argparse.Namespace) -> int:
    config = load_site(args.config, args.data_dir.resolve())
    service = _service_key(config, args.service)
    user = args.user or None
    filters = JobFilter(
        start_ms=args.since,
        end_ms=args.until,
        status=args.status,
        username=None if user == ANONYMOUS else user,
        anonymous=user == ANONYMOUS,
    )
    with _store(config) as store:
        total, jobs = store.query(service, filters, 0, args.number)

    headings = ["JOB ID", "STATUS", "USER", "SUBMITTED", "ENDED", "TASK", "MACHINE"]
    print_table(headings, [_job_row(job) for job in jobs])
    print(f"{len(jobs)} of {total} jobs")
    return 0


def _job_row(job: Job) -> list[str | int]:
    return [
        job.job_id,
        job.status.esri_name,
        job.username or "(anonymous)",
        _moment(job.submitted_ms),
        _moment(job.ended_ms),
        job.task,
        job.machine or "-",
    ]


def _moment(ms: int | None) -> str:
    if ms is None:
        return "-"
    moment = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def jobs_clean(args: argparse.Namespace) -> int:
    config = load_site(args.config, args.data_dir.resolve())
    chosen: list[str | None] = [_service_key(config, s) for s in args.service or []]
    services = chosen or [None]
    with _store(config) as store:
        cleanup = Cleanup(
            Jobs(store, JobsDirectory(config.jobs_dir)),
            SettingsStore(store.db),
            CleanupSettings(config.cleanup_mode, config.max_file_age),
        )
        age = args.older_than or cleanup.settings().max_file_age
        cutoff = now_ms() - age * 60_000
        expected = sum(store.count_expired(cutoff, s) for s in services)
        removed = 0
        with _progress(expected) as advance:
            for service in services:
                removed += cleanup.sweep(age, service, progress=advance)
    where = ", ".join(s for s in services if s) or "every service"
    print(f"removed {removed} finished jobs older than {age} minutes from {where}")
    return 0


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal for long runs; nothing otherwise."""
    if total < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        yield lambda count: None
        return
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("removing jobs", total=total)
        yield lambda count: progress.advance(task, count)


def _minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_FILE_AGE:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of minutes from 1 to {MAX_FILE_AGE}, not {text!r}"
        )
    return value


def _service_key(config: SiteConfig, given: str) -> str:
    """The configured spelling of a service, found whatever the case."""
    wanted = given.strip("/").removesuffix(".GPServer").lower()
    keys = [service.key for service in config.services]
    for key in keys:
        if key.lower() == wanted:
            return key
    raise NotFound(f"no service {given} in this site; it has {', '.join(keys)}")


@contextmanager
def _store(config: SiteConfig) -> Iterator[JobStore]:
    url = make_url(config.database_url)
    # Opening a SQLite file that is not there would make an empty one.
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        if not path.is_file():
            raise StorageError(
                f"there is no job store at {path}; is --data-dir the one the "
                "server uses?"
            )
    store = JobStore(Database(config.database_url))
    try:
        yield store
    finally:
        store.dispose()


def _status(text: str) -> JobStatus:
    """A state by its esriJob name, with or without the prefix, in any case."""
    wanted = text.lower().removeprefix("esrijob")
    for status in LISTED_STATUSES:
        if status.esri_name.lower().removeprefix("esrijob") == wanted:
            return status
    names = ", ".join(s.esri_name for s in LISTED_STATUSES)
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a job status; use one of {names}"
    )


def _time(text: str) -> int:
    try:
        ms = parse_time(text, "time")
    except BadRequest:
        ms = None
    if ms is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; give epoch milliseconds, epoch seconds or "
            "ISO 8601 such as 2026-12-04T16:00:00Z"
        )
    return ms


def _number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_NUMBER:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number from 1 to {MAX_NUMBER}"
        )
    return number
