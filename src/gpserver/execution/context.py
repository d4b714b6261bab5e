"""The Context objects a tool receives: one reporting to a job, one collecting."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pyproj import CRS

from gpserver.jobs.jobsdir import Message
from gpserver.jobs.model import Job
from gpserver.jobs.service import ERROR, INFORMATIVE, WARNING, Jobs

log = logging.getLogger(__name__)

# A tool may report progress in a tight loop; the store needs to hear of it only a
# few times a second for pollers to see it move.
PROGRESS_INTERVAL = 0.25
CANCEL_CHECK_INTERVAL = 0.2


class CollectingContext:
    """For synchronous execute: messages stay in memory and go back in the answer."""

    def __init__(self, output_dir: Path, process_crs: CRS | None = None) -> None:
        self._output_dir = output_dir
        self._process_crs = process_crs
        self.messages: list[Message] = []

    @property
    def output_dir(self) -> Path:
        self._output_dir.mkdir(parents=True, exist_ok=True)
        return self._output_dir

    @property
    def process_crs(self) -> CRS | None:
        return self._process_crs

    def message(self, text: str) -> None:
        self.messages.append(Message(INFORMATIVE, str(text)))

    def warning(self, text: str) -> None:
        self.messages.append(Message(WARNING, str(text)))

    def error(self, text: str) -> None:
        self.messages.append(Message(ERROR, str(text)))

    def progress(self, percent: int | None = None, message: str | None = None) -> None:
        """A synchronous request shows no progress; nothing to record."""

    def is_cancelled(self) -> bool:
        return False


class JobContext:
    """For a job: messages go to the job's folder, progress to the store."""

    def __init__(
        self,
        jobs: Jobs,
        job: Job,
        process_crs: CRS | None = None,
    ) -> None:
        self._jobs = jobs
        self._job = job
        self._process_crs = process_crs
        self._last_progress = 0.0
        self._last_cancel_check = 0.0
        self._cancelled = False

    @property
    def output_dir(self) -> Path:
        folder = self._jobs.directory.scratch_dir(self._job.service, self._job.job_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def process_crs(self) -> CRS | None:
        return self._process_crs

    def message(self, text: str) -> None:
        self._jobs.add_message(self._job, INFORMATIVE, str(text))

    def warning(self, text: str) -> None:
        self._jobs.add_message(self._job, WARNING, str(text))

    def error(self, text: str) -> None:
        self._jobs.add_message(self._job, ERROR, str(text))

    def progress(self, percent: int | None = None, message: str | None = None) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_INTERVAL and percent != 100:
            return
        self._last_progress = now
        if percent is not None:
            percent = max(0, min(100, int(percent)))
        self._jobs.set_progress(self._job, percent, message)

    def is_cancelled(self) -> bool:
        if self._cancelled:
            return True
        now = time.monotonic()
        if now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL:
            self._last_cancel_check = now
            self._cancelled = self._jobs.is_cancel_requested(self._job)
        return self._cancelled
