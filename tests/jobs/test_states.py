from __future__ import annotations

import pytest

from gpserver.jobs.states import IllegalTransition, JobStatus, check_transition


def test_status_names_and_ordinals_follow_esri_job_status() -> None:
    assert [(s.esri_name, s.ordinal) for s in JobStatus] == [
        ("esriJobNew", 0),
        ("esriJobSubmitted", 1),
        ("esriJobWaiting", 2),
        ("esriJobExecuting", 3),
        ("esriJobSucceeded", 4),
        ("esriJobFailed", 5),
        ("esriJobTimedOut", 6),
        ("esriJobCancelling", 7),
        ("esriJobCancelled", 8),
        ("esriJobDeleting", 9),
        ("esriJobDeleted", 10),
    ]


def test_from_esri_is_case_insensitive() -> None:
    assert JobStatus.from_esri("esrijobsucceeded") is JobStatus.SUCCEEDED


def test_a_cancelled_job_cannot_go_back_to_executing() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition("j1", JobStatus.CANCELLED, JobStatus.EXECUTING)
    assert str(caught.value) == (
        "job j1 is esriJobCancelled and cannot become esriJobExecuting"
    )


def test_a_cancelling_job_cannot_succeed() -> None:
    with pytest.raises(IllegalTransition):
        check_transition("j1", JobStatus.CANCELLING, JobStatus.SUCCEEDED)


@pytest.mark.parametrize(
    "start",
    [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELLED],
)
def test_finished_jobs_only_move_to_deleting(start: JobStatus) -> None:
    for wanted in JobStatus:
        if wanted is JobStatus.DELETING:
            check_transition("j1", start, wanted)
        else:
            with pytest.raises(IllegalTransition):
                check_transition("j1", start, wanted)
