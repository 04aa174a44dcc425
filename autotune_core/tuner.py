"""The search itself, driven step by step: :class:`Tuner` (ask/tell).

:func:`~autotune_core.tune` drives a :class:`Tuner` with an executor; users
who run evaluations themselves drive it with :meth:`Tuner.ask` and
:meth:`Tuner.tell`.
"""

from __future__ import annotations

import logging
import math
import platform
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from autotune_core.acceptance import AcceptancePolicy
from autotune_core.config import RunConfig
from autotune_core.events import (
    NewIncumbent,
    RunFinished,
    RunStarted,
    TrialFinished,
    TrialStarted,
)
from autotune_core.exceptions import AutoTuneError, ConfigError, StrategyError
from autotune_core.objective import Outcome, as_evaluation
from autotune_core.registry import create_acceptance, create_reporter, create_strategy
from autotune_core.reporter import Reporter, RunControl, _Broadcaster
from autotune_core.result import TuneResult
from autotune_core.run_folder import EventLog, RunFolder, default_run_name
from autotune_core.space import SearchSpace
from autotune_core.state import SearchState
from autotune_core.strategy import StepStrategy
from autotune_core.trial import Batch, Candidate, Evaluation, Trial, TrialStatus

__all__ = ["PendingTrial", "StopReason", "Tuner"]

logger = logging.getLogger(__name__)

StopReason = Literal[
    "max_trials",
    "max_time",
    "patience",
    "target_score",
    "exhausted",
    "stopped",
    "interrupted",
]

_DEFAULT_STRATEGY = "random-step"


@dataclass(frozen=True, slots=True)
class PendingTrial:
    """A trial handed out by :meth:`Tuner.ask`, answered with :meth:`Tuner.tell`."""

    number: int
    candidate: Candidate
    started_at: float

    @property
    def params(self) -> dict[str, Any]:
        """The configuration to evaluate (a copy: changing it changes nothing)."""
        return dict(self.candidate.params)


