"""Baselines in the same engine: random search and grid search.

Comparisons with these go through the same evaluation path as every other
strategy (same objective, same folds, same acceptance and run folders), so a
difference in results is a difference in search, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from autotune_core import (
    Bool,
    Candidate,
    Categorical,
    Float,
    Int,
    Layers,
    Point,
    SearchSpace,
    SearchState,
    StepStrategy,
)

__all__ = ["GridSearch", "RandomSearch", "grid_values"]

# rng.integers cannot draw from wider ranges than this.
_DRAW_LIMIT = 2**62


class RandomSearch(StepStrategy):
    """Sample every candidate independently and uniformly from the space.

    Numeric parameters are sampled uniformly in unit space (log-uniformly on
    a log scale), categoricals and booleans uniformly, layer lists with a
    uniform number of layers of uniform widths; conditional parameters only
    when active. Candidates have no parent and declare no moves.

    Parameters
    ----------
    max_tries
        Draws looking for a configuration not yet evaluated, before proposing
        one that was (a small space may run out: the run then ends after
        :data:`~autotune_core.tuner.MAX_REPEATS` repeats in a row).

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=-3, high=3)})
    >>> result = at.tune(lambda p: -abs(p["x"]), space, strategy=RandomSearch(),
    ...                  max_trials=30, seed=0, executor="inline", run_dir=False)
    >>> {t.parent for t in result.trials}
    {None}
    """

    name = "random-search"

    def __init__(self, *, max_tries: int = 20) -> None:
        if isinstance(max_tries, bool) or not isinstance(max_tries, int):
            raise ValueError(f"max_tries must be an int >= 1, got {max_tries!r}")
        if max_tries < 1:
            raise ValueError(f"max_tries must be an int >= 1, got {max_tries!r}")
        self.max_tries = max_tries

    def options(self) -> dict[str, Any]:
        return {"max_tries": self.max_tries}

    def propose(self, state: SearchState, rng: np.random.Generator) -> Candidate:
        point = state.space.sample(rng)
        for _ in range(self.max_tries - 1):
            if not state.has_seen(point):
                break
            point = state.space.sample(rng)
        return Candidate(point)


def grid_values(param: Any, points: int) -> list[Any]:
    """The values a grid takes for one parameter, ``points`` per numeric range.

    ``Float`` and ``Int``: ``points`` values evenly spaced in unit space
    (geometrically on a log scale), both bounds included, duplicates on small
    integer ranges removed; with an odd ``points`` the middle value is the
    default start of a ``Float`` without ``start``. ``Categorical``: every
    choice. ``Bool``: ``False, True``. ``Layers``: every number of layers,
    each with every one of ``points`` evenly spaced widths, the same width
    for all layers.

    Examples
    --------
    >>> grid_values(Int(low=1, high=1000, log=True), 4)
    [1, 10, 100, 1000]
    >>> grid_values(Layers(max_layers=2, min_units=8, max_units=32), 2)
    [(8,), (32,), (8, 8), (32, 32)]
    """
    units = [i / (points - 1) for i in range(points)]
    if isinstance(param, Float):
        return _unique([_float_at(param, u) for u in units])
    if isinstance(param, Int):
        return _unique([param.from_unit(u) for u in units])
    if isinstance(param, Categorical):
        return list(param.choices)
    if isinstance(param, Bool):
        return [False, True]
    if isinstance(param, Layers):
        widths = _unique([param.width_from_unit(u) for u in units])
        counts = range(param.min_layers, param.max_layers + 1)
        return [(width,) * n for n in counts for width in widths]
    raise TypeError(f"no grid defined for {type(param).__name__}")


def _float_at(param: Float, unit: float) -> float:
    """The value at ``unit``: bounds exact, round numbers on log decades.

    Interpolating as ``(1 - u) * a + u * b`` (in ``log10`` on a log scale)
    puts the middle point exactly on the parameter's default start.
    """
    if param.log:
        a, b = math.log10(param.low), math.log10(param.high)
        value = 10 ** ((1 - unit) * a + unit * b)
    else:
        value = param.low * (1 - unit) + param.high * unit
    return min(max(value, param.low), param.high)


def _unique(values: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class GridSearch(StepStrategy):
    """Evaluate every point of a grid over the space, then stop.

    The grid is the product of :func:`grid_values` over the parameters, with
    ``points`` values per numeric parameter (5 by default, bounds included).
    With conditions, a parameter is varied only where it is active, so every
    distinct configuration comes once. Points already evaluated (the run's
    start point, for example) are skipped. When the grid is exhausted the
    strategy proposes ``None`` and the run ends.

    The grid is never built in memory: points are decoded from their index,
    so a huge grid costs nothing until it is evaluated. In order, the last
    parameter varies fastest. With ``shuffle=True`` the grid is visited in a
    pseudo-random order drawn from the run's generator (an affine
    permutation of the indices), which spreads a budget smaller than the
    grid over all of it.

    Parameters
    ----------
    points
        Values per numeric parameter (and widths per layer count), ``>= 2``.
    shuffle
        Visit the grid in a pseudo-random order instead of in order.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=0, high=1), "flag": at.Bool()})
    >>> result = at.tune(lambda p: p["x"] + p["flag"], space,
    ...                  strategy=GridSearch(points=3), seed=0,
    ...                  executor="inline", run_dir=False)
    >>> len(result.trials), result.stop_reason, result.best_params  # 3 x 2 points
    (6, 'exhausted', {'x': 1.0, 'flag': True})
    """

    name = "grid-search"

    def __init__(self, *, points: int = 5, shuffle: bool = False) -> None:
        if isinstance(points, bool) or not isinstance(points, int) or points < 2:
            raise ValueError(f"points must be an int >= 2, got {points!r}")
        if not isinstance(shuffle, bool):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        self.points = points
        self.shuffle = shuffle
        self._position = 0
        self._order: tuple[int, int] | None = None
        self._grid: _Grid | None = None

    def options(self) -> dict[str, Any]:
        return {"points": self.points, "shuffle": self.shuffle}

    def size(self, space: SearchSpace) -> int:
        """Points of the product grid over ``space``, inactive combinations included."""
        return self._grid_for(space).size

    def propose(self, state: SearchState, rng: np.random.Generator) -> Candidate | None:
        grid = self._grid_for(state.space)
        if self._order is None:
            self._order = _affine_order(grid.size, rng) if self.shuffle else (1, 0)
        a, b = self._order
        while self._position < grid.size:
            point = grid.point((a * self._position + b) % grid.size)
            self._position += 1
            if point is not None and not state.has_seen(point):
                return Candidate(point)
        return None

    def _grid_for(self, space: SearchSpace) -> _Grid:
        if self._grid is None or self._grid.space != space:
            self._grid = _Grid(space, self.points)
        return self._grid

    def snapshot(self) -> dict[str, Any]:
        order = None if self._order is None else list(self._order)
        return {"position": self._position, "order": order}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._position = int(snapshot["position"])
        order = snapshot["order"]
        self._order = None if order is None else (int(order[0]), int(order[1]))


def _affine_order(size: int, rng: np.random.Generator) -> tuple[int, int]:
    """``(a, b)`` with ``a`` coprime to ``size``: ``i -> (a*i + b) % size`` permutes."""
    limit = min(size, _DRAW_LIMIT)
    a = 1 + int(rng.integers(0, limit))
    b = int(rng.integers(0, limit))
    while math.gcd(a, size) != 1:
        a += 1
    return a, b


class _Grid:
    """The product grid over a space, decoded point by point from an index."""

    def __init__(self, space: SearchSpace, points: int) -> None:
        self.space = space
        self.values = [grid_values(param, points) for _, param in space.items()]
        self.size = math.prod(len(v) for v in self.values)

    def point(self, index: int) -> Point | None:
        """The point at ``index``, or ``None`` if it repeats another.

        An inactive parameter's value does not matter, so only the index
        where it takes its first grid value stands for the configuration.
        """
        digits = []
        for values in reversed(self.values):
            index, digit = divmod(index, len(values))
            digits.append(digit)
        digits.reverse()
        names = self.space.names
        full = {
            name: values[d]
            for name, values, d in zip(names, self.values, digits, strict=True)
        }
        point = self.space.normalize(full)
        if any(d and name not in point for name, d in zip(names, digits, strict=True)):
            return None
        return point
