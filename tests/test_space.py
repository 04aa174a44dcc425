"""Search spaces: valid definitions, points, conditions, JSON, and invalid input."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import BaseModel, ValidationError

import autotune_core as at
from autotune_core.space import ChoiceValue
from autotune_core.testing import (
    choice_values,
    parameter_values,
    parameters,
    points,
    search_spaces,
)

SEEDS = st.integers(min_value=0, max_value=2**64 - 1)
UNITS = st.floats(min_value=-0.5, max_value=1.5)


def _key(value: object) -> tuple[str, object]:
    """A value with its type, so that ``1``, ``1.0`` and ``True`` differ."""
    return (type(value).__name__, value)


def _typed(point: Mapping[str, Any]) -> list[tuple[str, tuple[str, object]]]:
    """``point`` as comparable, type-aware pairs, in order."""
    return [(name, _key(value)) for name, value in point.items()]


def _holds(condition: at.Condition, point: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds in ``point`` (worked out here, not by the space)."""
    if condition.parent not in point:
        return False

    return _key(point[condition.parent]) in [_key(v) for v in condition.values]


def _assert_valid_point(space: at.SearchSpace, point: Mapping[str, Any]) -> None:
    """Exactly the active parameters, in definition order, each with a valid value."""
    for name in space.names:
        conditions = [c for c in space.conditions if c.param == name]
        assert (name in point) == all(_holds(c, point) for c in conditions), name

    assert list(point) == [name for name in space.names if name in point]
    assert all(space[name].contains(value) for name, value in point.items())
    assert space.contains(point)


def _svm_space() -> at.SearchSpace:
    """A space with every kind of parameter and one condition."""
    return at.SearchSpace(
        {
            "C": at.Float(low=1e-3, high=1e3, log=True),
            "kernel": at.Categorical(choices=("linear", "poly", "rbf")),
            "degree": at.Int(low=2, high=5),
            "shrinking": at.Bool(),
            "layers": at.Layers(max_units=64),
            "class_weight": at.Categorical(choices=(None, "balanced")),
        },
        conditions=[at.Condition(param="degree", parent="kernel", values=("poly",))],
    )


def _chained_space() -> at.SearchSpace:
    """``max_bin`` needs ``tree_method == "hist"``, which needs a tree booster.

    Children are defined before their parents, to check that order of
    definition does not matter.
    """
    return at.SearchSpace(
        {
            "max_bin": at.Int(low=10, high=30),
            "tree_method": at.Categorical(choices=("exact", "hist")),
            "booster": at.Categorical(choices=("gbtree", "linear")),
        },
        conditions=[
            at.Condition(param="max_bin", parent="tree_method", values=("hist",)),
            at.Condition(param="tree_method", parent="booster", values=("gbtree",)),
        ],
    )


# -- every valid space: defaults, samples, points --------------------------------


@given(search_spaces())
def test_default_point_lies_in_the_space(space: at.SearchSpace) -> None:
    point = space.default_point()

    _assert_valid_point(space, point)
    assert all(_key(v) == _key(space[n].default()) for n, v in point.items())


@given(search_spaces(), SEEDS)
def test_sampled_points_lie_in_the_space(space: at.SearchSpace, seed: int) -> None:
    rng = np.random.default_rng(seed)

    for _ in range(3):
        _assert_valid_point(space, space.sample(rng))


@given(search_spaces(), SEEDS)
def test_sampling_repeats_with_the_same_seed(space: at.SearchSpace, seed: int) -> None:
    first = space.sample(np.random.default_rng(seed))
    again = space.sample(np.random.default_rng(seed))

    assert _typed(again) == _typed(first)


@given(st.data())
def test_valid_points_validate_unchanged_and_survive_json(data: st.DataObject) -> None:
    space = data.draw(search_spaces())
    point = data.draw(points(space))

    _assert_valid_point(space, point)
    assert _typed(space.validate_point(point)) == _typed(point)
    restored = space.validate_point(json.loads(json.dumps(point)))
    assert _typed(restored) == _typed(point)


