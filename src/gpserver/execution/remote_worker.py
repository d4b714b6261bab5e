"""A Celery worker for one service: the worker side of the distributed mode.

``gpserver worker`` starts one such process per service it serves. It consumes the
service's queue with as many threads as the service has instances on this machine.
Each task claims its job through the jobs API, runs the tool in a child process
(the same :func:`~gpserver.execution.worker.run_job` as the embedded pool), and
watches the store meanwhile: a cancel request or a job past ``maxUsageTime`` kills
the child, and a heartbeat every few seconds tells the web nodes it is alive.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import forkserver
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy.engine import make_url

from gpserver.catalog.services import load_service
from gpserver.catalog.state import STOPPED, ServiceStates
from gpserver.config import ServiceConfig
from gpserver.db import Database
from gpserver.errors import NotFound, StorageError
from gpserver.execution.celery_app import RUN_JOB, make_app, queue_name
from gpserver.execution.worker import run_job
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.jobs.store import JobStore
from gpserver.logs import configure_logging
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)

TICK = 0.2
CANCEL_GRACE = 0.8
"""How long a tool may take to notice a cancel request before it is killed."""
WATCH_INTERVAL = 0.5
INSTANCE_WAIT = 0.5
"""How long a task waits for an instance, lowered by an edit, to be free before
it goes back to the queue."""


@dataclass(frozen=True)
class ServiceWorkerSettings:
    """Everything a service's worker process needs, in a form that pickles."""

    service: ServiceConfig
    """As configured in the file; edits stored by administrators are laid over it."""
    broker_url: str
    database_url: str
    jobs_root: str
    concurrency: int
    heartbeat_interval: float
    instances_follow_edits: bool = True
    """Whether an edited ``maxInstancesPerNode`` lowers ``concurrency`` at run time
    (not when ``--concurrency`` set it)."""
    log_level: int = logging.INFO
    parent_pid: int = field(default_factory=os.getpid)
    """The ``gpserver worker`` that started this one; without it, this one ends."""


def service_worker_main(settings: ServiceWorkerSettings) -> None:
    """Run a Celery worker on the service's queue until told to stop."""
    configure_logging(settings.log_level)
    # The command forwards signals itself; a Ctrl-C in the terminal reaches only it.
    os.setpgrp()
    exit_without(settings.parent_pid, "gpserver worker")
    runner = JobRunner(settings)
    app = make_app(settings.broker_url)
    key = settings.service.key

    @app.task(name=RUN_JOB)
    def run(job_id: str, service: str) -> None:
        try:
            runner.run(job_id, service)
        except NoFreeInstance:
            # To the end of the queue, for another worker now or this one later.
            # Sent anew rather than rejected, which Celery logs as a warning with
            # a traceback every half second. Should the broker not take it, the
            # web nodes send it again after resendQueuedAfter.
            app.send_task(RUN_JOB, args=[job_id, service], queue=queue_name(key))

    worker = app.Worker(
        hostname=f"{queue_name(key)}.{os.getpid()}@{socket.gethostname()}",
        queues=[queue_name(key)],
        concurrency=settings.concurrency,
        pool="threads",
        loglevel=logging.getLevelName(settings.log_level),
        quiet=True,
        without_mingle=True,
        without_gossip=True,
    )
    log.info(
        "worker for %s on queue %s, instances: %d",
        key,
        queue_name(key),
        settings.concurrency,
        extra={"event": "worker.listening", "service": key},
    )
    try:
        worker.start()
    finally:
        runner.close()
    sys.exit(worker.exitcode)


class NoFreeInstance(Exception):
    """Every instance the service may have on this worker is busy."""


class Instances:
    """The jobs a worker runs at once, against a limit an edit may lower.

    Celery runs as many threads as the service had instances when the worker
    started; an administrator's edit can only lower that number until a restart.
    """

    def __init__(self) -> None:
        self.running = 0
        self._freed = threading.Condition()

    def take(self, limit: int, wait: float) -> bool:
        """Take an instance, waiting up to ``wait`` seconds for one to be free."""
        deadline = time.monotonic() + wait
        with self._freed:
            while self.running >= limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._freed.wait(remaining)
            self.running += 1
        return True

    def give_back(self) -> None:
        with self._freed:
            self.running -= 1
            self._freed.notify()


