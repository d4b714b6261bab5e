"""The results of a run as a Markdown page: figures first, then how they were got."""

from __future__ import annotations

from typing import Any


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    lines = [
        f"# gpserver benchmarks, {env['date']}",
        "",
        f"Commit `{env['commit']}`"
        + (" with uncommitted changes under src/" if env["work_tree_changed"] else "")
        + f"; Python {env['python']}; {env['cpu']}, {env['cores']} cores; "
        f"{env['pinning']}; load from {env['load_client']}.",
        f"Work files on {env['workdir_mount']}. Whole run: "
        f"{results['seconds'] / 60:.1f} min.",
        "",
        "Figures are medians over several runs, with [lowest-highest] beside them.",
        "",
        _busy_line(results),
        "",
    ]
    if "statistics" in results:
        lines += _statistics(results["statistics"])
    if "sweep" in results:
        lines += _sweep(results["sweep"])
    return "\n".join(lines) + "\n"


def _busy_line(results: dict[str, Any]) -> str:
    shares = [results.get(key) for key in ("busy_before", "busy_between", "busy_after")]
    shown = ", ".join(f"{s:.0%}" for s in shares if s is not None)
    return (
        f"Other work on the machine (share of both cores busy, sampled for 1 s "
        f"before, between and after the scenarios): {shown}."
    )


def _fmt(s: dict[str, Any], digits: int = 0, unit: str = "") -> str:
    return (
        f"{s['median']:,.{digits}f}{unit} [{s['min']:,.{digits}f}-"
        f"{s['max']:,.{digits}f}]"
    )