@given(st.data())
def test_normalize_keeps_exactly_the_active_parameters(data: st.DataObject) -> None:
    space = data.draw(search_spaces())
    every = {name: data.draw(parameter_values(p)) for name, p in space.items()}

    point = space.normalize(every)

    _assert_valid_point(space, point)
    assert all(_key(value) == _key(every[name]) for name, value in point.items())


@given(search_spaces())
def test_space_json_round_trip_is_lossless(space: at.SearchSpace) -> None:
    text = space.model_dump_json()

    restored = at.SearchSpace.model_validate_json(text)

    assert restored == space
    assert restored.names == space.names
    assert repr(restored) == repr(space)  # tells 1, 1.0 and True apart
    assert restored.model_dump_json() == text


# -- each parameter kind ------------------------------------------------------------


@given(parameters(), SEEDS)
def test_parameter_default_and_samples_are_valid(param: at.Param, seed: int) -> None:
    rng = np.random.default_rng(seed)

    assert param.contains(param.default())
    assert all(param.contains(param.sample(rng)) for _ in range(3))
    if param.start is not None:
        assert _key(param.default()) == _key(param.start)


@given(st.data())
def test_int_from_unit_inverts_to_unit(data: st.DataObject) -> None:
    param = data.draw(parameters(kinds=["int"]))
    value = data.draw(parameter_values(param))

    unit = param.to_unit(value)

    assert 0.0 <= unit <= 1.0
    assert param.from_unit(unit) == value
    assert (param.from_unit(0.0), param.from_unit(1.0)) == (param.low, param.high)


@given(st.data())
def test_float_from_unit_inverts_to_unit(data: st.DataObject) -> None:
    param = data.draw(parameters(kinds=["float"]))
    value = data.draw(parameter_values(param))

    unit = param.to_unit(value)

    assert 0.0 <= unit <= 1.0
    if param.log:
        assert param.from_unit(unit) == pytest.approx(value, rel=1e-9)
    else:
        assert param.from_unit(unit) == pytest.approx(
            value, abs=1e-9 * (param.high - param.low)
        )


@given(parameters(kinds=["int", "float"]), UNITS, UNITS)
def test_from_unit_clips_into_range_and_keeps_order(
    param: at.Int | at.Float, unit: float, other: float
) -> None:
    lower, upper = sorted((unit, other))

    below, above = param.from_unit(lower), param.from_unit(upper)

    assert param.contains(below)
    assert param.contains(above)
    assert below <= above


@given(st.data())
def test_layer_width_from_unit_inverts_width_to_unit(data: st.DataObject) -> None:
    param = data.draw(parameters(kinds=["layers"]))
    width = data.draw(st.integers(param.min_units, param.max_units))

    unit = param.width_to_unit(width)

    assert 0.0 <= unit <= 1.0
    assert param.width_from_unit(unit) == width


