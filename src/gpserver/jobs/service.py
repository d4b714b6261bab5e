"""The jobs API: the only way anything creates, moves or reads a job.

The web layer, the worker pool and the worker processes all go through these
methods, so each state change is checked and logged in one place.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

from gpserver.errors import BadRequest, NotFound, StorageError
from gpserver.jobs.jobsdir import JobsDirectory, Message
from gpserver.jobs.model import Job, Statistics, new_job_id, now_ms
from gpserver.jobs.states import QUEUED, IllegalTransition, JobStatus
from gpserver.jobs.store import JobStore, NoJobData

log = logging.getLogger(__name__)

INFORMATIVE = "esriJobMessageTypeInformative"
WARNING = "esriJobMessageTypeWarning"
ERROR = "esriJobMessageTypeError"


class Jobs:
    def __init__(
        self, store: JobStore, directory: JobsDirectory, machine: str | None = None
    ) -> None:
        self.store = store
        self.directory = directory
        self.machine = machine or socket.gethostname()

    # -- lifecycle ------------------------------------------------------------

    def submit(
        self, service: str, task: str, inputs: dict[str, Any], username: str | None
    ) -> Job:
        """Accept a job: its row and inputs, in one transaction, on disk on return."""
        job = self._new_job(service, task, username)
        self.store.insert_job(job, json.dumps(inputs, ensure_ascii=False))
        self._log_submitted(job)
        return job

    async def submit_async(
        self, service: str, task: str, inputs: dict[str, Any], username: str | None
    ) -> Job:
        """:meth:`submit` for a caller on an event loop."""
        job = self._new_job(service, task, username)
        await self.store.insert_job_async(job, json.dumps(inputs, ensure_ascii=False))
        self._log_submitted(job)
        return job

    @staticmethod
    def _new_job(service: str, task: str, username: str | None) -> Job:
        now = now_ms()
        return Job(
            job_id=new_job_id(),
            service=service,
            task=task,
            status=JobStatus.SUBMITTED,
            username=username,
            machine=None,
            submitted_ms=now,
            started_ms=None,
            ended_ms=None,
            modified_ms=now,
            progress_percent=None,
            progress_message=None,
            worker=None,
            heartbeat_ms=None,
        )

    @staticmethod
    def _log_submitted(job: Job) -> None:
        log.info(
            "job %s submitted to %s/%s by %s",
            job.job_id,
            job.service,
            job.task,
            job.username or "anonymous",
            extra={"event": "job.submitted", "job_id": job.job_id},
        )

    def claim_next(self, service: str, worker: str) -> Job | None:
        job = self.store.claim_next(service, worker, self.machine)
        if job is not None:
            self._logged(job, JobStatus.SUBMITTED, f"on {worker}")
        return job

    def claim(self, job_id: str, worker: str) -> Job:
        """Start one named job; IllegalTransition when it is no longer queued.

        The distributed mode's tasks name their job, and a task delivered twice,
        or after the job was cancelled, must not run it again.
        """
        now = now_ms()
        job = self.get(job_id)
        return self._move(
            job,
            JobStatus.EXECUTING,
            durable=False,
            started_ms=now,
            heartbeat_ms=now,
            worker=worker,
            machine=self.machine,
        )

    def requeue(self, job: Job, reason: str) -> Job:
        """Put a job whose worker was lost back in the queue, to run from the start."""
        self.add_message(job, WARNING, reason)
        return self._move(
            job,
            JobStatus.SUBMITTED,
            started_ms=None,
            heartbeat_ms=None,
            worker=None,
            machine=None,
            progress_percent=None,
            progress_message=None,
        )

    def mark_waiting(self, service: str, after_ms: int = 0) -> None:
        """Show as Waiting the Submitted jobs of a service that have waited
        ``after_ms`` or more for an instance."""
        for job_id in self.store.mark_waiting(service, now_ms() - after_ms):
            log.info(
                "job %s waiting: every instance of %s is busy",
                job_id,
                service,
                extra={"event": "job.waiting", "job_id": job_id},
            )

    def wait_for_instances(self, job_ids: list[str]) -> list[str]:
        """These jobs' tasks are in their services' queues: they wait for a worker.

        The distributed mode's web nodes cannot see whether a worker is free, so
        every job handed to the workers waits until one claims it, as on ArcGIS
        Server. Jobs claimed or cancelled meanwhile are left as they are; returns
        the ids of those that turned Waiting.
        """
        moved = self.store.mark_jobs_waiting(job_ids)
        for job_id in moved:
            log.info(
                "job %s waiting for a worker",
                job_id,
                extra={"event": "job.waiting", "job_id": job_id},
            )
        return moved

    def request_cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once; ask a running one to stop."""
        job = self.get(job_id)
        if job.status.is_queued:
            return self._move(job, JobStatus.CANCELLED, ended_ms=now_ms())
        if job.status is JobStatus.EXECUTING:
            return self._move(job, JobStatus.CANCELLING)
        if job.status is JobStatus.CANCELLING:
            return job
        raise BadRequest(
            "Invalid or missing input parameters",
            [f"job {job_id} is {job.status.esri_name} and cannot be cancelled"],
        )

    # A job's end, reported by whatever ran it, is written without waiting for the
    # disk (see Database.write): a power cut within the store's flush interval may
    # find the job still executing, and start-up then fails it, as after a crash.

    def succeed(self, job: Job, results: dict[str, Any]) -> Job:
        encoded = json.dumps(results, ensure_ascii=False)
        try:
            return self._move(
                job,
                JobStatus.SUCCEEDED,
                durable=False,
                results=encoded,
                ended_ms=now_ms(),
            )
        except NoJobData:
            # Submitted before the store kept inputs: the job gets its data row now,
            # with the inputs from its folder, so that its results are kept.
            inputs = self.directory.read_legacy_inputs(job.service, job.job_id)
            return self._move(
                job,
                JobStatus.SUCCEEDED,
                durable=False,
                results=encoded,
                inputs=json.dumps(inputs, ensure_ascii=False),
                ended_ms=now_ms(),
            )

    def fail(self, job: Job, reason: str) -> Job:
        self.add_message(job, ERROR, reason)
        return self._move(job, JobStatus.FAILED, durable=False, ended_ms=now_ms())

    def time_out(self, job: Job, limit_seconds: float) -> Job:
        self.add_message(
            job,
            ERROR,
            f"The job ran longer than the service's maxUsageTime of "
            f"{limit_seconds:g} seconds and was stopped.",
        )
        return self._move(job, JobStatus.TIMED_OUT, durable=False, ended_ms=now_ms())

    def finish_cancelled(self, job: Job) -> Job:
        self.add_message(job, WARNING, "The job was cancelled.")
        return self._move(job, JobStatus.CANCELLED, durable=False, ended_ms=now_ms())

    def delete(self, job_id: str, wait_seconds: float = 5.0) -> None:
        """Cancel a job if it still runs, then remove its row, counts and folder.

        Order matters for crashes: the row moves to Deleting (leaving the counts in
        the same transaction), then the folder goes, then the row. A crash between
        leaves a Deleting row that start-up finishes removing.
        """
        job = self.get(job_id)
        if not job.status.is_finished and job.status is not JobStatus.DELETING:
            self.request_cancel(job_id)
            job = self._wait_finished(job_id, wait_seconds)
        try:
            job = self._move(job, JobStatus.DELETING)
        except IllegalTransition:
            raise NotFound(f"job {job_id} does not exist") from None
        self.directory.remove(job.service, job_id)
        self.store.remove_deleted(job_id)
        log.info(
            "job %s deleted from %s",
            job_id,
            job.service,
            extra={"event": "job.deleted", "job_id": job_id},
        )

    def purge_queue(self, service: str) -> int:
        """Cancel every job of a service that has not started; return how many."""
        cancelled = 0
        for job in self.store.in_states(QUEUED, service=service):
            try:
                self._move(job, JobStatus.CANCELLED, ended_ms=now_ms())
            except (IllegalTransition, NotFound):
                continue  # it started or ended meanwhile
            cancelled += 1
        return cancelled

    def _wait_finished(self, job_id: str, wait_seconds: float) -> Job:
        deadline = time.monotonic() + wait_seconds
        while True:
            job = self.get(job_id)
            if job.status.is_finished:
                return job
            if time.monotonic() >= deadline:
                raise BadRequest(
                    f"Unable to delete job :[{job_id}]",
                    [f"the job is {job.status.esri_name} and still stopping; retry"],
                )
            time.sleep(0.05)

    def fail_interrupted(self) -> int:
        """After a crash: end every job that was running when the server stopped."""
        running = self.store.in_states([JobStatus.EXECUTING, JobStatus.CANCELLING])
        for job in running:
            if job.status is JobStatus.CANCELLING:
                self.finish_cancelled(job)
                continue
            self.fail(
                job,
                "The server stopped while the job was running; run it again.",
            )
        return len(running)

    # -- reports from a running tool ------------------------------------------

    def add_message(self, job: Job, kind: str, text: str) -> None:
        """Append a message to the job's folder; a folder that cannot be written
        loses the message, which goes to the log instead of failing the caller."""
        try:
            self.directory.add_message(job.service, job.job_id, Message(kind, text))
        except (StorageError, OSError) as exc:
            log.error(
                "job %s: a message could not be written to its folder (%s): %s",
                job.job_id,
                exc,
                text,
                extra={"event": "job.message_lost", "job_id": job.job_id},
            )

    def set_progress(self, job: Job, percent: int | None, message: str | None) -> None:
        self.store.set_progress(job.job_id, percent, message)

    def is_cancel_requested(self, job: Job) -> bool:
        current = self.store.get(job.job_id)
        return current is None or current.status in (
            JobStatus.CANCELLING,
            JobStatus.CANCELLED,
        )

    # -- reads ----------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        return job

    def messages(self, job: Job) -> list[Message]:
        return self.directory.read_messages(job.service, job.job_id)

    def inputs(self, job: Job) -> dict[str, Any]:
        stored = self.store.inputs_of(job.job_id)
        if stored is None:
            return self.directory.read_legacy_inputs(job.service, job.job_id)
        data: dict[str, Any] = json.loads(stored)
        return data

    def results(self, job: Job) -> dict[str, Any]:
        """A job's outputs; {} until it has succeeded."""
        has_data, stored = self.store.results_of(job.job_id)
        if not has_data:
            return self.directory.read_legacy_results(job.service, job.job_id)
        data: dict[str, Any] = json.loads(stored) if stored is not None else {}
        return data

    def has_inputs(self, job: Job) -> bool:
        """Whether the job's inputs can still be read (start-up checks queued jobs)."""
        if self.store.inputs_of(job.job_id) is not None:
            return True
        folder = self.directory.job_dir(job.service, job.job_id)
        return (folder / "inputs.json").is_file()

    def statistics(self, service: str) -> Statistics:
        return self.store.statistics(service)

    # -- helpers --------------------------------------------------------------

    def _move(
        self, job: Job, wanted: JobStatus, *, durable: bool = True, **values: Any
    ) -> Job:
        moved, previous = self.store.transition(
            job.job_id, wanted, durable=durable, **values
        )
        self._logged(moved, previous)
        return moved

    def _logged(self, job: Job, previous: JobStatus, note: str = "") -> None:
        log.info(
            "job %s %s -> %s %s",
            job.job_id,
            previous.esri_name,
            job.status.esri_name,
            note,
            extra={
                "event": "job.transition",
                "job_id": job.job_id,
                "status": job.status.esri_name,
            },
        )
