"""Finding the jobs of worker machines that stopped, in the distributed mode.

A Celery worker records a heartbeat on each job it runs every few seconds. A job
whose heartbeat is older than the timeout lost its worker: the machine stopped,
the process was killed, or the network is gone. Such a job is failed with a
message that says so, or put back in the queue when its service is safe to run
again. One web node at a time does this, by holding a lease in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gpserver.errors import NotFound
from gpserver.jobs.model import Job, now_ms
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus
from gpserver.periodic import Periodic
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)

LEASE = "execution.heartbeat_watch"
RUNNING = (JobStatus.EXECUTING, JobStatus.CANCELLING)


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
    ) -> None:
        super().__init__(check_interval(timeout), jobs.machine)
        self.jobs = jobs
        self.settings = settings
        self.timeout = timeout
        self.repeatable = repeatable
        self.resend = resend

    def run_once(self) -> int:
        """Settle the jobs whose worker was lost; return how many."""
        if not self.settings.claim_lease(LEASE, self.holder, self.interval * 3):
            return 0
        cutoff = now_ms() - int(self.timeout * 1000)
        lost = [j for j in self.jobs.store.in_states(RUNNING) if _last_sign(j) < cutoff]
        return sum(self._settle(job) for job in lost)

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
