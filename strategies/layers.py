"""Layer-list moves: add, remove or resize one layer of a :class:`Layers` parameter.

The width of a new layer follows a *rule* named by a string (see
:data:`LAYER_RULES`): a fixed bound (``"min"``, ``"max"``), a summary of the
layers already there (``"avg"``, ``"median"``), of the two layers around the
insertion point (``"adj_min"``, ``"adj_max"``, ``"adj_avg"``), a copy of the
neighbour (``"copy"``, the default) or a random width (``"uniform"``).
Averages are geometric when the parameter has ``log=True``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np

from autotune_core import ConfigError, Layers, Move
from strategies._steps import pick, unit_step

__all__ = [
    "DEFAULT_LAYER_RULE",
    "LAYER_KINDS",
    "LAYER_RULES",
    "check_layer_rule",
    "layer_kinds",
    "move_layers",
    "new_layer_width",
    "resized_width",
]

LAYER_RULES = (
    "adj_avg",
    "adj_max",
    "adj_min",
    "avg",
    "copy",
    "max",
    "median",
    "min",
    "uniform",
)
"""Names of the rules that choose the width of an added layer."""

DEFAULT_LAYER_RULE = "copy"
"""The rule strategies use unless told otherwise: copy a neighbouring layer."""

LAYER_KINDS = ("add_layer", "remove_layer", "resize_layer")
"""The kinds of layer-list move, as :class:`~autotune_core.Move` names them."""


def check_layer_rule(rule: object, *, owner: str = "layer_rule") -> str:
    """``rule`` if it names a layer rule; otherwise a :class:`ConfigError`.

    Examples
    --------
    >>> check_layer_rule("adj_max")
    'adj_max'
    >>> check_layer_rule("biggest")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    autotune_core.exceptions.ConfigError: layer_rule='biggest' is not a known ...
    """
    if isinstance(rule, str) and rule in LAYER_RULES:
        return rule

    allowed = ", ".join(repr(r) for r in LAYER_RULES)
    prefix = "" if owner == "layer_rule" else f"{owner}: "
    raise ConfigError(
        f"{prefix}layer_rule={rule!r} is not a known layer rule; use one of {allowed}"
    )


def new_layer_width(
    param: Layers,
    layers: Sequence[int],
    at: int,
    rule: str,
    rng: np.random.Generator,
) -> int:
    """The width of a layer inserted at position ``at`` of ``layers`` by ``rule``.

    Parameters
    ----------
    param
        The layer-list parameter, for its width bounds and scale.
    layers
        The current widths (at least one layer).
    at
        Insertion index, ``0`` (first) to ``len(layers)`` (last).
    rule
        One of :data:`LAYER_RULES`.
    rng
        Used by ``"uniform"`` only.

    Examples
    --------
    >>> import numpy as np
    >>> param = Layers(max_layers=4, max_units=128)
    >>> rng = np.random.default_rng(0)
    >>> [new_layer_width(param, (64, 16), 1, r, rng) for r in ("adj_min", "adj_max")]
    [16, 64]
    """
    check_layer_rule(rule)
    neighbours = [layers[i] for i in (at - 1, at) if 0 <= i < len(layers)]
    if rule == "copy":
        width = layers[min(at, len(layers) - 1)]
    elif rule == "uniform":
        width = param.width_from_unit(float(rng.random()))
    elif rule in ("min", "max"):
        width = param.min_units if rule == "min" else param.max_units
    else:
        width = _summary(param, neighbours if rule.startswith("adj_") else layers, rule)
    return int(min(max(width, param.min_units), param.max_units))


def _summary(param: Layers, widths: Sequence[int], rule: str) -> int:
    """Min, max, mean (geometric on a log scale) or median of ``widths``."""
    if rule == "adj_min":
        return min(widths)

    if rule == "adj_max":
        return max(widths)

    if rule == "median":
        return round(statistics.median(widths))

    if param.log:
        return round(math.exp(math.fsum(math.log(w) for w in widths) / len(widths)))

    return round(math.fsum(widths) / len(widths))


def layer_kinds(param: Layers, value: Sequence[int]) -> list[str]:
    """The kinds of move ``value`` allows: add, remove or resize a layer.

    Examples
    --------
    >>> layer_kinds(Layers(max_layers=2, max_units=64), (8, 8))
    ['remove_layer', 'resize_layer']
    """
    kinds = []
    if len(value) < param.max_layers:
        kinds.append("add_layer")
    if len(value) > param.min_layers:
        kinds.append("remove_layer")
    if param.max_units > param.min_units:
        kinds.append("resize_layer")
    return kinds


def move_layers(
    name: str,
    param: Layers,
    value: tuple[int, ...],
    rng: np.random.Generator,
    step_size: float,
    *,
    rule: str = DEFAULT_LAYER_RULE,
    kind: str | None = None,
    direction: int | None = None,
) -> Move:
    """One move of a layer list: add a layer (width by ``rule``), remove or resize one.

    Parameters
    ----------
    name, param, value
        The parameter's name, definition and current layer widths.
    rng
        Source of every random choice.
    step_size
        Typical resize step, as a fraction of the width range (log scale if
        ``param.log``).
    rule
        How an added layer's width is chosen, one of :data:`LAYER_RULES`.
    kind
        Force the kind of move (one that ``value`` allows); random by default.
    direction
        ``+1`` or ``-1`` to force which way a resize goes.

    Examples
    --------
    >>> import numpy as np
    >>> param = Layers(max_layers=3, max_units=64)
    >>> move = move_layers("h", param, (32,), np.random.default_rng(0), 0.1,
    ...                    rule="max", kind="add_layer")
    >>> move.kind, sorted(move.new)
    ('add_layer', [32, 64])
    """
    kinds = layer_kinds(param, value)
    if kind is None:
        kind = kinds[pick(rng, len(kinds))]
    elif kind not in kinds:
        raise ValueError(f"kind={kind!r} is not possible for {value!r}; use {kinds}")
    layers = list(value)
    if kind == "add_layer":
        at = pick(rng, len(layers) + 1)
        layers.insert(at, new_layer_width(param, value, at, rule, rng))
    elif kind == "remove_layer":
        del layers[pick(rng, len(layers))]
    else:
        at = pick(rng, len(layers))
        layers[at] = resized_width(param, layers[at], rng, step_size, direction)
    return Move(name, kind, value, tuple(layers))


def resized_width(
    param: Layers,
    width: int,
    rng: np.random.Generator,
    step_size: float,
    direction: int | None = None,
) -> int:
    """``width`` moved by a unit-space step, always to another valid width.

    Examples
    --------
    >>> import numpy as np
    >>> param = Layers(max_layers=1, min_units=1, max_units=100)
    >>> resized_width(param, 50, np.random.default_rng(0), 0.1, direction=1) > 50
    True
    """
    step = unit_step(rng, step_size, direction)
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
