"""Layer-list moves and the rules that choose the width of an added layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from strategies import (
    LAYER_RULES,
    LocalGrid,
    MultiParamMove,
    RandomStep,
    check_layer_rule,
    layer_kinds,
    move_layers,
    move_param,
    new_layer_width,
)

LINEAR = at.Layers(max_layers=5, min_units=4, max_units=200)
LOG = at.Layers(max_layers=5, min_units=4, max_units=256, log=True)


@pytest.mark.parametrize(
    ("param", "layers", "at_", "rule", "width"),
    [
        pytest.param(LINEAR, (100, 20, 60), 1, "min", 4, id="min"),
        pytest.param(LINEAR, (100, 20, 60), 1, "max", 200, id="max"),
        pytest.param(LINEAR, (100, 20, 60), 1, "avg", 60, id="avg"),
        pytest.param(LINEAR, (100, 20, 60, 30), 1, "median", 45, id="median"),
        pytest.param(LINEAR, (100, 20, 60), 1, "copy", 20, id="copy-right-neighbour"),
        pytest.param(LINEAR, (100, 20, 60), 3, "copy", 60, id="copy-appended"),
        pytest.param(LINEAR, (100, 20, 60), 1, "adj_min", 20, id="adj-min"),
        pytest.param(LINEAR, (100, 20, 60), 1, "adj_max", 100, id="adj-max"),
        pytest.param(LINEAR, (100, 20, 60), 1, "adj_avg", 60, id="adj-avg"),
        pytest.param(LINEAR, (100, 20, 60), 0, "adj_max", 100, id="adj-at-the-front"),
        pytest.param(LINEAR, (100, 20, 60), 3, "adj_min", 60, id="adj-at-the-end"),
        pytest.param(LOG, (4, 64), 1, "adj_avg", 16, id="log-adj-avg-is-geometric"),
        pytest.param(LOG, (4, 16, 64), 0, "avg", 16, id="log-avg-is-geometric"),
    ],
)
def test_rule_gives_the_documented_width(
    param: at.Layers, layers: tuple[int, ...], at_: int, rule: str, width: int
) -> None:
    rng = np.random.default_rng(0)

    assert new_layer_width(param, layers, at_, rule, rng) == width


def test_uniform_rule_spreads_over_the_whole_width_range() -> None:
    rng = np.random.default_rng(0)

    widths = [new_layer_width(LINEAR, (50,), 1, "uniform", rng) for _ in range(300)]

    assert min(widths) < 30
    assert max(widths) > 170
    assert all(LINEAR.min_units <= w <= LINEAR.max_units for w in widths)


@st.composite
def layer_cases(draw: st.DrawFn) -> tuple[at.Layers, tuple[int, ...], int]:
    min_units = draw(st.integers(1, 64))
    param = at.Layers(
        min_layers=1,
        max_layers=draw(st.integers(2, 5)),
        min_units=min_units,
        max_units=draw(st.integers(min_units + 1, 1024)),
        log=draw(st.booleans()),
    )
    width = st.integers(param.min_units, param.max_units)
    layers = tuple(draw(st.lists(width, min_size=1, max_size=param.max_layers - 1)))
    return param, layers, draw(st.integers(0, len(layers)))


@given(case=layer_cases(), rule=st.sampled_from(LAYER_RULES), seed=st.integers(0, 99))
def test_every_rule_gives_a_valid_width(
    case: tuple[at.Layers, tuple[int, ...], int], rule: str, seed: int
) -> None:
    param, layers, at_ = case

    width = new_layer_width(param, layers, at_, rule, np.random.default_rng(seed))

    assert param.min_units <= width <= param.max_units
    neighbours = [layers[i] for i in (at_ - 1, at_) if 0 <= i < len(layers)]
    if rule.startswith("adj_") or rule == "copy":
        assert min(neighbours) <= width <= max(neighbours)
    if rule in ("avg", "median"):
        assert min(layers) <= width <= max(layers)


@given(case=layer_cases(), rule=st.sampled_from(LAYER_RULES), seed=st.integers(0, 99))
def test_an_added_layer_follows_the_rule(
    case: tuple[at.Layers, tuple[int, ...], int], rule: str, seed: int
) -> None:
    param, layers, _ = case

    move = move_layers(
        "h",
        param,
        layers,
        np.random.default_rng(seed),
        0.1,
        rule=rule,
        kind="add_layer",
    )

    assert move.kind == "add_layer"
    assert len(move.new) == len(layers) + 1
    assert param.contains(move.new)
    inserted = [
        i for i in range(len(move.new)) if move.new[:i] + move.new[i + 1 :] == layers
    ]
    assert inserted


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        pytest.param(
            "add_layer", (8, 8, 8, 8, 8), r"kind='add_layer' is not possible", id="full"
        ),
        pytest.param(
            "teleport", (8,), r"kind='teleport' is not possible", id="unknown"
        ),
    ],
)
def test_a_forced_kind_must_be_possible(
    kind: str, value: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        move_layers("h", LINEAR, value, np.random.default_rng(0), 0.1, kind=kind)


def test_layer_kinds_follow_the_limits() -> None:
    assert layer_kinds(LINEAR, (8,)) == ["add_layer", "resize_layer"]
    assert layer_kinds(LINEAR, (8,) * 5) == ["remove_layer", "resize_layer"]
    assert layer_kinds(LINEAR, (8, 8)) == ["add_layer", "remove_layer", "resize_layer"]


@pytest.mark.parametrize("direction", [1, -1])
def test_a_forced_resize_direction_is_followed(direction: int) -> None:
    for seed in range(20):
        move = move_layers(
            "h",
            LINEAR,
            (100,),
            np.random.default_rng(seed),
            0.1,
            kind="resize_layer",
            direction=direction,
        )
        assert (move.new[0] - 100) * direction > 0


def test_move_param_passes_the_rule_on() -> None:
    param = at.Layers(max_layers=2, min_units=4, max_units=200)
    rng = np.random.default_rng(0)

    adds = [
        m.new
        for m in (
            move_param("h", param, (50,), rng, 0.1, layer_rule="max") for _ in range(60)
        )
        if m.kind == "add_layer"
    ]

    assert adds
    assert all(sorted(new) == [50, 200] for new in adds)


# -- unknown rules ----------------------------------------------------------------


def test_check_layer_rule_names_every_allowed_rule() -> None:
    with pytest.raises(at.ConfigError, match=r"layer_rule='biggest'") as info:
        check_layer_rule("biggest")

    for rule in LAYER_RULES:
        assert repr(rule) in str(info.value)


@pytest.mark.parametrize(
    ("build", "owner"),
    [
        pytest.param(
            lambda r: RandomStep(layer_rule=r), "RandomStep", id="random-step"
        ),
        pytest.param(
            lambda r: MultiParamMove(layer_rule=r), "MultiParamMove", id="multi-param"
        ),
        pytest.param(lambda r: LocalGrid(layer_rule=r), "LocalGrid", id="local-grid"),
    ],
)
@pytest.mark.parametrize("rule", ["biggest", "", "MAX", 3])
def test_an_unknown_rule_is_a_validation_error(
    build: Any, owner: str, rule: object
) -> None:
    with pytest.raises(
        at.ConfigError, match=rf"{owner}: layer_rule=.* use one of 'adj_avg', "
    ):
        build(rule)


def test_an_unknown_rule_by_name_is_a_config_error() -> None:
    with pytest.raises(at.ConfigError, match=r"use one of 'adj_avg', 'adj_max'"):
        at.create_strategy("random-step", layer_rule="widest")


# -- in a run ---------------------------------------------------------------------


def test_random_step_grows_layers_by_the_rule() -> None:
    space = at.SearchSpace(
        {"hidden": at.Layers(max_layers=4, min_units=8, max_units=128)}
    )

    result = at.tune(
        lambda p: float(len(p["hidden"])),
        space,
        strategy=RandomStep(layer_rule="adj_max"),
        max_trials=40,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    adds = [m for t in result.trials for m in t.moves if m.kind == "add_layer"]
    assert adds
    for move in adds:
        at_ = next(
            i
            for i in range(len(move.new))
            if move.new[:i] + move.new[i + 1 :] == move.old
        )
        neighbours = [move.old[i] for i in (at_ - 1, at_) if 0 <= i < len(move.old)]
        assert move.new[at_] == max(neighbours)


def test_the_rule_is_recorded_with_the_run_only_when_set() -> None:
    assert "layer_rule" not in RandomStep().options()
    assert RandomStep(layer_rule="uniform").options()["layer_rule"] == "uniform"
    assert at.create_strategy("random-step", layer_rule="adj_min").options() == {
        "step_size": 0.1,
        "max_tries": 20,
        "layer_rule": "adj_min",
    }