class Tuner:
    """A search driven by ask/tell; the engine behind :func:`~autotune_core.tune`.

    Parameters
    ----------
    space
        The search space (a :class:`SearchSpace` or a dict that validates as one).
    strategy
        A :class:`StepStrategy` or a registered name; ``"random-step"`` by default.
    acceptance
        An :class:`AcceptancePolicy` or a registered name; by default accept
        improvements of more than ``config.min_improvement``.
    config
        The :class:`RunConfig`; keyword ``options`` override its fields.
    start
        Configurations evaluated first, in order, before the strategy is asked.
        By default the space's default point.
    reporters
        :class:`Reporter` objects or registered names.
    run_dir
        Folder for the run's record; ``None`` for a new folder under
        ``./autotune-runs/``, ``False`` for none.
    objective_name
        Name used in logs and for the default run name.

    Examples
    --------
    >>> from autotune_core import Float
    >>> tuner = Tuner({"params": {"x": Float(low=-2, high=2)}}, run_dir=False,
    ...               max_trials=20, seed=0, direction="minimize")
    >>> with tuner:
    ...     while (trial := tuner.ask()) is not None:
    ...         _ = tuner.tell(trial, (trial.params["x"] - 1) ** 2)
    >>> abs(tuner.result().best_params["x"] - 1) < 0.2
    True
    """

    def __init__(
        self,
        space: SearchSpace | Mapping[str, Any],
        *,
        strategy: StepStrategy | str = _DEFAULT_STRATEGY,
        acceptance: AcceptancePolicy | str | None = None,
        config: RunConfig | None = None,
        start: Iterable[Mapping[str, Any]] | None = None,
        reporters: Sequence[Reporter | str] = (),
        run_dir: str | Path | Literal[False] | None = None,
        objective_name: str = "objective",
        **options: Any,
    ) -> None:
        self.space = (
            space
            if isinstance(space, SearchSpace)
            else SearchSpace.model_validate(space)
        )
        self.config = _resolve_config(config, options)
        self.strategy = (
            create_strategy(strategy) if isinstance(strategy, str) else strategy
        )
        self.acceptance = _resolve_acceptance(acceptance)
        self.rng = np.random.default_rng(self.config.seed)
        self.state = SearchState(self.space, self.config)
        self.control = RunControl()
        self.objective_name = objective_name
        self.name = self.config.name or default_run_name(objective_name)
        self._starts: deque[Candidate] = deque(_start_candidates(self.space, start))
        self._queue: deque[Candidate] = deque()
        self._next: Candidate | None = None
        self._barrier: set[int] = set()
        self._pending: dict[int, PendingTrial] = {}
        self._next_number = 0
        self._started_at: float | None = None
        self._deadline = math.inf
        self._stop_reason: str | None = None
        self._finished = False
        self._reporters = [
            create_reporter(r) if isinstance(r, str) else r for r in reporters
        ]
        self._broadcaster = _Broadcaster(self._reporters, self.control)
        self._folder = (
            None if run_dir is False else RunFolder.create(run_dir, name=self.name)
        )
        self._log: EventLog | None = None

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> Tuner:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            interrupted = issubclass(
                exc_type, KeyboardInterrupt
            ) or exc_type.__name__ in (
                "CancelledError",
                "Cancelled",
            )
            self.close("interrupted" if interrupted else f"error: {exc_type.__name__}")

    @property
    def run_dir(self) -> Path | None:
        """The run folder, or ``None`` when the run writes none."""
        return None if self._folder is None else self._folder.path

    def open(self) -> None:
        """Start the run: write the run folder, publish ``run_started``."""
        if self._started_at is not None:
            raise AutoTuneError("this Tuner was already opened; create a new one")
        self._started_at = time.time()
        if self.config.max_time_s is not None:
            self._deadline = time.monotonic() + self.config.max_time_s
        event = RunStarted(
            name=self.name,
            time=self._started_at,
            config=self.config.model_dump(mode="json"),
            space=self.space.model_dump(mode="json"),
            strategy=_describe(self.strategy),
            acceptance=_describe(self.acceptance),
            objective=self.objective_name,
            versions=_versions(),
        )
        if self._folder is not None:
            self._write_folder(event)
        logger.info(
            "run %s started: %d parameters, strategy %s%s",
            self.name,
            len(self.space),
            self.strategy,
            f", run folder {self._folder.path}" if self._folder else "",
        )
        self._publish(event)

    def _write_folder(self, event: RunStarted) -> None:
        assert self._folder is not None
        self._folder.write_json("config.json", event.config)
        self._folder.write_json("space.json", event.space)
        meta = {
            k: v for k, v in event.to_dict().items() if k not in ("config", "space")
        }
        self._folder.write_json("run.json", meta)
        self._log = self._folder.open_log()

    def close(self, reason: str | None = None) -> None:
        """Finish the run: publish ``run_finished``, close reporters and the log."""
        if self._finished:
            return
        self._finished = True
        reason = reason or self._stop_reason or "stopped"
        if self._pending and reason in ("stopped", "exhausted"):
            reason = "interrupted"
        best = self.state.incumbent
        event = RunFinished(
            reason=reason,
            time=time.time(),
            n_trials=self.state.n_finished,
            best_number=None if best is None else best.number,
            best_score=None if best is None else best.score,
            status_counts=dict(Counter(t.status.value for t in self.state.history)),
        )
        self._stop_reason = reason
        try:
            self._publish(event)
        finally:
            self._broadcaster.close()
            if self._log is not None:
                self._log.close()
        logger.info(
            "run %s finished (%s) after %d trials", self.name, reason, event.n_trials
        )

    # -- ask / tell ------------------------------------------------------------

    @property
    def stop_reason(self) -> str | None:
        """Why the run stopped, or ``None`` while it may go on."""
        return self._stop_reason

    @property
    def n_running(self) -> int:
        """Trials asked for and not yet told."""
        return len(self._pending)

    def ask(self) -> PendingTrial | None:
        """The next trial to evaluate, or ``None``.

        ``None`` means either that the run has stopped (:attr:`stop_reason`
        says why) or that the strategy waits for running trials to finish.
        """
        if self._started_at is None:
            self.open()
        if self._check_stop() is not None or not self.budget_left:
            return None
        if self._starts:
            return self._start(self._starts.popleft(), in_batch=False)
        if not self._queue and not self._barrier:
            self._propose()
        if self._queue:
            return self._start(self._queue.popleft(), in_batch=True)
        if self._next is not None:
            candidate, self._next = self._next, None
            return self._start(candidate, in_batch=False)
        if not self._pending:
            self._stop("exhausted")
        return None

    def _propose(self) -> None:
        proposal = self.strategy.propose(self.state, self.rng)
        if isinstance(proposal, Batch):
            self._queue.extend(self._checked(c) for c in proposal.candidates)
        elif isinstance(proposal, Candidate):
            self._next = self._checked(proposal)
        elif proposal is not None:
            raise StrategyError(
                f"{self.strategy!r}.propose() must return a Candidate, a Batch or "
                f"None, got {type(proposal).__name__}"
            )

    def _checked(self, candidate: Candidate) -> Candidate:
        try:
            params = self.space.validate_point(candidate.params)
        except ConfigError as exc:
            raise StrategyError(
                f"{self.strategy!r} proposed an invalid candidate: {exc}"
            ) from None
        if params == candidate.params:
            return candidate
        return Candidate(params, candidate.parent, candidate.moves)

    def _start(self, candidate: Candidate, *, in_batch: bool) -> PendingTrial:
        number = self._next_number
        self._next_number += 1
        pending = PendingTrial(number, candidate, time.time())
        self._pending[number] = pending
        if in_batch:
            self._barrier.add(number)
        self.state._add_pending(candidate)
        self._publish(
            TrialStarted(
                number,
                candidate.params,
                candidate.parent,
                candidate.moves,
                pending.started_at,
            )
        )
        return pending

    def tell(
        self,
        trial: PendingTrial | int,
        result: float | Evaluation | Outcome | BaseException,
    ) -> Trial:
        """Record the result of a trial from :meth:`ask`.

        ``result`` is a score, an :class:`Evaluation`, or the exception the
        evaluation raised (recorded as a failed trial).
        """
        number = trial if isinstance(trial, int) else trial.number
        pending = self._pending.pop(number, None)
        if pending is None:
            raise AutoTuneError(
                f"trial {number} is not running (told twice, or never asked)"
            )
        outcome = _as_outcome(result, pending.started_at)
        record = self._record(pending, outcome)
        self._barrier.discard(number)
        self.state._finish(pending.candidate, record)
        self.strategy.tell(record, self.state)
        self._publish(TrialFinished(record))
        if record.accepted:
            assert record.score is not None
            self._publish(
                NewIncumbent(record.number, record.score, record.parent, record.params)
            )
        _log_trial(record)
        self._check_stop()
        return record

    def _record(self, pending: PendingTrial, outcome: Outcome) -> Trial:
        ev = outcome.evaluation
        trial = Trial(
            number=pending.number,
            params=pending.candidate.params,
            status=outcome.status,
            parent=pending.candidate.parent,
            moves=pending.candidate.moves,
            score=ev.score
            if ev is not None and outcome.status is TrialStatus.OK
            else None,
            score_std=None if ev is None else ev.score_std,
            fold_scores=() if ev is None else ev.fold_scores,
            fit_time=None if ev is None else ev.fit_time,
            score_time=None if ev is None else ev.score_time,
            metrics={} if ev is None else ev.metrics,
            error=outcome.error,
            warnings=() if ev is None else ev.warnings,
            started_at=pending.started_at,
            finished_at=outcome.finished_at,
        )
        if not trial.ok or not self.acceptance.accept(
            trial, self.state.incumbent, self.state
        ):
            return trial
        return _replace_accepted(trial)

    # -- stopping ------------------------------------------------------------------

    def request_stop(self, reason: str = "stopped") -> None:
        """Stop proposing; trials already running may still be told."""
        self.control.request_stop(reason)

    def _stop(self, reason: str) -> str:
        if self._stop_reason is None:
            self._stop_reason = reason
            logger.info("run %s stops: %s", self.name, reason)
        return self._stop_reason

    def _check_stop(self) -> str | None:
        if self._stop_reason is not None:
            return self._stop_reason
        cfg = self.config
        incumbent = self.state.incumbent
        if self.control.stop_reason is not None:
            return self._stop(self.control.stop_reason)
        if not self.budget_left and not self._pending:
            return self._stop("max_trials")
        if time.monotonic() >= self._deadline:
            return self._stop("max_time")
        if (
            cfg.patience is not None
            and self.state.trials_since_acceptance >= cfg.patience
        ):
            return self._stop("patience")
        if (
            cfg.target_score is not None
            and incumbent is not None
            and incumbent.score is not None
            and not cfg.better(cfg.target_score, incumbent.score)
        ):
            return self._stop("target_score")
        return None

    @property
    def budget_left(self) -> bool:
        """Whether more trials may start (``max_trials`` not yet reached)."""
        return (
            self.config.max_trials is None or self._next_number < self.config.max_trials
        )

    # -- results -----------------------------------------------------------------

    def result(self) -> TuneResult:
        """The run so far (or finished) as a :class:`TuneResult`."""
        return TuneResult(
            name=self.name,
            space=self.space,
            config=self.config,
            trials=tuple(self.state.history),
            best_trial=self.state.incumbent,
            stop_reason=self._stop_reason or "running",
            run_dir=self.run_dir,
            strategy=_describe(self.strategy),
        )

    def _publish(self, event: Any) -> None:
        if self._log is not None:
            self._log.write(event)
        self._broadcaster.publish(event)


