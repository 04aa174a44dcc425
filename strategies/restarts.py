"""Escape local optima: restart a step strategy when its search stalls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from autotune_core import (
    Batch,
    Candidate,
    Move,
    Point,
    SearchSpace,
    SearchState,
    StepStrategy,
    Trial,
    TrialStatus,
    create_strategy,
)
from autotune_core.strategy import Proposal
from strategies._steps import pick
from strategies.moves import movable_names, move_param

__all__ = ["RESTART_MODES", "Restarts"]

RESTART_MODES = ("best", "random")
"""Where a restart goes: a kick away from the best trial, or random points."""


class Restarts(StepStrategy):
    """Run a step strategy from several start points, restarting it when it stalls.

    The wrapped strategy (``random-step`` by default) steps from a *base*:
    the run's incumbent at first. After ``patience`` of its trials in a row
    without improving on the base, the search restarts: it proposes a batch
    of ``n_starts`` new start points, a fresh instance of the wrapped
    strategy (with nothing learned) goes on from the best of them, and that
    point is the base from then on, even if it is worse than the incumbent.
    A trial improves on the base if the acceptance policy accepts it, or if
    its score beats the base's by more than ``min_improvement``. The run's
    incumbent, and so the result, is still the best trial by the acceptance
    policy.

    - ``mode="random"``: the start points are drawn uniformly from the space
      (parent ``None``).
    - ``mode="best"``: each start point is a *kick* from the incumbent: every
      movable parameter moves with probability one half (at least one does)
      by a step of about ``kick`` of its range. Kicks declare their moves,
      as steps do (an iterated local search).

    With ``n_starts > 1`` the run also begins with ``n_starts - 1`` random
    start points besides its own, and goes on from the best of all.

    Parameters
    ----------
    strategy
        The wrapped strategy: a registered name or an instance (a fresh one
        is built from its class and :meth:`options` at each restart, so it
        must be re-creatable from them).
    strategy_options
        Options for a strategy given by name.
    patience
        Trials of the wrapped strategy in a row without improving on the
        base before a restart. Also restarts when the wrapped strategy has
        nothing left to propose.
    mode
        ``"random"`` or ``"best"`` (see above).
    n_starts
        Start points per (re)start, evaluated as one batch.
    kick
        Step of a kick, as a fraction of a parameter's range, in ``(0, 1]``.
    max_restarts
        At most this many restarts; ``None`` for no limit.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=-4, high=4)})
    >>> def two_peaks(p):
    ...     return max(1 - (p["x"] + 2) ** 2, 2 - 4 * (p["x"] - 2.5) ** 2)
    >>> strategy = Restarts(patience=10, n_starts=3)
    >>> result = at.tune(two_peaks, space, strategy=strategy, max_trials=120,
    ...                  seed=1, executor="inline", run_dir=False)
    >>> strategy.restarts > 0, abs(result.best_params["x"] - 2.5) < 0.5
    (True, True)
    """

    name = "restarts"

    def __init__(
        self,
        *,
        strategy: str | StepStrategy = "random-step",
        strategy_options: Mapping[str, Any] | None = None,
        patience: int = 30,
        mode: str = "random",
        n_starts: int = 1,
        kick: float = 0.3,
        max_restarts: int | None = None,
    ) -> None:
        _check_options(patience, mode, n_starts, kick, max_restarts)
        inner = _inner(strategy, strategy_options)
        self._inner_cls = type(inner)
        self._inner_options = inner.options()
        self._inner = inner
        self.patience = patience
        self.mode = mode
        self.n_starts = n_starts
        self.kick = float(kick)
        self.max_restarts = max_restarts
        self._base: Trial | None = None  # None: the run's incumbent
        self._stall = 0
        self._restarts = 0
        self._awaiting: list[Point] = []
        self._best_start: Trial | None = None
        self._restarting = False
        self._began = False

    def options(self) -> dict[str, Any]:
        return {
            "strategy": self._inner_cls.name or self._inner_cls.__name__,
            "strategy_options": dict(self._inner_options),
            "patience": self.patience,
            "mode": self.mode,
            "n_starts": self.n_starts,
            "kick": self.kick,
            "max_restarts": self.max_restarts,
        }

    @property
    def restarts(self) -> int:
        """How many restarts the run has made so far."""
        return self._restarts

    @property
    def inner(self) -> StepStrategy:
        """The wrapped strategy now searching (a fresh one after each restart)."""
        return self._inner

    # -- proposing ---------------------------------------------------------------

    def propose(self, state: SearchState, rng: np.random.Generator) -> Proposal:
        if self._awaiting:
            return None  # start points still running
        if state.incumbent is None:
            return self._inner.propose(self._view(state), rng)
        if not self._began:
            self._began = True
            if self.n_starts > 1:
                return self._start_batch(state, rng, self.n_starts - 1, restart=False)
        if self._stall >= self.patience and self._may_restart():
            return self._restart(state, rng)
        proposal = self._inner.propose(self._view(state), rng)
        if proposal is None and not state.pending and self._may_restart():
            return self._restart(state, rng)
        return proposal

    def _may_restart(self) -> bool:
        return self.max_restarts is None or self._restarts < self.max_restarts

    def _restart(self, state: SearchState, rng: np.random.Generator) -> Batch:
        self._restarts += 1
        self._inner = self._inner_cls(**self._inner_options)
        return self._start_batch(state, rng, self.n_starts, restart=True)

    def _start_batch(
        self, state: SearchState, rng: np.random.Generator, count: int, *, restart: bool
    ) -> Batch:
        best = state.incumbent
        if restart and self.mode == "best" and best is not None:
            candidates = [
                _kick(state.space, best, rng, self.kick) for _ in range(count)
            ]
        else:
            candidates = [Candidate(state.space.sample(rng)) for _ in range(count)]
        self._awaiting = [c.params for c in candidates]
        self._best_start = None
        self._restarting = restart
        self._stall = 0
        return Batch(tuple(candidates))

    def _view(self, state: SearchState) -> SearchState:
        if self._base is None:
            return state
        return _LocalView(state, self._base, self._stall)

    # -- learning ----------------------------------------------------------------

    def tell(self, trial: Trial, state: SearchState) -> None:
        if self._take_awaited(trial, state.space):
            self._consider_start(trial, state)
            return
        improved = self._improves(trial, state)
        if trial.accepted:
            self._base = None
        elif improved:
            self._base = trial
        self._stall = 0 if improved else self._stall + 1
        self._inner.tell(replace(trial, accepted=improved), self._view(state))

    def _take_awaited(self, trial: Trial, space: SearchSpace) -> bool:
        """Whether ``trial`` is one of the start points in flight (then forget it)."""
        key = space.key(trial.params)
        for index, params in enumerate(self._awaiting):
            if space.key(params) == key:
                del self._awaiting[index]
                return True
        return False

    def _consider_start(self, trial: Trial, state: SearchState) -> None:
        if _beats(trial, self._best_start, state):
            self._best_start = trial
        if self._awaiting:
            return
        best = self._best_start
        followed = not self._restarting or best is None or best.accepted
        self._base = None if followed else best
        self._stall = 0

    def _improves(self, trial: Trial, state: SearchState) -> bool:
        """Whether ``trial`` improves on the base (always, if it was accepted)."""
        if trial.accepted:
            return True
        base = self._base
        if base is None or base.score is None or trial.score is None:
            return False
        if trial.status is not TrialStatus.OK:
            return False
        gain = state.config.gain(trial.score, base.score)
        return gain > state.config.min_improvement

    # -- snapshot ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "inner": self._inner.snapshot(),
            "base": None if self._base is None else self._base.to_dict(),
            "stall": self._stall,
            "restarts": self._restarts,
            "awaiting": [Candidate(p).to_dict()["params"] for p in self._awaiting],
            "best_start": (
                None if self._best_start is None else self._best_start.to_dict()
            ),
            "restarting": self._restarting,
            "began": self._began,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._inner = self._inner_cls(**self._inner_options)
        self._inner.restore(snapshot["inner"])
        self._base = _trial_or_none(snapshot["base"])
        self._stall = int(snapshot["stall"])
        self._restarts = int(snapshot["restarts"])
        self._awaiting = [
            Candidate.from_dict({"params": p}).params for p in snapshot["awaiting"]
        ]
        self._best_start = _trial_or_none(snapshot["best_start"])
        self._restarting = bool(snapshot["restarting"])
        self._began = bool(snapshot["began"])


_SCORED = (TrialStatus.OK, TrialStatus.CACHED)


def _beats(trial: Trial, best: Trial | None, state: SearchState) -> bool:
    """Whether ``trial`` has a score better than ``best``'s (or ``best`` has none)."""
    if trial.score is None or trial.status not in _SCORED:
        return False
    return (
        best is None
        or best.score is None
        or state.config.better(trial.score, best.score)
    )


