"""A running site: configuration, catalog, job store and executor put together.

This is the one object the web layer and the CLI hold. It knows nothing of HTTP.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpserver.catalog.services import Catalog, Service
from gpserver.config import SiteConfig
from gpserver.db import Database
from gpserver.errors import BadRequest
from gpserver.execution.pool import LocalExecutor, ServicePool
from gpserver.execution.runner import prepare_request
from gpserver.execution.worker import WorkerSettings
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.store import JobStore
from gpserver.security.service import Security

log = logging.getLogger(__name__)


@dataclass
class Site:
    config: SiteConfig
    catalog: Catalog
    jobs: Jobs
    executor: LocalExecutor
    output_root: Path
    security: Security

    @classmethod
    def open(cls, config: SiteConfig, log_level: int = logging.INFO) -> Site:
        """Check and prepare everything the site needs; start nothing yet."""
        catalog = Catalog.load(config.services)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        directory = JobsDirectory(config.jobs_dir)
        directory.ensure_writable()
        output_root = config.data_dir / "arcgisoutput"
        output_root.mkdir(parents=True, exist_ok=True)
        database = Database(config.database_url)
        database.create_schema()
        jobs = Jobs(JobStore(database), directory)
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
        }
        security = Security(database)
        return cls(config, catalog, jobs, LocalExecutor(pools), output_root, security)

    def start(self) -> None:
        self.security.ensure_primary_admin(self.config.data_dir)
        interrupted = self.jobs.fail_interrupted()
        if interrupted:
            log.warning(
                "%d jobs were running when the server last stopped; they are failed",
                interrupted,
                extra={"event": "site.recovered"},
            )
        self.executor.start()

    def stop(self) -> None:
        self.executor.stop()
        self.jobs.store.dispose()

    def health_problems(self) -> list[str]:
        """What keeps the site from serving; empty when healthy."""
        problems = []
        try:
            self.jobs.store.statistics("")
        except Exception as exc:
            problems.append(f"the job store cannot be read: {exc}")
        try:
            self.jobs.directory.ensure_writable()
        except Exception as exc:
            problems.append(str(exc))
        return problems

    # -- the GP operations ----------------------------------------------------

    def submit_job(
        self, service: Service, task_name: str, params: dict[str, Any], user: str | None
    ) -> Job:
        """Accept a job for ``user`` (None for an anonymous caller)."""
        if not service.config.is_async:
            raise BadRequest(
                f"{service.key} is a synchronous service: use execute, not submitJob"
            )
        task = service.task(task_name)
        inputs, context = prepare_request(task, params)
        job = self.jobs.submit(
            service.key, task.name, {"inputs": inputs, "context": context}, user
        )
        self.executor.notify(service.key)
        return job

    def execute(
        self, service: Service, task_name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if service.config.is_async:
            raise BadRequest(
                f"{service.key} is an asynchronous service: use submitJob, not execute"
            )
        task = service.task(task_name)
        inputs, context = prepare_request(task, params)
        answer: dict[str, Any] = self.executor.execute(
            service.key, {"task": task.name, "inputs": inputs, "context": context}
        )
        return answer
