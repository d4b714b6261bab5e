"""``Cleanup.sweep`` in a process of its own, in windows of bounded length.

A sweep of 100,000 jobs can take minutes on a slow disk, so each window lets the
sweep run until a batch ends past the window's length, then stops it by raising
from the progress callback. A batch is always complete when the callback runs,
so stopping there leaves the store and the folders as a finished sweep would.
Prints one JSON object: a list of windows with jobs removed and seconds taken.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from gpserver.db import Database, sqlite_url
from gpserver.jobs.cleanup import Cleanup, CleanupSettings
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.service import Jobs
from gpserver.jobs.store import JobStore
from gpserver.settings import SettingsStore


class WindowOver(Exception):
    """The window's time is up; raised between two batches."""


def sweep_window(cleanup: Cleanup, seconds: float, max_age: float) -> dict[str, Any]:
    removed = 0
    batches: list[float] = []
    began = time.perf_counter()

    def progress(gone: int) -> None:
        nonlocal removed
        removed += gone
        batches.append(time.perf_counter())
        if batches[-1] - began >= seconds:
            raise WindowOver

    finished = True
    try:
        cleanup.sweep(max_age, progress=progress)
    except WindowOver:
        finished = False
    elapsed = time.perf_counter() - began
    return {
        "removed": removed,
        "seconds": elapsed,
        "jobs_per_second": removed / elapsed if elapsed else 0.0,
        "batches": len(batches),
        "first_batch_seconds": batches[0] - began if batches else None,
        "swept_everything": finished,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-age", type=float, default=360.0, help="minutes")
    args = parser.parse_args()

    database = Database(sqlite_url(args.data_dir / "gpserver.db"))
    jobs = Jobs(JobStore(database), JobsDirectory(args.data_dir / "arcgisjobs"))
    cleanup = Cleanup(jobs, SettingsStore(database), CleanupSettings())
    windows = []
    for _ in range(args.windows):
        window = sweep_window(cleanup, args.seconds, args.max_age)
        windows.append(window)
        if window["swept_everything"]:
            break
    database.dispose()
    print(json.dumps({"windows": windows}))


if __name__ == "__main__":
    main()
