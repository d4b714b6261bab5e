"""A running site: configuration, catalog, job store and executor put together.

This is the one object the web layer and the CLI hold. It knows nothing of HTTP.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpserver.catalog.live import LiveCatalog
from gpserver.catalog.services import Catalog, Service
from gpserver.catalog.state import STOPPED, ServiceStates
from gpserver.config import SiteConfig
from gpserver.datadir import DataDirLock, prepare_data_dir
from gpserver.db import Database, StoreFlusher
from gpserver.errors import BadRequest, ServiceBusy
from gpserver.execution.executor import Executor
from gpserver.execution.pool import LocalExecutor, ServicePool
from gpserver.execution.runner import prepare_request
from gpserver.execution.worker import WorkerSettings
from gpserver.jobs.cleanup import Cleanup, CleanupSettings, Sweeper
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.store import JobStore
from gpserver.security.service import Security
from gpserver.settings import SettingsStore

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 1.0
"""Seconds at most that a change written without waiting for the disk stays in
the operating system's cache (see Database.write)."""


@dataclass
class Site:
    config: SiteConfig
    catalog: Catalog
    jobs: Jobs
    executor: Executor
    output_root: Path
    security: Security
    states: ServiceStates
    cleanup: Cleanup
    sweeper: Sweeper
    flusher: StoreFlusher
    data_lock: DataDirLock | None = None

    @classmethod
    def open(cls, config: SiteConfig, log_level: int = logging.INFO) -> Site:
        """Check and prepare everything the site needs; start nothing yet."""
        prepare_data_dir(config.data_dir)
        # A second server on the same embedded store would fail the first one's
        # running jobs as crash debris; refuse it before it touches anything.
        data_lock = None
        if config.database_url.startswith("sqlite"):
            data_lock = DataDirLock(config.data_dir)
            data_lock.acquire()
        directory = JobsDirectory(config.jobs_dir)
        directory.ensure_writable()
        output_root = config.data_dir / "arcgisoutput"
        output_root.mkdir(parents=True, exist_ok=True)
        database = Database(config.database_url)
        try:
            database.prepare_schema()
        except Exception:
            database.dispose()
            raise
        states = ServiceStates(SettingsStore(database))
        catalog = _catalog(config, states)
        jobs = Jobs(JobStore(database), directory)
        executor = _executor(config, catalog, jobs, states, output_root, log_level)
        if not config.is_distributed:
            # Local workers hear of a job the moment it is committed (see
            # JobStore.insert_jobs).
            jobs.store.on_visible = lambda batch: _tell_all(executor, batch)
        if isinstance(catalog, LiveCatalog):
            catalog.on_edit = executor.reconfigure
        security = Security(database)
        cleanup = Cleanup(
            jobs,
            SettingsStore(database),
            CleanupSettings(config.cleanup_mode, config.max_file_age),
        )
        sweeper = Sweeper(cleanup, config.cleanup_interval)
        flusher = StoreFlusher(database, FLUSH_INTERVAL, jobs.machine)
        return cls(
            config,
            catalog,
            jobs,
            executor,
            output_root,
            security,
            states,
            cleanup,
            sweeper,
            flusher,
            data_lock,
        )

    def start(self) -> None:
        self.security.ensure_primary_admin(self.config.data_dir)
        # In the embedded mode no other node can be half-way through a submit, so
        # every folder without a record is debris; a shared store waits a minute.
        self.cleanup.recover(orphan_min_age=0 if self.jobs.store.db.is_sqlite else 60)
        # Only the embedded mode may fail what is running: in the distributed mode
        # those jobs run on workers that may well be alive, and lost ones are found
        # by their heartbeats (execution/heartbeats.py).
        interrupted = 0 if self.config.is_distributed else self.jobs.fail_interrupted()
        if interrupted:
            log.warning(
                "%d jobs were running when the server last stopped; they are failed",
                interrupted,
                extra={"event": "site.recovered"},
            )
        if self.jobs.store.db.is_sqlite:
            self.flusher.start()
        self.executor.start()
        self.sweeper.start()

    def stop(self) -> None:
        self.sweeper.stop()
        self.executor.stop()
        self.flusher.stop()
        self.jobs.store.dispose()
        if self.data_lock is not None:
            self.data_lock.release()

    @property
    def quick_reads(self) -> bool:
        """Whether the store is read on this machine (embedded SQLite), so that a
        read takes microseconds rather than a network round trip."""
        return self.jobs.store.db.is_sqlite

    def health_problems(self) -> list[str]:
        """What keeps the site from serving; empty when healthy."""
        problems = []
        try:
            self.jobs.store.statistics("")
        except Exception as exc:
            problems.append(f"the job store cannot be read: {exc}")
        try:
            self.jobs.directory.ensure_writable()
            # A job's folder is made when it starts, under its service's folder.
            for service in self.catalog:
                if service.config.is_async:
                    self.jobs.directory.ensure_writable(service.key)
        except Exception as exc:
            problems.append(str(exc))
        return problems + self.executor.problems()

    # -- service lifecycle ----------------------------------------------------

    def service_state(self, key: str) -> str:
        return self.states.state(key)

    def set_service_state(self, key: str, state: str) -> None:
        service = self.catalog.get(key)
        self.states.set_state(service.key, state)
        self.executor.pause(service.key, state == STOPPED)
        log.info(
            "service %s %s",
            service.key,
            state.lower(),
            extra={"event": "service.state", "service": service.key},
        )

    def edit_service(self, key: str, changes: dict[str, Any]) -> Service:
        service = self.catalog.get(key)
        config = self.states.edit(service.config, changes)
        edited = dataclasses.replace(service, config=config)
        self.catalog.replace(edited)
        self.executor.reconfigure(config)
        log.info(
            "service %s edited: %s",
            key,
            ", ".join(f"{k}={v}" for k, v in sorted(changes.items())),
            extra={"event": "service.edited", "service": key},
        )
        return edited

    def _check_started(self, service: Service) -> None:
        if self.executor.is_paused(service.key):
            raise ServiceBusy(
                f"Service {service.key} is stopped; an administrator can start it",
            )

    # -- the GP operations ----------------------------------------------------

    def submit_job(
        self, service: Service, task_name: str, params: dict[str, Any], user: str | None
    ) -> Job:
        """Accept a job for ``user`` (None for an anonymous caller)."""
        task, inputs = self._accept(service, task_name, params)
        job = self.jobs.submit(service.key, task, inputs, user)
        if self.jobs.store.on_visible is None:
            self.executor.submitted(job)
        return job

    async def submit_job_async(
        self, service: Service, task_name: str, params: dict[str, Any], user: str | None
    ) -> Job:
        """:meth:`submit_job` on an event loop: what it does before and after the
        store's commit is quick, and the loop serves others while it waits."""
        task, inputs = self._accept(service, task_name, params)
        job = await self.jobs.submit_async(service.key, task, inputs, user)
        if self.jobs.store.on_visible is None:
            self.executor.submitted(job)
        return job

    def _accept(
        self, service: Service, task_name: str, params: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The task's name and the inputs to store, once the request is checked."""
        if not service.config.is_async:
            raise BadRequest(
                f"{service.key} is a synchronous service: use execute, not submitJob"
            )
        self._check_started(service)
        task = service.task(task_name)
        inputs, context = prepare_request(task, params)
        return task.name, {"inputs": inputs, "context": context}

    def execute(
        self, service: Service, task_name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if service.config.is_async:
            raise BadRequest(
                f"{service.key} is an asynchronous service: use submitJob, not execute"
            )
        self._check_started(service)
        task = service.task(task_name)
        inputs, context = prepare_request(task, params)
        answer: dict[str, Any] = self.executor.execute(
            service.key, {"task": task.name, "inputs": inputs, "context": context}
        )
        return answer


def _tell_all(executor: Executor, batch: list[Job]) -> None:
    for job in batch:
        executor.submitted(job)


def _catalog(config: SiteConfig, states: ServiceStates) -> Catalog:
    """The services with their stored edits; on a store other nodes may share, a
    catalog that follows the edits made through them."""
    if config.database_url.startswith("sqlite"):
        return Catalog.load(states.apply_edits(s) for s in config.services)
    return LiveCatalog.following(config.services, states)


def _executor(
    config: SiteConfig,
    catalog: Catalog,
    jobs: Jobs,
    states: ServiceStates,
    output_root: Path,
    log_level: int,
) -> Executor:
    """Local pools for what this node runs, and Celery for the rest when configured."""
    pools = {
        service.key: ServicePool(
            WorkerSettings(
                service=service.config,
                database_url=config.database_url,
                jobs_root=str(config.jobs_dir),
                output_root=str(output_root),
                log_level=log_level,
            ),
            jobs,
        )
        for service in catalog
        # Distributed: Celery workers run the asynchronous services.
        if not (config.is_distributed and service.config.is_async)
    }
    for key, pool in pools.items():
        pool.paused = states.state(key) == STOPPED
    local = LocalExecutor(pools)
    if not config.is_distributed:
        return local

    from gpserver.execution.remote import distributed_executor

    return distributed_executor(config, catalog, jobs, states.settings, local)
