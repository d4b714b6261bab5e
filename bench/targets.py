"""Issue #8's targets, judged on a run's results.

Each target gives its verdict, the value measured, what it was measured
against, and, when missed, by how much. A target whose figure or baseline is
missing from the run is "not measured", never met.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SUBMITS_PER_SECOND = 2_500
FLATNESS = 1.3
MEMORY_MB = 200
MEMORY_SAME = 1.1
""""The same at both store sizes": the larger store's peak within 10 %."""
QUERY_MS = 5.0


@dataclass(frozen=True)
class Verdict:
    figure: int
    target: str
    met: bool | None
    """None: not measured in this run."""
    measured: str
    missed_by: str = ""
    profile: str = ""
    """Which profile of the run shows what is in the way."""


def judge(results: dict[str, Any]) -> list[Verdict]:
    checks: list[Callable[[dict[str, Any]], list[Verdict]]] = [
        _figure1,
        _figure2,
        _figure3,
        _figure4,
        _figure5,
        _figure6,
        _figure7,
    ]
    verdicts = []
    for check in checks:
        try:
            verdicts += check(results)
        except (KeyError, IndexError, TypeError, ZeroDivisionError) as exc:
            figure = int(check.__name__[-1])
            verdicts.append(Verdict(figure, "", None, f"not measured ({exc!r})"))
    return verdicts


def median(spread: dict[str, float]) -> float:
    return float(spread["median"])


def _figure1(r: dict[str, Any]) -> list[Verdict]:
    s = r["submit"]["submit"]["summary"]
    rps = median(s["gpserver"]["rps"])
    ratio = median(s["gpserver"]["rps_ratio"])
    floor = median(s["floor"]["rps"])
    return [
        _at_least(1, f"at least {SUBMITS_PER_SECOND:,} submits/s", rps, 2500, "/s"),
        _at_least(
            1,
            "at least a third of the floor's insert rate",
            ratio,
            1 / 3,
            "x the floor",
            note=f"floor {floor:,.0f}/s",
        ),
    ]


def _figure2(r: dict[str, Any]) -> list[Verdict]:
    gp = median(r["submit"]["batch"]["summary"]["completed_per_second"])
    celery = median(r["celery"]["batch"]["summary"]["completed_per_second"])
    return [
        _at_least(
            2,
            "at least Celery's completed tasks/s",
            gp,
            celery,
            " jobs/s",
            note=f"Celery {celery:,.0f}/s",
        )
    ]


def _figure3(r: dict[str, Any]) -> list[Verdict]:
    gp = median(r["submit"]["latency"]["summary"]["server_ms"])
    celery = median(r["celery"]["latency"]["summary"]["round_trip_ms"])
    met = gp <= celery
    return [
        Verdict(
            3,
            "by the server's clock at most Celery's round trip",
            met,
            f"{gp:.1f} ms against Celery's {celery:.1f} ms",
            "" if met else f"{gp - celery:.1f} ms ({gp / celery:.2f}x)",
            "" if met else "submit",
        )
    ]


def _figure4(r: dict[str, Any]) -> list[Verdict]:
    sizes = [s for s in r["store"]["sizes"] if "polls" in s]
    verdicts = [
        _at_least(
            4,
            f"at least half the floor's read-by-key rate, {s['jobs']:,} jobs",
            median(s["polls"]["summary"]["gpserver"]["rps_ratio"]),
            0.5,
            "x the floor",
            note=f"{median(s['polls']['summary']['gpserver']['rps']):,.0f} req/s",
            profile="polls",
        )
        for s in sizes
    ]
    return [*verdicts, _flat(4, r["store"]["flatness"]["polls"], "polls")]


def _figure5(r: dict[str, Any]) -> list[Verdict]:
    sizes = [s for s in r["store"]["sizes"] if "statistics" in s]
    verdicts = [
        _at_least(
            5,
            f"at least a third of the floor's constant rate, {s['jobs']:,} jobs",
            median(s["statistics"]["summary"]["gpserver"]["rps_ratio"]),
            1 / 3,
            "x the floor",
            note=f"{median(s['statistics']['summary']['gpserver']['rps']):,.0f} req/s",
            profile="statistics",
        )
        for s in sizes
    ]
    flat = r["store"]["flatness"]["statistics"]
    return [*verdicts, _flat(5, flat, "statistics")]


def _figure6(r: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    for s in r["store"]["sizes"]:
        for page in ("first", "deep"):
            if "query" not in s:
                continue
            p50 = median(s["query"][page]["summary"]["p50"])
            met = p50 < QUERY_MS
            verdicts.append(
                Verdict(
                    6,
                    f"{page} page under {QUERY_MS:g} ms at the median, "
                    f"{s['jobs']:,} jobs",
                    met,
                    f"{p50:.1f} ms",
                    "" if met else f"{p50 - QUERY_MS:.1f} ms ({p50 / QUERY_MS:.1f}x)",
                    "" if met else "query",
                )
            )
    if not verdicts:
        raise KeyError("query")
    return verdicts


def _figure7(r: dict[str, Any]) -> list[Verdict]:
    sizes = [s for s in r["store"]["sizes"] if "memory" in s]
    verdicts = []
    for s in sizes:
        mb = s["memory"]["server_mb"]
        verdicts.append(
            Verdict(
                7,
                f"server peak RSS under {MEMORY_MB} MB, {s['jobs']:,} jobs",
                mb < MEMORY_MB,
                f"{mb:.0f} MB (workers {s['memory']['children_total_mb']:.0f} MB)",
                "" if mb < MEMORY_MB else f"{mb - MEMORY_MB:.0f} MB",
            )
        )
    if len(sizes) >= 2:
        small, large = sizes[0]["memory"]["server_mb"], sizes[-1]["memory"]["server_mb"]
        grew = large / small
        verdicts.append(
            Verdict(
                7,
                f"the same at both store sizes (within {MEMORY_SAME}x)",
                grew <= MEMORY_SAME,
                f"{grew:.2f}x",
                "" if grew <= MEMORY_SAME else f"{grew - MEMORY_SAME:.2f}x over",
            )
        )
    return verdicts


def _at_least(
    figure: int,
    target: str,
    value: float,
    wanted: float,
    unit: str,
    note: str = "",
    profile: str = "submit",
) -> Verdict:
    met = value >= wanted
    shown = f"{value:,.2f}{unit}" if value < 10 else f"{value:,.0f}{unit}"
    if note:
        shown += f" ({note})"
    short = "" if met else f"{wanted - value:,.2f} short ({value / wanted:.2f} of it)"
    return Verdict(figure, target, met, shown, short, "" if met else profile)


def _flat(figure: int, flat: dict[str, Any], profile: str) -> Verdict:
    if not flat:
        return Verdict(figure, "flat across store sizes", None, "needs two sizes")
    worst = max(flat["gpserver"].values())
    met = worst <= FLATNESS
    return Verdict(
        figure,
        f"flat: {flat['largest']:,} jobs within {FLATNESS}x of {flat['smallest']:,}",
        met,
        f"{worst:.2f}x at worst (throughput {flat['gpserver']['throughput']:.2f}x, "
        f"p50 {flat['gpserver']['p50_latency']:.2f}x, CPU/request "
        f"{flat['gpserver']['cpu_per_request']:.2f}x)",
        "" if met else f"{worst - FLATNESS:.2f}x over",
        "" if met else profile,
    )
