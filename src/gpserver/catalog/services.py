"""The published services: each a configured set of tools loaded from a module."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gpserver.catalog.tool import TaskSpec, ToolDefinitionError, describe, is_tool
from gpserver.config import ServiceConfig
from gpserver.errors import ConfigError, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Service:
    config: ServiceConfig
    tasks: dict[str, TaskSpec]

    @property
    def key(self) -> str:
        return self.config.key

    def task(self, name: str) -> TaskSpec:
        try:
            return self.tasks[name]
        except KeyError:
            raise NotFound(
                f"task {name!r} does not exist in service {self.key}"
            ) from None


class Catalog:
    """Services by path, and the folders they live in."""

    def __init__(self, services: Iterable[Service]) -> None:
        self._services = {s.key: s for s in services}

    @classmethod
    def load(cls, configs: Iterable[ServiceConfig]) -> Catalog:
        return cls(load_service(c) for c in configs)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def replace(self, service: Service) -> None:
        self._services[service.key] = service

    def get(self, key: str) -> Service:
        try:
            return self._services[key]
        except KeyError:
            raise NotFound(f"service {key} does not exist") from None

    def folders(self) -> list[str]:
        return sorted(
            {s.config.folder for s in self._services.values() if s.config.folder}
        )

    def in_folder(self, folder: str) -> list[Service]:
        return sorted(
            (s for s in self._services.values() if s.config.folder == folder),
            key=lambda s: s.config.name.lower(),
        )


def load_service(config: ServiceConfig) -> Service:
    """Import a service's toolbox module and describe each of its tools."""
    where = f"{config.source}.toolbox"
    try:
        module = importlib.import_module(config.toolbox)
    except Exception as exc:
        raise ConfigError(
            f"{where}: cannot import toolbox module {config.toolbox!r}: {exc}"
        ) from exc

    tasks: dict[str, TaskSpec] = {}
    for obj in vars(module).values():
        if not is_tool(obj):
            continue
        try:
            spec = describe(obj)
        except (ToolDefinitionError, TypeError) as exc:
            raise ConfigError(f"{where}: {config.toolbox}: {exc}") from exc
        tasks[spec.name] = spec
    if not tasks:
        raise ConfigError(
            f"{where}: module {config.toolbox!r} defines no function marked with @tool"
        )
    log.debug("loaded %d tasks for %s", len(tasks), config.key)
    return Service(config=config, tasks=tasks)
