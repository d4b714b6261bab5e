"""One logging set-up for the server and its worker processes."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_gpserver", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = _StandardError()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._gpserver = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the moment of each record.

    Binding the stream once would keep writing to a replaced (and maybe closed)
    stream after a test harness or an embedding program swaps stderr.
    """

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
