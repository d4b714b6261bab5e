"""The web node's side of the distributed mode: jobs go to Celery workers.

A submitted job is stored first, as in the embedded mode; only then is a task
naming it sent to its service's queue. Synchronous services keep running in this
node's own pool, since a client waits on the connection for their answer.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from celery import Celery
from kombu import Connection
from kombu.exceptions import OperationalError as BrokerError

from gpserver.catalog.services import Catalog
from gpserver.catalog.state import STOPPED, ServiceStates
from gpserver.config import ServiceConfig, SiteConfig
from gpserver.errors import NotFound, ServiceBusy, StorageError
from gpserver.execution.celery_app import RUN_JOB, make_app, queue_name
from gpserver.execution.heartbeats import HeartbeatWatch
from gpserver.execution.pool import LocalExecutor
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import QUEUED, IllegalTransition
from gpserver.periodic import Periodic
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)

PROBE_INTERVAL = 5.0
"""Seconds between two looks at the broker for the health check."""
PROBE_TIMEOUT = 2.0
WAITING_INTERVAL = 0.05
"""Seconds between two writes that move sent jobs to Waiting."""


class BrokerUnavailable(ServiceBusy):
    """The broker did not take the job's task; the job was failed, not left queued."""


class CeleryExecutor:
    """Asynchronous jobs through Celery; synchronous services in a local pool."""

    def __init__(
        self,
        app: Celery,
        jobs: Jobs,
        states: ServiceStates,
        local: LocalExecutor,
        watch: HeartbeatWatch,
        waiting: WaitingMarks | None = None,
    ) -> None:
        self.app = app
        self.jobs = jobs
        self.states = states
        self.local = local
        self.watch = watch
        self.waiting = waiting or WaitingMarks(jobs)
        self.probe = BrokerProbe(app, jobs.machine)

    def start(self) -> None:
        self.local.start()
        self.watch.start()
        self.waiting.start()
        self._connect()
        self.probe.run_once()
        self.probe.start()

    def _connect(self) -> None:
        """Set up the producers now, not during the first submit. A web node starts
        whether the broker answers or not (the probe says which): it serves
        everything but submits while the broker is down."""
        with (
            contextlib.suppress(BrokerError),
            self.app.producer_or_acquire() as producer,
        ):
            producer.connection.ensure_connection(max_retries=1)

    def stop(self) -> None:
        self.probe.stop()
        self.watch.stop()
        self.waiting.stop()
        self.local.stop()
        self.app.close()

    def problems(self) -> list[str]:
        return self.local.problems() + self.probe.problems()

    def submitted(self, job: Job) -> None:
        try:
            self.send(job)
        except BrokerError as exc:
            # Left queued, the job would wait for a task that never comes.
            with contextlib.suppress(IllegalTransition, NotFound):
                self.jobs.fail(
                    job,
                    "The job could not be handed to the workers: the broker did not "
                    "answer. Submit it again.",
                )
            raise BrokerUnavailable(
                "the job queue cannot be reached right now; try again later"
            ) from exc

    def send(self, job: Job) -> None:
        hand_over(self.app, self.waiting, job)

    def execute(self, service: str, payload: dict[str, Any]) -> Any:
        return self.local.execute(service, payload)

    def pause(self, service: str, paused: bool) -> None:
        if service in self.local.pools:
            self.local.pause(service, paused)
            return
        if not paused:
            self._resend_queued(service)

    def is_paused(self, service: str) -> bool:
        # Read from the store on each call: another node may have stopped it.
        return self.states.state(service) == STOPPED

    def reconfigure(self, config: ServiceConfig) -> None:
        # Workers read an asynchronous service's edits from the store for each job;
        # a new maxInstancesPerNode applies when they restart.
        if config.key in self.local.pools:
            self.local.reconfigure(config)

    def _resend_queued(self, service: str) -> None:
        """Send the queued jobs of a started service again.

        Workers leave the jobs of a stopped service queued and drop their tasks. A
        job whose task is still on its way gets a second one, which finds the job
        taken and does nothing.
        """
        queued = self.jobs.store.in_states(QUEUED, service=service)
        for job in queued:
            self.send(job)
        if queued:
            log.info(
                "service %s started: %d queued jobs sent to the workers again",
                service,
                len(queued),
                extra={"event": "service.resent", "service": service},
            )