def _trial_or_none(data: Mapping[str, Any] | None) -> Trial | None:
    return None if data is None else Trial.from_dict(data)


def _inner(
    strategy: str | StepStrategy, options: Mapping[str, Any] | None
) -> StepStrategy:
    """The wrapped strategy, built by name or given."""
    if isinstance(strategy, str):
        return create_strategy(strategy, **dict(options or {}))
    if not isinstance(strategy, StepStrategy):
        raise TypeError(
            f"strategy must be a registered name or a StepStrategy, got {strategy!r}"
        )
    if options:
        raise ValueError("strategy_options is only for a strategy given by name")
    return strategy


def _check_options(
    patience: int, mode: str, n_starts: int, kick: float, max_restarts: int | None
) -> None:
    """Raise :class:`ValueError` naming the first invalid option."""
    for name, value, minimum in (("patience", patience, 1), ("n_starts", n_starts, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if mode not in RESTART_MODES:
        raise ValueError(f"mode must be one of {RESTART_MODES!r}, got {mode!r}")
    if not 0 < kick <= 1:
        raise ValueError(f"kick must be in (0, 1], got {kick!r}")
    if max_restarts is not None and (
        isinstance(max_restarts, bool)
        or not isinstance(max_restarts, int)
        or max_restarts < 0
    ):
        raise ValueError(
            f"max_restarts must be None or an int >= 0, got {max_restarts!r}"
        )


def _kick(
    space: SearchSpace, best: Trial, rng: np.random.Generator, kick: float
) -> Candidate:
    """A start point a big step from ``best``: about half its parameters moved."""
    movable = movable_names(space, best.params)
    chosen = [name for name in movable if rng.random() < 0.5]
    if movable and not chosen:
        chosen = [movable[pick(rng, len(movable))]]
    params = dict(best.params)
    moves: list[Move] = []
    for name in chosen:
        move = move_param(name, space[name], params[name], rng, kick)
        trial_params = space.normalize({**params, name: move.new})
        if all(m.param in trial_params for m in (*moves, move)):
            params[name] = move.new
            moves.append(move)
    return Candidate(space.normalize(params), parent=best.number, moves=tuple(moves))


class _LocalView(SearchState):
    """The run's state as the wrapped strategy sees it: the base as incumbent."""

    __slots__ = ("_state",)

    def __init__(self, state: SearchState, base: Trial, stall: int) -> None:
        # Deliberately not SearchState.__init__: history and pending stay the
        # run's own, read through, never copied.
        self._state = state
        self.space = state.space
        self.config = state.config
        self.incumbent = base
        self.trials_since_acceptance = stall

    @property
    def history(self) -> Sequence[Trial]:
        return self._state.history

    @property
    def pending(self) -> Sequence[Candidate]:
        return self._state.pending

    @property
    def n_finished(self) -> int:
        return self._state.n_finished

    def has_seen(self, params: Mapping[str, Any]) -> bool:
        return self._state.has_seen(params)

    def earlier_trial(self, params: Mapping[str, Any]) -> Trial | None:
        return self._state.earlier_trial(params)
