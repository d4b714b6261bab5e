"""``gpserver worker``: run the asynchronous jobs of the distributed mode.

One Celery worker process per service, each consuming that service's queue with
``maxInstancesPerNode`` instances (or ``--concurrency``). This process only starts
them, passes on a request to stop, and ends when one of them ends, so that a
service manager restarts the whole set.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import signal
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from gpserver.catalog.services import Catalog
from gpserver.catalog.state import ServiceStates
from gpserver.config import ServiceConfig, SiteConfig, load_site
from gpserver.db import Database, safe_url
from gpserver.errors import ConfigError
from gpserver.execution.heartbeats import heartbeat_interval
from gpserver.settings import SettingsStore

log = logging.getLogger("gpserver.cli")

STOP_WAIT = 60.0
"""How long running jobs may take to finish after a request to stop."""


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--services",
        help="comma-separated service paths to serve, such as Samples/Diagnostics "
        "(default: every asynchronous service)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        help="jobs of each service run at once here (default: the service's "
        "maxInstancesPerNode)",
    )


def worker_command(args: argparse.Namespace) -> int:
    config = load_site(args.config, args.data_dir.resolve())
    if config.broker_url is None:
        raise ConfigError(
            "`gpserver worker` needs a broker: set [server] brokerUrl or "
            "GPSERVER_BROKER_URL (and a PostgreSQL store); in the embedded mode "
            "`gpserver serve` runs its own workers"
        )
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, not {args.concurrency}")
    services = _chosen(config, args.services)
    # Fail here, in one clear line, rather than in each worker process.
    Catalog.load(services)
    database = Database(config.database_url)
    try:
        database.check_schema()
        states = ServiceStates(SettingsStore(database))
        services = [states.apply_edits(s) for s in services]
    finally:
        database.dispose()

    log.info("job store: %s", safe_url(config.database_url))
    log.info("jobs directory: %s", config.jobs_dir)
    processes = [_start(config, service, args.concurrency) for service in services]
    return _supervise(processes)


def _chosen(config: SiteConfig, names: str | None) -> list[ServiceConfig]:
    asynchronous = {s.key: s for s in config.services if s.is_async}
    if not names:
        if not asynchronous:
            raise ConfigError("the site has no asynchronous service to run jobs for")
        return list(asynchronous.values())
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in asynchronous:
            known = ", ".join(sorted(asynchronous)) or "none"
            raise ConfigError(
                f"--services: {name!r} is not an asynchronous service of the site "
                f"(asynchronous services: {known})"
            )
        chosen.append(asynchronous[name])
    return chosen


def _start(
    config: SiteConfig, service: ServiceConfig, concurrency: int | None
) -> BaseProcess:
    """Start the worker process of one service; ``concurrency`` as ``--concurrency``
    gave it, or None to follow the service's ``maxInstancesPerNode``."""
    # Celery is imported only by the commands that use it.
    from gpserver.execution.celery_app import queue_name
    from gpserver.execution.remote_worker import (
        ServiceWorkerSettings,
        service_worker_main,
    )

    assert config.broker_url is not None
    settings = ServiceWorkerSettings(
        service=service,
        broker_url=config.broker_url,
        database_url=config.database_url,
        jobs_root=str(config.jobs_dir),
        concurrency=concurrency or service.max_instances,
        instances_follow_edits=concurrency is None,
        heartbeat_interval=heartbeat_interval(config.worker_heartbeat_timeout),
        log_level=logging.getLogger().level,
    )
    # Forked: this process has imported everything the worker needs and runs no
    # thread yet, so the copy starts at once and shares the imported modules.
    process = multiprocessing.get_context("fork").Process(
        target=service_worker_main,
        args=(settings,),
        name=f"worker-{service.name}",
    )
    process.start()
    log.info(
        "service %s: queue %s, instances: %d (pid %s)",
        service.key,
        queue_name(service.key),
        settings.concurrency,
        process.pid,
    )
    return process


def _supervise(processes: list[BaseProcess]) -> int:
    stopping: list[int] = []

    def on_signal(number: int, _frame: FrameType | None) -> None:
        stopping.append(number)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping:
        ended = [p for p in processes if not p.is_alive()]
        if ended:
            log.error(
                "the worker for %s ended (exit code %s); stopping the others",
                ended[0].name,
                ended[0].exitcode,
            )
            _stop_all(processes)
            return 1
        wait([p.sentinel for p in processes], timeout=0.5)

    log.info("stopping: running jobs may finish first (up to %g s)", STOP_WAIT)
    _stop_all(processes)
    return 0


def _stop_all(processes: list[BaseProcess]) -> None:
    # Celery's warm shutdown: take no new task, finish the running ones.
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(STOP_WAIT)
        if process.is_alive():
            process.kill()
            process.join()
