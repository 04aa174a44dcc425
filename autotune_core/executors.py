"""Executors: where evaluations run.

``"inline"`` calls the objective on the event loop (cheap or ``async``
objectives), ``"thread"`` in worker threads, ``"process"`` in worker
processes (CPU-bound fits). The process executor sends the objective, and
the data it holds, to each worker once, when the worker starts; each trial
then ships only its parameters and its result.

Per-trial timeouts stop the evaluation for real in the process executor
(the worker is killed and replaced) and for async objectives (the
coroutine is cancelled). A thread cannot be stopped from outside, so the
engine refuses a timeout for sync objectives on the thread and inline
executors.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from typing import Any

import anyio
from threadpoolctl import ThreadpoolController

from autotune_core.exceptions import ConfigError
from autotune_core.objective import (
    ObjectiveFn,
    Outcome,
    describe_objective,
    is_async_objective,
    run_objective,
    run_objective_async,
)
from autotune_core.trial import TrialContext
from autotune_core.workers import WorkerPool, timed_out

__all__ = [
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "ThreadExecutor",
    "make_executor",
]

logger = logging.getLogger(__name__)


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
    async def evaluate(
        self,
        params: dict[str, Any],
        *,
        time_limit: float | None = None,
        context: TrialContext | None = None,
    ) -> Outcome:
        """Evaluate one configuration; never raises for the objective's errors."""

    def evaluate_now(
        self, params: dict[str, Any], context: TrialContext | None = None
    ) -> Outcome | None:
        """Evaluate synchronously if this executor can, else ``None``."""
        return None


class InlineExecutor(Executor):
    """Calls the objective directly on the event loop; awaits async objectives.

    A sync objective cannot be interrupted here, so ``timeout`` applies to
    async objectives only.
    """

    name = "inline"

    def __init__(self, objective: ObjectiveFn, *, concurrency: int = 1) -> None:
        super().__init__(objective, concurrency=concurrency)
        self._async = is_async_objective(objective)

    async def evaluate(
        self,
        params: dict[str, Any],
        *,
        time_limit: float | None = None,
        context: TrialContext | None = None,
    ) -> Outcome:
        if not self._async:
            return run_objective(self.objective, params, context)
        started = time.time()
        with anyio.move_on_after(time_limit):
            return await run_objective_async(self.objective, params, context)
        assert time_limit is not None
        return timed_out(time_limit, started)

    def evaluate_now(
        self, params: dict[str, Any], context: TrialContext | None = None
    ) -> Outcome | None:
        if self._async:
            return None
        return run_objective(self.objective, params, context)


class ThreadExecutor(Executor):
    """Runs a sync objective in up to ``concurrency`` worker threads.

    An async objective is refused (:class:`ConfigError`): the inline
    executor awaits it.

    Each evaluation limits native threads (BLAS, OpenMP) to
    ``threads_per_worker``; OpenMP's limit is per thread, so it is set in
    the worker thread itself, for the libraries loaded by the first
    evaluation.
    """

    name = "thread"

    def __init__(
        self,
        objective: ObjectiveFn,
        *,
        concurrency: int = 1,
        threads_per_worker: int = 1,
    ) -> None:
        super().__init__(objective, concurrency=concurrency)
        _require_sync(self.name, objective)
        self.threads_per_worker = threads_per_worker
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._controller: ThreadpoolController | None = None

    def _run(self, params: dict[str, Any], context: TrialContext | None) -> Outcome:
        if self._controller is None:
            # scanning loaded libraries is slow (ms); do it once
            self._controller = ThreadpoolController()
        with self._controller.limit(limits=self.threads_per_worker):
            return run_objective(self.objective, params, context)

    async def evaluate(
        self,
        params: dict[str, Any],
        *,
        time_limit: float | None = None,
        context: TrialContext | None = None,
    ) -> Outcome:
        if time_limit is not None:
            raise ConfigError(
                f"the thread executor cannot stop an evaluation (time_limit="
                f"{time_limit!r}); use the process executor"
            )
        return await anyio.to_thread.run_sync(
            self._run, params, context, limiter=self._limiter
        )


class ProcessExecutor(Executor):
    """Runs a sync objective in ``concurrency`` worker processes.

    An async objective is refused (:class:`ConfigError`): the inline
    executor awaits it.

    Workers are fresh interpreters that do not re-run the parent's
    ``__main__``. Each receives the objective once, at start-up, pickled
    with cloudpickle so that functions defined in a script or notebook
    work, and limits BLAS/OpenMP to ``threads_per_worker`` threads. A trial
    past its timeout, or whose worker dies, costs only that trial; the
    worker is replaced.
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
        _require_sync(self.name, objective)
        self.threads_per_worker = threads_per_worker
        self.pool = WorkerPool(objective, size=concurrency, threads=threads_per_worker)

    async def evaluate(
        self,
        params: dict[str, Any],
        *,
        time_limit: float | None = None,
        context: TrialContext | None = None,
    ) -> Outcome:
        return await self.pool.run(params, time_limit=time_limit, context=context)

    async def aclose(self) -> None:
        await self.pool.aclose()


def _require_sync(executor: str, objective: ObjectiveFn) -> None:
    """Refuse an async objective on an executor that cannot await it."""
    if is_async_objective(objective):
        raise ConfigError(
            f"executor={executor!r} runs sync objectives only, and "
            f"{describe_objective(objective)!r} is async; use executor='inline' "
            "(or 'auto', which picks it for async objectives)"
        )


def make_executor(
    name: str,
    objective: ObjectiveFn,
    *,
    concurrency: int,
    threads_per_worker: int = 1,
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
        return ThreadExecutor(
            objective, concurrency=concurrency, threads_per_worker=threads_per_worker
        )
    if name == "process":
        return ProcessExecutor(
            objective, concurrency=concurrency, threads_per_worker=threads_per_worker
        )
    raise ValueError(
        f"executor must be 'auto', 'process', 'thread' or 'inline', got {name!r}"
    )
