"""The results of a run as a Markdown page: targets first, then each figure beside
its baselines, then how the run was made."""

from __future__ import annotations

from typing import Any

import targets


def markdown(results: dict[str, Any]) -> str:
    env = results["environment"]
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    lines = [
        f"# gpserver benchmarks, {env['date']}",
        "",
        f"Commit `{env['commit']}`"
        + (" with uncommitted changes under src/" if env["work_tree_changed"] else "")
        + f"; Python {env['python']}; {env['cpu']}, {env['cores']} cores, "
        f"{env.get('memory', '?')} RAM, kernel {env.get('kernel', '?')}; "
        f"{env['pinning']}; load from {env['load_client']}.",
        f"Packages: {packages}.",
        f"Work files on {env['workdir_mount']}. Whole run: "
        f"{results['seconds'] / 60:.1f} min. Arguments: "
        + " ".join(
            f"{k}={v}"
            for k, v in env["arguments"].items()
            if v not in ("False", "None")
        )
        + ".",
        "",
        "Figures are medians over several runs, with [lowest-highest] beside them.",
        "",
        _busy_line(results),
        "",
    ]
    verdicts = targets.judge(results)
    lines += _targets(verdicts)
    if "submit" in results:
        lines += _figures_1_to_3(results)
    if "store" in results:
        lines += _figures_4_to_7(results)
        lines += _ceiling(results["store"].get("client_ceiling", {}))
    lines += _profiles(results, verdicts)
    if "sweep" in results:
        lines += _sweep(results["sweep"])
    return "\n".join(lines) + "\n"


def _busy_line(results: dict[str, Any]) -> str:
    keys = ("busy_before", "busy_after_submit", "busy_between", "busy_after")
    shown = ", ".join(f"{results[k]:.0%}" for k in keys if results.get(k) is not None)
    return (
        "Other work on the machine (share of both cores busy, sampled for 1 s "
        f"before, between and after the scenarios): {shown}."
    )


def _fmt(s: dict[str, Any], digits: int = 0, unit: str = "") -> str:
    return (
        f"{s['median']:,.{digits}f}{unit} [{s['min']:,.{digits}f}-"
        f"{s['max']:,.{digits}f}]"
    )


def _targets(verdicts: list[targets.Verdict]) -> list[str]:
    lines = [
        "## Targets (issue #8)",
        "",
        "| figure | target | measured | verdict | missed by |",
        "|---:|---|---|---|---|",
    ]
    for v in verdicts:
        verdict = {True: "met", False: "**missed**", None: "not measured"}[v.met]
        lines.append(
            f"| {v.figure} | {v.target} | {v.measured} | {verdict} | {v.missed_by} |"
        )
    return [*lines, ""]


def _row(name: str, s: dict[str, Any], ratio: str = "") -> str:
    ratio = ratio or (_fmt(s["rps_ratio"], 2) if "rps_ratio" in s else "1")
    return (
        f"| {name} | {_fmt(s['rps'])} | {_fmt(s['p50'], 1)} | {_fmt(s['p99'], 1)} "
        f"| {ratio} | {s['server_cpu_share']['median']:.0%} "
        f"| {_fmt(s['server_cpu_ms_per_request'], 2)} | {s['errors']} |"
    )


