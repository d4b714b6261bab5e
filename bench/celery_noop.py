"""The Celery peer's application: one task that does nothing.

Broker and result backend are the Redis URL in ``BENCH_CELERY_URL`` (a database
number of the benchmark's own). Started by celery_peer.py as
``celery -A celery_noop worker --pool prefork --concurrency 2``.
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery(
    "bench_noop",
    broker=os.environ["BENCH_CELERY_URL"],
    backend=os.environ["BENCH_CELERY_URL"],
)
app.conf.update(
    worker_hijack_root_logger=False, broker_connection_retry_on_startup=True
)


@app.task(name="bench.noop")
def noop() -> None:
    return None
