"""The Celery application both sides of the distributed mode agree on.

Web nodes only send tasks by name; worker processes register the task that runs
them. Both build the application here, so queue names, serialisation and the
acknowledgement rules cannot drift apart.
"""

from __future__ import annotations

from celery import Celery

RUN_JOB = "gpserver.run_job"
"""The one task: its arguments are a job id and the path of the job's service."""

VISIBILITY_TIMEOUT = 12 * 3600
"""Seconds before Redis hands an unacknowledged task to another worker.

Delivering a task twice is harmless (the second one finds its job no longer queued
and skips it), so this only has to outlast most jobs to save pointless deliveries.
"""


def queue_name(service: str) -> str:
    """The queue of a service: ``gpserver.Samples.Diagnostics`` for its path."""
    return "gpserver." + service.replace("/", ".")


def make_app(broker_url: str) -> Celery:
    app = Celery("gpserver", broker=broker_url, set_as_current=False)
    app.conf.update(
        # The job row, not a Celery result, is the record of what happened.
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only when it ended, so a worker lost mid-job does
        # not take the task with it; the job itself is settled by heartbeats.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A worker takes one task per free instance, never more, so that another
        # machine with a free instance gets the next job.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
    )
    return app