def _resolve_config(config: RunConfig | None, options: Mapping[str, Any]) -> RunConfig:
    base = {} if config is None else config.model_dump(exclude_unset=True)
    resolved = RunConfig.model_validate({**base, **options})
    if resolved.seed is None:
        # Record the seed actually used, so that any run can be repeated.
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        resolved = resolved.model_copy(update={"seed": seed})
    return resolved


def _resolve_acceptance(acceptance: AcceptancePolicy | str | None) -> AcceptancePolicy:
    if acceptance is None:
        return create_acceptance("threshold")
    if isinstance(acceptance, str):
        return create_acceptance(acceptance)
    return acceptance


def _start_candidates(
    space: SearchSpace, start: Iterable[Mapping[str, Any]] | None
) -> list[Candidate]:
    if start is None:
        return [Candidate(space.default_point())]
    if isinstance(start, Mapping):
        raise ConfigError(
            "start= must be a list of configurations, got a single mapping"
        )
    candidates = []
    for index, point in enumerate(start):
        try:
            candidates.append(Candidate(space.validate_point(point)))
        except ConfigError as exc:
            raise ConfigError(f"start point {index}: {exc}") from None
    return candidates


def _as_outcome(result: object, started_at: float) -> Outcome:
    now = time.time()
    if isinstance(result, Outcome):
        return result
    if isinstance(result, BaseException):
        error = f"{type(result).__name__}: {result}".rstrip(": ")
        return Outcome(TrialStatus.FAILED, None, error, started_at, now)
    evaluation = as_evaluation(result)
    if not math.isfinite(evaluation.score):
        error = f"NonFiniteScore: the objective returned score={evaluation.score!r}"
        return Outcome(TrialStatus.FAILED, evaluation, error, started_at, now)
    return Outcome(TrialStatus.OK, evaluation, None, started_at, now)


def _replace_accepted(trial: Trial) -> Trial:
    from dataclasses import replace

    return replace(trial, accepted=True)


def _describe(plugin: StepStrategy | AcceptancePolicy) -> dict[str, Any]:
    return {
        "name": plugin.name or type(plugin).__name__,
        "class": _qualname(plugin),
        "options": plugin.options(),
    }


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in (
        "autotune-core",
        "numpy",
        "scikit-learn",
        "pandas",
        "pydantic",
        "anyio",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _log_trial(trial: Trial) -> None:
    if trial.ok:
        logger.info(
            "trial %d %s score=%.6g%s",
            trial.number,
            trial.status.value,
            trial.score,
            " accepted" if trial.accepted else "",
        )
    else:
        logger.info("trial %d %s: %s", trial.number, trial.status.value, trial.error)
