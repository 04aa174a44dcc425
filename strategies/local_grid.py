"""Evaluate a small grid of one parameter's values around the incumbent, as a batch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autotune_core import (
    Batch,
    Bool,
    Candidate,
    Categorical,
    Float,
    Int,
    Layers,
    Move,
    SearchSpace,
    SearchState,
    StepStrategy,
    Trial,
)
from autotune_core.strategy import Proposal
from strategies.layers import (
    DEFAULT_LAYER_RULE,
    check_layer_rule,
    layer_kinds,
    move_layers,
)
from strategies.moves import movable_names

__all__ = ["LocalGrid"]


class LocalGrid(StepStrategy):
    """Try several values of one parameter around the incumbent at once.

    Each proposal is a :class:`~autotune_core.Batch`: for one parameter, up
    to ``size`` values near the incumbent's, every other parameter unchanged.
    Numeric parameters get points at ``spread * j / ceil(size / 2)`` of their
    range on each side (``j = 1, 2, ...``, alternating up and down, in unit
    space, so multiplicative on log scales); categoricals get other choices,
    booleans the other value, layer lists one move of each possible kind
    (add, remove, resize up and down). Points already evaluated are left out.

    The engine runs the batch in parallel (up to ``concurrency``) as a
    select-best :class:`~autotune_core.Batch`: once the whole grid has
    finished, only its best point is put to the acceptance policy, so the
    run moves to the best point of the grid if it clears the threshold over
    the incumbent. Parameters are visited in a random order, each once
    per pass; after a whole pass without an accepted point the spread is
    multiplied by ``shrink``, and once it falls below ``min_spread`` the
    strategy proposes nothing more and the run ends.

    Parameters
    ----------
    size
        Points per batch (at most; fewer near a bound or for small choices).
    spread
        Initial distance of the farthest points, as a fraction of the range.
    shrink
        Factor applied to the spread after a pass without progress, in
        ``(0, 1)``.
    min_spread
        The run ends when the spread falls below this.
    layer_rule
        Width of an added layer (see :data:`strategies.layers.LAYER_RULES`).

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=0, high=10),
    ...                         "n": at.Int(low=0, high=20)})
    >>> result = at.tune(lambda p: -abs(p["x"] - 7) - abs(p["n"] - 3), space,
    ...                  strategy=LocalGrid(size=4, spread=0.2), max_trials=80,
    ...                  seed=0, executor="inline", run_dir=False)
    >>> round(result.best_params["x"], 1), result.best_params["n"]
    (7.0, 3)
    """

    name = "local-grid"

    def __init__(
        self,
        *,
        size: int = 4,
        spread: float = 0.1,
        shrink: float = 0.5,
        min_spread: float = 1e-3,
        layer_rule: str = DEFAULT_LAYER_RULE,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be an int >= 1, got {size!r}")
        if not 0 < spread <= 1:
            raise ValueError(f"spread must be in (0, 1], got {spread!r}")
        if not 0 < shrink < 1:
            raise ValueError(f"shrink must be in (0, 1), got {shrink!r}")
        if not 0 < min_spread <= spread:
            raise ValueError(
                f"min_spread must be in (0, spread={spread!r}], got {min_spread!r}"
            )
        self.size = size
        self.spread = float(spread)
        self.shrink = float(shrink)
        self.min_spread = float(min_spread)
        self.layer_rule = check_layer_rule(layer_rule, owner="LocalGrid")
        self._spread = self.spread
        self._queue: list[str] = []
        self._misses = 0
        self._open = False
        self._progress = False

    def options(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "spread": self.spread,
            "shrink": self.shrink,
            "min_spread": self.min_spread,
            "layer_rule": self.layer_rule,
        }

    @property
    def current_spread(self) -> float:
        """The spread of the next grid, shrunk after passes without progress."""
        return self._spread

    # -- proposing ---------------------------------------------------------------

    def propose(self, state: SearchState, rng: np.random.Generator) -> Proposal:
        incumbent = state.incumbent
        if incumbent is None:
            return None if state.pending else Candidate(state.space.sample(rng))
        movable = movable_names(state.space, incumbent.params)
        if not movable:
            return None
        self._close_batch(len(movable))
        while self._spread >= self.min_spread:
            batch = self._next_batch(state, incumbent, movable, rng)
            if batch is not None:
                self._open, self._progress = True, False
                return batch
            self._spread *= self.shrink  # every grid nearby was evaluated
        return None

    def _close_batch(self, n_movable: int) -> None:
        """Count the batch that just finished; shrink after a pass without progress."""
        if not self._open:
            return
        self._open = False
        self._misses = 0 if self._progress else self._misses + 1
        if self._misses >= n_movable:
            self._spread *= self.shrink
            self._misses = 0

    def _next_batch(
        self,
        state: SearchState,
        incumbent: Trial,
        movable: list[str],
        rng: np.random.Generator,
    ) -> Batch | None:
        """A grid for the next parameter in the pass that has unseen points."""
        for _ in range(len(movable) + 1):
            name = self._next_name(movable, rng)
            candidates = [
                c
                for c in self._grid(state.space, incumbent, name, rng)
                if not state.has_seen(c.params)
            ]
            if candidates:
                return Batch(tuple(candidates), select_best=True)
        return None

    def _next_name(self, movable: list[str], rng: np.random.Generator) -> str:
        """The next parameter of the current pass; a new shuffled pass when done."""
        while self._queue:
            name = self._queue.pop(0)
            if name in movable:
                return name
        order = rng.permutation(len(movable))
        self._queue = [movable[int(i)] for i in order[1:]]
        return movable[int(order[0])]

    def _grid(
        self,
        space: SearchSpace,
        incumbent: Trial,
        name: str,
        rng: np.random.Generator,
    ) -> list[Candidate]:
        """Candidates that each change ``name`` to one point of its local grid."""
        param, value = space[name], incumbent.params[name]
        if isinstance(param, Layers):
            moves = self._layer_moves(name, param, value, rng)
        else:
            moves = _grid_moves(name, param, value, self._spread, self.size, rng)
        return [
            Candidate(
                space.normalize({**incumbent.params, name: move.new}),
                parent=incumbent.number,
                moves=(move,),
            )
            for move in moves
        ]

    def _layer_moves(
        self, name: str, param: Layers, value: tuple[int, ...], rng: np.random.Generator
    ) -> list[Move]:
        """One move of each kind the layer list allows, resizes both ways."""
        moves: list[Move] = []
        for kind in layer_kinds(param, value):
            for direction in (1, -1) if kind == "resize_layer" else (None,):
                move = move_layers(
                    name,
                    param,
                    value,
                    rng,
                    self._spread,
                    rule=self.layer_rule,
                    kind=kind,
                    direction=direction,
                )
                if all(move.new != m.new for m in moves):
                    moves.append(move)
        return moves[: self.size]

    # -- learning ----------------------------------------------------------------

    def tell(self, trial: Trial, state: SearchState) -> None:
        if trial.accepted and trial.moves:
            self._progress = True

    def snapshot(self) -> dict[str, Any]:
        return {
            "spread": self._spread,
            "queue": list(self._queue),
            "misses": self._misses,
            "open": self._open,
            "progress": self._progress,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._spread = float(snapshot["spread"])
        self._queue = [str(name) for name in snapshot["queue"]]
        self._misses = int(snapshot["misses"])
        self._open = bool(snapshot["open"])
        self._progress = bool(snapshot["progress"])


def _grid_moves(
    name: str,
    param: Any,
    value: Any,
    spread: float,
    size: int,
    rng: np.random.Generator,
) -> list[Move]:
    """Moves to the grid points of a numeric, categorical or boolean parameter."""
    if isinstance(param, Float | Int):
        return _numeric_moves(name, param, value, spread, size)
    if isinstance(param, Bool):
        return [Move(name, "flip", value, not value)]
    if isinstance(param, Categorical):
        others = [c for c in param.choices if (type(c), c) != (type(value), value)]
        if len(others) > size:
            picks = sorted(rng.choice(len(others), size=size, replace=False))
            others = [others[int(i)] for i in picks]
        return [Move(name, "switch", value, choice) for choice in others]
    return []


def _numeric_moves(
    name: str, param: Float | Int, value: float, spread: float, size: int
) -> list[Move]:
    """Points at ``spread * j / ceil(size / 2)`` either side, in unit space.

    An integer point that rounds back onto the incumbent's value moves one grid
    step instead, so a small spread still tries the neighbours.
    """
    unit = param.to_unit(value)
    half = math.ceil(size / 2)
    offsets = [sign * spread * j / half for j in range(1, half + 1) for sign in (1, -1)]
    moves: list[Move] = []
    seen = {value}
    for offset in offsets[:size]:
        new = param.from_unit(unit + offset)
        if isinstance(param, Int) and new == value:  # at least one grid step
            new = min(
                max(value + (param.step if offset > 0 else -param.step), param.low),
                param.high,
            )
        if new not in seen:
            seen.add(new)
            moves.append(Move(name, "up" if new > value else "down", value, new))
    return moves
