"""The search itself, driven step by step: :class:`Tuner` (ask/tell).

:func:`~autotune_core.tune` drives a :class:`Tuner` with an executor; users
who run evaluations themselves drive it with :meth:`Tuner.ask` and
:meth:`Tuner.tell`.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import platform
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from autotune_core._records import quick_init
from autotune_core.acceptance import AcceptancePolicy
from autotune_core.config import RunConfig
from autotune_core.events import (
    Event,
    NewIncumbent,
    RunFinished,
    RunResumed,
    RunStarted,
    TrialFinished,
    TrialStarted,
)
from autotune_core.exceptions import (
    AutoTuneError,
    ConfigError,
    RunFolderError,
    StrategyError,
)
from autotune_core.objective import Outcome, as_evaluation
from autotune_core.registry import create_acceptance, create_reporter, create_strategy
from autotune_core.reporter import Reporter, RunControl, _Broadcaster
from autotune_core.result import TuneResult
from autotune_core.resume import ResumePlan, count_evaluations, plan_resume, rng_state
from autotune_core.run_folder import (
    EVENTS_FILE,
    EventLog,
    RunFolder,
    default_run_name,
    encode,
)
from autotune_core.space import SearchSpace
from autotune_core.state import SearchState
from autotune_core.strategy import StepStrategy
from autotune_core.trial import (
    Batch,
    Candidate,
    Evaluation,
    Trial,
    TrialContext,
    TrialStatus,
)

__all__ = ["PendingTrial", "Tuner"]

logger = logging.getLogger(__name__)

_DEFAULT_STRATEGY = "random-step"

MAX_REPEATS = 100
"""Proposals in a row of already evaluated configurations that end a run."""

_FAILED = (TrialStatus.FAILED, TrialStatus.TIMEOUT)
_JUDGED = (TrialStatus.OK, TrialStatus.CACHED)


@quick_init
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


@dataclass(slots=True)
class _Queued:
    # Internal and never handed out, so not frozen: a frozen dataclass costs
    # several times more to build, and one is built per trial.
    candidate: Candidate
    number: int | None = None  # set for a trial started again after a resume
    batch: bool = False


class Tuner:
    """A search driven by ask/tell; the engine behind :func:`~autotune_core.tune`.

    Parameters
    ----------
    space
        The search space (a :class:`SearchSpace` or a dict that validates as
        one). With ``resume``, ``None`` keeps the run's space; another space
        goes on from the incumbent adapted to it.
    strategy
        A :class:`StepStrategy` or a registered name; ``"random-step"`` by
        default (with ``resume``: the run's own, restored).
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
    resume
        A run folder to go on with: its history, incumbent, strategy state
        and random state are restored, and its trials count against the
        budget. Options given now (``max_trials=...``) override the run's.
    objective_name
        Name used in logs and for the default run name.
    record
        Extra JSON documents to keep in the run folder, file name to data
        (the CLI keeps the experiment there, so that it can resume it).

    Notes
    -----
    A configuration already evaluated in the run is not evaluated again: it
    is answered from the earlier trial as a ``cached`` trial, which does not
    count against ``max_trials``. One equal to a trial still running waits
    for that trial to finish and is answered from it; meanwhile no other
    trial starts. After :data:`MAX_REPEATS` such answers in
    a row the run ends as exhausted.

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
        space: SearchSpace | Mapping[str, Any] | None,
        *,
        strategy: StepStrategy | str | None = None,
        acceptance: AcceptancePolicy | str | None = None,
        config: RunConfig | None = None,
        start: Iterable[Mapping[str, Any]] | None = None,
        reporters: Sequence[Reporter | str] = (),
        run_dir: str | Path | Literal[False] | None = None,
        resume: str | Path | None = None,
        objective_name: str = "objective",
        record: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        _check_plugin("strategy", strategy, StepStrategy)
        _check_plugin("acceptance", acceptance, AcceptancePolicy)
        _check_config(config)
        given_space = _as_space(space)
        self._record = _checked_record(record)
        self._acceptance_given = acceptance
        self.acceptance = _resolve_acceptance(acceptance)
        self.control = RunControl()
        self.objective_name = objective_name
        self._queue: deque[_Queued] = deque()
        self._barrier: set[int] = set()
        self._hold_best = False
        self._held: list[tuple[Candidate, Trial]] = []
        self._pending: dict[int, PendingTrial] = {}
        # configuration key -> the running trial that evaluates it
        self._running: dict[tuple[object, ...], int] = {}
        self._keys: dict[int, tuple[object, ...]] = {}  # running trial -> its key
        self._started_at: float | None = None
        self._deadline = math.inf
        self._stop_reason: str | None = None
        self._finished = False
        self._failures_in_row = 0
        self._repeats_in_row = 0
        self._log: EventLog | None = None
        self._resumed: ResumePlan | None = None
        if resume is not None:
            if run_dir not in (None, False):
                raise ConfigError("give either resume= or run_dir=, not both")
            self._init_resumed(resume, given_space, strategy, config, options)
        else:
            if given_space is None:
                raise ConfigError("space is required unless resuming a run")
            self._init_new(given_space, strategy, config, options, run_dir)
        if start is not None:
            self._queue.extendleft(
                _Queued(c) for c in reversed(_start_candidates(self.space, start))
            )
        self._reporters = _build_reporters(reporters)
        self._broadcaster = _Broadcaster(self._reporters, self.control)

    def _init_new(
        self,
        space: SearchSpace,
        strategy: StepStrategy | str | None,
        config: RunConfig | None,
        options: Mapping[str, Any],
        run_dir: str | Path | Literal[False] | None,
    ) -> None:
        _check_run_dir(run_dir)
        self.space = space
        self.config = _resolve_config(config, options)
        self.strategy = _resolve_strategy(strategy)
        self.rng = np.random.default_rng(self.config.seed)
        self.state = SearchState(self.space, self.config)
        self.name = self.config.name or default_run_name(self.objective_name)
        self._next_number = 0
        self._evaluations = 0
        self._folder: RunFolder | None = None
        self._run_dir = run_dir
        self._default_start = True

    def _init_resumed(
        self,
        resume: str | Path,
        space: SearchSpace | None,
        strategy: StepStrategy | str | None,
        config: RunConfig | None,
        options: Mapping[str, Any],
    ) -> None:
        folder = _resume_folder(resume)
        plan = plan_resume(
            folder, space=space, strategy=strategy, config=config, options=options
        )
        self._resumed = plan
        self._folder = folder
        self._run_dir = folder.path
        self.space, self.config, self.strategy = plan.space, plan.config, plan.strategy
        if self._acceptance_given is None:
            self.acceptance = plan.acceptance
        self.rng, self.state, self.name = plan.rng, plan.state, plan.name
        self._next_number = plan.next_number
        self._evaluations = count_evaluations(list(plan.state.history))
        self._queue.extend(_Queued(c, n, b) for n, c, b in plan.requeue)
        self._queue.extend(_Queued(c) for c in plan.starts)
        self._queue.extend(_Queued(c, batch=True) for c in plan.queue)
        self._hold_best = plan.hold_best
        self._default_start = False
        _count_tail(self)

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
            return
        cancelled = exc_type.__name__ in ("CancelledError", "Cancelled")
        interrupted = issubclass(exc_type, KeyboardInterrupt) or cancelled
        self.close("interrupted" if interrupted else f"error: {exc_type.__name__}")

    @property
    def run_dir(self) -> Path | None:
        """The run folder (created when the run opens), or ``None`` if none."""
        return None if self._folder is None else self._folder.path

    def open(self) -> None:
        """Start the run: write the run folder, publish ``run_started``."""
        if self._started_at is not None:
            raise AutoTuneError("this Tuner was already opened; create a new one")
        self._started_at = time.time()
        if self.config.max_time_s is not None:
            self._deadline = time.monotonic() + self.config.max_time_s
        if self._default_start and not self._queue:
            self._queue.append(_Queued(Candidate(self.space.default_point())))
        if self._folder is None and self._run_dir is not False:
            self._folder = RunFolder.create(self._run_dir, name=self.name)
        event = self._start_event()
        if self._folder is not None:
            self._write_folder(event)
        logger.info(
            "run %s %s: %d parameters, strategy %s%s",
            self.name,
            "resumed" if self._resumed else "started",
            len(self.space),
            self.strategy,
            f", run folder {self._folder.path}" if self._folder else "",
        )
        self._publish(event)
        if self._resumed is not None and self._resumed.space_change is not None:
            self._publish(self._resumed.space_change)

    def _start_event(self) -> RunStarted:
        fields: dict[str, Any] = {
            "name": self.name,
            "time": self._started_at,
            "config": self.config.model_dump(mode="json"),
            "space": self.space.model_dump(mode="json"),
            "strategy": _describe(self.strategy),
            "acceptance": _describe(self.acceptance),
            "objective": self.objective_name,
            "versions": _versions(),
            "run_dir": self.run_dir,
        }
        if self._resumed is None:
            return RunStarted(**fields)
        return RunResumed(**fields, n_trials_before=self._resumed.n_trials_before)

    def _write_folder(self, event: RunStarted) -> None:
        assert self._folder is not None
        self._folder.write_json("config.json", event.config)
        self._folder.write_json("space.json", event.space)
        if self._resumed is None:
            meta = {
                k: v for k, v in event.to_dict().items() if k not in ("config", "space")
            }
            self._folder.write_json("run.json", meta)
        for filename, data in self._record.items():
            self._folder.write_json(filename, data)
        self._log = self._folder.open_log(sync=self.config.log_sync)

    def close(self, reason: str | None = None) -> None:
        """Finish the run: publish ``run_finished``, close reporters and the log."""
        if self._finished:
            return
        self._finished = True
        # A stop requested while every trial hung was never seen by ask().
        reason = reason or self._stop_reason or self.control.stop_reason or "stopped"
        if self._pending and not reason.startswith(("interrupted", "error")):
            reason = "interrupted"
        self._stop_reason = reason
        best = self.state.incumbent
        event = RunFinished(
            reason=reason,
            time=time.time(),
            n_trials=self.state.n_finished,
            best_number=None if best is None else best.number,
            best_score=None if best is None else best.score,
            status_counts=dict(Counter(t.status.value for t in self.state.history)),
        )
        try:
            self._publish(event)
        finally:
            self._broadcaster.close()
            if self._log is not None:
                self._log.close()
        logger.info(
            "run %s finished (%s) after %d trials", self.name, reason, event.n_trials
        )

    # -- ask -------------------------------------------------------------------

    @property
    def stop_reason(self) -> str | None:
        """Why the run stopped, or ``None`` while it may go on."""
        return self._stop_reason

    @property
    def n_running(self) -> int:
        """Trials asked for and not yet told."""
        return len(self._pending)

    @property
    def budget_left(self) -> bool:
        """Whether more evaluations may start (``max_trials`` not reached)."""
        limit = self.config.max_trials
        return limit is None or self._evaluations < limit

    def ask(self) -> PendingTrial | None:
        """The next trial to evaluate, or ``None``.

        ``None`` means either that the run has stopped (:attr:`stop_reason`
        says why) or that the strategy waits for running trials to finish.
        Configurations already evaluated are answered from the earlier trial
        on the way (as ``cached`` trials) and never handed out; one equal to
        a running trial waits for it (``ask`` returns ``None`` meanwhile) and
        is then answered from it the same way.
        """
        if self._started_at is None:
            self.open()
        while self._check_stop() is None and self.budget_left:
            item = self._next_item()
            if item is None:
                if not self._pending:
                    self._stop("exhausted")
                return None
            key = self.space.key(item.candidate.params)
            if item.number is not None:  # started before a resume: run it again
                return self._start(item, key)
            earlier = self.state._earlier(key)
            if earlier is not None:
                self._answer_from_cache(item, earlier)
            elif key in self._running:
                self._queue.appendleft(item)  # first in line once its twin is told
                return None
            else:
                return self._start(item, key)
        return None

    def _next_item(self) -> _Queued | None:
        if not self._queue and not self._barrier:
            self._propose()
        if self._queue and (self._queue[0].batch or not self._barrier):
            return self._queue.popleft()
        return None

    def _propose(self) -> None:
        proposal = self.strategy.propose(self.state, self.rng)
        if isinstance(proposal, Batch):
            self._hold_best = proposal.select_best
            self._queue.extend(
                _Queued(self._checked(c), batch=True) for c in proposal.candidates
            )
        elif isinstance(proposal, Candidate):
            self._hold_best = False
            self._queue.append(_Queued(self._checked(proposal)))
        elif proposal is not None:
            raise StrategyError(
                f"{self.strategy!r}.propose() must return a Candidate, a Batch or "
                f"None, got {type(proposal).__name__}"
            )

    def _checked(self, candidate: Candidate) -> Candidate:
        space = self.space
        if not space.conditions and space._all_canonical(candidate.params):
            return candidate  # the common case: valid as it is, nothing to copy
        try:
            params = space.validate_point(candidate.params)
        except ConfigError as exc:
            raise StrategyError(
                f"{self.strategy!r} proposed an invalid candidate: {exc}"
            ) from None
        if params == candidate.params:
            return candidate
        return Candidate(params, candidate.parent, candidate.moves)

    def _start(self, item: _Queued, key: tuple[object, ...]) -> PendingTrial:
        number = self._take_number(item)
        candidate = item.candidate
        pending = PendingTrial(number, candidate, time.time())
        self._pending[number] = pending
        self._running.setdefault(key, number)
        self._keys[number] = key
        self._evaluations += 1
        if item.batch:
            self._barrier.add(number)
        self.state._add_pending(candidate)
        self._publish_started(number, item, pending.started_at)
        return pending

    def _take_number(self, item: _Queued) -> int:
        if item.number is not None:
            return item.number
        number = self._next_number
        self._next_number += 1
        return number

    def _publish_started(self, number: int, item: _Queued, now: float) -> None:
        c = item.candidate
        checkpoint = self._checkpoint() if self._log is not None else None
        self._publish(
            TrialStarted(
                number, c.params, c.parent, c.moves, now, item.batch, checkpoint
            )
        )

    def _checkpoint(self) -> dict[str, Any]:
        """What resuming restores: strategy and random state after this proposal."""
        checkpoint: dict[str, Any] = {
            "rng": rng_state(self.rng),
            "strategy": self.strategy.snapshot(),
        }
        if self._hold_best:
            checkpoint["hold_best"] = True
        queued = [q for q in self._queue if q.number is None] if self._queue else ()
        if queued:
            checkpoint["starts"] = [
                q.candidate.to_dict() for q in queued if not q.batch
            ]
            checkpoint["queue"] = [q.candidate.to_dict() for q in queued if q.batch]
        return checkpoint

    def context(self, pending: PendingTrial) -> TrialContext:
        """What the objective may know of the search as ``pending`` starts."""
        incumbent = self.state.incumbent
        return TrialContext(
            number=pending.number,
            direction=self.config.direction,
            min_improvement=self.config.min_improvement,
            incumbent_fold_scores=() if incumbent is None else incumbent.fold_scores,
        )

    def _answer_from_cache(self, item: _Queued, source: Trial) -> None:
        number = self._take_number(item)
        now = time.time()
        self._publish_started(number, item, now)
        trial = replace(
            source,
            number=number,
            params=item.candidate.params,
            status=TrialStatus.CACHED,
            parent=item.candidate.parent,
            moves=item.candidate.moves,
            accepted=False,
            started_at=now,
            finished_at=now,
            cached_from=source.number,
        )
        self._repeats_in_row += 1
        self._finish(None, trial)

    # -- tell ------------------------------------------------------------------

    def tell(
        self,
        trial: PendingTrial | int,
        result: float | Evaluation | Outcome | BaseException,
    ) -> Trial:
        """Record the result of a trial from :meth:`ask`.

        ``result`` is a score, an :class:`Evaluation`, or the exception the
        evaluation raised (recorded as a failed trial). A trial of a
        select-best :class:`Batch` is recorded, and judged, once the whole
        batch has finished; until then the returned trial is provisional.
        """
        number = trial if isinstance(trial, int) else trial.number
        pending = self._pending.pop(number, None)
        if pending is None:
            raise AutoTuneError(
                f"trial {number} is not running (told twice, or never asked)"
            )
        key = self._keys.pop(number)
        if self._running.get(key) == number:
            del self._running[key]
        outcome = _as_outcome(result, pending.started_at)
        held = self._hold_best and number in self._barrier
        self._barrier.discard(number)
        self._repeats_in_row = 0
        if outcome.status in _FAILED:
            self._failures_in_row += 1
        else:
            self._failures_in_row = 0
        record = _record(pending, outcome)
        if not held:
            return self._finish(pending.candidate, record, key=key)
        self._held.append((pending.candidate, record))
        if not self._barrier and not any(q.batch for q in self._queue):
            self._release_held()
        return record

    def _release_held(self) -> None:
        """Record a select-best batch: only its best trial is judged."""
        held, self._held, self._hold_best = self._held, [], False
        scored = [t for _, t in held if t.score is not None and t.status in _JUDGED]
        best = max(scored, key=self._goodness, default=None)
        for candidate, trial in sorted(held, key=lambda item: item[1].number):
            self._finish(candidate, trial, judge=trial is best)

    def _goodness(self, trial: Trial) -> float:
        assert trial.score is not None
        return trial.score if self.config.direction == "maximize" else -trial.score

    def _finish(
        self,
        candidate: Candidate | None,
        trial: Trial,
        *,
        judge: bool = True,
        key: tuple[object, ...] | None = None,
    ) -> Trial:
        """Apply acceptance, update the state, tell the strategy, publish."""
        previous = self.state.incumbent
        judged = judge and trial.score is not None and trial.status in _JUDGED
        if judged and self.acceptance.accept(trial, previous, self.state):
            trial = replace(trial, accepted=True)
        self.state._finish(candidate, trial, key)
        self.strategy.tell(trial, self.state)
        self._publish(TrialFinished(trial))
        if trial.accepted:
            assert trial.score is not None
            self._publish(
                NewIncumbent(
                    trial.number,
                    trial.score,
                    None if previous is None else previous.number,
                    trial.params,
                )
            )
        if self._log is not None:
            self._log.commit()
        _log_trial(trial)
        self._check_stop()
        return trial

    # -- stopping --------------------------------------------------------------

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
        if cfg.max_failures is not None and self._failures_in_row >= cfg.max_failures:
            return self._stop("max_failures")
        if self._repeats_in_row >= MAX_REPEATS:
            return self._stop(
                f"exhausted: {MAX_REPEATS} proposals in a row were already evaluated"
            )
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

    def failure_summary(self) -> str:
        """The most common error among failed trials, with its count."""
        errors = Counter(t.error for t in self.state.history if t.status in _FAILED)
        if not errors:
            return "no failures"
        error, count = errors.most_common(1)[0]
        return f"{error} ({count} of {sum(errors.values())} failures)"

    # -- results ---------------------------------------------------------------

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

    def _publish(self, event: Event) -> None:
        if self._log is not None:
            self._log.write(event)
        self._broadcaster.publish(event)


def _count_tail(tuner: Tuner) -> None:
    """Failures in a row at the end of a resumed history."""
    for trial in reversed(tuner.state.history):
        if trial.status not in _FAILED:
            break
        tuner._failures_in_row += 1


def _as_space(space: SearchSpace | Mapping[str, Any] | None) -> SearchSpace | None:
    if space is None or isinstance(space, SearchSpace):
        return space
    return SearchSpace.model_validate(space)


def _resolve_config(config: RunConfig | None, options: Mapping[str, Any]) -> RunConfig:
    base = {} if config is None else config.model_dump(exclude_unset=True)
    resolved = RunConfig.model_validate({**base, **options})
    if resolved.seed is None:
        # Record the seed actually used, so that any run can be repeated.
        seed = int(np.random.SeedSequence().generate_state(1)[0])
        resolved = resolved.model_copy(update={"seed": seed})
    return resolved


def _resolve_strategy(strategy: StepStrategy | str | None) -> StepStrategy:
    if strategy is None:
        return create_strategy(_DEFAULT_STRATEGY)
    return create_strategy(strategy) if isinstance(strategy, str) else strategy


def _resolve_acceptance(acceptance: AcceptancePolicy | str | None) -> AcceptancePolicy:
    if acceptance is None:
        return create_acceptance("threshold")
    if isinstance(acceptance, str):
        return create_acceptance(acceptance)
    return acceptance


def _start_candidates(
    space: SearchSpace, start: Iterable[Mapping[str, Any]]
) -> list[Candidate]:
    if isinstance(start, Mapping):
        raise ConfigError(
            "start= must be a list of configurations, got a single mapping"
        )
    candidates = []
    for index, point in enumerate(_as_list("start", start, "configurations")):
        if not isinstance(point, Mapping):
            raise ConfigError(
                f"start point {index}: must be a mapping of parameter names to "
                f"values, got {_shown(point)}"
            )
        try:
            candidates.append(Candidate(space.validate_point(point)))
        except ConfigError as exc:
            raise ConfigError(f"start point {index}: {exc}") from None
    return candidates


# -- argument checks: wrong kinds of argument fail before anything is built ----

_RUN_FILES = frozenset({"run.json", "config.json", "space.json", EVENTS_FILE})


def _shown(value: object) -> str:
    """``value`` for an error message: its type and a short repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _check_plugin(field: str, value: object, base: type) -> None:
    """``value`` must be ``None``, a registered name or an instance of ``base``."""
    if value is None or isinstance(value, str | base):
        return

    kind = base.__name__
    if isinstance(value, type) and issubclass(value, base):
        raise ConfigError(
            f"{field}= must be a {kind} instance or a registered name, got the "
            f"class {value.__name__}; use {value.__name__}()"
        )
    raise ConfigError(
        f"{field}= must be a {kind} or a registered name, got {_shown(value)}"
    )


def _check_config(config: object) -> None:
    if config is not None and not isinstance(config, RunConfig):
        raise ConfigError(
            f"config= must be a RunConfig, got {_shown(config)}; give options as "
            "keywords (max_trials=...) or build RunConfig(...)"
        )


def _as_list(field: str, value: object, what: str) -> list[Any]:
    """``value`` as a list, if it is a collection of items (not text or a mapping)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ConfigError(f"{field}= must be a list of {what}, got {_shown(value)}")
    return list(value)


def _build_reporters(reporters: object) -> list[Reporter]:
    built = []
    for index, item in enumerate(_as_list("reporters", reporters, "reporters")):
        if isinstance(item, str):
            built.append(create_reporter(item))
        elif isinstance(item, Reporter):
            built.append(item)
        else:
            raise ConfigError(
                f"reporters[{index}] must be a Reporter or a registered name, "
                f"got {_shown(item)}"
            )
    return built


def _as_path(field: str, value: object) -> Path:
    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if not isinstance(text, str) or "\0" in text:
        raise ConfigError(f"{field}= must be the path of a folder, got {_shown(value)}")
    return Path(text)


def _resume_folder(resume: object) -> RunFolder:
    path = _as_path("resume", resume)
    try:
        return RunFolder.existing(path)
    except RunFolderError as exc:
        raise RunFolderError(f"resume: {exc}") from None


def _check_run_dir(run_dir: object) -> None:
    """A folder that can become a new run folder, ``None`` or ``False``."""
    if run_dir is None or run_dir is False:
        return

    folder = _as_path("run_dir", run_dir)
    try:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        held = (folder / EVENTS_FILE).exists()
    except OSError as exc:  # a name too long, say
        raise ConfigError(f"run_dir={str(folder)!r}: {exc.strerror}") from None
    if not existing.is_dir():
        raise ConfigError(
            f"run_dir={str(folder)!r} cannot be a folder: {str(existing)!r} is a file"
        )
    if held:
        raise RunFolderError(
            f"run_dir={str(folder)!r} already holds a run; choose another folder "
            "(or go on with it: resume=...)"
        )


def _checked_record(record: object) -> dict[str, Any]:
    """``record`` as a dict of plain file names to JSON documents."""
    if record is None:
        return {}
    if not isinstance(record, Mapping):
        raise ConfigError(
            f"record= must map file names to JSON documents, got {_shown(record)}"
        )
    for filename, data in record.items():
        _check_record_entry(filename, data)
    return dict(record)


def _check_record_entry(filename: object, data: object) -> None:
    if (
        not isinstance(filename, str)
        or filename in _RUN_FILES
        or Path(filename).name != filename
        or filename in ("", ".", "..")
        or "\0" in filename
    ):
        raise ConfigError(
            f"record= keys must be plain file names other than "
            f"{sorted(_RUN_FILES)!r}, got {_shown(filename)}"
        )
    try:
        encode(data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"record[{filename!r}] is not JSON: {exc}") from None


def _record(pending: PendingTrial, outcome: Outcome) -> Trial:
    ev = outcome.evaluation
    candidate = pending.candidate
    return Trial(
        number=pending.number,
        params=candidate.params,
        status=outcome.status,
        parent=candidate.parent,
        moves=candidate.moves,
        score=ev.score if ev is not None and outcome.status in _SCORED else None,
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


_SCORED = frozenset({TrialStatus.OK, TrialStatus.PRUNED})  # statuses that keep a score


def _as_outcome(result: object, started_at: float) -> Outcome:
    if isinstance(result, Outcome):  # from an executor: the common case, first
        return result
    now = time.time()
    if isinstance(result, BaseException):
        error = f"{type(result).__name__}: {result}".rstrip(": ")
        return Outcome(TrialStatus.FAILED, None, error, started_at, now)
    evaluation = as_evaluation(result)
    if not math.isfinite(evaluation.score):
        error = f"NonFiniteScore: the objective returned score={evaluation.score!r}"
        return Outcome(TrialStatus.FAILED, evaluation, error, started_at, now)
    return Outcome(TrialStatus.OK, evaluation, None, started_at, now)


def _describe(plugin: StepStrategy | AcceptancePolicy) -> dict[str, Any]:
    return {
        "name": plugin.name or type(plugin).__name__,
        "class": f"{type(plugin).__module__}.{type(plugin).__qualname__}",
        "options": plugin.options(),
    }


def _versions() -> dict[str, str]:
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> dict[str, str]:
    # Read once per process: parsing package metadata takes milliseconds.
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
    if not logger.isEnabledFor(logging.INFO):
        return
    if trial.score is not None:
        logger.info(
            "trial %d %s score=%.6g%s",
            trial.number,
            trial.status.value,
            trial.score,
            " accepted" if trial.accepted else "",
        )
    else:
        logger.info("trial %d %s: %s", trial.number, trial.status.value, trial.error)