RATE_HEADER = [
    "| system | req/s | p50 ms | p99 ms | / baseline req/s | server CPU share "
    "| server CPU ms/request | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]


def _peer(results: dict[str, Any], manager: str) -> dict[str, Any]:
    return dict(results.get("pygeoapi", {}).get(manager, {}))


def _figures_1_to_3(results: dict[str, Any]) -> list[str]:
    submit = results["submit"]
    s = submit["submit"]["summary"]
    gp_rps = s["gpserver"]["rps"]["median"]
    lines = [
        "## 1. `submitJob` (Samples/Diagnostics/Wait, seconds=0, f=json)",
        "",
        "Baseline: the floor inserting the same form into SQLite (WAL, "
        "synchronous=FULL). pygeoapi: `hello-world` with `Prefer: respond-async`. "
        "The ratio column is to the floor, measured in the same rounds; for "
        "pygeoapi, gpserver's median over pygeoapi's.",
        "",
        *RATE_HEADER,
        _row("gpserver", s["gpserver"]),
        _row("floor (insert)", s["floor"]),
    ]
    for manager in ("tinydb", "postgresql"):
        peer = _peer(results, manager)
        if "submit" in peer:
            ps = peer["submit"]["summary"]
            times = gp_rps / ps["rps"]["median"]
            lines.append(_row(f"pygeoapi {manager}", ps, f"gpserver {times:.1f}x"))
        elif peer:
            lines.append(f"| pygeoapi {manager} | broken: {peer.get('broken')} |")
    drains = [
        r["gpserver"]["after"]["waited_seconds"] for r in submit["submit"]["rounds"]
    ]
    lines += [
        "",
        "After each gpserver run the queue was left to drain before the next "
        f"run: {', '.join(f'{d:.0f} s' for d in drains)}.",
        "",
        "## 2. Trivial jobs completed per second, end to end",
        "",
        "A batch submitted over HTTP by 16 clients, until the store says every "
        "job succeeded; first submission to last finish by the store's clock. "
        "Default worker pool (min 1, max 2 processes). Celery: the same number of "
        "no-op tasks sent by one producer, until every result is in Redis, in two "
        "series, just before and just after gpserver's; the median is over both.",
        "",
        "| system | jobs/s | jobs per batch | all succeeded | gpserver / it |",
        "|---|---:|---:|---|---:|",
    ]
    gp2 = submit["batch"]["summary"]
    lines.append(_batch_row("gpserver", gp2, gp2))
    for manager in ("tinydb", "postgresql"):
        peer = _peer(results, manager)
        if "batch" in peer:
            lines.append(
                _batch_row(f"pygeoapi {manager}", peer["batch"]["summary"], gp2)
            )
    celery = results.get("celery", {})
    if "batch" in celery:
        lines.append(
            _batch_row("Celery (Redis, prefork 2)", celery["batch"]["summary"], gp2)
        )
    elif celery:
        lines.append(f"| Celery | broken: {celery.get('broken')} |")
    lat = submit["latency"]["summary"]
    lines += [
        "",
        "## 3. Submit to succeeded, one job at a time",
        "",
        f"Median of each run's median over {lat['jobs_per_run']} jobs. Server's "
        "clock: the store's finished minus submitted time. Client: from sending "
        "the submit to reading the first poll answer that says it succeeded "
        f"(polls every {lat['poll_interval_ms']:g} ms). Celery: `delay().get()`.",
        "",
        "| system | server's clock, ms | client sees, ms |",
        "|---|---:|---:|",
        f"| gpserver | {_fmt(lat['server_ms'], 1)} | {_fmt(lat['client_ms'], 1)} |",
    ]
    for manager in ("tinydb", "postgresql"):
        peer = _peer(results, manager)
        if "latency" in peer:
            pl = peer["latency"]["summary"]
            lines.append(
                f"| pygeoapi {manager} | {_fmt(pl['server_ms'], 1)} "
                f"| {_fmt(pl['client_ms'], 1)} |"
            )
    if "latency" in celery:
        rt = celery["latency"]["summary"]["round_trip_ms"]
        lines.append(f"| Celery round trip | | {_fmt(rt, 1)} |")
    return [*lines, ""]


def _batch_row(name: str, s: dict[str, Any], gp: dict[str, Any]) -> str:
    ratio = gp["completed_per_second"]["median"] / s["completed_per_second"]["median"]
    return (
        f"| {name} | {_fmt(s['completed_per_second'])} | {s['jobs']['median']:,.0f} "
        f"| {'yes' if s['all_succeeded'] else 'NO'} | {ratio:.2f} |"
    )


def _figures_4_to_7(results: dict[str, Any]) -> list[str]:
    store = results["store"]
    lines = [
        "## 4. Job status polls (`jobs/<jobId>?f=json`)",
        "",
        "Over 1,000 jobs with folders in a store of the size given. Baseline: the "
        "floor reading the same rows by primary key from the same store file.",
        "",
    ]
    for size in store["sizes"]:
        if "polls" not in size:
            continue
        s = size["polls"]["summary"]
        lines += [f"**{size['jobs']:,} jobs**", "", *RATE_HEADER]
        lines += [
            _row("gpserver", s["gpserver"]),
            _row("floor (read by key)", s["floor"]),
        ]
        for manager in ("tinydb", "postgresql"):
            peer = _peer(results, manager).get("polls", {}).get(str(size["jobs"]))
            if peer and "summary" in peer:
                times = (
                    s["gpserver"]["rps"]["median"] / peer["summary"]["rps"]["median"]
                )
                lines.append(
                    _row(
                        f"pygeoapi {manager}", peer["summary"], f"gpserver {times:.1f}x"
                    )
                )
            elif peer:
                lines.append(f"| pygeoapi {manager} | skipped: {peer['skipped']} |")
        lines.append("")
    lines += [_flat_line(store["flatness"].get("polls", {})), ""]
    lines += [
        "## 5. `jobs/statistics` (POST, f=json, token in the body)",
        "",
        "Baseline: the floor answering a JSON constant.",
        "",
        "| jobs in store | gpserver req/s | p50 ms | p99 ms | floor req/s "
        "| gpserver / floor | server CPU ms/request (floor) | answer = store "
        "| errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for size in store["sizes"]:
        if "statistics" not in size:
            continue
        st = size["statistics"]
        s = st["summary"]
        gp = s["gpserver"]
        lines.append(
            f"| {size['jobs']:,} | {_fmt(gp['rps'])} | {_fmt(gp['p50'], 1)} "
            f"| {_fmt(gp['p99'], 1)} | {_fmt(s['floor']['rps'])} "
            f"| {_fmt(gp['rps_ratio'], 2)} "
            f"| {_fmt(gp['server_cpu_ms_per_request'], 2)} "
            f"({s['floor']['server_cpu_ms_per_request']['median']:.2f}) "
            f"| {'yes' if st['answer_matches_store'] else 'NO: ' + str(st['answer'])} "
            f"| {gp['errors'] + s['floor']['errors']} |"
        )
    lines += ["", _flat_line(store["flatness"].get("statistics", {})), ""]
    lines += [
        "## 6. `jobs/query`, first and last page of 10 (POST, one client)",
        "",
        "| jobs in store | page | start | p50 ms | p99 ms | req/s | total answered |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in store["sizes"]:
        for page in ("first", "deep"):
            q = size.get("query", {}).get(page)
            if q:
                s = q["summary"]
                lines.append(
                    f"| {size['jobs']:,} | {page} | {q['start']:,} "
                    f"| {_fmt(s['p50'], 1)} | {_fmt(s['p99'], 1)} | {_fmt(s['rps'])} "
                    f"| {q['answer_total']:,} |"
                )
    lines += [
        "",
        "## 7. Peak memory (RSS high-water, VmHWM)",
        "",
        "Read from /proc at the end of every figure run against that server. The "
        "web process alone; its children (forkserver, worker processes, "
        "resource tracker) beside it.",
        "",
        "| jobs in store | server MB after start | server MB at the end "
        "| children MB, each | children MB, total |",
        "|---:|---:|---:|---|---:|",
    ]
    for size in store["sizes"]:
        if "memory" in size:
            m = size["memory"]
            lines.append(
                f"| {size['jobs']:,} | {size['memory_after_start']['server_mb']:.0f} "
                f"| {m['server_mb']:.0f} "
                f"| {', '.join(f'{c:.0f}' for c in m['children_mb'])} "
                f"| {m['children_total_mb']:.0f} |"
            )
    submit_memory = results.get("submit", {}).get("memory")
    if submit_memory:
        lines += [
            "",
            f"After figures 1-3 (thousands of jobs run): server "
            f"{submit_memory['server_mb']:.0f} MB, children "
            f"{submit_memory['children_total_mb']:.0f} MB in all.",
        ]
    if store.get("skipped"):
        lines += ["", f"Store sizes skipped for lack of time: {store['skipped']}."]
    return [*lines, ""]


def _flat_line(flat: dict[str, Any]) -> str:
    if not flat:
        return "Flatness: needs two sizes or more."
    own = flat["gpserver"]
    verdict = "met" if flat["met"] else "NOT met"
    return (
        f"Flatness, {flat['largest']:,} jobs against {flat['smallest']:,} "
        f"(times worse; target within {flat['limit']}x): throughput "
        f"{own['throughput']:.2f}x, median latency {own['p50_latency']:.2f}x, server "
        f"CPU per request {own['cpu_per_request']:.2f}x: **{verdict}**. As ratios "
        f"of the floor in the same rounds: throughput "
        f"{flat['throughput_vs_floor']:.2f}x; the floor itself moved "
        f"{flat['floor_throughput_drift']:.2f}x between the two sizes."
    )


def _ceiling(ceiling: dict[str, Any]) -> list[str]:
    if not ceiling:
        return []
    return [
        "## Client ceiling",
        "",
        "The load generator against a bare asyncio server answering canned bytes: "
        f"{_fmt(ceiling['ceiling_rps'])} req/s, with the client using "
        f"{ceiling['client_cpu_share_at_ceiling']['median']:.0%} of its core; the "
        f"floor's constant reaches {_fmt(ceiling['floor_to_ceiling'], 2)} of that in "
        "the same rounds. A figure near the ceiling is the client's, not the server's.",
        "",
    ]


def _profiles(results: dict[str, Any], verdicts: list[targets.Verdict]) -> list[str]:
    wanted = sorted({v.profile for v in verdicts if v.profile})
    found = dict(results.get("store", {}).get("sizes", [{}])[-1].get("profiles", {}))
    if "profile" in results.get("submit", {}):
        found["submit"] = results["submit"]["profile"]
    lines = []
    for name in wanted:
        p = found.get(name)
        lines += [f"## Profile: {name} (py-spy, web process, own time)", ""]
        if not p or "top" not in p:
            lines += [
                f"Not taken: {(p or {}).get('missing', 'no profile in this run')}.",
                "",
            ]
            continue
        lines += [
            f"{p['samples']:,} samples of the web process's threads at "
            f"{p['rps']:,.0f} req/s; a thread waiting in a system call (fsync, "
            "a pipe to a worker) counts as its own time.",
            "",
            "| function | share of samples |",
            "|---|---:|",
        ]
        lines += [f"| `{t['function']}` | {t['share']:.1%} |" for t in p["top"]]
        lines.append("")
    return lines


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
