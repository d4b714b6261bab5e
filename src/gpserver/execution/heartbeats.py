"""Finding the jobs that lost their worker or their task, in the distributed mode.

A Celery worker records a heartbeat on each job it runs every few seconds. A job
whose heartbeat is older than the timeout lost its worker: the machine stopped,
the process was killed, or the network is gone. Such a job is failed with a
message that says so, or put back in the queue when its service is safe to run
again.

A queued job can also lose its task: a broker restarted without persistence
forgets what it held. A job queued for longer than ``resendQueuedAfter`` whose
service's queue holds fewer tasks than the service has queued jobs gets its task
sent again. A job that ends up with two tasks runs once: the second finds it
claimed and is skipped.

One web node at a time does both, by holding a lease in the store.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from gpserver.catalog.state import STOPPED, ServiceStates
from gpserver.errors import NotFound
from gpserver.jobs.model import Job, now_ms
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.periodic import Periodic
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)

LEASE = "execution.heartbeat_watch"
RUNNING = (JobStatus.EXECUTING, JobStatus.CANCELLING)
RESEND_BATCH = 500
"""At most this many queued jobs are sent again per look, oldest first."""


def check_interval(timeout: float) -> float:
    """How often to look for lost jobs: often enough to settle one soon after."""
    return min(5.0, timeout / 3)


def heartbeat_interval(timeout: float) -> float:
    """How often a worker records a heartbeat: several times within the timeout."""
    return min(5.0, timeout / 4)


class HeartbeatWatch(Periodic):
    name = "heartbeat-watch"

    def __init__(
        self,
        jobs: Jobs,
        settings: SettingsStore,
        timeout: float,
        *,
        repeatable: frozenset[str],
        resend: Callable[[Job], None],
        resend_after: float | None = None,
        queue_length: Callable[[str], int | None] | None = None,
    ) -> None:
        """``resend`` sends a job's task; ``queue_length`` counts the tasks waiting
        in a service's queue (None when the broker does not answer). Without
        ``resend_after`` queued jobs are never sent again."""
        super().__init__(check_interval(timeout), jobs.machine)
        self.jobs = jobs
        self.settings = settings
        self.states = ServiceStates(settings)
        self.timeout = timeout
        self.repeatable = repeatable
        self.resend = resend
        self.resend_after = resend_after
        self.queue_length = queue_length

    def run_once(self) -> int:
        """Settle the jobs whose worker or task was lost; return how many."""
        if not self.settings.claim_lease(LEASE, self.holder, self.interval * 3):
            return 0
        cutoff = now_ms() - int(self.timeout * 1000)
        lost = [j for j in self.jobs.store.in_states(RUNNING) if _last_sign(j) < cutoff]
        settled = sum(self._settle(job) for job in lost)
        return settled + self.resend_lost_tasks()

    def resend_lost_tasks(self) -> int:
        """Send the tasks of queued jobs again where the broker lost some."""
        if self.resend_after is None or self.queue_length is None:
            return 0
        cutoff = now_ms() - int(self.resend_after * 1000)
        stale: dict[str, list[Job]] = defaultdict(list)
        for job in self.jobs.store.queued_before(cutoff, RESEND_BATCH):
            stale[job.service].append(job)
        sent = 0
        for service, jobs in stale.items():
            # Workers drop the tasks of a stopped service; starting it resends them.
            if self.states.state(service) == STOPPED:
                continue
            waiting = self.queue_length(service)
            if waiting is None or waiting >= self.jobs.store.count_queued(service):
                continue  # the broker is down, or every queued job has its task
            for job in jobs:
                self.resend(job)
                self.jobs.store.touch(job.job_id)
                log.warning(
                    "job %s queued for %.0f s and its task is not in the queue of "
                    "%s (%d waiting there); sent again",
                    job.job_id,
                    (now_ms() - job.modified_ms) / 1000,
                    service,
                    waiting,
                    extra={"event": "job.resent", "job_id": job.job_id},
                )
                sent += 1
        return sent

    def _settle(self, job: Job) -> bool:
        silent = (now_ms() - _last_sign(job)) / 1000
        log.warning(
            "job %s on %s sent no heartbeat for %.0f s; its worker is lost",
            job.job_id,
            job.worker,
            silent,
            extra={"event": "job.worker_lost", "job_id": job.job_id},
        )
        try:
            if job.status is JobStatus.CANCELLING:
                self.jobs.finish_cancelled(job)
            elif job.service in self.repeatable:
                requeued = self.jobs.requeue(
                    job,
                    f"The worker running the job ({job.worker}) stopped; the job "
                    "runs again from the start.",
                )
                self.resend(requeued)
            else:
                self.jobs.fail(
                    job,
                    f"The worker machine running the job ({job.machine}) stopped: "
                    f"no sign of it for {silent:.0f} seconds. Submit the job again.",
                )
        except (IllegalTransition, NotFound):
            return False  # it ended meanwhile; its worker was only slow
        return True


def _last_sign(job: Job) -> int:
    """When the job's worker last showed it was alive."""
    return job.heartbeat_ms or job.started_ms or job.modified_ms
