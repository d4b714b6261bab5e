"""What the site asks of whatever runs its tools.

Two implementations: :class:`~gpserver.execution.pool.LocalExecutor` runs every
service in worker processes of this node (the embedded mode), and
:class:`~gpserver.execution.remote.CeleryExecutor` hands asynchronous jobs to Celery
workers on any machine (the distributed mode).
"""

from __future__ import annotations

from typing import Any, Protocol

from gpserver.config import ServiceConfig
from gpserver.jobs.model import Job


class Executor(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def submitted(self, job: Job) -> None:
        """``job`` is stored durably; see that it runs."""

    def execute(self, service: str, payload: dict[str, Any]) -> Any:
        """Run a synchronous request and block until it answers."""

    def pause(self, service: str, paused: bool) -> None:
        """The service was stopped (or started again) by an administrator."""

    def is_paused(self, service: str) -> bool: ...

    def reconfigure(self, config: ServiceConfig) -> None:
        """An administrator edited the service; later work follows the edit."""

    def problems(self) -> list[str]:
        """What keeps it from running jobs, for the health check; empty when well.

        Called on every health check: it reads what a background probe found."""
