"""Where gpserver's time goes under load: py-spy on the server process.

``py-spy record --format raw`` samples the web process while a load runs and
writes one line per distinct stack with its sample count; the function at the
top of a stack is the one running, so adding the counts by that function gives
each function's own time, the table the results page shows for a missed target.
py-spy comes from bench/.venv; without it the profile is reported as missing.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from harness import BENCH, Cores, Load, Server, run_load

PY_SPY = BENCH / ".venv" / "bin" / "py-spy"
TOP = 10


def profile(
    name: str, server: Server, load: Load, cores: Cores, workdir: Path
) -> dict[str, Any]:
    """Own time by function while ``load`` runs against ``server``."""
    if not PY_SPY.exists() or server.process is None:
        return {"missing": "py-spy is not in bench/.venv"}
    output = workdir / f"profile-{name}.txt"
    seconds = max(1, int(load.warmup + load.seconds))
    command = [str(PY_SPY), "record", "--pid", str(server.process.pid)]
    command += ["--duration", str(seconds), "--rate", "250", "--format", "raw"]
    command += ["--nonblocking", "--output", str(output)]
    log = workdir / f"profile-{name}.log"
    with open(log, "wb") as errors:
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            measured = run_load(load, cores, server, workdir=workdir)
        finally:
            try:
                spy.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(timeout=10)
    if spy.returncode != 0 or not output.exists():
        problem = log.read_text(errors="replace")[-300:]
        return {"missing": f"py-spy failed ({spy.returncode}): {problem}"}
    return {"rps": measured["rps"], **own_time(output.read_text())}


def own_time(folded: str) -> dict[str, Any]:
    """The top functions by own samples from py-spy's raw (folded) output."""
    own: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        own[_short(frames[-1])] += int(count)
        total += int(count)
    return {
        "samples": total,
        "top": [
            {"function": f, "samples": n, "share": n / total if total else 0.0}
            for f, n in own.most_common(TOP)
        ],
    }


def _short(frame: str) -> str:
    """``name (path/to/module.py:line)`` with the path cut to the package."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name
