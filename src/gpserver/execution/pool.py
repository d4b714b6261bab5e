"""The local worker pool: processes per service, supervised by one thread each.

The supervisor thread is the only place that decides which worker runs what. It
claims queued jobs through the jobs API when an instance is free, marks them Waiting
when none is, stops a worker whose job was cancelled or ran past ``maxUsageTime``
(the process is killed and replaced, so even a tool that never checks for
cancellation stops), and fails the job of a worker that died.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from gpserver.config import ServiceConfig
from gpserver.errors import ServiceBusy
from gpserver.execution.worker import WorkerSettings, worker_main
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

_mp = multiprocessing.get_context("forkserver")
_mp.set_forkserver_preload(["gpserver.execution.worker"])


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    name: str
    ready: bool = False
    job: Job | None = None
    request: _SyncRequest | None = None
    started: float = 0.0
    max_usage_time: float = 0.0
    """The limit in force when the current job started; later edits do not move it."""
    cancel_seen: float | None = None

    @property
    def busy(self) -> bool:
        return self.job is not None or self.request is not None


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
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"pool-{self.config.key}", daemon=True
        )
        self._last_poll = 0.0
        self._last_waiting = 0.0
        self._last_status = 0.0
        self._last_heartbeat = 0.0
        self._pending_claim = True
        self.paused = False

    # -- used by other threads ------------------------------------------------

    def start(self) -> None:
        for _ in range(self.config.min_instances):
            self._spawn()
        self._thread.start()

    def notify(self) -> None:
        """A job was submitted: look for it now rather than at the next poll."""
        # A full socket buffer already means "wake up"; nothing more to say.
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    def execute(self, payload: dict[str, Any]) -> Any:
        """Run a synchronous request on a free instance; block until it answers."""
        request = _SyncRequest(payload)
        with self._lock:
            self._sync.append(request)
        self.notify()
        limit = self.config.max_wait_time + self.config.max_usage_time + 5
        return request.future.result(timeout=limit)

    def reconfigure(self, config: ServiceConfig) -> None:
        """Apply edited service settings; running jobs keep the limits they had."""
        self.config = config
        self.settings = dataclasses.replace(self.settings, service=config)
        self.notify()

    def pause(self, paused: bool) -> None:
        """A stopped service takes no new work; what is queued waits for a start."""
        self.paused = paused
        self.notify()

    def stop(self) -> None:
        self._stopping.set()
        self.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for worker in list(self.workers):
            self._end_worker(worker, graceful=True)
        self._wake_read.close()
        self._wake_write.close()

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
        sources: list[Any] = [self._wake_read]
        for worker in self.workers:
            sources += [worker.conn, worker.process.sentinel]
        for ready in wait(sources, timeout=TICK):
            if ready is self._wake_read:
                self._wake_read.recv(4096)
                self._pending_claim = True
        self._read_workers()
        self._reap_dead()
        self._fit_to_limits()
        now = time.monotonic()
        if now - self._last_status >= STATUS_INTERVAL:
            self._last_status = now
            self._watch_running(now)
        self._expire_sync(now)
        self._dispatch(now)
        if now - self._last_heartbeat >= HEARTBEAT_INTERVAL:
            self._last_heartbeat = now
            self.jobs.store.heartbeat(w.job.job_id for w in self.workers if w.job)

    def _fit_to_limits(self) -> None:
        """Keep the instance counts within the (possibly just edited) limits."""
        while len(self.workers) < self.config.min_instances:
            self._spawn()
        idle = [w for w in self.workers if w.ready and not w.busy]
        while len(self.workers) > self.config.max_instances and idle:
            self._end_worker(idle.pop(), graceful=True)

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
        elif kind == "done":
            worker.job = None
            worker.cancel_seen = None
            self._pending_claim = True
        elif kind == "executed" and worker.request is not None:
            worker.request.future.set_result(message[1])
            worker.request = None
            self._pending_claim = True

    def _reap_dead(self) -> None:
        for worker in [w for w in self.workers if not w.process.is_alive()]:
            self.workers.remove(worker)
            code = worker.process.exitcode
            if worker.job is not None:
                log.error(
                    "pool %s: worker %s died (exit code %s) running job %s",
                    self.config.key,
                    worker.name,
                    code,
                    worker.job.job_id,
                    extra={"event": "worker.died", "job_id": worker.job.job_id},
                )
                reason = (
                    "The process running the job stopped unexpectedly "
                    f"(exit code {code})."
                )
                self._end_job(
                    worker.job, functools.partial(self.jobs.fail, reason=reason)
                )
            if worker.request is not None:
                worker.request.future.set_result(
                    {"error": f"the process running the request stopped (exit {code})"}
                )

    def _watch_running(self, now: float) -> None:
        running = [w for w in self.workers if w.job is not None]
        if not running:
            return
        statuses = self.jobs.store.statuses(w.job.job_id for w in running if w.job)
        for worker in running:
            job = worker.job
            assert job is not None
            status = statuses.get(job.job_id)
            if now - worker.started > worker.max_usage_time:
                self._stop_worker_job(worker, "timeout")
            elif status in (JobStatus.CANCELLING, JobStatus.CANCELLED, None):
                if worker.cancel_seen is None:
                    worker.cancel_seen = now
                elif now - worker.cancel_seen >= CANCEL_GRACE:
                    self._stop_worker_job(worker, "cancel")

    def _stop_worker_job(self, worker: _Worker, reason: str) -> None:
        job = worker.job
        assert job is not None
        log.info(
            "pool %s: stopping worker %s for job %s (%s)",
            self.config.key,
            worker.name,
            job.job_id,
            reason,
            extra={"event": f"worker.stop_{reason}", "job_id": job.job_id},
        )
        worker.job = None
        self._end_worker(worker, graceful=False)
        if reason == "timeout":
            limit = worker.max_usage_time
            self._end_job(
                job, functools.partial(self.jobs.time_out, limit_seconds=limit)
            )
        else:
            self._end_job(job, self.jobs.finish_cancelled)
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
        while True:
            worker = self._free_worker()
            if worker is None:
                break
            with self._lock:
                request = self._sync.pop(0) if self._sync else None
            if request is not None:
                self._assign(worker, request=request)
                continue
            if not self.config.is_async or self.paused:
                break
            if not self._pending_claim and now - self._last_poll < POLL_INTERVAL:
                break
            self._last_poll = now
            job = self.jobs.claim_next(self.config.key, worker.name)
            if job is None:
                self._pending_claim = False
                break
            self._assign(worker, job=job)

        if (
            self.config.is_async
            and self._pending_claim
            and self._at_capacity()
            and now - self._last_waiting >= WAITING_INTERVAL
        ):
            self._last_waiting = now
            self.jobs.mark_waiting(self.config.key)
            self._pending_claim = False

    def _free_worker(self) -> _Worker | None:
        for worker in self.workers:
            if worker.ready and not worker.busy:
                return worker
        if (
            len(self.workers) < self.config.max_instances
            and not self._starting()
            and self._has_work()
        ):
            self._spawn()
        return None

    def _starting(self) -> bool:
        return any(not w.ready for w in self.workers)

    def _has_work(self) -> bool:
        """Whether a request or a queued job waits: only then is a worker started."""
        with self._lock:
            if self._sync:
                return True
        if not (self.config.is_async and self._pending_claim):
            return False
        return self.jobs.store.count_queued(self.config.key) > 0

    def _at_capacity(self) -> bool:
        return len(self.workers) >= self.config.max_instances and all(
            w.busy for w in self.workers
        )

    def _assign(
        self,
        worker: _Worker,
        job: Job | None = None,
        request: _SyncRequest | None = None,
    ) -> None:
        worker.started = time.monotonic()
        worker.max_usage_time = self.config.max_usage_time
        worker.cancel_seen = None
        if job is not None:
            worker.job = job
            worker.conn.send(("job", job.job_id, self.config))
        elif request is not None:
            worker.request = request
            worker.conn.send(("execute", request.payload, self.config))

    def _spawn(self) -> None:
        parent, child = _mp.Pipe()
        process = _mp.Process(
            target=worker_main,
            args=(child, self.settings),
            name=f"worker-{self.config.name}",
            daemon=True,
        )
        process.start()
        child.close()
        name = f"{self.jobs.machine}:{process.pid}"
        self.workers.append(_Worker(process=process, conn=parent, name=name))
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
