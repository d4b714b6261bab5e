"""The jobs directory: one folder per job with its inputs, results and messages.

Layout, following ArcGIS Server's ``arcgisjobs`` directory::

    <jobs root>/<folder>_<service>_gpserver/<jobId>/
        inputs.json      canonical JSON of every input, written before the job exists
        results.json     JSON of every output, written before the job succeeds
        messages.jsonl   one JSON message per line, appended as the tool runs
        scratch/         where the tool writes files; served under rest/directories
"""

from __future__ import annotations

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


def service_dir_name(service: str) -> str:
    """``Samples/NaturalEarth`` -> ``samples_naturalearth_gpserver``."""
    return service.replace("/", "_").lower() + "_gpserver"


class JobsDirectory:
    """Reads and writes the files of jobs under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-check"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StorageError(
                f"the jobs directory {self.root} is not writable: {exc.strerror}"
            ) from exc

    def job_dir(self, service: str, job_id: str) -> Path:
        return self.root / service_dir_name(service) / job_id

    def scratch_dir(self, service: str, job_id: str) -> Path:
        return self.job_dir(service, job_id) / "scratch"

    def create(self, service: str, job_id: str, inputs: dict[str, Any]) -> Path:
        """Make the job's folder and write its inputs durably."""
        folder = self.job_dir(service, job_id)
        try:
            (folder / "scratch").mkdir(parents=True)
            # Straight into place, without a temporary file to rename: until its
            # row is committed the folder belongs to no job, and a crash before
            # that leaves debris that start-up removes, never a job with torn inputs.
            _write_json_durably(folder / "inputs.json", inputs, in_place=True)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise StorageError(
                f"cannot write the job's inputs in the jobs directory {self.root}: "
                f"{exc.strerror}"
            ) from exc
        return folder

    def remove(self, service: str, job_id: str) -> None:
        shutil.rmtree(self.job_dir(service, job_id), ignore_errors=True)

    def read_inputs(self, service: str, job_id: str) -> dict[str, Any]:
        return self._read_json(self.job_dir(service, job_id) / "inputs.json")

    def write_results(self, service: str, job_id: str, results: dict[str, Any]) -> None:
        try:
            _write_json_durably(self.job_dir(service, job_id) / "results.json", results)
        except OSError as exc:
            raise StorageError(
                f"cannot write the job's results in the jobs directory: {exc.strerror}"
            ) from exc

    def read_results(self, service: str, job_id: str) -> dict[str, Any]:
        path = self.job_dir(service, job_id) / "results.json"
        if not path.exists():
            return {}
        return self._read_json(path)

    def add_message(self, service: str, job_id: str, message: Message) -> None:
        line = json.dumps(message.to_json(), ensure_ascii=False) + "\n"
        path = self.job_dir(service, job_id) / "messages.jsonl"
        # One write of one line with O_APPEND, so concurrent writers never interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def read_messages(self, service: str, job_id: str) -> list[Message]:
        path = self.job_dir(service, job_id) / "messages.jsonl"
        try:
            text = path.read_text(encoding="utf-8")
        except _MISSING:
            return []
        messages = []
        for line in text.splitlines():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                # A crash in the middle of an append leaves at most one torn line.
                continue
            messages.append(Message(data["type"], data["description"]))
        return messages

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


def _write_json_durably(path: Path, data: Any, *, in_place: bool = False) -> None:
    tmp = path if in_place else path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(data, ensure_ascii=False).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    if not in_place:
        os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