class BrokerProbe(Periodic):
    """Looks at the broker every few seconds, so that a health check need not."""

    name = "broker-probe"

    def __init__(self, app: Celery, machine: str) -> None:
        super().__init__(PROBE_INTERVAL, machine)
        self.app = app
        self.problem: str | None = None

    def run_once(self) -> int:
        url = self.app.conf.broker_url
        try:
            with _probe_connection(url) as connection:
                # Opening a channel makes the transport talk to the server.
                connection.default_channel  # noqa: B018
        except Exception as exc:
            if self.problem is None:
                log.warning(
                    "the broker does not answer (%s)",
                    exc,
                    extra={"event": "broker.unreachable"},
                )
            self.problem = f"the broker ({shown_url(url)}) does not answer"
            return 0
        if self.problem is not None:
            log.info("the broker answers again", extra={"event": "broker.reachable"})
        self.problem = None
        return 0

    def problems(self) -> list[str]:
        return [self.problem] if self.problem else []


def shown_url(url: str) -> str:
    """The broker URL with its password, if any, masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


def _probe_connection(url: str) -> Connection:
    options: dict[str, Any] = {}
    if url.startswith("redis"):
        # A broker that accepts connections but never answers must not hang us.
        options = {"socket_timeout": PROBE_TIMEOUT}
    return Connection(url, connect_timeout=PROBE_TIMEOUT, transport_options=options)


def queue_length(app: Celery, service: str) -> int | None:
    """Tasks waiting in the queue of ``service``; None when the broker is down."""
    try:
        with app.connection_for_read() as connection:
            channel: Any = connection.default_channel
            try:
                declared = channel.queue_declare(
                    queue=queue_name(service), passive=True
                )
            except connection.channel_errors:
                return 0  # no such queue yet: no task was ever left in it
            return int(declared.message_count)
    except BrokerError as exc:
        log.info("the broker does not answer (%s)", exc)
        return None


def send_job(app: Celery, job: Job) -> None:
    queue = queue_name(job.service)
    app.send_task(RUN_JOB, args=[job.job_id, job.service], queue=queue)
    log.debug(
        "job %s sent to queue %s",
        job.job_id,
        queue,
        extra={"event": "job.sent", "job_id": job.job_id},
    )


def hand_over(app: Celery, waiting: WaitingMarks, job: Job) -> None:
    """Send a queued job's task; the job then waits for a worker to claim it."""
    send_job(app, job)
    waiting.add(job.job_id)


class WaitingMarks(Periodic):
    """Moves the jobs whose tasks were sent to Waiting, several at a time.

    Once its task is in the queue a job waits for a worker, as on ArcGIS Server.
    Marked one by one, each submit would pay a second commit; marked by this
    thread, a burst of submits shares one, and a job turns Waiting within
    :data:`WAITING_INTERVAL` (unless a worker claimed it first).
    """

    name = "waiting-marks"

    def __init__(self, jobs: Jobs) -> None:
        super().__init__(WAITING_INTERVAL, jobs.machine)
        self.jobs = jobs
        self._sent: list[str] = []
        self._lock = threading.Lock()

    def add(self, job_id: str) -> None:
        with self._lock:
            self._sent.append(job_id)

    def stop(self) -> None:
        super().stop()
        self.run_once()

    def run_once(self) -> int:
        with self._lock:
            sent, self._sent = self._sent, []
        if not sent:
            return 0
        try:
            return len(self.jobs.wait_for_instances(sent))
        except StorageError as exc:
            # Their tasks are on their way and run them all the same; only the
            # state a client sees skips Waiting.
            log.warning("%d jobs could not be marked waiting: %s", len(sent), exc)
            return 0


def distributed_executor(
    config: SiteConfig,
    catalog: Catalog,
    jobs: Jobs,
    settings: SettingsStore,
    local: LocalExecutor,
) -> CeleryExecutor:
    """The executor of a web node in the distributed mode."""
    assert config.broker_url is not None
    app = make_app(config.broker_url)
    # A service is safe to run again from the start only if every tool says so.
    repeatable = {
        service.key
        for service in catalog
        if all(task.idempotent for task in service.tasks.values())
    }
    waiting = WaitingMarks(jobs)
    watch = HeartbeatWatch(
        jobs,
        settings,
        config.worker_heartbeat_timeout,
        repeatable=frozenset(repeatable),
        resend=functools.partial(hand_over, app, waiting),
        resend_after=config.resend_queued_after,
        queue_length=functools.partial(queue_length, app),
    )
    return CeleryExecutor(app, jobs, ServiceStates(settings), local, watch, waiting)
