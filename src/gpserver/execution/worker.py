"""The process that runs tools for one service, one request at a time.

A worker talks to its pool over a pipe. For an asynchronous service the pool
tells an idle worker to ``claim``: the worker then takes the oldest queued job
from the store, runs it, reports each job it starts and finishes, and takes the
next, until the queue is empty, when it says it is ``idle``. Jobs thus go from one
to the next without waiting for the pool's thread, which shares its process with
the web server. For a synchronous service the pool hands a worker each request
and the worker sends the answer back over the pipe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from gpserver.catalog.services import Service, load_service
from gpserver.config import ServiceConfig
from gpserver.errors import StorageError
from gpserver.execution.context import CollectingContext, JobContext
from gpserver.execution.runner import (
    call_tool,
    decode_inputs,
    encode_outputs,
    input_crs_of,
)
from gpserver.gptypes.context import GPContext
from gpserver.jobs.jobsdir import JobsDirectory, service_dir_name
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition
from gpserver.jobs.store import JobStore
from gpserver.logs import configure_logging

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5
JOB_NICENESS = 10
"""How much lower than the web server's the CPU priority of a worker that runs
jobs is: when tools keep every core busy, the server still answers status polls
and submits at once. Synchronous requests, which a client waits on, run at the
server's own priority."""


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker process needs, in a form that pickles."""

    service: ServiceConfig
    database_url: str
    jobs_root: str
    output_root: str
    log_level: int = logging.INFO
    server_pid: int = dataclasses.field(default_factory=os.getpid)
    """The server that started the pool; a worker outliving it ends itself."""


def worker_main(
    conn: Connection, settings: WorkerSettings, announced: Connection | None = None
) -> None:
    """Serve the pool on ``conn`` until told to stop.

    ``announced`` (asynchronous services) is the read end of a pipe shared by the
    service's workers, on which the web server writes a byte for each job
    submitted: an idle worker wakes on it and claims, with no thread of the
    server's in between.
    """
    configure_logging(settings.log_level)
    # Ctrl-C reaches the whole process group; the pool ends its workers itself,
    # after the jobs they run have been dealt with.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if settings.service.is_async:
        os.nice(JOB_NICENESS)
    _watch_server(settings.server_pid)
    store = JobStore(settings.database_url)
    jobs = Jobs(store, JobsDirectory(Path(settings.jobs_root)))
    if announced is not None:
        os.set_blocking(announced.fileno(), False)
    try:
        loop = _WorkerLoop(conn, settings, jobs, announced)  # loads the toolbox
        conn.send(("ready", os.getpid()))
        loop.run()
    finally:
        store.dispose()


class _WorkerLoop:
    """What one worker process does between the pool's messages and the queue."""

    def __init__(
        self,
        conn: Connection,
        settings: WorkerSettings,
        jobs: Jobs,
        announced: Connection | None,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.jobs = jobs
        self.announced = announced
        self.service = load_service(settings.service)
        self.name = worker_name(jobs.machine, os.getpid())
        # An asynchronous service's worker looks at the queue as soon as it
        # starts: jobs may have waited for it.
        self.claiming = announced is not None
        self.held = False

    def run(self) -> None:
        while True:
            # Between jobs, what the pool said comes first: a stop, new settings.
            if self.claiming and not self.held and not self.conn.poll():
                self._run_next()
                continue
            sources: list[Any] = [self.conn]
            if self.announced is not None and not self.held:
                sources.append(self.announced)
            ready = wait(sources)
            if self.announced is not None and self.announced in ready:
                _drain(self.announced)
                self.claiming = True
            if self.conn not in ready:
                continue
            try:
                message = self.conn.recv()
            except (EOFError, KeyboardInterrupt):
                return
            if message[0] == "stop":
                return
            self._on_message(message)

    def _run_next(self) -> None:
        job = self.jobs.claim_next(self.service.key, self.name)
        if job is None:
            self.claiming = False
            self.conn.send(("idle",))
            return
        # With the limit it runs under: the pool may read this after an edit.
        limit = self.service.config.max_usage_time
        self.conn.send(("started", job.job_id, time.time(), limit))
        run_job(self.jobs, self.service, job)
        self.conn.send(("done", job.job_id))

    def _on_message(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        # Each message carries the service's settings as they are now, so an
        # administrator's edit applies to the next job without restarting workers.
        self.service = dataclasses.replace(self.service, config=message[-1])
        if kind == "hold":
            self.held = True
            if self.claiming:
                self.claiming = False
                self.conn.send(("idle",))
        elif kind == "settings" and self.held:
            self.held = False
            self.claiming = True
        elif kind == "execute":
            answer = execute(self.service, self.settings, message[1])
            self.conn.send(("executed", answer))


def _drain(announced: Connection) -> None:
    """Read what the pipe holds; another worker may have read it first."""
    with contextlib.suppress(BlockingIOError):
        while os.read(announced.fileno(), 65536):
            pass


def worker_name(machine: str, pid: int) -> str:
    """How a worker process is named in the store's ``worker`` column and logs."""
    return f"{machine}:{pid}"


def run_job(jobs: Jobs, service: Service, claimed: Job | str) -> None:
    """Run a claimed job to its end; every outcome goes through the jobs API."""
    job = jobs.get(claimed) if isinstance(claimed, str) else claimed
    job_id = job.job_id
    stored = jobs.inputs(job)
    task = service.task(job.task)
    try:
        jobs.directory.prepare(job.service, job_id)
    except StorageError as exc:
        log.error(
            "job %s cannot start: %s",
            job_id,
            exc,
            extra={"event": "job.no_folder", "job_id": job_id},
        )
        reason = str(exc)
        _finish(jobs, job, lambda j: jobs.fail(j, reason))
        return
    gp_context = GPContext.from_json(stored.get("context") or {})
    context = JobContext(jobs, job, gp_context.process_crs)
    context.message(f"Start Time: {_now_text()}")
    try:
        arguments = decode_inputs(task, stored.get("inputs", {}), gp_context)
        values = call_tool(task, context, arguments)
        results = encode_outputs(
            task,
            values,
            gp_context,
            max_records=service.config.maximum_records,
            file_url=lambda path: _file_url("arcgisjobs", jobs.directory.root, path),
            input_crs=input_crs_of(task, arguments),
        )
    except Exception as exc:
        if jobs.is_cancel_requested(job):
            _cancelled(jobs, job)
            return
        log.error(
            "job %s: the tool %s raised\n%s",
            job_id,
            task.name,
            traceback.format_exc(),
            extra={"event": "job.tool_error", "job_id": job_id},
        )
        reason = _describe(exc)
        _finish(jobs, job, lambda j: jobs.fail(j, reason))
        return

    if jobs.is_cancel_requested(job):
        _cancelled(jobs, job)
        return
    context.message(f"Succeeded at {_now_text()}")
    _finish(jobs, job, lambda j: jobs.succeed(j, results))


def execute(service: Service, settings: WorkerSettings, request: dict[str, Any]) -> Any:
    """Run a synchronous request; answer results and messages, or the error."""
    task = service.task(request["task"])
    gp_context = GPContext.from_json(request.get("context") or {})
    output_root = Path(settings.output_root)
    run_dir = output_root / service_dir_name(service.key) / uuid.uuid4().hex
    context = CollectingContext(run_dir, gp_context.process_crs)
    context.message(f"Start Time: {_now_text()}")
    try:
        arguments = decode_inputs(task, request["inputs"], gp_context)
        values = call_tool(task, context, arguments)
        results = encode_outputs(
            task,
            values,
            gp_context,
            max_records=service.config.maximum_records,
            file_url=lambda path: _file_url("arcgisoutput", output_root, path),
            input_crs=input_crs_of(task, arguments),
        )
    except Exception as exc:
        log.error(
            "execute of %s/%s raised\n%s",
            service.key,
            task.name,
            traceback.format_exc(),
            extra={"event": "execute.tool_error"},
        )
        context.error(_describe(exc))
        return {"error": _describe(exc), "messages": _messages(context)}
    context.message(f"Succeeded at {_now_text()}")
    return {"results": list(results.values()), "messages": _messages(context)}


def _messages(context: CollectingContext) -> list[dict[str, str]]:
    return [m.to_json() for m in context.messages]


def _finish(jobs: Jobs, job: Job, action: Any) -> None:
    # The pool may have cancelled or timed the job out while the tool was finishing.
    try:
        action(job)
    except IllegalTransition as exc:
        if exc.current.name == "CANCELLING":
            _cancelled(jobs, job)
        else:
            log.info("job %s already ended as %s", job.job_id, exc.current.esri_name)


def _cancelled(jobs: Jobs, job: Job) -> None:
    with contextlib.suppress(IllegalTransition):
        jobs.finish_cancelled(job)


def _watch_server(server_pid: int) -> None:
    """End this worker soon after its server dies, even in the middle of a job.

    A server killed outright cannot stop its workers; left running, one would
    finish a job that the restarted server has already failed, and hold memory.
    """

    def watch() -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                log.warning("the server (pid %d) is gone; worker exits", server_pid)
                os._exit(3)

    threading.Thread(target=watch, name="server-watch", daemon=True).start()


def _now_text() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime())


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _file_url(directory: str, root: Path, path: str) -> str:
    """A site-relative URL for a file a tool wrote; the web layer makes it absolute."""
    relative = Path(path).resolve().relative_to(root.resolve())
    return f"rest/directories/{directory}/{relative.as_posix()}"
