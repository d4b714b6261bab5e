"""Rounds: several systems measured in turn, the order rotated each round.

Whatever else the machine does then weighs on every system alike, and the
figure that matters is each one's ratio to the baseline measured in the same
round. Servers share one core, so every server but the one measured is frozen
(SIGSTOP) meanwhile: an idle server is not always idle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness import Cores, Load, Server, run_load, spread


@dataclass(frozen=True)
class Contender:
    """One system in the rounds: its load, its server, and what to do after
    each of its runs (wait for a queue to drain, say), whose result is kept."""

    name: str
    load: Load
    server: Server
    after: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def alternate(
    contenders: Sequence[Contender],
    cores: Cores,
    runs: int,
    workdir: Path | None = None,
    warm_seconds: float = 1.0,
) -> list[dict[str, Any]]:
    """``runs`` rounds of one run each; a short unmeasured run of each first,
    unless the runs themselves are shorter than a second (a smoke run)."""
    for c in contenders if contenders[0].load.seconds >= 1 else []:
        _measure(c, replace(c.load, seconds=warm_seconds), contenders, cores, workdir)
    rounds = []
    for index in range(runs):
        shift = index % len(contenders)
        order = [*contenders[shift:], *contenders[:shift]]
        rounds.append(
            {c.name: _measure(c, c.load, contenders, cores, workdir) for c in order}
        )
    return rounds


def _measure(
    contender: Contender,
    load: Load,
    everyone: Sequence[Contender],
    cores: Cores,
    workdir: Path | None,
) -> dict[str, Any]:
    others = [c.server for c in everyone if c.server is not contender.server]
    for server in others:
        server.pause()
    try:
        result = run_load(load, cores, contender.server, workdir=workdir)
        if contender.after is not None:
            result["after"] = contender.after(result)
    finally:
        for server in others:
            server.resume()
    return result


def summarize(rounds: list[dict[str, Any]], baseline: str) -> dict[str, Any]:
    """Each contender's throughput, latency and CPU cost over the rounds, and
    its ratios to ``baseline`` round by round."""
    names = list(rounds[0])
    summary: dict[str, Any] = {}
    for name in names:
        runs = [r[name] for r in rounds]
        summary[name] = {
            "rps": spread([r["rps"] for r in runs]),
            "p50": spread([r["latency_ms"]["p50"] for r in runs]),
            "p99": spread([r["latency_ms"]["p99"] for r in runs]),
            "errors": sum(r["errors"] for r in runs),
            "first_error": next((r["first_error"] for r in runs if r["errors"]), ""),
            "server_cpu_share": spread([r.get("server_cpu_share", 0.0) for r in runs]),
            "server_cpu_ms_per_request": spread(
                [r.get("server_cpu_ms_per_request", 0.0) for r in runs]
            ),
            "client_cpu_share": spread([r["client_cpu_share"] for r in runs]),
        }
        if name != baseline:
            summary[name]["rps_ratio"] = spread(
                [r[name]["rps"] / r[baseline]["rps"] for r in rounds]
            )
            summary[name]["p50_ratio"] = spread(
                [
                    r[name]["latency_ms"]["p50"] / r[baseline]["latency_ms"]["p50"]
                    for r in rounds
                ]
            )
    return summary


def line(summary: dict[str, Any]) -> str:
    """One line for the console: each contender's median rate and latency."""
    return ", ".join(
        f"{name} {s['rps']['median']:,.0f} req/s (p50 {s['p50']['median']:.1f} ms)"
        for name, s in summary.items()
    )
