"""The async engine: :func:`tune_async`, and :func:`tune` for synchronous callers."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectSendStream

from autotune_core.acceptance import AcceptancePolicy
from autotune_core.config import RunConfig
from autotune_core.exceptions import ConfigError, TooManyFailuresError
from autotune_core.executors import Executor, make_executor
from autotune_core.objective import (
    ObjectiveFn,
    Outcome,
    describe_objective,
    is_async_objective,
)
from autotune_core.reporter import Reporter
from autotune_core.result import TuneResult
from autotune_core.space import SearchSpace
from autotune_core.strategy import StepStrategy
from autotune_core.trial import TrialContext
from autotune_core.tuner import PendingTrial, Tuner

__all__ = ["tune", "tune_async"]

logger = logging.getLogger(__name__)

# When the inline executor never yields, let other tasks (the signal receiver
# among them) run once this much time has passed: after every trial that took
# longer, and every few hundred nearly free trials.
_YIELD_EVERY_S = 0.01

_Result = tuple[PendingTrial, Outcome]


async def tune_async(
    objective: ObjectiveFn,
    space: SearchSpace | Mapping[str, Any] | None,
    *,
    strategy: StepStrategy | str | None = None,
    acceptance: AcceptancePolicy | str | None = None,
    config: RunConfig | None = None,
    start: Iterable[Mapping[str, Any]] | None = None,
    reporters: Sequence[Reporter | str] = (),
    run_dir: str | Path | Literal[False] | None = None,
    resume: str | Path | None = None,
    record: Mapping[str, Any] | None = None,
    handle_signals: bool = True,
    **options: Any,
) -> TuneResult:
    """Tune ``objective`` over ``space``; the async form of :func:`tune`.

    Keeps ``config.concurrency`` evaluations in flight and tells the
    strategy about each one as it finishes. See :func:`tune` for the
    parameters.
    """
    tuner = Tuner(
        space,
        strategy=strategy,
        acceptance=acceptance,
        config=config,
        start=start,
        reporters=reporters,
        run_dir=run_dir,
        resume=resume,
        objective_name=describe_objective(objective),
        record=record,
        **options,
    )
    return await _tune(objective, tuner, handle_signals=handle_signals)


async def _tune(
    objective: ObjectiveFn,
    tuner: Tuner,
    *,
    handle_signals: bool,
    interrupts: _Interrupts | None = None,
) -> TuneResult:
    """Run ``tuner`` with ``objective``; raise if too many trials failed."""
    executor = _prepare(objective, tuner)
    async with executor:
        with tuner:
            await _run(
                tuner, executor, handle_signals=handle_signals, interrupts=interrupts
            )

    result = tuner.result()
    if tuner.stop_reason == "max_failures":
        raise TooManyFailuresError(
            f"{tuner.config.max_failures} trials in a row failed; the most common "
            f"error: {tuner.failure_summary()}",
            result=result,
        )
    return result


def _prepare(objective: ObjectiveFn, tuner: Tuner) -> Executor:
    """Check the objective against the run before any fit; build the executor."""
    if not callable(objective):
        raise ConfigError(f"objective must be callable, got {type(objective).__name__}")
    check_space = getattr(objective, "check_space", None)
    if callable(check_space):
        check_space(tuner.space)
    direction = getattr(objective, "direction", None)
    cfg = tuner.config
    if direction is not None and direction != cfg.direction:
        raise ConfigError(
            f"direction={cfg.direction!r} conflicts with the objective, which "
            f"is {direction!r} (scikit-learn scores are greater-is-better)"
        )
    name = cfg.executor
    if name == "auto" and cfg.trial_timeout_s is not None:
        name = "inline" if is_async_objective(objective) else "process"
    stoppable = name in ("auto", "process") or is_async_objective(objective)
    if cfg.trial_timeout_s is not None and not stoppable:
        # A thread cannot be stopped from outside: a "timeout" there would
        # leave the fit running, so only a real stop is offered.
        raise ConfigError(
            f"trial_timeout_s cannot stop a sync objective on the {name} executor; "
            "use executor='process' (or 'auto'), which kills and replaces the worker"
        )
    return make_executor(
        name,
        objective,
        concurrency=cfg.concurrency,
        threads_per_worker=cfg.threads_per_worker,
    )


async def _run(
    tuner: Tuner,
    executor: Executor,
    *,
    handle_signals: bool,
    interrupts: _Interrupts | None = None,
) -> None:
    """Drive the tuner; on Ctrl-C or SIGTERM (or ``interrupts``) stop it gracefully."""
    try:
        async with anyio.create_task_group() as group:
            if handle_signals and threading.current_thread() is threading.main_thread():
                # start(), not start_soon(): the handlers are in place before any trial.
                await group.start(_watch_signals, tuner, group)
            handler = partial(_interrupt, tuner, group)
            with nullcontext() if interrupts is None else interrupts.attached(handler):
                if tuner.config.deterministic:
                    await _drive_rounds(tuner, executor)
                else:
                    await _drive(tuner, executor)

            group.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Task groups wrap even a lone error; users should see the error itself.
        sole: BaseException = group
        while isinstance(sole, BaseExceptionGroup) and len(sole.exceptions) == 1:
            sole = sole.exceptions[0]
        if sole is group:
            raise
        raise sole from sole.__cause__


async def _watch_signals(
    tuner: Tuner, group: TaskGroup, *, task_status: TaskStatus[None]
) -> None:
    """First signal: stop proposing, cancel running trials after a grace period.

    A second signal cancels them at once. Cancelled trials are not recorded;
    resuming the run evaluates them again.
    """
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            _interrupt(tuner, group, signal.Signals(signum).name)


def _interrupt(tuner: Tuner, group: TaskGroup, name: str) -> None:
    """Handle one interrupt called ``name``; runs on the event loop."""
    if tuner.control.stop_reason is not None:
        logger.warning("%s again: cancelling running trials", name)
        group.cancel_scope.cancel()
        return

    logger.warning(
        "%s: finishing %d running trials (up to %g s; again to cancel)",
        name,
        tuner.n_running,
        tuner.config.stop_grace_s,
    )
    tuner.request_stop(f"interrupted by {name}")
    group.start_soon(_cancel_after, tuner.config.stop_grace_s, group)


class _Interrupts:
    """Interrupts sent from another thread to a run in a worker thread.

    The run attaches a handler once its loop can take them; :meth:`send`
    schedules the handler on that loop (thread-safely, without waiting),
    or keeps the interrupt for later if the run has not attached yet.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handler: Callable[[str], None] | None = None
        self._early: list[str] = []

    @contextmanager
    def attached(self, handler: Callable[[str], None]) -> Iterator[None]:
        """Deliver interrupts to ``handler`` on the running loop, inside the block."""
        with self._lock:
            self._loop, self._handler = asyncio.get_running_loop(), handler
            early, self._early = self._early, []
        for name in early:
            handler(name)

        try:
            yield
        finally:
            with self._lock:
                self._loop = self._handler = None

    def send(self, name: str) -> None:
        """Interrupt the run; called from any thread."""
        with self._lock:
            if self._loop is None:
                self._early.append(name)
                return

            loop = self._loop
        with suppress(RuntimeError):  # the loop has just closed: the run is over
            loop.call_soon_threadsafe(self._deliver, name)

    def _deliver(self, name: str) -> None:
        """Run the handler if the run still takes interrupts; on the loop."""
        handler = self._handler
        if handler is not None:
            handler(name)


