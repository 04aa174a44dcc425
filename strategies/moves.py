"""Single-parameter moves: the small random changes step strategies are made of.

Numeric parameters move in *unit* space (0 at ``low``, 1 at ``high``; log
scale for ``log=True``), so a step of 0.1 is a tenth of the range whatever
the units, and a multiplicative step on a log scale. Layer lists move as
:mod:`strategies.layers` describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autotune_core import Bool, Categorical, Float, Int, Layers, Move, SearchSpace
from strategies._steps import pick, unit_step
from strategies.layers import DEFAULT_LAYER_RULE, move_layers

__all__ = ["can_move", "draw_move", "movable_names", "move_param", "unit_step"]


def can_move(param: Any, value: Any) -> bool:
    """Whether ``param`` has any other value to move to."""
    if isinstance(param, Categorical):
        return len(param.choices) > 1
    return True


def movable_names(space: SearchSpace, params: Mapping[str, Any]) -> list[str]:
    """The parameters of ``params`` (active ones) that have another value to move to.

    Examples
    --------
    >>> from autotune_core import Categorical, Float
    >>> space = SearchSpace({"x": Float(low=0, high=1),
    ...                      "only": Categorical(choices=("a",))})
    >>> movable_names(space, {"x": 0.5, "only": "a"})
    ['x']
    """
    return [name for name, value in params.items() if can_move(space[name], value)]


def move_param(
    name: str,
    param: Any,
    value: Any,
    rng: np.random.Generator,
    step_size: float,
    *,
    layer_rule: str = DEFAULT_LAYER_RULE,
    direction: int | None = None,
) -> Move:
    """One random move of parameter ``name`` away from ``value``.

    Parameters
    ----------
    name, param, value
        The parameter's name, definition and current value.
    rng
        Source of every random choice.
    step_size
        Typical step as a fraction of a numeric parameter's range.
    layer_rule
        How a :class:`Layers` move chooses an added layer's width (see
        :data:`strategies.layers.LAYER_RULES`).
    direction
        ``+1`` (up) or ``-1`` (down) to choose the way a numeric parameter or
        a layer width moves; random by default. A step that would leave the
        range still bounces back inside.

    Examples
    --------
    >>> import numpy as np
    >>> from autotune_core import Float
    >>> move = move_param("x", Float(low=0, high=10), 5.0,
    ...                   np.random.default_rng(0), 0.1, direction=1)
    >>> move.kind, 5.0 < move.new < 6.6
    ('up', True)
    """
    kind, new = draw_move(
        name, param, value, rng, step_size, layer_rule=layer_rule, direction=direction
    )
    return Move(name, kind, value, new)


def draw_move(
    name: str,
    param: Any,
    value: Any,
    rng: np.random.Generator,
    step_size: float,
    *,
    layer_rule: str = DEFAULT_LAYER_RULE,
    direction: int | None = None,
) -> tuple[str, Any]:
    """:func:`move_param`'s kind of move and new value, without the :class:`Move`.

    The same random draws as :func:`move_param`; for a strategy that tries
    several moves before it keeps one (building a ``Move`` costs as much as
    drawing one).
    """
    if isinstance(param, Float):
        return _move_float(param, value, unit_step(rng, step_size, direction))
    if isinstance(param, Int):
        return _move_int(param, value, unit_step(rng, step_size, direction))
    if isinstance(param, Categorical):
        kind = type(value)  # a choice is the value only if of the same type
        others = [c for c in param.choices if type(c) is not kind or c != value]
        return "switch", others[pick(rng, len(others))]
    if isinstance(param, Bool):
        return "flip", not value
    if isinstance(param, Layers):
        move = move_layers(
            name, param, value, rng, step_size, rule=layer_rule, direction=direction
        )
        return move.kind, move.new
    raise TypeError(
        f"no move defined for parameter {name!r} of type {type(param).__name__}"
    )


def _move_float(param: Float, value: float, step: float) -> tuple[str, float]:
    unit = param.to_unit(value)
    if not 0.0 <= unit + step <= 1.0:
        step = -step  # bounce off the edge rather than stick to it
    new = param.from_unit(unit + step)
    if new == value:  # the step rounded away, or was clipped back to this bound
        new = param.high if unit < 0.5 else param.low
    return ("up" if new > value else "down"), new


def _move_int(param: Int, value: int, step: float) -> tuple[str, int]:
    unit = param.to_unit(value)
    if not 0.0 <= unit + step <= 1.0:
        step = -step
    new = param.from_unit(unit + step)
    if new == value:  # at least one grid step, inside the bounds
        up = value + param.step <= param.high and (
            step > 0 or value - param.step < param.low
        )
        new = value + param.step if up else value - param.step
    return ("up" if new > value else "down"), new
