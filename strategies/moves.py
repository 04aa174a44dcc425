"""Single-parameter moves: the small random changes step strategies are made of.

Numeric parameters move in *unit* space (0 at ``low``, 1 at ``high``; log
scale for ``log=True``), so a step of 0.1 is a tenth of the range whatever
the units, and a multiplicative step on a log scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autotune_core import Bool, Categorical, Float, Int, Layers, Move

__all__ = ["can_move", "move_param", "unit_step"]

# Step lengths are drawn from [1 - _JITTER, 1 + _JITTER] x step_size.
_JITTER = 0.5


def unit_step(rng: np.random.Generator, step_size: float) -> float:
    """A signed step length in unit space: random direction, jittered size."""
    size = step_size * (1 + _JITTER * (2 * float(rng.random()) - 1))
    return size if rng.random() < 0.5 else -size


def can_move(param: Any, value: Any) -> bool:
    """Whether ``param`` has any other value to move to."""
    if isinstance(param, Categorical):
        return len(param.choices) > 1
    return True


def move_param(
    name: str, param: Any, value: Any, rng: np.random.Generator, step_size: float
) -> Move:
    """One random move of parameter ``name`` away from ``value``."""
    if isinstance(param, Float):
        return _move_float(name, param, value, rng, step_size)
    if isinstance(param, Int):
        return _move_int(name, param, value, rng, step_size)
    if isinstance(param, Categorical):
        others = [c for c in param.choices if not _same(c, value)]
        return Move(name, "switch", value, others[int(rng.integers(0, len(others)))])
    if isinstance(param, Bool):
        return Move(name, "flip", value, not value)
    if isinstance(param, Layers):
        return _move_layers(name, param, value, rng, step_size)
    raise TypeError(
        f"no move defined for parameter {name!r} of type {type(param).__name__}"
    )


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _move_float(
    name: str, param: Float, value: float, rng: np.random.Generator, step_size: float
) -> Move:
    step = unit_step(rng, step_size)
    unit = param.to_unit(value)
    if not 0.0 <= unit + step <= 1.0:
        step = -step  # bounce off the edge rather than stick to it
    new = param.from_unit(unit + step)
    if new == value:  # the step rounded away, or was clipped back to this bound
        new = param.high if unit < 0.5 else param.low
    return Move(name, "up" if new > value else "down", value, new)


def _move_int(
    name: str, param: Int, value: int, rng: np.random.Generator, step_size: float
) -> Move:
    step = unit_step(rng, step_size)
    unit = param.to_unit(value)
    if not 0.0 <= unit + step <= 1.0:
        step = -step
    new = param.from_unit(unit + step)
    if new == value:  # at least one grid step, inside the bounds
        up = value + param.step <= param.high and (
            step > 0 or value - param.step < param.low
        )
        new = value + param.step if up else value - param.step
    return Move(name, "up" if new > value else "down", value, new)


def _move_layers(
    name: str,
    param: Layers,
    value: tuple[int, ...],
    rng: np.random.Generator,
    step_size: float,
) -> Move:
    kinds = []
    if len(value) < param.max_layers:
        kinds.append("add_layer")
    if len(value) > param.min_layers:
        kinds.append("remove_layer")
    if param.max_units > param.min_units:
        kinds.append("resize_layer")
    kind = kinds[int(rng.integers(0, len(kinds)))]
    layers = list(value)
    if kind == "add_layer":
        at = int(rng.integers(0, len(layers) + 1))
        neighbour = layers[min(at, len(layers) - 1)]
        layers.insert(at, neighbour)
    elif kind == "remove_layer":
        del layers[int(rng.integers(0, len(layers)))]
    else:
        at = int(rng.integers(0, len(layers)))
        layers[at] = _resized(param, layers[at], rng, step_size)
    return Move(name, kind, value, tuple(layers))


def _resized(
    param: Layers, width: int, rng: np.random.Generator, step_size: float
) -> int:
    step = unit_step(rng, step_size)
    unit = param.width_to_unit(width)
    if not 0.0 <= unit + step <= 1.0:
        step = -step
    new = param.width_from_unit(unit + step)
    if new == width:
        new = (
            width + 1
            if (step > 0 and width < param.max_units) or width == param.min_units
            else width - 1
        )
    return new