async def _cancel_after(delay: float, group: TaskGroup) -> None:
    await anyio.sleep(delay)
    logger.warning("grace period over: cancelling running trials")
    group.cancel_scope.cancel()


async def _drive(tuner: Tuner, executor: Executor) -> None:
    """Keep ``concurrency`` trials running; tell each result as it arrives."""
    send, receive = anyio.create_memory_object_stream[_Result](math.inf)
    concurrency = tuner.config.concurrency
    time_limit = tuner.config.trial_timeout_s
    in_flight = 0
    yielded = time.monotonic()
    # Only objectives that declare it get a context; skip making one per trial.
    wants_context = getattr(executor.objective, "accepts_context", False)
    async with send, receive, anyio.create_task_group() as group:
        while True:
            while in_flight < concurrency and (pending := tuner.ask()) is not None:
                context = tuner.context(pending) if wants_context else None
                outcome = executor.evaluate_now(pending.params, context)
                if outcome is None:
                    group.start_soon(
                        _evaluate,
                        executor,
                        pending,
                        time_limit,
                        tuner.context(pending),
                        send.clone(),
                    )
                    in_flight += 1
                    continue
                tuner.tell(pending, outcome)
                if time.monotonic() - yielded >= _YIELD_EVERY_S:
                    await anyio.lowlevel.checkpoint()
                    yielded = time.monotonic()
            if in_flight == 0:
                return
            pending, outcome = await receive.receive()
            in_flight -= 1
            tuner.tell(pending, outcome)


async def _drive_rounds(tuner: Tuner, executor: Executor) -> None:
    """Deterministic mode: rounds of ``round_size`` trials, told in proposal order."""
    limiter = anyio.Semaphore(tuner.config.concurrency)
    time_limit = tuner.config.trial_timeout_s
    while True:
        batch: list[PendingTrial] = []
        while len(batch) < tuner.config.round_size and (pending := tuner.ask()):
            batch.append(pending)
        if not batch:
            return
        outcomes: dict[int, Outcome] = {}
        async with anyio.create_task_group() as group:
            for pending in batch:
                context = tuner.context(pending)
                group.start_soon(
                    _evaluate_into,
                    executor,
                    pending,
                    time_limit,
                    context,
                    limiter,
                    outcomes,
                )
        for pending in batch:
            tuner.tell(pending, outcomes[pending.number])


