"""Executors: where evaluations run.

``"inline"`` calls the objective on the event loop (cheap or ``async``
objectives), ``"thread"`` in worker threads, ``"process"`` in worker
processes (CPU-bound fits). The process executor sends the objective, and
the data it holds, to each worker once, when the worker starts; each trial
then ships only its parameters and its result.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from abc import ABC, abstractmethod
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import anyio
import cloudpickle

from autotune_core.objective import (
    ObjectiveFn,
    Outcome,
    is_async_objective,
    run_objective,
    run_objective_async,
)
from autotune_core.trial import TrialStatus

__all__ = [
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "ThreadExecutor",
    "make_executor",
]

logger = logging.getLogger(__name__)

_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


class Executor(ABC):
    """Runs evaluations; the engine opens it once per run with ``async with``."""

    name = ""

    def __init__(self, objective: ObjectiveFn, *, concurrency: int = 1) -> None:
        self.objective = objective
        self.concurrency = concurrency

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:  # noqa: B027
        """Release workers. The default has nothing to release."""

    @abstractmethod
    async def evaluate(self, params: dict[str, Any]) -> Outcome:
        """Evaluate one configuration; never raises for the objective's errors."""

    def evaluate_now(self, params: dict[str, Any]) -> Outcome | None:
        """Evaluate synchronously if this executor can, else ``None``."""
        return None


class InlineExecutor(Executor):
    """Calls the objective directly on the event loop; awaits async objectives."""

    name = "inline"

    def __init__(self, objective: ObjectiveFn, *, concurrency: int = 1) -> None:
        super().__init__(objective, concurrency=concurrency)
        self._async = is_async_objective(objective)

    async def evaluate(self, params: dict[str, Any]) -> Outcome:
        if self._async:
            return await run_objective_async(self.objective, params)
        return run_objective(self.objective, params)

    def evaluate_now(self, params: dict[str, Any]) -> Outcome | None:
        return None if self._async else run_objective(self.objective, params)


class ThreadExecutor(Executor):
    """Runs a sync objective in up to ``concurrency`` worker threads."""

    name = "thread"

    def __init__(self, objective: ObjectiveFn, *, concurrency: int = 1) -> None:
        super().__init__(objective, concurrency=concurrency)
        self._limiter = anyio.CapacityLimiter(concurrency)

    async def evaluate(self, params: dict[str, Any]) -> Outcome:
        return await anyio.to_thread.run_sync(
            run_objective, self.objective, params, limiter=self._limiter
        )


# -- process executor ----------------------------------------------------------

_worker_objective: ObjectiveFn | None = None


def _limit_threads(threads: int) -> None:
    for var in _THREAD_ENV:
        os.environ[var] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def _init_worker(payload: bytes, threads: int) -> None:
    """Runs once in each worker: limit native threads, then load the objective."""
    global _worker_objective
    _limit_threads(threads)
    _worker_objective = cloudpickle.loads(payload)
    # Loading may have imported BLAS/OpenMP libraries; limit those too.
    _limit_threads(threads)


def _run_in_worker(params: dict[str, Any]) -> Outcome:
    assert _worker_objective is not None, "worker was not initialised"
    return run_objective(_worker_objective, params)


class ProcessExecutor(Executor):
    """Runs a sync objective in ``concurrency`` worker processes.

    Workers are started with ``spawn`` (safe whatever threads the parent
    runs) and receive the objective, pickled with cloudpickle so that
    functions defined in a script or notebook work, once at start-up. Each
    worker limits BLAS/OpenMP to ``threads_per_worker`` threads. A worker
    that dies fails the trials it was running and the pool is restarted.

    As with any multiprocessing code, a script that starts a run at import
    time needs an ``if __name__ == "__main__":`` guard.
    """

    name = "process"

    def __init__(
        self,
        objective: ObjectiveFn,
        *,
        concurrency: int = 1,
        threads_per_worker: int = 1,
    ) -> None:
        super().__init__(objective, concurrency=concurrency)
        if is_async_objective(objective):
            raise TypeError("the process executor needs a sync objective")
        self.threads_per_worker = threads_per_worker
        self._payload = cloudpickle.dumps(objective)
        self._pool: ProcessPoolExecutor | None = None
        self._limiter = anyio.CapacityLimiter(concurrency)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            started = time.perf_counter()
            self._pool = ProcessPoolExecutor(
                max_workers=self.concurrency,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._payload, self.threads_per_worker),
            )
            logger.debug(
                "started %d worker processes (%.0f kB objective) in %.3f s",
                self.concurrency,
                len(self._payload) / 1024,
                time.perf_counter() - started,
            )
        return self._pool

    async def evaluate(self, params: dict[str, Any]) -> Outcome:
        started = time.time()
        future = self._ensure_pool().submit(_run_in_worker, params)
        try:
            outcome: Outcome = await anyio.to_thread.run_sync(
                future.result, limiter=self._limiter, abandon_on_cancel=True
            )
        except BrokenProcessPool as exc:
            self._restart()
            error = f"WorkerDied: the worker process ended unexpectedly ({exc})"
            return Outcome(TrialStatus.FAILED, None, error, started, time.time())
        finally:
            future.cancel()
        return outcome

    def _restart(self) -> None:
        # TODO: a dying worker breaks the whole stdlib pool, so the trials that
        # shared it fail too; the reliability issue replaces the pool with
        # per-worker processes that can be killed and replaced one by one.
        if self._pool is not None:
            logger.warning("a worker process died; restarting the pool")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await anyio.to_thread.run_sync(pool.shutdown, True, abandon_on_cancel=True)


def make_executor(
    name: str, objective: ObjectiveFn, *, concurrency: int, threads_per_worker: int = 1
) -> Executor:
    """The executor called ``name``; ``"auto"`` is resolved as in :class:`RunConfig`."""
    if name == "auto":
        if is_async_objective(objective):
            name = "inline"
        else:
            name = "thread" if concurrency == 1 else "process"
    if name == "inline":
        return InlineExecutor(objective, concurrency=concurrency)
    if name == "thread":
        return ThreadExecutor(objective, concurrency=concurrency)
    if name == "process":
        return ProcessExecutor(
            objective, concurrency=concurrency, threads_per_worker=threads_per_worker
        )
    raise ValueError(
        f"executor must be 'auto', 'process', 'thread' or 'inline', got {name!r}"
    )
