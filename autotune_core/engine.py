"""The async engine: :func:`tune_async`, and :func:`tune` for synchronous callers."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream

from autotune_core.acceptance import AcceptancePolicy
from autotune_core.config import RunConfig
from autotune_core.exceptions import ConfigError
from autotune_core.executors import Executor, make_executor
from autotune_core.objective import ObjectiveFn, Outcome, describe_objective
from autotune_core.reporter import Reporter
from autotune_core.result import TuneResult
from autotune_core.space import SearchSpace
from autotune_core.strategy import StepStrategy
from autotune_core.tuner import PendingTrial, Tuner

__all__ = ["tune", "tune_async"]

logger = logging.getLogger(__name__)

# Let other tasks run at least this often when the inline executor never yields.
_CHECKPOINT_EVERY = 32


async def tune_async(
    objective: ObjectiveFn,
    space: SearchSpace | Mapping[str, Any],
    *,
    strategy: StepStrategy | str = "random-step",
    acceptance: AcceptancePolicy | str | None = None,
    config: RunConfig | None = None,
    start: Iterable[Mapping[str, Any]] | None = None,
    reporters: Sequence[Reporter | str] = (),
    run_dir: str | Path | Literal[False] | None = None,
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
        objective_name=describe_objective(objective),
        **options,
    )
    _check_objective(objective, tuner)
    executor = make_executor(
        tuner.config.executor,
        objective,
        concurrency=tuner.config.concurrency,
        threads_per_worker=tuner.config.threads_per_worker,
    )
    logger.debug("executor %s, concurrency %d", executor.name, executor.concurrency)
    async with executor:
        with tuner:
            await _drive(tuner, executor)
    return tuner.result()


def _check_objective(objective: ObjectiveFn, tuner: Tuner) -> None:
    if not callable(objective):
        raise ConfigError(f"objective must be callable, got {type(objective).__name__}")
    check_space = getattr(objective, "check_space", None)
    if callable(check_space):
        check_space(tuner.space)
    direction = getattr(objective, "direction", None)
    if direction is not None and direction != tuner.config.direction:
        raise ConfigError(
            f"direction={tuner.config.direction!r} conflicts with the objective, which "
            f"is {direction!r} (scikit-learn scores are greater-is-better)"
        )


async def _drive(tuner: Tuner, executor: Executor) -> None:
    """Keep the executor busy until the tuner stops and nothing is running."""
    try:
        await _drive_group(tuner, executor)
    except BaseExceptionGroup as group:
        # The task group wraps even a lone error; users should see the error itself.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from group.exceptions[0].__cause__
        raise


async def _drive_group(tuner: Tuner, executor: Executor) -> None:
    send, receive = anyio.create_memory_object_stream[tuple[PendingTrial, Outcome]](
        math.inf
    )
    concurrency = tuner.config.concurrency
    in_flight = 0
    since_checkpoint = 0
    async with send, receive, anyio.create_task_group() as group:
        while True:
            while in_flight < concurrency and (pending := tuner.ask()) is not None:
                outcome = executor.evaluate_now(pending.params)
                if outcome is not None:
                    tuner.tell(pending, outcome)
                    since_checkpoint += 1
                    if since_checkpoint >= _CHECKPOINT_EVERY:
                        since_checkpoint = 0
                        await anyio.lowlevel.checkpoint()
                    continue
                group.start_soon(_evaluate, executor, pending, send.clone())
                in_flight += 1
            if in_flight == 0:
                return
            pending, outcome = await receive.receive()
            in_flight -= 1
            tuner.tell(pending, outcome)


async def _evaluate(
    executor: Executor,
    pending: PendingTrial,
    send: MemoryObjectSendStream[tuple[PendingTrial, Outcome]],
) -> None:
    async with send:
        outcome = await executor.evaluate(pending.params)
        await send.send((pending, outcome))


def tune(
    objective: ObjectiveFn,
    space: SearchSpace | Mapping[str, Any],
    *,
    strategy: StepStrategy | str = "random-step",
    acceptance: AcceptancePolicy | str | None = None,
    config: RunConfig | None = None,
    start: Iterable[Mapping[str, Any]] | None = None,
    reporters: Sequence[Reporter | str] = (),
    run_dir: str | Path | Literal[False] | None = None,
    **options: Any,
) -> TuneResult:
    """Tune ``objective`` over ``space`` by small randomized steps.

    Starts from ``start`` (or the space's default point), asks the strategy
    for candidates, evaluates them, accepts those that beat the incumbent,
    and records every trial in a run folder. Works in scripts and inside
    Jupyter (where an event loop is already running).

    Parameters
    ----------
    objective
        A callable ``params -> float`` (sync or async), or returning an
        :class:`~autotune_core.Evaluation`; or a
        :class:`~autotune_core.SklearnObjective`.
    space
        The :class:`~autotune_core.SearchSpace`.
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
    **options
        :class:`~autotune_core.RunConfig` fields, overriding ``config``.

    Returns
    -------
    TuneResult

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
    run = partial(
        tune_async,
        objective,
        space,
        strategy=strategy,
        acceptance=acceptance,
        config=config,
        start=start,
        reporters=reporters,
        run_dir=run_dir,
        **options,
    )
    if not _loop_running():
        return anyio.run(run)
    # Jupyter and other hosts already run a loop in this thread: use another thread.
    with ThreadPoolExecutor(1, thread_name_prefix="autotune") as pool:
        return pool.submit(anyio.run, run).result()


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
