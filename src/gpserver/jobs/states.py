"""Job states and the only legal ways to move between them."""

from __future__ import annotations

import enum

from gpserver.errors import GPServerError


class JobStatus(enum.Enum):
    """The esriJob* states; ``ordinal`` is the ArcObjects esriJobStatus number."""

    NEW = ("esriJobNew", 0)
    """Created, not yet queued. gpserver writes jobs as Submitted directly."""
    SUBMITTED = ("esriJobSubmitted", 1)
    """Durably accepted and waiting to be picked up by the worker pool."""
    WAITING = ("esriJobWaiting", 2)
    """Seen by the pool, but every instance of the service is busy."""
    EXECUTING = ("esriJobExecuting", 3)
    """A worker is running the tool."""
    SUCCEEDED = ("esriJobSucceeded", 4)
    """The tool returned; results are in the job's folder."""
    FAILED = ("esriJobFailed", 5)
    """The tool raised, its worker died, or the server stopped while it ran."""
    TIMED_OUT = ("esriJobTimedOut", 6)
    """The tool ran longer than the service's maxUsageTime and was stopped."""
    CANCELLING = ("esriJobCancelling", 7)
    """A client asked to cancel a running job; its worker is being stopped."""
    CANCELLED = ("esriJobCancelled", 8)
    """Cancelled before it ran, or stopped while it ran."""
    DELETING = ("esriJobDeleting", 9)
    """Being removed together with its folder."""
    DELETED = ("esriJobDeleted", 10)
    """Removed; never stored, only reported."""

    def __init__(self, esri_name: str, ordinal: int) -> None:
        self.esri_name = esri_name
        self.ordinal = ordinal

    @classmethod
    def from_esri(cls, name: str) -> JobStatus:
        for member in cls:
            if member.esri_name.lower() == name.lower():
                return member
        raise ValueError(f"unknown job status {name!r}")

    @classmethod
    def from_ordinal(cls, ordinal: int) -> JobStatus:
        for member in cls:
            if member.ordinal == ordinal:
                return member
        raise ValueError(f"unknown job status ordinal {ordinal}")

    @property
    def is_finished(self) -> bool:
        return self in FINISHED

    @property
    def is_queued(self) -> bool:
        return self in QUEUED


QUEUED = frozenset({JobStatus.NEW, JobStatus.SUBMITTED, JobStatus.WAITING})
FINISHED = frozenset(
    {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.TIMED_OUT,
        JobStatus.CANCELLED,
    }
)

_ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.NEW: frozenset({JobStatus.SUBMITTED, JobStatus.CANCELLED}),
    JobStatus.SUBMITTED: frozenset(
        {JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.CANCELLED, JobStatus.FAILED}
    ),
    JobStatus.WAITING: frozenset(
        {JobStatus.EXECUTING, JobStatus.CANCELLED, JobStatus.FAILED}
    ),
    JobStatus.EXECUTING: frozenset(
        {
            JobStatus.SUCCEEDED,
            JobStatus.FAILED,
            JobStatus.TIMED_OUT,
            JobStatus.CANCELLING,
            JobStatus.CANCELLED,
            # A crash recovery may put an executing job back in the queue when its
            # service declares its tools safe to repeat.
            JobStatus.SUBMITTED,
        }
    ),
    JobStatus.CANCELLING: frozenset(
        {JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.TIMED_OUT}
    ),
    JobStatus.SUCCEEDED: frozenset({JobStatus.DELETING}),
    JobStatus.FAILED: frozenset({JobStatus.DELETING}),
    JobStatus.TIMED_OUT: frozenset({JobStatus.DELETING}),
    JobStatus.CANCELLED: frozenset({JobStatus.DELETING}),
    JobStatus.DELETING: frozenset({JobStatus.DELETED}),
    JobStatus.DELETED: frozenset(),
}


class IllegalTransition(GPServerError):
    """A job cannot move from its current state to the one asked for."""

    code = 400

    def __init__(self, job_id: str, current: JobStatus, wanted: JobStatus) -> None:
        super().__init__(
            f"job {job_id} is {current.esri_name} and cannot become {wanted.esri_name}"
        )
        self.current = current
        self.wanted = wanted


def allowed_sources(target: JobStatus) -> frozenset[JobStatus]:
    """Every state from which ``target`` may be reached."""
    return frozenset(src for src, targets in _ALLOWED.items() if target in targets)


def check_transition(job_id: str, current: JobStatus, wanted: JobStatus) -> None:
    if wanted not in _ALLOWED[current]:
        raise IllegalTransition(job_id, current, wanted)
