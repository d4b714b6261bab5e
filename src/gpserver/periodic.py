"""A background thread that does one thing on an interval, on one node at a time."""

from __future__ import annotations

import logging
import os
import threading
import uuid

log = logging.getLogger(__name__)


class Periodic:
    """Calls :meth:`run_once` every ``interval`` seconds until stopped.

    Subclasses that must run on one node of a site at a time take a lease in the
    store inside ``run_once``, named by ``holder``, which is unique to this thread.
    A failure is logged with its traceback and the next interval tries again.
    """

    name = "periodic"

    def __init__(self, interval: float, machine: str) -> None:
        self.interval = interval
        self.holder = f"{machine}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def run_once(self) -> int:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception(
                    "%s failed; it runs again in %g s", self.name, self.interval
                )
