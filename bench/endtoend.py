"""Jobs from submission to success, read from each system's own store.

Figure 2 submits a batch and waits until the store says every job of it is
finished; its rate is the batch over the time from the first submission to the
last finish, both by the store's clock. Figure 3 submits one job at a time and
polls it, and takes two latencies: the store's (finished minus submitted) and
the client's (from sending the submit to reading the first answer that says
the job succeeded). Each system gives a ``read`` function returning a Tally.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import spread

POLL_INTERVAL = 0.005
"""Seconds between a figure-3 client's polls: short, so that the client's
latency is not mostly its own waiting, yet not a busy loop on the server's core."""


@dataclass(frozen=True)
class Tally:
    """A batch as a store holds it; times are epoch seconds."""

    succeeded: int
    other_finished: int
    unfinished: int
    first_submitted: float | None
    last_finished: float | None


def wait_for_batch(
    read: Callable[[], Tally], expected: int, limit: float
) -> dict[str, Any]:
    """Wait (at most ``limit`` seconds) until at least ``expected`` jobs are
    finished and none is left unfinished. A closed loop stopped at a count
    submits a few more than it counts (the requests in flight), so the store's
    count, not ``expected``, is the batch."""
    began = time.monotonic()
    tally = read()
    while (
        tally.succeeded + tally.other_finished < expected or tally.unfinished
    ) and time.monotonic() - began < limit:
        time.sleep(0.05)
        tally = read()
    span = (
        tally.last_finished - tally.first_submitted
        if tally.last_finished is not None and tally.first_submitted is not None
        else float("nan")
    )
    return {
        "expected": expected,
        "succeeded": tally.succeeded,
        "other_finished": tally.other_finished,
        "unfinished": tally.unfinished,
        "waited_seconds": time.monotonic() - began,
        "store_span_seconds": span,
        "completed_per_second": (tally.succeeded + tally.other_finished) / span
        if span > 0
        else 0.0,
        "complete": tally.unfinished == 0
        and tally.succeeded + tally.other_finished >= expected,
    }


def batch_summary(batches: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "completed_per_second": spread([b["completed_per_second"] for b in batches]),
        "jobs": spread([float(b["succeeded"] + b["other_finished"]) for b in batches]),
        "all_succeeded": all(
            b["complete"] and b["other_finished"] == 0 for b in batches
        ),
    }


def latency_summary(runs: list[list[dict[str, float]]]) -> dict[str, Any]:
    """Per run the median of its jobs; then the median of those, with spread."""

    def per_run(key: str) -> list[float]:
        medians = []
        for jobs in runs:
            values = sorted(j[key] for j in jobs if key in j)
            if values:
                medians.append(values[len(values) // 2])
        return medians

    return {
        "server_ms": spread(per_run("server_ms")),
        "client_ms": spread(per_run("client_ms")),
        "jobs_per_run": len(runs[0]) if runs else 0,
        "poll_interval_ms": POLL_INTERVAL * 1000,
    }
