"""Search spaces: the parameters a run may change and the values they may take.

A :class:`SearchSpace` maps parameter names (scikit-learn names such as
``mlp__alpha`` included) to parameter definitions: :class:`Int`,
:class:`Float`, :class:`Categorical`, :class:`Bool` and :class:`Layers`.
Everything is a frozen Pydantic model, so a space validates on construction
and round-trips through JSON (``space.model_dump_json()`` and
``SearchSpace.model_validate_json(text)``).

A *point* is a plain ``dict`` from parameter name to value. It holds the
*active* parameters only: a parameter with a :class:`Condition` that does not
hold is absent, and the objective never receives it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Annotated, Any, Literal, Self, TypeAlias

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from autotune_core.exceptions import ConfigError

__all__ = [
    "Bool",
    "Categorical",
    "ChoiceValue",
    "Condition",
    "Float",
    "Int",
    "Layers",
    "Param",
    "ParamValue",
    "Point",
    "SearchSpace",
]

ChoiceValue: TypeAlias = StrictBool | StrictInt | StrictFloat | StrictStr | None
"""A value a :class:`Categorical` may offer (``bool`` is kept apart from ``int``)."""

ParamValue: TypeAlias = int | float | str | bool | tuple[int, ...] | None
"""A value any parameter may take."""

Point: TypeAlias = dict[str, Any]
"""One configuration: active parameter names to values."""


_INT64_MAX = 2**63 - 1


def _type_key(value: object) -> tuple[str, object]:
    """Key telling ``1``, ``1.0`` and ``True`` apart, for choice membership."""
    return (type(value).__name__, value)


_INTS = (int, np.integer)
_BOOLS = (bool, np.bool_)
_REALS = (int, float, np.integer, np.floating)


def _clip_unit(unit: float) -> float:
    """``unit`` clipped to [0, 1] (by comparisons: cheaper than min(max()))."""
    if unit < 0.0:
        return 0.0
    return 1.0 if unit > 1.0 else unit


def _is_int(value: object) -> bool:
    return isinstance(value, _INTS) and not isinstance(value, _BOOLS)


def _is_real(value: object) -> bool:
    return (
        isinstance(value, _REALS)
        and not isinstance(value, _BOOLS)
        and math.isfinite(value)
    )


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def default(self) -> Any:
        """Value a run starts from: ``start`` if given, else the documented default."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        """A value drawn at random over the whole range."""
        raise NotImplementedError

    def contains(self, value: object) -> bool:
        """Whether ``value`` is a valid value of this parameter."""
        raise NotImplementedError

    def accepts(self, value: object) -> bool:
        """Whether ``value`` is valid *and* already canonical (a fast check)."""
        return False

    def describe(self) -> str:
        """The allowed values, for error messages."""
        raise NotImplementedError

    def coerce(self, value: object) -> Any:
        """``value`` in canonical form (numpy scalars and lists normalised).

        Raises :class:`ValueError` naming the allowed values if it is not valid.
        """
        if not self.contains(value):
            raise ValueError(f"must be {self.describe()}, got {value!r}")
        return value


class Int(_Base):
    """An integer in ``[low, high]``, optionally on a grid of ``step`` or log scale.

    The default start is the middle of the range (the geometric middle when
    ``log=True``), rounded onto the grid.

    Examples
    --------
    >>> Int(low=1, high=9).default()
    5
    >>> Int(low=1, high=1000, log=True).default()
    32
    """

    kind: Literal["int"] = "int"
    low: StrictInt
    high: StrictInt
    step: StrictInt = Field(default=1, ge=1)
    log: StrictBool = False
    start: StrictInt | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.low >= self.high:
            raise ValueError(f"low={self.low!r} must be < high={self.high!r}")
        if self.log and self.low <= 0:
            raise ValueError(f"log=True needs low > 0, got low={self.low!r}")
        if self.log and self.step != 1:
            raise ValueError(f"log=True needs step=1, got step={self.step!r}")
        if (self.high - self.low) % self.step:
            raise ValueError(
                f"high={self.high!r} is not on the grid low={self.low!r} + "
                f"k * step={self.step!r}"
            )
        if self.start is not None and not self.contains(self.start):
            raise ValueError(f"start={self.start!r} must be {self.describe()}")
        return self

    def describe(self) -> str:
        grid = f" in steps of {self.step}" if self.step != 1 else ""
        return f"an integer in [{self.low}, {self.high}]{grid}"

    def contains(self, value: object) -> bool:
        return (
            _is_int(value)
            and self.low <= value <= self.high  # type: ignore[operator]
            and (int(value) - self.low) % self.step == 0  # type: ignore[call-overload]
        )

    def accepts(self, value: object) -> bool:
        return (
            type(value) is int
            and self.low <= value <= self.high
            and (self.step == 1 or (value - self.low) % self.step == 0)
        )

    def coerce(self, value: object) -> int:
        if type(value) is int and self.contains(value):  # the common case, fast
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return int(super().coerce(value))

    def to_unit(self, value: float) -> float:
        """Position of ``value`` in the range, 0 at ``low`` and 1 at ``high``."""
        if self.log:
            return math.log(value / self.low) / math.log(self.high / self.low)
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, unit: float) -> int:
        """The grid value nearest to position ``unit`` (clipped to [0, 1])."""
        unit = _clip_unit(unit)
        steps = (self.high - self.low) // self.step
        if self.log:
            raw = self.low * (self.high / self.low) ** unit
            k = round((raw - self.low) / self.step)
        else:
            k = round(unit * steps)  # exact in integers, however wide the range
        return int(self.low + min(max(k, 0), steps) * self.step)

    def default(self) -> int:
        return self.start if self.start is not None else self.from_unit(0.5)

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            return self.from_unit(float(rng.random()))
        span = (self.high - self.low) // self.step + 1
        if span <= _INT64_MAX:
            k = int(rng.integers(0, span))
        else:  # wider than numpy's integers: combine two draws
            high_bits = int(rng.integers(0, _INT64_MAX)) << 62
            k = (high_bits | int(rng.integers(0, 2**62))) % span
        return self.low + k * self.step


def _log_ratio(a: float, b: float) -> float:
    """``log(a / b)``, also where ``a / b`` overflows (subnormal ``b``)."""
    ratio = a / b
    return math.log(ratio) if math.isfinite(ratio) else math.log(a) - math.log(b)


class Float(_Base):
    """A real number in ``[low, high]``, optionally on a log scale.

    The default start is the middle of the range, or the geometric middle
    when ``log=True``.

    Examples
    --------
    >>> Float(low=1e-4, high=1e-2, log=True).default()
    0.001
    """

    kind: Literal["float"] = "float"
    low: float
    high: float
    log: StrictBool = False
    start: float | None = None

    @field_validator("low", "high", "start", mode="before")
    @classmethod
    def _not_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, got the boolean {value!r}")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("low", "high"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name}={getattr(self, name)!r} must be finite")
        if self.low >= self.high:
            raise ValueError(f"low={self.low!r} must be < high={self.high!r}")
        if self.log and self.low <= 0:
            raise ValueError(f"log=True needs low > 0, got low={self.low!r}")
        if self.start is not None and not self.contains(self.start):
            raise ValueError(f"start={self.start!r} must be {self.describe()}")
        return self

    def describe(self) -> str:
        scale = " (log scale)" if self.log else ""
        return f"a number in [{self.low!r}, {self.high!r}]{scale}"

    def contains(self, value: object) -> bool:
        return _is_real(value) and self.low <= value <= self.high  # type: ignore[operator]

    def accepts(self, value: object) -> bool:
        return type(value) is float and self.low <= value <= self.high

    def coerce(self, value: object) -> float:
        if type(value) is float and self.low <= value <= self.high:  # fast path
            return value
        return float(super().coerce(value))

    def to_unit(self, value: float) -> float:
        """Position of ``value`` in the range, 0 at ``low`` and 1 at ``high``."""
        if self.log:
            return _log_ratio(value, self.low) / _log_ratio(self.high, self.low)
        span = self.high - self.low
        if math.isfinite(span):
            return (value - self.low) / span
        # a range near the largest float: halve first so that nothing overflows
        return (value / 2 - self.low / 2) / (self.high / 2 - self.low / 2)

    def from_unit(self, unit: float) -> float:
        """The value at position ``unit`` (clipped to [0, 1])."""
        unit = _clip_unit(unit)
        if self.log:
            value = math.exp(
                math.log(self.low) + unit * (math.log(self.high) - math.log(self.low))
            )
        elif math.isfinite(span := self.high - self.low):
            value = self.low + unit * span
        else:  # a range near the largest float: weigh the ends instead
            value = self.low * (1 - unit) + self.high * unit
        if value < self.low:
            return self.low
        return self.high if value > self.high else value

    def default(self) -> float:
        if self.start is not None:
            return self.start
        if self.log:
            # via log10, so that decades give round numbers (1e-4..1e-2 -> 0.001)
            middle = 10 ** ((math.log10(self.low) + math.log10(self.high)) / 2)
            return min(max(middle, self.low), self.high)
        return self.low / 2 + self.high / 2

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(float(rng.random()))


class Categorical(_Base):
    """One of a fixed tuple of choices: ``str``, ``int``, ``float``, ``bool``, ``None``.

    ``1``, ``1.0`` and ``True`` are different choices. The default start is
    the first choice.

    Examples
    --------
    >>> Categorical(choices=("relu", "tanh")).default()
    'relu'
    """

    kind: Literal["categorical"] = "categorical"
    choices: tuple[ChoiceValue, ...] = Field(min_length=1)
    start: ChoiceValue = None

    @field_validator("choices")
    @classmethod
    def _unique(cls, choices: tuple[ChoiceValue, ...]) -> tuple[ChoiceValue, ...]:
        seen: set[tuple[str, object]] = set()
        for choice in choices:
            if isinstance(choice, float) and not math.isfinite(choice):
                raise ValueError(f"choice {choice!r} must be finite")
            if _type_key(choice) in seen:
                raise ValueError(f"duplicate choice {choice!r}")
            seen.add(_type_key(choice))
        return choices

    @model_validator(mode="after")
    def _check_start(self) -> Self:
        # ``start=None`` means "not given" unless None is itself a choice.
        if self.start is not None and not self.contains(self.start):
            raise ValueError(f"start={self.start!r} must be {self.describe()}")
        return self

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    @cached_property
    def _keys(self) -> frozenset[tuple[str, object]]:
        return frozenset(_type_key(choice) for choice in self.choices)

    def contains(self, value: object) -> bool:
        try:
            return _type_key(value) in self._keys
        except TypeError:  # unhashable: no choice is
            return False

    def accepts(self, value: object) -> bool:
        # a numpy scalar may be valid, but is never canonical
        return not isinstance(value, np.generic) and self.contains(value)

    def coerce(self, value: object) -> ChoiceValue:
        if isinstance(value, np.generic):
            value = value.item()
        return super().coerce(value)  # type: ignore[no-any-return]

    def default(self) -> ChoiceValue:
        return self.start if self.start is not None else self.choices[0]

    def sample(self, rng: np.random.Generator) -> ChoiceValue:
        return self.choices[int(rng.integers(0, len(self.choices)))]


class Bool(_Base):
    """``True`` or ``False``; the default start is ``False``.

    Examples
    --------
    >>> Bool(start=True).default()
    True
    """

    kind: Literal["bool"] = "bool"
    start: StrictBool | None = None

    def describe(self) -> str:
        return "True or False"

    def contains(self, value: object) -> bool:
        return isinstance(value, bool | np.bool_)

    def accepts(self, value: object) -> bool:
        return type(value) is bool

    def coerce(self, value: object) -> bool:
        if type(value) is bool:
            return value
        return bool(super().coerce(value))

    def default(self) -> bool:
        return bool(self.start)

    def sample(self, rng: np.random.Generator) -> bool:
        return bool(rng.integers(0, 2))


class Layers(_Base):
    """A tuple of layer widths, such as an MLP's ``hidden_layer_sizes``.

    Between ``min_layers`` and ``max_layers`` layers, each of ``min_units`` to
    ``max_units`` units (log-uniform when sampled if ``log=True``). The
    default start has the middle number of layers (rounded up), each with the
    middle width (geometric middle when ``log=True``).

    Examples
    --------
    >>> layers = Layers(max_layers=3, min_units=16, max_units=256, log=True)
    >>> layers.default()
    (64, 64)
    """

    kind: Literal["layers"] = "layers"
    min_layers: StrictInt = Field(default=1, ge=1)
    max_layers: StrictInt = Field(default=3, ge=1)
    min_units: StrictInt = Field(default=1, ge=1)
    max_units: StrictInt = Field(ge=1)
    log: StrictBool = False
    start: tuple[StrictInt, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.min_layers > self.max_layers:
            raise ValueError(
                f"min_layers={self.min_layers!r} must be <= "
                f"max_layers={self.max_layers!r}"
            )
        if self.min_units > self.max_units:
            raise ValueError(
                f"min_units={self.min_units!r} must be <= max_units={self.max_units!r}"
            )
        if self.min_layers == self.max_layers and self.min_units == self.max_units:
            raise ValueError(
                "min_layers == max_layers and min_units == max_units: fixed"
            )
        if self.start is not None and not self.contains(self.start):
            raise ValueError(f"start={self.start!r} must be {self.describe()}")
        return self

    def describe(self) -> str:
        return (
            f"a tuple of {self.min_layers} to {self.max_layers} layer widths, "
            f"each in [{self.min_units}, {self.max_units}]"
        )

    def contains(self, value: object) -> bool:
        return (
            isinstance(value, tuple)
            and self.min_layers <= len(value) <= self.max_layers
            and all(_is_int(w) and self.min_units <= w <= self.max_units for w in value)
        )

    def accepts(self, value: object) -> bool:
        if type(value) is not tuple or not (
            self.min_layers <= len(value) <= self.max_layers
        ):
            return False
        low, high = self.min_units, self.max_units
        for width in value:  # a loop, not all(...): this runs for every trial
            if type(width) is not int or not low <= width <= high:
                return False
        return True

    def coerce(self, value: object) -> tuple[int, ...]:
        if type(value) is tuple and self.contains(value):
            return value
        if _is_int(value):
            value = (value,)
        if isinstance(value, list | np.ndarray):
            value = tuple(value.tolist() if isinstance(value, np.ndarray) else value)
        return tuple(int(w) for w in super().coerce(value))

    def width_from_unit(self, unit: float) -> int:
        """The layer width at position ``unit`` of ``[min_units, max_units]``."""
        unit = min(max(unit, 0.0), 1.0)
        if self.log:
            raw = self.min_units * (self.max_units / self.min_units) ** unit
        else:
            raw = self.min_units + unit * (self.max_units - self.min_units)
        return int(min(max(round(raw), self.min_units), self.max_units))

    def width_to_unit(self, width: int) -> float:
        """Position of ``width`` in ``[min_units, max_units]``."""
        if self.max_units == self.min_units:
            return 0.5
        if self.log:
            return math.log(width / self.min_units) / math.log(
                self.max_units / self.min_units
            )
        return (width - self.min_units) / (self.max_units - self.min_units)

    def default(self) -> tuple[int, ...]:
        if self.start is not None:
            return self.start
        n = math.ceil((self.min_layers + self.max_layers) / 2)
        return (self.width_from_unit(0.5),) * n

    def sample(self, rng: np.random.Generator) -> tuple[int, ...]:
        n = int(rng.integers(self.min_layers, self.max_layers + 1))
        return tuple(self.width_from_unit(float(rng.random())) for _ in range(n))


Param = Annotated[
    Int | Float | Categorical | Bool | Layers, Field(discriminator="kind")
]
"""Any parameter definition; the ``kind`` field tells them apart in JSON."""


class Condition(BaseModel):
    """``param`` is active only while ``parent`` takes one of ``values``.

    Examples
    --------
    >>> Condition(param="degree", parent="kernel", values=("poly",))
    Condition(param='degree', parent='kernel', values=('poly',))
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    param: StrictStr
    parent: StrictStr
    values: tuple[ChoiceValue, ...] = Field(min_length=1)

    def holds(self, point: Mapping[str, Any]) -> bool:
        """Whether the parent is present in ``point`` with one of ``values``."""
        if self.parent not in point:
            return False
        key = _type_key(point[self.parent])
        return any(_type_key(v) == key for v in self.values)