@given(st.data())
def test_choices_coerce_to_themselves(data: st.DataObject) -> None:
    param = data.draw(parameters(kinds=["categorical", "bool"]))
    value = data.draw(parameter_values(param))

    assert _key(param.coerce(value)) == _key(value)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        pytest.param(at.Int(low=1, high=9), 5, id="int-mid"),
        pytest.param(at.Int(low=0, high=20, step=5), 10, id="int-mid-on-grid"),
        pytest.param(at.Int(low=1, high=100, log=True), 10, id="int-geometric-mid"),
        pytest.param(at.Int(low=1, high=1000, log=True), 32, id="int-geometric-round"),
        pytest.param(at.Int(low=0, high=9, start=2), 2, id="int-start"),
        pytest.param(at.Float(low=-1.0, high=3.0), 1.0, id="float-mid"),
        pytest.param(at.Float(low=1.0, high=100.0, log=True), 10.0, id="float-log"),
        pytest.param(at.Float(low=0.0, high=1.0, start=0.25), 0.25, id="float-start"),
        pytest.param(at.Categorical(choices=("b", "a")), "b", id="categorical-first"),
        pytest.param(
            at.Categorical(choices=(1, True), start=True), True, id="cat-start"
        ),
        pytest.param(at.Bool(), False, id="bool"),
        pytest.param(at.Bool(start=True), True, id="bool-start"),
        pytest.param(
            at.Layers(min_units=10, max_units=20, max_layers=4), (15,) * 3, id="layers"
        ),
        pytest.param(
            at.Layers(min_units=16, max_units=256, log=True), (64, 64), id="layers-log"
        ),
        pytest.param(at.Layers(max_units=8, start=(2, 3)), (2, 3), id="layers-start"),
    ],
)
def test_documented_defaults(param: at.Param, expected: object) -> None:
    default = param.default()

    assert _key(default) == _key(expected)


def test_float_log_default_is_the_geometric_middle() -> None:
    param = at.Float(low=1e-4, high=1e-2, log=True)

    assert param.default() == pytest.approx(1e-3, rel=1e-12)


def test_choices_of_different_types_are_distinct() -> None:
    param = at.Categorical(choices=(1, True, 1.0, 0, False, 0.0, None, "1", ""))
    restored = at.Categorical.model_validate_json(param.model_dump_json())

    assert [_key(c) for c in restored.choices] == [_key(c) for c in param.choices]
    assert not at.Categorical(choices=(1,)).contains(True)
    assert not at.Categorical(choices=(True,)).contains(1.0)


# -- invalid definitions ------------------------------------------------------------


