"""The web node's side of the distributed mode: jobs go to Celery workers.

A submitted job is stored first, as in the embedded mode; only then is a task
naming it sent to its service's queue. Synchronous services keep running in this
node's own pool, since a client waits on the connection for their answer.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError as BrokerError

from gpserver.catalog.services import Catalog
from gpserver.catalog.state import STOPPED, ServiceStates
from gpserver.config import ServiceConfig, SiteConfig
from gpserver.errors import NotFound, ServiceBusy
from gpserver.execution.celery_app import RUN_JOB, make_app, queue_name
from gpserver.execution.heartbeats import HeartbeatWatch
from gpserver.execution.pool import LocalExecutor
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import QUEUED, IllegalTransition
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)


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
    ) -> None:
        self.app = app
        self.jobs = jobs
        self.states = states
        self.local = local
        self.watch = watch

    def start(self) -> None:
        self.local.start()
        self.watch.start()
        self._connect()

    def _connect(self) -> None:
        """Set up the producers now, not during the first submit, and say whether
        the broker answers. A web node starts either way: it serves everything but
        submits while the broker is down, and sends again once it is back."""
        try:
            with self.app.producer_or_acquire() as producer:
                producer.connection.ensure_connection(max_retries=1)
        except BrokerError as exc:
            log.warning(
                "the broker does not answer (%s); submitJob fails until it does",
                exc,
                extra={"event": "broker.unreachable"},
            )

    def stop(self) -> None:
        self.watch.stop()
        self.local.stop()
        self.app.close()

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
        send_job(self.app, job)

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


def send_job(app: Celery, job: Job) -> None:
    queue = queue_name(job.service)
    app.send_task(RUN_JOB, args=[job.job_id, job.service], queue=queue)
    log.debug(
        "job %s sent to queue %s",
        job.job_id,
        queue,
        extra={"event": "job.sent", "job_id": job.job_id},
    )


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
    watch = HeartbeatWatch(
        jobs,
        settings,
        config.worker_heartbeat_timeout,
        repeatable=frozenset(repeatable),
        resend=functools.partial(send_job, app),
    )
    return CeleryExecutor(app, jobs, ServiceStates(settings), local, watch)
