"""Worker processes that can be stopped one at a time.

Each worker is a fresh interpreter (loky's spawn, which does not re-run the
parent's ``__main__``) joined to the parent by its own pipe. It loads the
objective once, then evaluates one configuration per message. Because every
trial knows its worker, a trial that runs past its time limit, or a worker
that dies, costs only that trial: the worker is killed or reaped and a new
one started (it receives the objective again) when next needed.

Each worker leads a session (and process group) of its own, and is always
stopped by killing that whole group, so processes an objective started
(a subprocess, a helper server) go with it: at a timeout, when the worker
dies, and when the pool closes. Workers watch their parent and kill their
group if it disappears, so a killed run leaves no process behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import anyio
import cloudpickle
from loky.backend.context import get_context

from autotune_core.exceptions import AutoTuneError
from autotune_core.objective import ObjectiveFn, Outcome, run_objective
from autotune_core.trial import TrialContext, TrialStatus

__all__ = ["WorkerPool", "limit_threads", "timed_out"]

logger = logging.getLogger(__name__)

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_PARENT_CHECK_S = 0.5
_STOP_GRACE_S = 2.0


def limit_threads(threads: int) -> None:
    """Cap BLAS/OpenMP threads in this process, for libraries loaded now or later."""
    for var in THREAD_ENV:
        os.environ[var] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def timed_out(time_limit: float, started: float) -> Outcome:
    """The outcome of an evaluation stopped at its time limit."""
    error = f"Timeout: the evaluation ran past {time_limit:g} s and was stopped"
    return Outcome(TrialStatus.TIMEOUT, None, error, started, time.time())


def _lead_own_group() -> bool:
    """Start a new session; whether this process now leads a group of its own."""
    with contextlib.suppress(OSError):  # EPERM: already leads its group
        os.setsid()
    return os.getpgrp() == os.getpid()


def _watch_parent(parent_pid: int, own_group: bool) -> None:
    while True:
        time.sleep(_PARENT_CHECK_S)
        if os.getppid() != parent_pid:
            # the run is gone: don't finish a fit nobody will read
            if own_group:
                os.killpg(0, signal.SIGKILL)  # this worker and what it started
            os._exit(70)


def _worker_main(
    conn: Connection, payload: bytes, threads: int, parent_pid: int
) -> None:
    """Entry point of a worker process."""
    own_group = _lead_own_group()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    watch = threading.Thread(
        target=_watch_parent, args=(parent_pid, own_group), daemon=True
    )
    watch.start()
    limit_threads(threads)
    try:
        objective = cloudpickle.loads(payload)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    limit_threads(threads)  # loading may have brought in BLAS/OpenMP
    conn.send(("ready", own_group))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        params, context = message
        conn.send(run_objective(objective, params, context))


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    own_group: bool = False  # set once the worker said it leads its own group

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def kill(self) -> None:
        """Kill the worker and, if it leads one, its whole process group."""
        if self.own_group:
            # The group outlives its leader while any member lives, and its id
            # stays taken until then: this reaches a dead worker's orphans too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        elif self.process.is_alive():
            # not ready yet: the objective has not run, so nothing else to stop
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.process.join(_STOP_GRACE_S)
        self.conn.close()


class WorkerPool:
    """Up to ``size`` worker processes, each evaluating one trial at a time.

    Parameters
    ----------
    objective
        A sync objective; pickled once with cloudpickle.
    size
        Number of workers (the run's concurrency).
    threads
        Native threads each worker may use.
    """

    def __init__(self, objective: ObjectiveFn, *, size: int, threads: int = 1) -> None:
        self.size = size
        self.threads = threads
        self._payload = cloudpickle.dumps(objective)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._slots = anyio.Semaphore(size)
        self._context = get_context("loky")
        self.started = 0

    @property
    def payload_bytes(self) -> int:
        """Size of the pickled objective each worker receives."""
        return len(self._payload)

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.pid for w in self._all if w.process.is_alive()]

    async def run(
        self,
        params: dict[str, Any],
        *,
        time_limit: float | None = None,
        context: TrialContext | None = None,
    ) -> Outcome:
        """Evaluate ``params`` in a worker; a timeout kills that worker only."""
        async with self._slots:
            worker = self._idle.pop() if self._idle else await self._start_worker()
            started = time.time()
            try:
                outcome = await self._exchange(
                    worker, (params, context), time_limit, started
                )
            except BaseException:
                self._discard(worker)  # cancelled mid-trial: its state is unknown
                raise
            if worker in self._all:  # neither timed out nor died
                self._idle.append(worker)
            return outcome

    async def _exchange(
        self,
        worker: _Worker,
        message: tuple[dict[str, Any], TrialContext | None],
        time_limit: float | None,
        started: float,
    ) -> Outcome:
        try:
            worker.conn.send(message)
            ready = await anyio.to_thread.run_sync(
                worker.conn.poll, time_limit, abandon_on_cancel=True
            )
            if not ready:
                self._discard(worker)
                assert time_limit is not None
                return timed_out(time_limit, started)
            outcome: Outcome = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._discard(worker)
            error = f"WorkerDied: the worker process ended ({_exit_text(worker)})"
            return Outcome(TrialStatus.FAILED, None, error, started, time.time())
        return outcome

    async def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child_conn, self._payload, self.threads, os.getpid()),
            daemon=True,
        )
        began = time.perf_counter()
        await anyio.to_thread.run_sync(process.start)
        child_conn.close()
        worker = _Worker(process, parent_conn)
        self._all.add(worker)
        self.started += 1
        try:
            message = await anyio.to_thread.run_sync(
                parent_conn.recv, abandon_on_cancel=True
            )
        except BaseException as exc:
            self._discard(worker)
            if isinstance(exc, EOFError):
                raise AutoTuneError(
                    f"a worker process died while loading the objective "
                    f"({_exit_text(worker)})"
                ) from None
            raise
        if message[0] == "error":
            self._discard(worker)
            raise AutoTuneError(
                f"the objective could not be loaded in a worker process: {message[1]}. "
                "Objectives must be picklable with cloudpickle; use executor='thread' "
                "for ones that are not"
            )
        worker.own_group = bool(message[1])
        logger.debug(
            "worker %d ready in %.3f s", worker.pid, time.perf_counter() - began
        )
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)

    async def aclose(self) -> None:
        """Stop every worker: ask politely, then kill each one's process group."""
        workers, self._all, self._idle = list(self._all), set(), []
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        await anyio.to_thread.run_sync(_join_all, workers)


def _join_all(workers: list[_Worker]) -> None:
    deadline = time.monotonic() + _STOP_GRACE_S
    for worker in workers:
        worker.process.join(max(deadline - time.monotonic(), 0.0))
        worker.kill()


def _exit_text(worker: _Worker) -> str:
    worker.process.join(_STOP_GRACE_S)
    code = worker.process.exitcode
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