def _adapt_value(param: Int | Float | Categorical | Bool | Layers, value: Any) -> Any:
    """``value`` made valid for ``param``, as close as possible."""
    try:
        return param.coerce(value)
    except (ValueError, TypeError):
        pass
    if isinstance(param, Int) and _is_real(value):
        return param.from_unit(param.to_unit(min(max(value, param.low), param.high)))
    if isinstance(param, Float) and _is_real(value):
        return min(max(float(value), param.low), param.high)
    if isinstance(param, Layers) and isinstance(value, list | tuple) and value:
        widths = [min(max(int(w), param.min_units), param.max_units) for w in value]
        widths = widths[: param.max_layers]
        widths += [widths[-1]] * (param.min_layers - len(widths))
        return tuple(widths)
    return param.default()


class SearchSpace(BaseModel):
    """Named parameters, and the conditions under which some are active.

    Parameter order is kept: it is part of what makes a seeded run
    reproducible.

    Examples
    --------
    >>> space = SearchSpace(
    ...     {
    ...         "alpha": Float(low=1e-6, high=1e-1, log=True),
    ...         "hidden_layer_sizes": Layers(max_units=128),
    ...         "activation": Categorical(choices=("relu", "tanh")),
    ...     }
    ... )
    >>> sorted(space.default_point())
    ['activation', 'alpha', 'hidden_layer_sizes']
    >>> SearchSpace.model_validate_json(space.model_dump_json()) == space
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: dict[str, Param] = Field(min_length=1)
    conditions: tuple[Condition, ...] = ()

    @cached_property
    def _typed_keys(self) -> bool:
        # A set collapses 1, 1.0 and True: a smaller set means such choices.
        return any(
            len(set(p.choices)) < len(p.choices)
            for p in self.params.values()
            if isinstance(p, Categorical)
        )

    def __init__(self, params: Mapping[str, Any] | None = None, /, **data: Any) -> None:
        if params is not None:
            data["params"] = params
        super().__init__(**data)

    @field_validator("params")
    @classmethod
    def _check_names(cls, params: dict[str, Any]) -> dict[str, Any]:
        for name in params:
            if not name or name != name.strip():
                raise ValueError(
                    f"parameter name {name!r} must be non-empty, no padding"
                )
        return params

    @model_validator(mode="after")
    def _check_conditions(self) -> Self:
        for cond in self.conditions:
            for role, name in (("param", cond.param), ("parent", cond.parent)):
                if name not in self.params:
                    raise ValueError(
                        f"condition {role}={name!r} is not a parameter of the space; "
                        f"known: {', '.join(self.params)}"
                    )
            parent = self.params[cond.parent]
            bad = [v for v in cond.values if not parent.contains(v)]
            if bad:
                raise ValueError(
                    f"condition on {cond.param!r}: values {bad!r} are not valid for "
                    f"{cond.parent!r}, which must be {parent.describe()}"
                )
        self._order()
        return self

    def _order(self) -> list[str]:
        """Names with every parent before its children; raises on a cycle."""
        parents: dict[str, set[str]] = {name: set() for name in self.params}
        for cond in self.conditions:
            parents[cond.param].add(cond.parent)
        ordered: list[str] = []
        placed: set[str] = set()
        while len(ordered) < len(parents):
            ready = [n for n in parents if n not in placed and parents[n] <= placed]
            if not ready:
                cycle = sorted(n for n in parents if n not in placed)
                raise ValueError(f"conditions form a cycle among {cycle!r}")
            ordered.extend(ready)
            placed.update(ready)
        return ordered

    # -- mapping-like access -------------------------------------------------

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, name: object) -> bool:
        return name in self.params

    def __getitem__(self, name: str) -> Int | Float | Categorical | Bool | Layers:
        return self.params[name]

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in definition order."""
        return tuple(self.params)

    def items(self) -> Iterator[tuple[str, Int | Float | Categorical | Bool | Layers]]:
        """``(name, parameter)`` pairs in definition order."""
        return iter(self.params.items())

    # -- points ---------------------------------------------------------------

    @property
    def is_conditional(self) -> bool:
        """Whether any parameter depends on another."""
        return bool(self.conditions)

    def is_active(self, name: str, point: Mapping[str, Any]) -> bool:
        """Whether every condition on ``name`` holds in ``point``."""
        return all(c.holds(point) for c in self.conditions if c.param == name)

    def normalize(self, point: Mapping[str, Any]) -> Point:
        """``point`` with inactive parameters dropped and newly active ones at start.

        Parameters are visited parents first, so a chain of conditions
        settles in one pass. The result lists names in definition order.
        """
        if not self.conditions:
            return {
                name: point[name] if name in point else param.default()
                for name, param in self.params.items()
            }
        settled: Point = {}
        for name in self._order():
            if not self.is_active(name, settled):
                continue
            settled[name] = (
                point[name] if name in point else self.params[name].default()
            )
        return {name: settled[name] for name in self.params if name in settled}

    def default_point(self) -> Point:
        """The start of a run: every active parameter at its default."""
        return self.normalize({name: p.default() for name, p in self.params.items()})

    def sample(self, rng: np.random.Generator) -> Point:
        """A point drawn at random, active parameters only."""
        return self.normalize({name: p.sample(rng) for name, p in self.params.items()})

    def contains(self, point: Mapping[str, Any]) -> bool:
        """Whether ``point`` has exactly the active parameters, each valid."""
        try:
            valid = self.validate_point(point)
        except ConfigError:
            return False
        return valid.keys() == point.keys()

    def validate_point(self, point: Mapping[str, Any]) -> Point:
        """``point`` in canonical form, or :class:`ConfigError` naming what is wrong.

        Missing active parameters are filled with their defaults; unknown
        names and invalid values are errors.
        """
        if not self.conditions and self._all_canonical(point):
            return dict(point)
        unknown = [name for name in point if name not in self.params]
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {unknown!r}; the space has {list(self.params)!r}"
            )
        canonical: Point = {}
        for name, value in point.items():
            try:
                canonical[name] = self.params[name].coerce(value)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"parameter {name!r}: {exc}") from None
        normalized = self.normalize(canonical)
        if not canonical.keys() <= normalized.keys():
            inactive = sorted(set(canonical) - set(normalized))
            raise ConfigError(f"parameter(s) {inactive!r} are inactive in {point!r}")
        return normalized

    def _all_canonical(self, point: Mapping[str, Any]) -> bool:
        """Every parameter present, in definition order, with a canonical value."""
        checks = self._accepts
        if len(point) != len(checks):
            return False
        pairs = zip(point.items(), checks, strict=True)
        for (name, value), (expected, accepts) in pairs:
            if name != expected or not accepts(value):
                return False
        return True

    @property
    def _accepts(self) -> tuple[tuple[str, Callable[[object], bool]], ...]:
        # Cached for the params it was made from: ``model_copy(update=...)``
        # copies the cache along with the fields, and must not reuse it.
        cache = self.__dict__.get("_accepts_cache")
        if cache is None or cache[0] is not self.params:
            checks = tuple((name, param.accepts) for name, param in self.params.items())
            cache = self.__dict__["_accepts_cache"] = (self.params, checks)
        return cache[1]

    def key(self, point: Mapping[str, Any]) -> tuple[object, ...]:
        """A hashable key identifying ``point``: its names and values.

        Valid points list names in definition order, so equal points have
        equal keys. Where a categorical offers values that compare equal
        across types (``1``, ``1.0``, ``True``), types are part of the key.
        """
        if self._typed_keys:
            return tuple((name, type(value), value) for name, value in point.items())
        return tuple(point.items())

    def adapt(self, point: Mapping[str, Any]) -> Point:
        """The valid point nearest to ``point``, which may come from another space.

        Unknown names are dropped, missing ones take their start value,
        numbers are clipped into the bounds (and onto an integer grid),
        choices no longer offered fall back to the start value, and layer
        lists are trimmed or padded and their widths clipped.
        """
        adapted = {
            name: _adapt_value(param, point[name]) if name in point else param.default()
            for name, param in self.params.items()
        }
        return self.normalize(adapted)