async def _evaluate_into(
    executor: Executor,
    pending: PendingTrial,
    time_limit: float | None,
    context: TrialContext,
    limiter: anyio.Semaphore,
    outcomes: dict[int, Outcome],
) -> None:
    async with limiter:
        outcomes[pending.number] = await executor.evaluate(
            pending.params, time_limit=time_limit, context=context
        )


async def _evaluate(
    executor: Executor,
    pending: PendingTrial,
    time_limit: float | None,
    context: TrialContext,
    send: MemoryObjectSendStream[_Result],
) -> None:
    async with send:
        outcome = await executor.evaluate(
            pending.params, time_limit=time_limit, context=context
        )
        await send.send((pending, outcome))


def tune(
    objective: ObjectiveFn,
    space: SearchSpace | Mapping[str, Any] | None,
    *,
    strategy: StepStrategy | str | None = None,
    acceptance: AcceptancePolicy | str | None = None,
    config: RunConfig | None = None,
    start: Iterable[Mapping[str, Any]] | None = None,
    reporters: Sequence[Reporter | str] = (),
    run_dir: str | Path | Literal[False] | None = None,
    resume: str | Path | None = None,
    record: Mapping[str, Any] | None = None,
    handle_signals: bool = True,
    **options: Any,
) -> TuneResult:
    """Tune ``objective`` over ``space`` by small randomized steps.

    Starts from ``start`` (or the space's default point), asks the strategy
    for candidates, evaluates them, accepts those that beat the incumbent,
    and records every trial in a run folder. Works in scripts and inside
    Jupyter (where an event loop is already running, so the run goes on in
    a worker thread). Ctrl-C or SIGTERM (in a notebook, the kernel's
    interrupt) stops gracefully: no new trials, running ones finish within
    ``stop_grace_s`` (a second Ctrl-C cancels them at once), ``tune``
    returns the partial result, whose ``stop_reason`` starts with
    ``"interrupted"``, and the run can be resumed.

    Parameters
    ----------
    objective
        A callable ``params -> float`` (sync or async), or returning an
        :class:`~autotune_core.Evaluation`; or a
        :class:`~autotune_core.SklearnObjective`.
    space
        The :class:`~autotune_core.SearchSpace`; with ``resume``, ``None``
        keeps the run's space.
    strategy
        A :class:`~autotune_core.StepStrategy` or a registered name
        (``"random-step"`` by default).
    acceptance
        An :class:`~autotune_core.AcceptancePolicy` or a registered name.
    config
        A :class:`~autotune_core.RunConfig`.
    start
        Configurations evaluated first (default: the space's default point).
    reporters
        :class:`~autotune_core.Reporter` objects or registered names.
    run_dir
        The run folder; ``None`` for a new one under ``./autotune-runs/``,
        ``False`` for none.
    resume
        A run folder to go on with (see :class:`~autotune_core.Tuner`).
    record
        Extra JSON documents to keep in the run folder (file name to data).
    handle_signals
        Whether SIGINT and SIGTERM stop the run gracefully (in the main
        thread only); ``False`` leaves the process's handlers alone, for
        hosts that manage signals themselves.
    **options
        :class:`~autotune_core.RunConfig` fields, overriding ``config``.

    Returns
    -------
    TuneResult
        The finished run, or the part of it done before an interrupt.

    Raises
    ------
    TooManyFailuresError
        When ``max_failures`` trials in a row failed.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace(
    ...     {"x": at.Float(low=-5, high=5), "n": at.Int(low=1, high=9)}
    ... )
    >>> result = at.tune(
    ...     lambda p: (p["x"] - 1) ** 2 + p["n"],
    ...     space,
    ...     direction="minimize",
    ...     max_trials=60,
    ...     seed=0,
    ...     executor="inline",
    ...     run_dir=False,
    ... )
    >>> result.best_params["n"]
    1
    """
    tuner = Tuner(
        space,
        strategy=strategy,
        acceptance=acceptance,
        config=config,
        start=start,
        reporters=reporters,
        run_dir=run_dir,
        resume=resume,
        objective_name=describe_objective(objective),
        record=record,
        **options,
    )
    if not _loop_running():
        return anyio.run(
            partial(_tune, objective, tuner, handle_signals=handle_signals)
        )

    # Jupyter and other hosts already run a loop in this thread: use another thread.
    return _tune_in_thread(objective, tuner)


def _tune_in_thread(objective: ObjectiveFn, tuner: Tuner) -> TuneResult:
    """Run in a worker thread; a KeyboardInterrupt here interrupts the run."""
    interrupts = _Interrupts()
    run = partial(_tune, objective, tuner, handle_signals=False, interrupts=interrupts)
    with ThreadPoolExecutor(1, thread_name_prefix="autotune") as pool:
        future = pool.submit(anyio.run, run)
        while True:
            try:
                return future.result()
            except KeyboardInterrupt:
                # Signals reach only this thread: pass Ctrl-C on, wait for the stop.
                interrupts.send("KeyboardInterrupt")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
