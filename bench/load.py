"""A closed-loop HTTP load on loopback, reported as one JSON object on stdout.

``--concurrency`` clients each send their next request as soon as the answer to the
last one is read, so the rate measured is what the server sustains at that many
requests in flight. A run ends after ``--seconds`` (following ``--warmup``, whose
requests are not counted), after ``--max-requests``, or on SIGINT, whichever comes
first. It prints "measuring" and "done" as the counted part starts and ends,
so that whoever watches the server can read its CPU time at those moments. It
uses aiohttp when it is installed and httpx otherwise; the report names
the one used, since their own costs differ.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")

Send = Callable[[str], Awaitable[tuple[int, bytes]]]
SendFactory = Callable[[str, bytes | None, dict[str, str]], Send]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    warmup_requests: int = 0
    errors: int = 0
    first_error: str = ""
    phase: str = "warmup"
    stop: bool = False
    stopped_by: str = "time"


async def main(args: argparse.Namespace) -> dict[str, Any]:
    urls = _urls(args)
    body = args.data.encode() if args.data is not None else None
    expect = args.expect.encode() if args.expect else None
    headers = dict(_header(h) for h in args.header)
    tally = Tally()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, _stop, tally)

    async with _client(args.concurrency) as (name, send_factory):
        send = send_factory(args.method, body, headers)
        workers = [
            asyncio.create_task(_worker(i, urls, send, expect, tally, args))
            for i in range(args.concurrency)
        ]
        await _sleep_unless_stopped(args.warmup, tally)
        tally.phase = "measuring"
        print("measuring", flush=True)
        cpu_start, began = _cpu(), time.perf_counter()
        await _sleep_unless_stopped(args.seconds, tally)
        elapsed = time.perf_counter() - began
        tally.phase = "done"
        print("done", flush=True)
        cpu = _cpu() - cpu_start
        tally.stop = True
        await asyncio.wait(workers, timeout=10)
    return _report(name, tally, elapsed, cpu, args)


async def _worker(
    index: int,
    urls: list[str],
    send: Send,
    expect: bytes | None,
    tally: Tally,
    args: argparse.Namespace,
) -> None:
    position = index * 7919
    while not tally.stop:
        url = urls[position % len(urls)]
        position += 1
        began = time.perf_counter()
        try:
            status, content = await send(url)
            ok = status == args.status and (expect is None or expect in content)
            problem = "" if ok else f"HTTP {status}: {content[:200]!r}"
        except Exception as exc:  # any failure of a request is counted, not raised
            problem = f"{type(exc).__name__}: {exc}"
        took = time.perf_counter() - began
        if tally.phase == "warmup":
            tally.warmup_requests += 1
            continue
        if tally.phase == "done":
            continue
        if problem:
            tally.errors += 1
            tally.first_error = tally.first_error or problem
            continue
        tally.latencies.append(took)
        if len(tally.latencies) + tally.errors >= args.max_requests:
            tally.stop = True
            tally.stopped_by = "count"


def _client(concurrency: int) -> Any:
    try:
        import aiohttp
    except ImportError:
        return _httpx_client(concurrency)
    return _aiohttp_client(concurrency, aiohttp)


class _aiohttp_client:
    def __init__(self, concurrency: int, aiohttp: Any) -> None:
        self.aiohttp = aiohttp
        self.concurrency = concurrency

    async def __aenter__(self) -> tuple[str, SendFactory]:
        connector = self.aiohttp.TCPConnector(limit=self.concurrency)
        self.session = self.aiohttp.ClientSession(connector=connector)

        def factory(method: str, body: bytes | None, extra: dict[str, str]) -> Send:
            headers = {**(FORM if body else {}), **extra}

            async def send(url: str) -> tuple[int, bytes]:
                async with self.session.request(
                    method, url, data=body, headers=headers, allow_redirects=False
                ) as reply:
                    return reply.status, await reply.read()

            return send

        return f"aiohttp {self.aiohttp.__version__}", factory

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()


class _httpx_client:
    def __init__(self, concurrency: int) -> None:
        import httpx

        self.httpx = httpx
        self.concurrency = concurrency

    async def __aenter__(self) -> tuple[str, SendFactory]:
        limits = self.httpx.Limits(max_connections=self.concurrency)
        self.client = self.httpx.AsyncClient(limits=limits, timeout=60)

        def factory(method: str, body: bytes | None, extra: dict[str, str]) -> Send:
            headers = {**(FORM if body else {}), **extra}

            async def send(url: str) -> tuple[int, bytes]:
                reply = await self.client.request(
                    method, url, content=body, headers=headers
                )
                return reply.status_code, reply.content

            return send

        return f"httpx {self.httpx.__version__}", factory

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


def _stop(tally: Tally) -> None:
    tally.stop = True
    tally.stopped_by = "signal"


async def _sleep_unless_stopped(seconds: float, tally: Tally) -> None:
    deadline = time.perf_counter() + seconds
    while not tally.stop and time.perf_counter() < deadline:
        await asyncio.sleep(min(0.01, max(0.0, deadline - time.perf_counter())))


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _report(
    name: str, tally: Tally, elapsed: float, cpu: float, args: argparse.Namespace
) -> dict[str, Any]:
    ordered = sorted(tally.latencies)

    def percentile(p: float) -> float:
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    done = len(ordered)
    return {
        "client": name,
        "concurrency": args.concurrency,
        "requests": done,
        "warmup_requests": tally.warmup_requests,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "seconds": elapsed,
        "rps": done / elapsed if elapsed else 0.0,
        "latency_ms": {
            "mean": sum(ordered) / done * 1000 if done else float("nan"),
            "p50": percentile(50),
            "p90": percentile(90),
            "p99": percentile(99),
            "max": ordered[-1] * 1000 if ordered else float("nan"),
        },
        "client_cpu_share": cpu / elapsed if elapsed else 0.0,
        "stopped_by": tally.stopped_by,
    }


def _header(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    return name.strip(), value.strip()


def _urls(args: argparse.Namespace) -> list[str]:
    if args.urls_file:
        with open(args.urls_file, encoding="utf-8") as handle:
            urls = [line.strip() for line in handle if line.strip()]
    else:
        urls = [args.url]
    for url in urls:
        host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if host not in LOOPBACK:
            sys.exit(f"load.py sends to loopback addresses only, not {host!r}")
    return urls


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url")
    target.add_argument("--urls-file", help="one URL a line, taken in turn")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--data", help="form body, already URL-encoded")
    parser.add_argument("--expect", help="text every good answer contains")
    parser.add_argument(
        "--status", type=int, default=200, help="every good answer's status"
    )
    parser.add_argument(
        "--header", action="append", default=[], help="'Name: value', repeatable"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_arguments()))))
