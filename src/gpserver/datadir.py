"""The data directory: made private, and held by one server at a time.

It holds the store (with the key that signs tokens) and the jobs directory, so it is
readable by its owner only. In the embedded mode two servers on one data directory
would each believe the other's running jobs were left over from a crash and fail
them; a lock file stops the second one before it touches anything.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from pathlib import Path

from gpserver.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_NAME = "gpserver.lock"


def prepare_data_dir(path: Path) -> None:
    """Create the directory, or take group and other access away from it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & 0o700)
        log.warning(
            "the data directory %s was open to other users (mode %o); it is now %o",
            path,
            mode,
            mode & 0o700,
            extra={"event": "datadir.secured"},
        )


class DataDirLock:
    """An exclusive lock on the data directory, held while the server runs."""

    def __init__(self, path: Path) -> None:
        self.path = path / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip()
            os.close(fd)
            raise ConfigError(
                f"{self.path.parent}: the data directory is in use by "
                f"{holder or 'another process'}; stop that server first, or give "
                "this one its own --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"gpserver pid {os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
