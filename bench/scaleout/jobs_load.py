"""Closed-loop job load: each client submits a job, polls it until it ends, repeats.

Run with bench/.venv's Python (it needs aiohttp). Prints one JSON object: how many
jobs ended Succeeded during the measured seconds, and the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp

FINISHED = {"esriJobSucceeded", "esriJobFailed", "esriJobCancelled", "esriJobTimedOut"}
POLL = 0.01


async def one_job(session: aiohttp.ClientSession, task_url: str) -> str:
    async with session.post(
        f"{task_url}/submitJob", data={"seconds": "0", "f": "json"}
    ) as reply:
        job_id = (await reply.json(content_type=None))["jobId"]
    while True:
        async with session.get(f"{task_url}/jobs/{job_id}?f=json") as reply:
            status = (await reply.json(content_type=None))["jobStatus"]
        if status in FINISHED:
            return str(status)
        await asyncio.sleep(POLL)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    counted = {"phase": "warmup", "succeeded": 0, "other": 0}
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=True)

    async def client(index: int) -> None:
        turn = index
        while counted["phase"] != "done":
            url = args.task_url[turn % len(args.task_url)]
            turn += 1
            status = await one_job(session, url)
            if counted["phase"] == "measuring":
                key = "succeeded" if status == "esriJobSucceeded" else "other"
                counted[key] = int(counted[key]) + 1

    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(client(i)) for i in range(args.concurrency)]
        await asyncio.sleep(args.warmup)
        counted["phase"] = "measuring"
        began = time.perf_counter()
        await asyncio.sleep(args.seconds)
        elapsed = time.perf_counter() - began
        counted["phase"] = "done"
        await asyncio.wait(tasks, timeout=30)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "concurrency": args.concurrency,
        "seconds": elapsed,
        "succeeded": counted["succeeded"],
        "other": counted["other"],
        "jobs_per_second": int(counted["succeeded"]) / elapsed,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--task-url", action="append", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_arguments()))))