class JobRunner:
    """Runs the jobs of one service, each in a child process it supervises."""

    def __init__(self, settings: ServiceWorkerSettings) -> None:
        self.settings = settings
        database = Database(settings.database_url)
        self.jobs = Jobs(JobStore(database), JobsDirectory(Path(settings.jobs_root)))
        self.states = ServiceStates(SettingsStore(database))
        self.name = f"{self.jobs.machine}:{os.getpid()}"
        self.instances = Instances()
        self._children = multiprocessing.get_context("forkserver")
        self._children.set_forkserver_preload(
            [settings.service.toolbox, *_preloaded(database.url)]
        )
        # Start the fork server now, so that the first job does not wait for it
        # to import the toolbox.
        forkserver.ensure_running()

    def close(self) -> None:
        self.jobs.store.dispose()

    def run(self, job_id: str, service: str) -> None:
        base = self.settings.service
        if service != base.key:
            log.error("job %s of %s reached the queue of %s", job_id, service, base.key)
            return
        if self.states.state(service) == STOPPED:
            # The job stays queued; starting the service sends its task again.
            log.info(
                "job %s waits: service %s is stopped",
                job_id,
                service,
                extra={"event": "job.held", "job_id": job_id},
            )
            return
        config = self.states.apply_edits(base)
        limit = self._limit(config)
        if not self.instances.take(limit, INSTANCE_WAIT):
            log.debug(
                "job %s: all %d instances here are busy; back to the queue",
                job_id,
                limit,
                extra={"event": "job.requeued", "job_id": job_id},
            )
            raise NoFreeInstance(job_id)
        try:
            self._claim_and_run(job_id, config)
        finally:
            self.instances.give_back()

    def _limit(self, config: ServiceConfig) -> int:
        if not self.settings.instances_follow_edits:
            return self.settings.concurrency
        return min(config.max_instances, self.settings.concurrency)

    def _claim_and_run(self, job_id: str, config: ServiceConfig) -> None:
        try:
            job = self.jobs.claim(job_id, self.name)
        except (IllegalTransition, NotFound) as exc:
            # Delivered twice, cancelled while queued, or deleted: nothing to run.
            log.info(
                "job %s skipped: %s",
                job_id,
                exc,
                extra={"event": "job.skipped", "job_id": job_id},
            )
            return
        self._supervise(job, config)

    def _supervise(self, job: Job, config: ServiceConfig) -> None:
        child = self._children.Process(
            target=_child_main,
            args=(self.settings, os.getpid(), job.job_id, config),
            name=f"job-{job.job_id}",
        )
        child.start()
        started = time.monotonic()
        # The limit in force when the job started; later edits do not move it.
        limit = config.max_usage_time
        next_heartbeat = started + self.settings.heartbeat_interval
        cancel_seen: float | None = None
        while True:
            child.join(TICK)
            if not child.is_alive():
                break
            now = time.monotonic()
            try:
                if now >= next_heartbeat:
                    next_heartbeat = now + self.settings.heartbeat_interval
                    self.jobs.store.heartbeat([job.job_id])
                status = self.jobs.store.statuses([job.job_id]).get(job.job_id)
            except StorageError as exc:
                # The tool goes on; the heartbeat watch decides if this lasts.
                log.warning("job %s: the store is unreachable: %s", job.job_id, exc)
                continue
            if now - started > limit:
                self._stop(child, job, "timeout")
                self._end(job, partial(self.jobs.time_out, limit_seconds=limit))
                return
            if status in (JobStatus.CANCELLING, JobStatus.CANCELLED, None):
                # Wait is a good citizen and returns at once; others are killed.
                cancel_seen = cancel_seen or now
                if now - cancel_seen >= CANCEL_GRACE:
                    self._stop(child, job, "cancel")
                    self._end(job, self.jobs.finish_cancelled)
                    return
            elif status is not JobStatus.EXECUTING:
                # Settled elsewhere, most likely failed by the heartbeat watch.
                self._stop(child, job, "ended")
                return
        if child.exitcode != 0:
            log.error(
                "job %s: the process running it died (exit code %s)",
                job.job_id,
                child.exitcode,
                extra={"event": "worker.died", "job_id": job.job_id},
            )
            reason = (
                "The process running the job stopped unexpectedly "
                f"(exit code {child.exitcode})."
            )
            self._end(job, partial(self.jobs.fail, reason=reason))

    def _stop(self, child: BaseProcess, job: Job, reason: str) -> None:
        log.info(
            "stopping the process of job %s (%s)",
            job.job_id,
            reason,
            extra={"event": f"worker.stop_{reason}", "job_id": job.job_id},
        )
        child.kill()
        child.join(timeout=5)

    def _end(self, job: Job, action: Callable[[Job], Job]) -> None:
        try:
            action(self.jobs.get(job.job_id))
        except IllegalTransition as exc:
            log.info("job %s already ended as %s", job.job_id, exc.current.esri_name)
        except NotFound:
            log.info("job %s was deleted while it ran", job.job_id)


def _preloaded(url: str) -> list[str]:
    """What the fork server imports once, so that each job's process need not.

    A child imports the module of the function it runs (this one, with Celery),
    runs the command's main module again as multiprocessing does, and connects to
    the store through its dialect and driver: imported in each child, that was
    half a second of every job. So: every gpserver module this process has, and
    the store's SQLAlchemy dialect and database driver.
    """
    ours = sorted(name for name in sys.modules if name.startswith("gpserver."))
    dialect = make_url(url).get_dialect()
    return [*ours, dialect.__module__, dialect.import_dbapi().__name__]


def _child_main(
    settings: ServiceWorkerSettings, supervisor: int, job_id: str, config: ServiceConfig
) -> None:
    configure_logging(settings.log_level)
    exit_without(supervisor, "the worker supervising the job")
    service = load_service(config)
    store = JobStore(settings.database_url)
    try:
        run_job(Jobs(store, JobsDirectory(Path(settings.jobs_root))), service, job_id)
    finally:
        store.dispose()


def exit_without(pid: int, what: str) -> None:
    """End this process soon after process ``pid`` is gone, even mid-job.

    Left running, an orphan would go on with a job whose heartbeats nobody sends,
    and finish it after the web nodes have already failed it.
    """

    def watch() -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                log.warning("%s (pid %d) is gone; this process exits", what, pid)
                os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
