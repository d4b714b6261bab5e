"""The catalog of a node that shares its store with other nodes.

Each web node holds its services in memory, with the edits administrators made laid
over the configuration file. An edit made through another node must show on this
one at its next request, not at its next restart: every edit, start and stop writes
a new generation of the services' state (:mod:`gpserver.catalog.state`), and this
catalog compares it with the one it loaded before it answers, reloading the edits
when it changed. The comparison is one primary-key read, done at most once per
:data:`RECHECK` seconds so that the several looks of one request share it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from gpserver.catalog.services import Catalog, Service, load_service
from gpserver.catalog.state import ServiceStates
from gpserver.config import ServiceConfig

log = logging.getLogger(__name__)

RECHECK = 0.001
"""Seconds during which a generation read is trusted: shorter than any request."""


class LiveCatalog(Catalog):
    """A catalog that follows the edits other nodes store."""

    def __init__(
        self,
        services: Iterable[Service],
        configured: Iterable[ServiceConfig],
        states: ServiceStates,
        generation: str,
    ) -> None:
        """``services`` as they were at ``generation``; ``configured`` as the file
        declares them. See :meth:`following` for the usual way to make one."""
        super().__init__(services)
        self.configured = tuple(configured)
        self.states = states
        self.on_edit: Callable[[ServiceConfig], None] = lambda config: None
        """Hears of each service whose settings changed on another node."""
        self._generation = generation
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def following(
        cls, configured: Iterable[ServiceConfig], states: ServiceStates
    ) -> LiveCatalog:
        """The configured services with their stored edits, from now on."""
        configured = tuple(configured)
        # Read before the edits, so that an edit landing in between shows as a
        # change at the first look rather than never.
        generation = states.generation()
        services = [load_service(states.apply_edits(c)) for c in configured]
        return cls(services, configured, states, generation)

    def refresh(self) -> None:
        """Reload the stored edits if another node changed them since last time."""
        now = time.monotonic()
        if now - self._checked < RECHECK:
            return
        generation = self.states.generation()
        self._checked = now
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            self._reload()
            self._generation = generation

    def _reload(self) -> None:
        changed = []
        for base in self.configured:
            current = self._services[base.key]
            config = self.states.apply_edits(base)
            if config != current.config:
                self._services[base.key] = dataclasses.replace(current, config=config)
                changed.append(config)
        for config in changed:
            self.on_edit(config)
        if changed:
            log.info(
                "services edited on another node: %s",
                ", ".join(c.key for c in changed),
                extra={"event": "service.reloaded"},
            )

    # Every way of reading the catalog looks at the generation first.

    def __iter__(self) -> Iterator[Service]:
        self.refresh()
        return super().__iter__()

    def get(self, key: str) -> Service:
        self.refresh()
        return super().get(key)

    def folders(self) -> list[str]:
        self.refresh()
        return super().folders()

    def in_folder(self, folder: str) -> list[Service]:
        self.refresh()
        return super().in_folder(folder)