INVALID_PARAMETERS = [
    pytest.param(at.Int, {"low": 5, "high": 5}, r"low=5 must be < high=5", id="int-eq"),
    pytest.param(at.Int, {"low": 6, "high": 5}, r"low=6 must be < high=5", id="int-gt"),
    pytest.param(
        at.Int,
        {"low": 0, "high": 10, "log": True},
        r"log=True needs low > 0, got low=0",
        id="int-log-zero",
    ),
    pytest.param(
        at.Int,
        {"low": 1, "high": 10, "step": 3, "log": True},
        r"log=True needs step=1, got step=3",
        id="int-log-step",
    ),
    pytest.param(
        at.Int,
        {"low": 0, "high": 10, "step": 3},
        r"high=10 is not on the grid low=0 \+ k \* step=3",
        id="int-off-grid",
    ),
    pytest.param(
        at.Int,
        {"low": 0, "high": 10, "step": 0},
        r"step\n.*greater than or equal to 1.*input_value=0,",
        id="int-step-zero",
    ),
    pytest.param(
        at.Int,
        {"low": 0, "high": 10, "start": 11},
        r"start=11 must be an integer in \[0, 10\]",
        id="int-start-above",
    ),
    pytest.param(
        at.Int,
        {"low": 0, "high": 10, "step": 5, "start": 3},
        r"start=3 must be an integer in \[0, 10\] in steps of 5",
        id="int-start-off-grid",
    ),
    pytest.param(
        at.Int,
        {"low": 0.5, "high": 10},
        r"low\n.*valid integer.*input_value=0.5,",
        id="int-float-bound",
    ),
    pytest.param(
        at.Int,
        {"low": 0, "high": 10, "lo": 1},
        r"lo\n.*Extra inputs are not permitted.*input_value=1,",
        id="int-unknown-key",
    ),
    pytest.param(
        at.Float, {"low": 1.0, "high": 1.0}, r"low=1.0 must be < high=1.0", id="fl-eq"
    ),
    pytest.param(
        at.Float, {"low": 2.0, "high": 1.0}, r"low=2.0 must be < high=1.0", id="fl-gt"
    ),
    pytest.param(
        at.Float,
        {"low": 0.0, "high": 1.0, "log": True},
        r"log=True needs low > 0, got low=0.0",
        id="float-log-zero",
    ),
    pytest.param(
        at.Float,
        {"low": -1.0, "high": 1.0, "log": True},
        r"log=True needs low > 0, got low=-1.0",
        id="float-log-negative",
    ),
    pytest.param(
        at.Float,
        {"low": -math.inf, "high": 1.0},
        r"low=-inf must be finite",
        id="float-infinite",
    ),
    pytest.param(
        at.Float, {"low": 0.0, "high": math.nan}, r"high=nan must be finite", id="nan"
    ),
    pytest.param(
        at.Float,
        {"low": 0.0, "high": 1.0, "start": 2.0},
        r"start=2.0 must be a number in \[0.0, 1.0\]",
        id="float-start-above",
    ),
    pytest.param(
        at.Float,
        {"low": 0.0, "high": 1.0, "step": 0.1},
        r"step\n.*Extra inputs are not permitted.*input_value=0.1,",
        id="float-unknown-key",
    ),
    pytest.param(
        at.Categorical,
        {"choices": ()},
        r"choices\n.*at least 1 item.*input_value=\(\)",
        id="cat-empty",
    ),
    pytest.param(
        at.Categorical, {"choices": (1, 1)}, r"duplicate choice 1\b", id="cat-dup-int"
    ),
    pytest.param(
        at.Categorical,
        {"choices": ("a", "b", "a")},
        r"duplicate choice 'a'",
        id="cat-dup-str",
    ),
    pytest.param(
        at.Categorical,
        {"choices": (None, None)},
        r"duplicate choice None",
        id="cat-dup-none",
    ),
    pytest.param(
        at.Categorical,
        {"choices": (0.0, -0.0)},
        r"duplicate choice -0.0",
        id="cat-dup-signed-zero",
    ),
    pytest.param(
        at.Categorical,
        {"choices": (1.0, math.nan)},
        r"choice nan must be finite",
        id="cat-nan",
    ),
    pytest.param(
        at.Categorical,
        {"choices": (["a"],)},
        r"choices.0.str\n.*valid string.*input_value=\['a'\]",
        id="cat-list-choice",
    ),
    pytest.param(
        at.Categorical,
        {"choices": ("a", "b"), "start": "z"},
        r"start='z' must be one of 'a', 'b'",
        id="cat-start-unknown",
    ),
    pytest.param(
        at.Categorical,
        {"choices": (True, "a"), "start": 1},
        r"start=1 must be one of True, 'a'",
        id="cat-start-int-for-bool",
    ),
    pytest.param(
        at.Categorical,
        {"choices": ("a",), "default": "a"},
        r"default\n.*Extra inputs are not permitted.*input_value='a'",
        id="cat-unknown-key",
    ),
    pytest.param(
        at.Bool, {"start": 1}, r"start\n.*valid boolean.*input_value=1,", id="bool-1"
    ),
    pytest.param(
        at.Bool,
        {"low": False},
        r"low\n.*Extra inputs are not permitted.*input_value=False",
        id="bool-unknown-key",
    ),
    pytest.param(
        at.Layers,
        {"min_layers": 4, "max_layers": 3, "max_units": 8},
        r"min_layers=4 must be <= max_layers=3",
        id="layers-min-above-max",
    ),
    pytest.param(
        at.Layers,
        {"min_units": 9, "max_units": 8},
        r"min_units=9 must be <= max_units=8",
        id="layers-units-min-above-max",
    ),
    pytest.param(
        at.Layers,
        {"min_layers": 2, "max_layers": 2, "min_units": 8, "max_units": 8},
        r"min_layers == max_layers and min_units == max_units",
        id="layers-fixed",
    ),
    pytest.param(
        at.Layers,
        {"min_layers": 0, "max_units": 8},
        r"min_layers\n.*greater than or equal to 1.*input_value=0,",
        id="layers-zero-layers",
    ),
    pytest.param(
        at.Layers, {}, r"max_units\n.*Field required", id="layers-missing-max-units"
    ),
    pytest.param(
        at.Layers,
        {"max_units": 8, "start": (4, 4, 4, 4)},
        r"start=\(4, 4, 4, 4\) must be a tuple of 1 to 3 layer widths",
        id="layers-start-too-deep",
    ),
    pytest.param(
        at.Layers,
        {"max_units": 8, "start": (9,)},
        r"start=\(9,\) must be .* each in \[1, 8\]",
        id="layers-start-too-wide",
    ),
    pytest.param(
        at.Layers,
        {"max_units": 8, "units": 4},
        r"units\n.*Extra inputs are not permitted.*input_value=4,",
        id="layers-unknown-key",
    ),
]


