"""The jobs directory: one folder per job with its messages and the tool's files.

Layout, following ArcGIS Server's ``arcgisjobs`` directory::

    <jobs root>/<folder>_<service>_gpserver/<jobId>/
        messages.jsonl   one JSON message per line, appended as the tool runs
        scratch/         where the tool writes files (made when it first asks for
                         it); served under rest/directories

A job's folder is made when the job starts (or when it first gets a message), not
when it is submitted: a job's inputs and results live in the store, so a queued
job needs no files. Jobs submitted before the store kept them have their
``inputs.json`` and ``results.json`` here, which are still read.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpserver.errors import NotFound, StorageError

MESSAGE_TYPES = (
    "esriJobMessageTypeInformative",
    "esriJobMessageTypeWarning",
    "esriJobMessageTypeError",
)


@dataclass(frozen=True)
class Message:
    type: str
    description: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "description": self.description}


# A file is missing too when something that is not a folder stands where one of
# the folders on its path should be.
_MISSING = (FileNotFoundError, NotADirectoryError)


@functools.lru_cache(maxsize=1024)
def service_dir_name(service: str) -> str:
    """``Samples/NaturalEarth`` -> ``samples_naturalearth_gpserver``."""
    return service.replace("/", "_").lower() + "_gpserver"


class JobsDirectory:
    """Reads and writes the files of jobs under one root folder."""

    MESSAGES_CACHED = 4096
    """Jobs whose parsed messages are kept, for polls of jobs that do not change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._messages: dict[str, tuple[int, int, list[Message]]] = {}

    def ensure_writable(self, service: str | None = None) -> None:
        """Raise StorageError unless the root, or one service's folder of jobs
        under it, can be written."""
        folder = self.root if service is None else self.root / service_dir_name(service)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".write-check"
            probe.write_text("ok")
            probe.unlink()
        except FileExistsError:
            raise StorageError(
                f"the jobs directory {folder} is not writable: a file stands where "
                "the folder should be"
            ) from None
        except OSError as exc:
            raise StorageError(
                f"the jobs directory {folder} is not writable: {exc.strerror}"
            ) from exc

    def job_dir(self, service: str, job_id: str) -> Path:
        return self.root / service_dir_name(service) / job_id

    def scratch_dir(self, service: str, job_id: str) -> Path:
        return self.job_dir(service, job_id) / "scratch"

    def _folder(self, service: str, job_id: str) -> str:
        # Strings, not Paths: these run a few times for every job and every poll.
        return f"{self._root}/{service_dir_name(service)}/{job_id}"

    def prepare(self, service: str, job_id: str) -> Path:
        """Make the job's folder, if it is not there yet; its scratch folder comes
        when the tool asks for it (``context.output_dir``)."""
        folder = self._folder(service, job_id)
        try:
            try:
                os.mkdir(folder)
            except FileNotFoundError:  # the service's first job
                os.makedirs(folder, exist_ok=True)
            except FileExistsError:
                if not os.path.isdir(folder):
                    raise NotADirectoryError(20, "Not a directory") from None
        except OSError as exc:
            raise StorageError(
                f"cannot make the job's folder {folder} in the jobs directory: "
                f"{exc.strerror}"
            ) from exc
        return Path(folder)

    def remove(self, service: str, job_id: str) -> None:
        shutil.rmtree(self.job_dir(service, job_id), ignore_errors=True)

    def read_legacy_inputs(self, service: str, job_id: str) -> dict[str, Any]:
        """The inputs of a job submitted before the store kept them."""
        return self._read_json(self.job_dir(service, job_id) / "inputs.json")

    def read_legacy_results(self, service: str, job_id: str) -> dict[str, Any]:
        """The results of a job that ran before the store kept them, or {}."""
        path = self.job_dir(service, job_id) / "results.json"
        try:
            return self._read_json(path)
        except NotFound:
            return {}

    def add_message(self, service: str, job_id: str, message: Message) -> None:
        line = (json.dumps(message.to_json(), ensure_ascii=False) + "\n").encode()
        path = f"{self._folder(service, job_id)}/messages.jsonl"
        # One write of one line with O_APPEND, so concurrent writers never interleave.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            fd = os.open(path, flags, 0o644)
        except _MISSING:
            # A job's first message may come before its folder exists: a queued
            # job cancelled, or failed by start-up recovery. Making the folder
            # names it in the error when something blocks the way.
            self.prepare(service, job_id)
            fd = os.open(path, flags, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_messages(self, service: str, job_id: str) -> list[Message]:
        """The job's messages; parsed again only when the file has grown."""
        path = f"{self._folder(service, job_id)}/messages.jsonl"
        try:
            stat = os.stat(path)
            cached = self._messages.get(path)
            if cached is not None and cached[:2] == (stat.st_size, stat.st_ino):
                return list(cached[2])
            # Read after the stat: a line appended between the two is read now
            # and read again at the next call, as the size no longer matches.
            with open(path, "rb") as file:
                text = file.read().decode("utf-8", errors="replace")
        except _MISSING:
            self._messages.pop(path, None)
            return []
        messages = []
        for line in text.splitlines():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                # A crash in the middle of an append leaves at most one torn line.
                continue
            messages.append(Message(data["type"], data["description"]))
        if len(self._messages) >= self.MESSAGES_CACHED:
            self._messages.clear()
        self._messages[path] = (stat.st_size, stat.st_ino, messages)
        return list(messages)

    def resolve_file(self, relative: str) -> Path:
        """A file under the root named by a URL path; never anything outside it."""
        candidate = (self.root / relative).resolve()
        root = self.root.resolve()
        if root not in candidate.parents or not candidate.is_file():
            raise NotFound(f"file {relative} does not exist")
        return candidate

    def _read_json(self, path: Path) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except _MISSING:
            raise NotFound(f"the job's files are missing ({path.name})") from None
        return data
