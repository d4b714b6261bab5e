"""The jobs directory's cleanup, and the repairs a start-up makes after a crash.

A job is removed in three steps, each safe to stop after: its row moves to Deleting
(and leaves the counters) in one transaction, its folder is removed, then its row.
Whatever a crash interrupts, :meth:`Cleanup.recover` finishes on the next start, so
no job is ever half there: folders belong to a job, and a job's row, inputs and
results are removed together.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from gpserver.errors import BadRequest
from gpserver.jobs.model import Job, now_ms
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import JobStatus
from gpserver.periodic import Periodic
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)

TIME_ELAPSED = "TIME_ELAPSED_SINCE_LAST_MODIFIED"
NONE = "NONE"
MODES = (NONE, TIME_ELAPSED)
SETTING = "directories.arcgisjobs"
LEASE = "cleanup.lease"
BATCH = 500
MAX_FILE_AGE = 10 * 365 * 24 * 60


@dataclass(frozen=True)
class CleanupSettings:
    mode: str = TIME_ELAPSED
    max_file_age: int = 360
    """Minutes after its last change that a finished job is removed."""

    def checked(self) -> CleanupSettings:
        if self.mode not in MODES:
            raise BadRequest(
                f"Invalid value for parameter 'cleanupMode': {self.mode!r} is not one "
                f"of {', '.join(MODES)}"
            )
        if not 1 <= self.max_file_age <= MAX_FILE_AGE:
            raise BadRequest(
                "Invalid value for parameter 'maxFileAge': expected a whole number of "
                f"minutes from 1 to {MAX_FILE_AGE} (ten years), got "
                f"{self.max_file_age!r}"
            )
        return self


@dataclass(frozen=True)
class Recovery:
    deletions_finished: int = 0
    orphan_folders: int = 0
    lost_inputs: int = 0
    """Queued jobs submitted before the store kept inputs, whose folder vanished."""


class Cleanup:
    def __init__(
        self, jobs: Jobs, settings: SettingsStore, defaults: CleanupSettings
    ) -> None:
        self.jobs = jobs
        self.settings_store = settings
        self.defaults = defaults

    def settings(self) -> CleanupSettings:
        stored = self.settings_store.get_json(SETTING)
        if not stored:
            return self.defaults
        return CleanupSettings(stored["cleanupMode"], int(stored["maxFileAge"]))

    def update(self, settings: CleanupSettings) -> CleanupSettings:
        settings.checked()
        self.settings_store.put_json(
            SETTING,
            {"cleanupMode": settings.mode, "maxFileAge": settings.max_file_age},
        )
        log.info(
            "jobs directory cleanup set to %s after %d minutes",
            settings.mode,
            settings.max_file_age,
            extra={"event": "cleanup.settings"},
        )
        return settings

    def sweep(
        self,
        max_age_minutes: float,
        service: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Remove every finished job older than the age; return how many went."""
        cutoff = now_ms() - int(max_age_minutes * 60_000)
        removed = 0
        while True:
            candidates = self.jobs.store.expired(cutoff, BATCH, service)
            if not candidates:
                break
            fresh = {
                j.job_id for j in candidates if self._folder_changed_since(j, cutoff)
            }
            if fresh:
                # A folder written to recently (by hand, or a tool still closing a
                # file) is younger than its record says: leave it for a later sweep.
                self.jobs.store.touch_all(sorted(fresh))
            batch = [j.job_id for j in candidates if j.job_id not in fresh]
            gone = self._remove(batch, cutoff)
            removed += gone
            if progress is not None:
                progress(gone)
        if removed:
            log.info(
                "cleanup removed %d finished jobs older than %g minutes",
                removed,
                max_age_minutes,
                extra={"event": "cleanup.swept", "count": removed},
            )
        return removed

    def _remove(self, job_ids: list[str], cutoff: int) -> int:
        if not job_ids:
            return 0
        moved = self.jobs.store.mark_deleting(job_ids, cutoff)
        for job in moved:
            self.jobs.directory.remove(job.service, job.job_id)
        return self.jobs.store.remove_all_deleted([j.job_id for j in moved])

    def _folder_changed_since(self, job: Job, cutoff_ms: int) -> bool:
        folder = self.jobs.directory.job_dir(job.service, job.job_id)
        try:
            return os.stat(folder).st_mtime * 1000 > cutoff_ms
        except (FileNotFoundError, NotADirectoryError):
            return False

    def recover(self, orphan_min_age: float) -> Recovery:
        """Finish what a crash interrupted; see the module docstring."""
        deleting = self.jobs.store.in_states([JobStatus.DELETING])
        for job in deleting:
            self.jobs.directory.remove(job.service, job.job_id)
        self.jobs.store.remove_all_deleted([j.job_id for j in deleting])

        orphans = self.remove_orphan_folders(orphan_min_age)
        lost = 0
        for job in self.jobs.store.in_states(
            [JobStatus.NEW, JobStatus.SUBMITTED, JobStatus.WAITING, JobStatus.EXECUTING]
        ):
            # Inputs live in the store; only a job submitted before they did keeps
            # them in its folder, which may have gone.
            if self.jobs.has_inputs(job):
                continue
            lost += 1
            self.jobs.fail(
                job,
                "The job's folder in the jobs directory disappeared; its inputs "
                "are lost. Submit it again.",
            )
        report = Recovery(len(deleting), orphans, lost)
        if report != Recovery():
            log.warning(
                "start-up repaired the jobs directory: %d deletions finished, %d "
                "folders without a job removed, %d jobs whose inputs were lost failed",
                report.deletions_finished,
                report.orphan_folders,
                report.lost_inputs,
                extra={"event": "cleanup.recovered"},
            )
        return report

    def remove_orphan_folders(self, min_age_seconds: float) -> int:
        """Remove job folders that have no record and are older than the age.

        A job's folder is made once its record is committed (when the job starts,
        or at its first message), so a folder without one is a leftover, such as
        that of a submit by a gpserver from before store revision 0003, which
        wrote the folder just before the record. The age spares a submit of that
        kind still in flight on a node not yet upgraded.
        """
        root = self.jobs.directory.root
        if not root.is_dir():
            return 0
        limit = time.time() - min_age_seconds
        removed = 0
        for service_dir in root.iterdir():
            if not service_dir.is_dir():
                continue
            folders = [p for p in service_dir.iterdir() if p.is_dir()]
            for start in range(0, len(folders), BATCH):
                chunk = folders[start : start + BATCH]
                known = self.jobs.store.existing_ids([p.name for p in chunk])
                for folder in chunk:
                    if folder.name in known or folder.stat().st_mtime > limit:
                        continue
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        return removed


class Sweeper(Periodic):
    """Sweeps on an interval, on one node at a time (by lease)."""

    name = "sweeper"

    def __init__(self, cleanup: Cleanup, interval: float) -> None:
        super().__init__(interval, cleanup.jobs.machine)
        self.cleanup = cleanup

    def run_once(self) -> int:
        settings = self.cleanup.settings()
        if settings.mode != TIME_ELAPSED:
            return 0
        if not self.cleanup.settings_store.claim_lease(
            LEASE, self.holder, self.interval * 3
        ):
            return 0
        return self.cleanup.sweep(settings.max_file_age)