def _statistics(stats: dict[str, Any]) -> list[str]:
    ceiling = stats.get("client_ceiling", {})
    lines = [
        "## 1. `jobs/statistics` (POST, f=json, token in the body)",
        "",
        "| jobs in store | gpserver req/s | p50 ms | p99 ms | floor req/s "
        "| gpserver / floor req/s | p50 gpserver / floor | server CPU share "
        "| server CPU ms/request (floor) | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in stats["sizes"]:
        s = size["summary"]
        gp = s["gpserver"]
        lines.append(
            f"| {size['jobs']:,} | {_fmt(gp['rps'])} | {_fmt(gp['p50'], 1)} "
            f"| {_fmt(gp['p99'], 1)} | {_fmt(s['floor']['rps'])} "
            f"| {_fmt(s['rps_ratio'], 2)} | {_fmt(s['p50_ratio'], 2)} "
            f"| {gp['server_cpu_share']['median']:.0%} "
            f"| {_fmt(gp['server_cpu_ms_per_request'], 2)} "
            f"({s['floor']['server_cpu_ms_per_request']['median']:.2f}) "
            f"| {gp['errors'] + s['floor']['errors']} |"
        )
    lines += ["", _flatness_line(stats.get("flatness", {})), ""]
    lines += [
        "| jobs in store | store filled in | server started in | answer matches "
        "the store | idle server, CPU share | a writer waits for the lock, ms "
        "| one sweep with nothing expired |",
        "|---:|---:|---:|---|---:|---:|---:|",
    ]
    for size in stats["sizes"]:
        lines.append(
            f"| {size['jobs']:,} | {size['fill_seconds']:.1f} s "
            f"| {size['server_start_seconds']:.1f} s "
            f"| {_answer(size)} | {size['idle_server_cpu_share']:.0%} "
            f"| {_fmt(size['write_lock_wait_ms'], 1)} "
            f"| {_fmt(size['idle_sweep']['seconds'], 3, ' s')} |"
        )
    if stats["sizes"] and stats["sizes"][-1]["idle_sweep"]["query_plan"]:
        plan = "; ".join(stats["sizes"][-1]["idle_sweep"]["query_plan"])
        lines += ["", f"SQLite's plan for the sweeper's query of expired jobs: {plan}."]
    if stats.get("skipped"):
        lines += ["", f"Skipped for lack of time: {stats['skipped']}."]
    if ceiling:
        lines += [
            "",
            "Client ceiling (the load generator against a bare asyncio server "
            f"answering canned bytes): {_fmt(ceiling['ceiling_rps'])} req/s, with the "
            f"client using {ceiling['client_cpu_share_at_ceiling']['median']:.0%} of "
            f"its core; the floor app reaches {_fmt(ceiling['floor_to_ceiling'], 2)} "
            "of that in the same rounds.",
        ]
    return [*lines, ""]


def _answer(size: dict[str, Any]) -> str:
    return "yes" if size["answer_matches_store"] else f"NO: {size['answer']}"


def _flatness_line(flat: dict[str, Any]) -> str:
    if not flat:
        return "Flatness: needs two sizes or more."
    own = flat["gpserver"]
    verdict = "met" if flat["met"] else "NOT met"
    return (
        f"Flatness, {flat['largest']:,} jobs against {flat['smallest']:,} "
        f"(times worse; target within {flat['limit']}x): throughput "
        f"{own['throughput']:.2f}x, median latency {own['p50_latency']:.2f}x, server "
        f"CPU per request {own['cpu_per_request']:.2f}x: **{verdict}**. Taken as "
        f"ratios of the floor in the same rounds: throughput "
        f"{flat['throughput_vs_floor']:.2f}x, median latency "
        f"{flat['p50_vs_floor']:.2f}x; the floor itself moved "
        f"{flat['floor_throughput_drift']:.2f}x between the two sizes."
    )


def _sweep(sweep: dict[str, Any]) -> list[str]:
    lines = [
        f"## 2. Cleanup sweeper, {sweep['expired_jobs']:,} expired finished jobs "
        "(rows and folders)",
        "",
        "| jobs directory on | seeded in | in-process sweep, jobs/s | server start "
        "| polls idle, req/s | polls while sweeping, req/s | sweeping / idle "
        "| poll p50 idle → sweeping, ms | poll p99 sweeping, ms "
        "| removed/s while polled |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for place, result in sweep["places"].items():
        if "skipped" in result:
            lines.append(f"| {place} | skipped: {result['skipped']} |")
            continue
        server = result["server"]
        lines.append(
            f"| {place} | {result['seed_seconds']:.0f} s "
            f"| {_fmt(result['in_process']['jobs_per_second'])} "
            f"| {server['server_start_seconds']:.1f} s "
            f"| {_fmt(server['idle_rps'])} | {_fmt(server['sweeping_rps'])} "
            f"| {server['sweeping_to_idle']:.2f} "
            f"| {server['idle_p50_ms']['median']:.1f} → "
            f"{server['sweeping_p50_ms']['median']:.1f} "
            f"| {server['sweeping_p99_ms']['median']:.1f} "
            f"| {_fmt(server['removed_per_second'])} |"
        )
    lines += [
        "",
        "The clean request, and stopping the server after the last window:",
        "",
    ]
    for place, result in sweep["places"].items():
        if "server" in result:
            server = result["server"]
            clean = server["clean_request"]
            lines.append(
                f"- {place}: answered {clean.get('answer')!r} after "
                f"{clean.get('seconds', 0):.1f} s; the stop took "
                f"{server['stop_seconds']:.1f} s (exit code "
                f"{server['stop_exit_code']}; -9 is the SIGKILL sent after 15 s)"
            )
    lines += [
        "",
        "Removing the seeded folders afterwards with 8 threads (for "
        "comparison with the sweeper, which removes one folder at a time):",
        "",
    ]
    for place, result in sweep["places"].items():
        teardown = result.get("server_teardown") or {}
        if teardown.get("folders"):
            lines.append(
                f"- {place}: {teardown['folders']:,} folders in "
                f"{teardown['seconds']:.1f} s, "
                f"{teardown['folders_per_second']:,.0f} folders/s"
            )
    return [*lines, ""]
