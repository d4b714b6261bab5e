"""The local worker pool: processes per service, supervised by one thread each.

The supervisor thread starts and ends workers and watches them. When jobs are
submitted it tells an idle worker to claim: the worker then takes queued jobs from
the store one after another by itself until none is left (see worker.py), and
reports each job it starts and ends. The supervisor marks jobs Waiting when every
instance is busy, stops a worker whose job was cancelled or ran past
``maxUsageTime`` (the process is killed and replaced, so even a tool that never
checks for cancellation stops), and fails the jobs of a worker that died. Only
this thread writes to the workers' pipes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import os
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from gpserver.config import ServiceConfig
from gpserver.errors import NotFound, ServiceBusy
from gpserver.execution.worker import WorkerSettings, worker_main, worker_name
from gpserver.jobs.model import Job
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import IllegalTransition, JobStatus

log = logging.getLogger(__name__)

TICK = 0.1
CANCEL_GRACE = 0.8
POLL_INTERVAL = 1.0
HEARTBEAT_INTERVAL = 5.0
STATUS_INTERVAL = 0.2
WAITING_INTERVAL = 0.1
"""Jobs submitted while every instance is busy turn Waiting within this time; one
write for a burst of submits rather than one each."""
WAITING_AFTER_MS = 200
"""A job is shown Waiting once it has waited this long for an instance. A burst
that the workers take within it stays Submitted, rather than cost the store one
more write per job."""

_mp = multiprocessing.get_context("forkserver")
_mp.set_forkserver_preload(["gpserver.execution.worker"])


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    name: str
    ready: bool = False
    claiming: bool = False
    """Taking queued jobs by itself, until it reports that it found none."""
    retiring: bool = False
    """Told to stop after its current job (the instance limit was lowered)."""
    job_id: str | None = None
    request: _SyncRequest | None = None
    started: float = 0.0
    max_usage_time: float = 0.0
    """The limit in force when the current job started; later edits do not move it."""
    cancel_seen: float | None = None

    @property
    def busy(self) -> bool:
        return self.job_id is not None or self.request is not None

    @property
    def idle(self) -> bool:
        return self.ready and not (self.busy or self.claiming or self.retiring)


@dataclass
class _SyncRequest:
    payload: dict[str, Any]
    future: Future[Any] = field(default_factory=Future)
    queued: float = field(default_factory=time.monotonic)


class ServicePool:
    """Worker processes for one service and the thread that supervises them."""

    def __init__(self, settings: WorkerSettings, jobs: Jobs) -> None:
        self.config: ServiceConfig = settings.service
        self.settings = settings
        self.jobs = jobs
        self.workers: list[_Worker] = []
        self._sync: list[_SyncRequest] = []
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_write.setblocking(False)
        self._wake_sent = False
        self._submitted = False
        # Asynchronous services: a byte per job submitted, read by idle workers.
        self._announced: Connection | None = None
        self._announce: Connection | None = None
        if self.config.is_async:
            self._announced, self._announce = _mp.Pipe(duplex=False)
            os.set_blocking(self._announce.fileno(), False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"pool-{self.config.key}", daemon=True
        )
        self._last_poll = 0.0
        self._last_waiting = 0.0
        self._last_status = 0.0
        self._last_heartbeat = 0.0
        self._pending_claim = True
        self._settings_changed = False
        self.paused = False

    # -- used by other threads ------------------------------------------------

    def start(self) -> None:
        for _ in range(self.config.min_instances):
            self._spawn()
        self._thread.start()

    def notify(self) -> None:
        """A job was submitted: idle workers claim it now, and within a TICK the
        supervisor starts another worker or marks it Waiting if need be.

        The supervisor is not woken: it shares the web server's process, and
        a wake per burst of submits cost the server a tenth of its time.
        """
        self._tell_idle_workers()
        self._submitted = True

    def _wake(self) -> None:
        """Wake the supervisor now: a request waits, or the settings changed."""
        # One wake-up stands for every call until the supervisor takes it.
        if self._wake_sent:
            return
        self._wake_sent = True
        # A full socket buffer already means "wake up"; nothing more to say.
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    def _tell_idle_workers(self) -> None:
        if self._announce is None:
            return
        # A full pipe has said it already: busy workers look at the queue anyway.
        with contextlib.suppress(OSError):
            os.write(self._announce.fileno(), b"x")

    def execute(self, payload: dict[str, Any]) -> Any:
        """Run a synchronous request on a free instance; block until it answers."""
        request = _SyncRequest(payload)
        with self._lock:
            self._sync.append(request)
        self._wake()
        limit = self.config.max_wait_time + self.config.max_usage_time + 5
        return request.future.result(timeout=limit)

    def reconfigure(self, config: ServiceConfig) -> None:
        """Apply edited service settings; running jobs keep the limits they had."""
        self.config = config
        self.settings = dataclasses.replace(self.settings, service=config)
        self._settings_changed = True
        self._wake()

    def pause(self, paused: bool) -> None:
        """A stopped service takes no new work; what is queued waits for a start."""
        self.paused = paused
        self._settings_changed = True
        self._pending_claim = True
        self._wake()

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for worker in list(self.workers):
            self._end_worker(worker, graceful=True)
        self._wake_read.close()
        self._wake_write.close()
        for end in (self._announced, self._announce):
            if end is not None:
                end.close()

    # -- the supervisor thread ------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception:
                # A store outage must not kill the supervisor; it retries next tick.
                log.exception("pool %s: supervisor step failed", self.config.key)
                time.sleep(0.5)

    def _step(self) -> None:
        # Reports of jobs started and ended are read at least every TICK, not the
        # moment they come: a worker claims its next job without waiting for this
        # thread, and waking it twice per job would take the web server's time.
        # A start, an answer to a request and a death are waited for.
        sources: list[Any] = [self._wake_read]
        for worker in self.workers:
            sources.append(worker.process.sentinel)
            if not worker.ready or worker.request is not None:
                sources.append(worker.conn)
        for ready in wait(sources, timeout=TICK):
            if ready is self._wake_read:
                self._wake_sent = False
                self._wake_read.recv(4096)
                self._pending_claim = True
        if self._submitted:
            self._submitted = False
            self._pending_claim = True
        self._read_workers()
        self._reap_dead()
        if self._settings_changed:
            self._settings_changed = False
            self._tell_workers()
        self._fit_to_limits()
        now = time.monotonic()
        if now - self._last_status >= STATUS_INTERVAL:
            self._last_status = now
            self._watch_running(now)
        self._expire_sync(now)
        self._dispatch(now)
        if now - self._last_heartbeat >= HEARTBEAT_INTERVAL:
            self._last_heartbeat = now
            self.jobs.store.heartbeat(w.job_id for w in self.workers if w.job_id)

    def _tell_workers(self) -> None:
        """Pass edited settings on; a stopped service's workers stop claiming."""
        hold = self.paused or not self.config.is_async
        for worker in self.workers:
            if not worker.ready or worker.retiring:
                continue
            with contextlib.suppress(OSError):
                worker.conn.send(("hold" if hold else "settings", self.config))

    def _fit_to_limits(self) -> None:
        """Keep the instance counts within the (possibly just edited) limits."""
        while len(self.workers) < self.config.min_instances:
            self._spawn()
        staying = [w for w in self.workers if not w.retiring]
        extra = len(staying) - self.config.max_instances
        if extra <= 0:
            return
        for worker in [w for w in staying if w.idle][:extra]:
            self._end_worker(worker, graceful=True)
            extra -= 1
        # Workers that claim jobs one after another stop after the one they run.
        for worker in [w for w in staying if w.ready and not w.idle][:extra]:
            worker.retiring = True
            with contextlib.suppress(OSError):
                worker.conn.send(("stop",))

    def _read_workers(self) -> None:
        for worker in self.workers:
            while worker.process.is_alive() and worker.conn.poll():
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    break
                self._on_message(worker, message)

    def _on_message(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "started":
            _, job_id, started_at, limit = message
            worker.claiming = True
            worker.job_id = job_id
            # Reports are read a little late: count from when the job started.
            worker.started = time.monotonic() - max(0.0, time.time() - started_at)
            worker.max_usage_time = limit
            worker.cancel_seen = None
        elif kind == "done":
            worker.job_id = None
            worker.cancel_seen = None
        elif kind == "idle":
            # A job submitted after it found the queue empty left a byte in the
            # pipe, which wakes it again.
            worker.claiming = False
        elif kind == "executed" and worker.request is not None:
            worker.request.future.set_result(message[1])
            worker.request = None

    def _reap_dead(self) -> None:
        for worker in [w for w in self.workers if not w.process.is_alive()]:
            # What it said before it ended: a job it finished is not its to fail.
            self._read_one(worker)
            self.workers.remove(worker)
            code = worker.process.exitcode
            if worker.job_id is not None:
                log.error(
                    "pool %s: worker %s died (exit code %s) running job %s",
                    self.config.key,
                    worker.name,
                    code,
                    worker.job_id,
                    extra={"event": "worker.died", "job_id": worker.job_id},
                )
            self._fail_jobs_of(
                worker,
                f"The process running the job stopped unexpectedly (exit code {code}).",
            )
            if worker.request is not None:
                worker.request.future.set_result(
                    {"error": f"the process running the request stopped (exit {code})"}
                )

    def _read_one(self, worker: _Worker) -> None:
        with contextlib.suppress(EOFError, OSError):
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())

    def _fail_jobs_of(self, worker: _Worker, reason: str) -> None:
        """Fail whatever the store says a gone worker was running.

        The store, not the worker's last report, since a worker may die between
        claiming a job and saying so.
        """
        for job in self.jobs.store.running_on(self.config.key, worker.name):
            self._end_job(job, functools.partial(self.jobs.fail, reason=reason))

    def _watch_running(self, now: float) -> None:
        running = [w for w in self.workers if w.job_id is not None]
        if not running:
            return
        statuses = self.jobs.store.statuses(w.job_id for w in running if w.job_id)
        for worker in running:
            assert worker.job_id is not None
            status = statuses.get(worker.job_id)
            if now - worker.started > worker.max_usage_time:
                self._stop_worker_job(worker, "timeout")
            elif status in (JobStatus.CANCELLING, JobStatus.CANCELLED, None):
                if worker.cancel_seen is None:
                    worker.cancel_seen = now
                elif now - worker.cancel_seen >= CANCEL_GRACE:
                    self._stop_worker_job(worker, "cancel")

    def _stop_worker_job(self, worker: _Worker, reason: str) -> None:
        job_id = worker.job_id
        self._read_one(worker)
        if worker.job_id != job_id or job_id is None:
            return  # it finished that job meanwhile
        log.info(
            "pool %s: stopping worker %s for job %s (%s)",
            self.config.key,
            worker.name,
            job_id,
            reason,
            extra={"event": f"worker.stop_{reason}", "job_id": job_id},
        )
        worker.job_id = None
        self._end_worker(worker, graceful=False)
        job = self.jobs.get(job_id)
        if reason == "timeout":
            limit = worker.max_usage_time
            self._end_job(
                job, functools.partial(self.jobs.time_out, limit_seconds=limit)
            )
        else:
            self._end_job(job, self.jobs.finish_cancelled)
        # A job it may have claimed in the last instant before it was killed.
        self._fail_jobs_of(worker, "The process running the job was stopped.")
        self._pending_claim = True

    def _expire_sync(self, now: float) -> None:
        with self._lock:
            expired = [
                r for r in self._sync if now - r.queued > self.config.max_wait_time
            ]
            for request in expired:
                self._sync.remove(request)
        for request in expired:
            request.future.set_exception(
                ServiceBusy(
                    f"no instance of {self.config.key} became free within "
                    f"maxWaitTime ({self.config.max_wait_time:g} s)"
                )
            )
        for worker in [w for w in self.workers if w.request is not None]:
            if now - worker.started > worker.max_usage_time:
                running = worker.request
                assert running is not None
                worker.request = None
                self._end_worker(worker, graceful=False)
                running.future.set_result(
                    {
                        "error": "the request ran longer than maxUsageTime "
                        f"({worker.max_usage_time:g} s) and was stopped"
                    }
                )

    def _dispatch(self, now: float) -> None:
        while self._sync:
            worker = self._idle_worker()
            if worker is None:
                break
            with self._lock:
                request = self._sync.pop(0)
            self._assign(worker, request)

        if not self.config.is_async or self.paused:
            return
        if now - self._last_poll >= POLL_INTERVAL:
            # Jobs nobody announced: put back in the queue, or submitted elsewhere.
            self._last_poll = now
            if any(w.idle for w in self.workers):
                self._tell_idle_workers()
        if not self._pending_claim:
            return
        # Jobs were submitted, and idle workers heard of them through the pipe.
        # If none is idle, another worker may start, or the jobs wait.
        self._pending_claim = False
        if any(w.idle for w in self.workers):
            # It takes them, or its report of what it took is still to be read;
            # look again next step, when the jobs may need to be marked Waiting.
            self._pending_claim = self._has_queued()
            return
        staying = [w for w in self.workers if not w.retiring]
        if any(not w.ready or (w.claiming and w.job_id is None) for w in staying):
            # One is starting, or about to take a job or to say it found none:
            # decide once it has.
            self._pending_claim = True
            return
        if len(staying) < self.config.max_instances:
            if self._has_queued():
                self._spawn()
                self._pending_claim = True  # more may wait than it will take
            return
        # Every instance is busy: what is queued waits for one.
        if now - self._last_waiting >= WAITING_INTERVAL:
            self._last_waiting = now
            self.jobs.mark_waiting(self.config.key, WAITING_AFTER_MS)
            # Those too young to be marked yet are marked at a later step.
            self._pending_claim = self._has_queued()
        else:
            self._pending_claim = True  # the next step marks them

    def _idle_worker(self) -> _Worker | None:
        for worker in self.workers:
            if worker.idle:
                return worker
        if self._sync and self._can_grow():
            self._spawn()
        return None

    def _can_grow(self) -> bool:
        staying = [w for w in self.workers if not w.retiring]
        starting = any(not w.ready for w in staying)
        return len(staying) < self.config.max_instances and not starting

    def _has_queued(self) -> bool:
        return self.config.is_async and self.jobs.store.has_queued(self.config.key)

    def _assign(self, worker: _Worker, request: _SyncRequest) -> None:
        worker.started = time.monotonic()
        worker.max_usage_time = self.config.max_usage_time
        worker.cancel_seen = None
        worker.request = request
        worker.conn.send(("execute", request.payload, self.config))

    def _spawn(self) -> None:
        parent, child = _mp.Pipe()
        process = _mp.Process(
            target=worker_main,
            args=(child, self.settings, self._announced),
            name=f"worker-{self.config.name}",
            daemon=True,
        )
        process.start()
        child.close()
        assert process.pid is not None
        name = worker_name(self.jobs.machine, process.pid)
        worker = _Worker(
            process=process, conn=parent, name=name, claiming=self.config.is_async
        )
        self.workers.append(worker)
        if self.paused and self.config.is_async:
            # Read before its first look at the queue.
            worker.conn.send(("hold", self.config))
        log.info(
            "pool %s: started worker %s",
            self.config.key,
            name,
            extra={"event": "worker.started"},
        )

    def _end_worker(self, worker: _Worker, *, graceful: bool) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        if graceful:
            with contextlib.suppress(OSError):
                worker.conn.send(("stop",))
            worker.process.join(timeout=2)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=2)
        worker.conn.close()

    def _end_job(self, job: Job, action: Any) -> None:
        try:
            action(self.jobs.get(job.job_id))
        except NotFound:
            log.info("job %s was deleted meanwhile", job.job_id)
        except IllegalTransition as exc:
            log.info("job %s already ended as %s", job.job_id, exc.current.esri_name)


class LocalExecutor:
    """A pool per service, started with the server and stopped with it."""

    def __init__(self, pools: dict[str, ServicePool]) -> None:
        self.pools = pools

    def start(self) -> None:
        for pool in self.pools.values():
            pool.start()

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()

    def notify(self, service: str) -> None:
        self.pools[service].notify()

    def submitted(self, job: Job) -> None:
        self.notify(job.service)

    def execute(self, service: str, payload: dict[str, Any]) -> Any:
        return self.pools[service].execute(payload)

    def pause(self, service: str, paused: bool) -> None:
        self.pools[service].pause(paused)

    def is_paused(self, service: str) -> bool:
        # The pool holds this node's view of the state, read from the store at
        # start and changed by the admin's start and stop, so submits need no query.
        return self.pools[service].paused

    def reconfigure(self, config: ServiceConfig) -> None:
        self.pools[config.key].reconfigure(config)

    def problems(self) -> list[str]:
        return []