@pytest.mark.parametrize(("kind", "definition", "message"), INVALID_PARAMETERS)
def test_invalid_parameter_is_rejected_naming_field_and_value(
    kind: type[BaseModel], definition: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        kind(**definition)


@given(st.integers(-(10**9), 10**9), st.data())
def test_int_bounds_out_of_order_are_rejected(low: int, data: st.DataObject) -> None:
    high = data.draw(st.integers(max_value=low))

    with pytest.raises(ValidationError, match=rf"low={low} must be < high={high}\b"):
        at.Int(low=low, high=high)


@given(st.floats(allow_nan=False, allow_infinity=False), st.data())
def test_float_bounds_out_of_order_are_rejected(
    low: float, data: st.DataObject
) -> None:
    high = data.draw(st.floats(max_value=low, allow_infinity=False))
    message = re.escape(f"low={low!r} must be < high={high!r}")

    with pytest.raises(ValidationError, match=message):
        at.Float(low=low, high=high)


@given(st.lists(choice_values(), min_size=1, max_size=5, unique_by=_key), st.data())
def test_a_repeated_choice_is_rejected(
    choices: list[ChoiceValue], data: st.DataObject
) -> None:
    repeated = data.draw(st.sampled_from(choices))

    with pytest.raises(ValidationError, match=re.escape(f"choice {repeated!r}")):
        at.Categorical(choices=(*choices, repeated))


@given(st.data())
def test_a_start_outside_the_parameter_is_rejected(data: st.DataObject) -> None:
    param = data.draw(parameters(kinds=["int", "float"]))
    start = data.draw(
        st.integers() if isinstance(param, at.Int) else st.floats(allow_nan=False)
    )
    if param.contains(start):
        start = param.high + 1 if isinstance(param, at.Int) else math.inf

    with pytest.raises(ValidationError, match=re.escape(f"start={start!r} must be")):
        type(param)(**param.model_dump(exclude={"start"}), start=start)


def _space_with(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments of an SVM-like space, with some replaced."""
    definition: dict[str, Any] = {
        "params": {
            "kernel": at.Categorical(choices=("linear", "poly")),
            "degree": at.Int(low=2, high=5),
            "shrinking": at.Bool(),
        },
        "conditions": [{"param": "degree", "parent": "kernel", "values": ("poly",)}],
    }
    return definition | overrides


def _conditions(*edges: tuple[str, str, tuple[Any, ...]]) -> dict[str, Any]:
    """``conditions=`` from ``(param, parent, values)`` triples."""
    return {"conditions": [{"param": p, "parent": q, "values": v} for p, q, v in edges]}


INVALID_SPACES = [
    pytest.param(
        {"params": {}},
        r"params\n.*at least 1 item.*input_value=\{\}",
        id="no-params",
    ),
    pytest.param(
        {"params": {" x": at.Bool()}},
        r"parameter name ' x' must be non-empty, no padding",
        id="padded-name",
    ),
    pytest.param(
        {"params": {"": at.Bool()}},
        r"parameter name '' must be non-empty",
        id="empty-name",
    ),
    pytest.param(
        _conditions(("gamma", "kernel", ("poly",))),
        r"condition param='gamma' is not a parameter of the space; "
        r"known: kernel, degree, shrinking",
        id="condition-unknown-param",
    ),
    pytest.param(
        _conditions(("degree", "kernal", ("poly",))),
        r"condition parent='kernal' is not a parameter",
        id="condition-unknown-parent",
    ),
    pytest.param(
        _conditions(
            ("shrinking", "kernel", ("poly",)), ("kernel", "shrinking", (True,))
        ),
        r"conditions form a cycle among \['kernel', 'shrinking'\]",
        id="cycle-of-two",
    ),
    pytest.param(
        _conditions(("shrinking", "shrinking", (True,))),
        r"conditions form a cycle among \['shrinking'\]",
        id="cycle-of-one",
    ),
    pytest.param(
        _conditions(("degree", "kernel", ("sigmoid",))),
        r"condition on 'degree': values \['sigmoid'\] are not valid for 'kernel', "
        r"which must be one of 'linear', 'poly'",
        id="condition-value-not-a-choice",
    ),
    pytest.param(
        _conditions(("degree", "shrinking", (1,))),
        r"values \[1\] are not valid for 'shrinking', which must be True or False",
        id="condition-int-for-bool",
    ),
    pytest.param(
        _conditions(("degree", "kernel", ())),
        r"conditions.0.values\n.*at least 1 item",
        id="condition-no-values",
    ),
    pytest.param(
        {"constraints": ()},
        r"constraints\n.*Extra inputs are not permitted",
        id="space-unknown-key",
    ),
    pytest.param(
        {
            "conditions": [
                {"param": "degree", "parent": "kernel", "values": ("poly",), "if": 1}
            ]
        },
        r"conditions.0.if\n.*Extra inputs are not permitted.*input_value=1,",
        id="condition-unknown-key",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), INVALID_SPACES)
def test_invalid_space_is_rejected_naming_field_and_value(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        at.SearchSpace(**_space_with(**overrides))


def test_unknown_parameter_kind_in_json_is_rejected() -> None:
    text = '{"params": {"x": {"kind": "complex", "low": 0, "high": 1}}}'

    with pytest.raises(ValidationError, match=r"params.x\n.*'complex'.*'kind'"):
        at.SearchSpace.model_validate_json(text)


# -- points: validation, canonical form, conditions ---------------------------------


@pytest.mark.parametrize(
    ("point", "message"),
    [
        pytest.param({"gamma": 1.0}, r"unknown parameter\(s\) \['gamma'\]", id="name"),
        pytest.param(
            {"kernel": "poly", "degree": 7},
            r"parameter 'degree': must be an integer in \[2, 5\], got 7",
            id="int-above",
        ),
        pytest.param(
            {"kernel": "poly", "degree": 2.5},
            r"parameter 'degree': .* got 2.5",
            id="int-fraction",
        ),
        pytest.param(
            {"C": 0.0},
            r"parameter 'C': must be a number in \[0.001, 1000.0\] \(log scale\), "
            r"got 0.0",
            id="float-below",
        ),
        pytest.param({"C": "1"}, r"parameter 'C': .* got '1'", id="float-as-text"),
        pytest.param(
            {"shrinking": 1},
            r"parameter 'shrinking': must be True or False, got 1",
            id="bool-as-int",
        ),
        pytest.param(
            {"kernel": "sigmoid"},
            r"parameter 'kernel': must be one of 'linear', 'poly', 'rbf', "
            r"got 'sigmoid'",
            id="unknown-choice",
        ),
        pytest.param(
            {"class_weight": 0},
            r"parameter 'class_weight': must be one of None, 'balanced', got 0",
            id="int-for-none",
        ),
        pytest.param(
            {"layers": (100,)},
            r"parameter 'layers': must be a tuple of 1 to 3 layer widths, "
            r"each in \[1, 64\], got \(100,\)",
            id="layer-too-wide",
        ),
        pytest.param(
            {"kernel": "linear", "degree": 3},
            r"parameter\(s\) \['degree'\] are inactive",
            id="inactive",
        ),
        pytest.param(
            {"degree": 3},
            r"parameter\(s\) \['degree'\] are inactive",
            id="inactive-by-parent-default",
        ),
    ],
)
def test_invalid_point_raises_config_error_naming_the_parameter(
    point: dict[str, Any], message: str
) -> None:
    with pytest.raises(at.ConfigError, match=message):
        _svm_space().validate_point(point)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            {"kernel": np.str_("poly"), "degree": np.int64(3)},
            {"kernel": "poly", "degree": 3},
            id="numpy-scalars",
        ),
        pytest.param({"kernel": "poly", "degree": 3.0}, {"degree": 3}, id="int-float"),
        pytest.param({"C": 1}, {"C": 1.0}, id="float-from-int"),
        pytest.param({"C": np.float32(0.5)}, {"C": 0.5}, id="float-from-float32"),
        pytest.param({"shrinking": np.bool_(True)}, {"shrinking": True}, id="np-bool"),
        pytest.param({"layers": [8, 16]}, {"layers": (8, 16)}, id="layers-list"),
        pytest.param(
            {"layers": np.array([8, 16])}, {"layers": (8, 16)}, id="layers-array"
        ),
        pytest.param({"layers": 8}, {"layers": (8,)}, id="layers-one-width"),
        pytest.param({"class_weight": None}, {"class_weight": None}, id="none-choice"),
    ],
)
def test_validate_point_returns_canonical_values(
    given: dict[str, Any], expected: dict[str, Any]
) -> None:
    point = _svm_space().validate_point(given)

    assert _typed({name: point[name] for name in expected}) == _typed(expected)


def test_validate_point_fills_missing_parameters_with_defaults() -> None:
    space = _svm_space()

    point = space.validate_point({"kernel": "poly"})

    degree = space["degree"].default()
    assert point == {**space.default_point(), "kernel": "poly", "degree": degree}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            {"booster": "gbtree", "tree_method": "hist"},
            {"max_bin": 20, "tree_method": "hist", "booster": "gbtree"},
            id="newly-active-child-at-default",
        ),
        pytest.param(
            {"booster": "gbtree"},
            {"tree_method": "exact", "booster": "gbtree"},
            id="default-parent-leaves-grandchild-inactive",
        ),
        pytest.param(
            {"booster": "linear", "tree_method": "hist", "max_bin": 12},
            {"booster": "linear"},
            id="inactive-parent-drops-the-chain",
        ),
        pytest.param(
            {"max_bin": 12, "tree_method": "hist", "booster": "gbtree"},
            {"max_bin": 12, "tree_method": "hist", "booster": "gbtree"},
            id="all-active-kept",
        ),
    ],
)
def test_normalize_settles_chained_conditions(
    given: dict[str, Any], expected: dict[str, Any]
) -> None:
    point = _chained_space().normalize(given)

    assert list(point.items()) == list(expected.items())


def test_default_point_follows_chained_conditions() -> None:
    space = _chained_space()

    assert space.default_point() == {"tree_method": "exact", "booster": "gbtree"}
    assert not space.is_active("max_bin", space.default_point())
    assert space.is_active("max_bin", {"tree_method": "hist"})


def test_contains_rejects_a_point_missing_an_active_parameter(
    quadratic_space: at.SearchSpace,
) -> None:
    point = quadratic_space.default_point()
    del point["x"]

    assert not quadratic_space.contains(point)


def test_validate_point_fills_missing_parameters_without_conditions(
    quadratic_space: at.SearchSpace,
) -> None:
    point = quadratic_space.validate_point({"x": 0.5})

    assert point == {**quadratic_space.default_point(), "x": 0.5}


def test_wide_int_range_samples_inside_it() -> None:
    param = at.Int(low=-(2**62), high=2**62)

    assert param.contains(param.sample(np.random.default_rng(0)))


def test_widest_float_range_has_its_default_inside() -> None:
    param = at.Float(low=-1e308, high=1e308)

    assert param.contains(param.default())


EXTREME_RANGES = [
    pytest.param(at.Float(low=-1e308, high=1e308), id="float-widest"),
    pytest.param(
        at.Float(low=1.0, high=math.nextafter(1.0, 2.0), log=True),
        id="log-float-one-ulp",
    ),
    pytest.param(
        at.Float(low=1e-300, high=1e300, log=True),
        id="log-float-widest",
    ),
    pytest.param(
        at.Float(low=5e-324, high=1.0, log=True),
        id="log-float-subnormal-low",
    ),
    pytest.param(at.Int(low=-(2**62), high=2**62), id="int-wider-than-int64"),
    pytest.param(at.Int(low=1, high=2**62, log=True), id="log-int-wide"),
    pytest.param(
        at.Int(low=2**53 - 1, high=2**53 + 1, step=2),
        id="int-beyond-float-precision",
    ),
]


@pytest.mark.parametrize("param", EXTREME_RANGES)
def test_extreme_ranges_keep_values_and_unit_positions_inside(
    param: at.Int | at.Float,
) -> None:
    rng = np.random.default_rng(0)
    values = [param.default(), param.from_unit(0.5), param.sample(rng)]
    ends = (param.from_unit(0.0), param.from_unit(1.0))
    units = (param.to_unit(param.low), param.to_unit(param.high))

    assert all(param.contains(value) for value in values)
    if isinstance(param, at.Int):
        assert ends == (param.low, param.high)
    else:
        assert ends == pytest.approx((param.low, param.high), rel=1e-12)
    assert units == pytest.approx((0.0, 1.0))


# -- the Hypothesis kit itself ------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: parameters(kinds=[]), r"kinds=\(\) must", id="no-kinds"),
        pytest.param(
            lambda: parameters(kinds=["int", "complex"]),
            r"kinds=\('int', 'complex'\) must be a non-empty selection",
            id="unknown-kind",
        ),
        pytest.param(
            lambda: search_spaces(min_params=0),
            r"min_params=0 must be >= 1",
            id="no-params",
        ),
        pytest.param(
            lambda: search_spaces(min_params=3, max_params=2),
            r"max_params=2 must be >= 3",
            id="bounds-out-of-order",
        ),
        pytest.param(
            lambda: search_spaces(max_params=2.0),
            r"max_params=2.0 must be an int, got float",
            id="float-bound",
        ),
        pytest.param(
            lambda: search_spaces(conditional="yes"),
            r"conditional='yes' must be bool, got str",
            id="conditional-not-bool",
        ),
        pytest.param(
            lambda: points({"x": at.Bool()}),
            r"space=\{.*\} must be SearchSpace, got dict",
            id="points-of-a-dict",
        ),
        pytest.param(
            lambda: parameter_values(3),
            r"param=3 must be Int, Float, Categorical, Bool or Layers, got int",
            id="values-of-an-int",
        ),
    ],
)
def test_kit_rejects_invalid_arguments_at_once(make: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_importing_autotune_core_does_not_import_hypothesis() -> None:
    code = "import sys, autotune_core; print('hypothesis' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_a_copied_space_with_other_params_does_not_reuse_the_checks() -> None:
    """``model_copy(update=...)`` copies what validation caches; it is not reused."""
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    assert space.validate_point({"x": 0.5}) == {"x": 0.5}  # fills the cache
    narrowed = space.model_copy(update={"params": {"x": at.Float(low=0, high=0.1)}})
    with pytest.raises(at.ConfigError, match=r"\[0.0, 0.1\], got 0.5"):
        narrowed.validate_point({"x": 0.5})
