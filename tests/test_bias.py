"""Direction bias: it leans toward what paid off and never starves a parameter."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from strategies import DirectionBias, MultiParamMove, RandomStep, movable_count


def floats_space(n: int) -> at.SearchSpace:
    return at.SearchSpace({f"x{i}": at.Float(low=0.0, high=1.0) for i in range(n)})


def trial(
    moves: list[tuple[str, str]], *, accepted: bool, status: str = "ok"
) -> at.Trial:
    return at.Trial(
        number=1,
        params={},
        status=at.TrialStatus(status),
        parent=0,
        moves=tuple(at.Move(p, kind, 0.0, 1.0) for p, kind in moves),
        score=0.0 if status in ("ok", "cached") else None,
        accepted=accepted,
    )


def longest_waits(result: at.TuneResult, space: at.SearchSpace) -> dict[str, int]:
    """Per parameter, the most consecutive steps it was active and not moved."""
    by_number = {t.number: t for t in result.trials}
    steps = sorted(
        (t for t in result.trials if t.parent is not None), key=lambda t: t.number
    )
    waits = dict.fromkeys(space.names, 0)
    longest = dict.fromkeys(space.names, 0)
    for step in steps:
        parent = by_number[step.parent]  # type: ignore[index]
        moved = {m.param for m in step.moves}
        for name in space.names:
            active = name in parent.params
            waits[name] = waits[name] + 1 if active and name not in moved else 0
            longest[name] = max(longest[name], waits[name])
    return longest


# -- the coverage guarantee ---------------------------------------------------------


@given(
    n=st.integers(1, 8),
    coverage=st.floats(1.0, 3.0),
    strength=st.floats(0.0, 20.0),
    k=st.integers(1, 3),
    favourite=st.integers(0, 7),
    seed=st.integers(0, 2**32 - 1),
    active_draws=st.lists(st.integers(0, 255), min_size=30, max_size=80),
)
def test_no_active_parameter_waits_a_whole_window(
    n: int,
    coverage: float,
    strength: float,
    k: int,
    favourite: int,
    seed: int,
    active_draws: list[int],
) -> None:
    # An adversarial learner: only the favourite's moves ever succeed, and
    # parameters drop in and out of activity at random.
    space = floats_space(n)
    bias = DirectionBias(strength=strength, coverage=coverage)
    window = bias.window(space)
    rng = np.random.default_rng(seed)
    names = list(space.names)
    favourite_name = names[favourite % n]

    for mask in active_draws:
        movable = [name for i, name in enumerate(names) if mask >> i & 1] or names[:1]
        chosen = bias.choose(space, movable, rng, k)
        bias.record(movable, chosen)
        bias.learn(
            trial(
                [(name, "up") for name in chosen],
                accepted=favourite_name in chosen,
            )
        )

        assert len(set(chosen)) == len(chosen) == min(k, len(movable))
        assert all(bias.idle(name) < window for name in movable)


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(lambda: RandomStep(bias={"strength": 10.0}), id="random-step"),
        pytest.param(
            lambda: MultiParamMove(bias={"strength": 10.0, "coverage": 1.5}),
            id="multi-param",
        ),
    ],
)
def test_in_a_run_every_parameter_moves_within_the_window(strategy: Any) -> None:
    # Only x0 matters: a strong bias would move nothing else if it could.
    space = floats_space(5)
    instance = strategy()

    result = at.tune(
        lambda p: -abs(p["x0"] - 0.9),
        space,
        strategy=instance,
        max_trials=150,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    window = instance.bias.window(space)
    assert max(longest_waits(result, space).values()) < window
    early = [m.param for t in result.trials[1:41] for m in t.moves]
    assert early.count("x0") > max(early.count(f"x{i}") for i in range(1, 5))


def test_the_guarantee_holds_with_conditions() -> None:
    space = at.SearchSpace(
        {
            "kernel": at.Categorical(choices=("rbf", "poly", "linear")),
            "degree": at.Int(low=2, high=6),
            "gamma": at.Float(low=1e-3, high=1.0, log=True),
            "C": at.Float(low=1e-2, high=1e2, log=True),
            "shrinking": at.Bool(),
        },
        conditions=[
            at.Condition(param="degree", parent="kernel", values=("poly",)),
            at.Condition(param="gamma", parent="kernel", values=("rbf", "poly")),
        ],
    )
    strategy = RandomStep(bias={"strength": 10.0})

    result = at.tune(
        lambda p: (p["kernel"] == "poly") + p.get("degree", 0) / 10 - abs(p["C"] - 1),
        space,
        strategy=strategy,
        max_trials=200,
        seed=1,
        executor="inline",
        run_dir=False,
    )

    window = strategy.bias.window(space)  # type: ignore[union-attr]
    assert window == 10
    assert max(longest_waits(result, space).values()) < window


# -- leaning ------------------------------------------------------------------------


def test_bias_leans_toward_what_improved() -> None:
    space = floats_space(3)
    bias = DirectionBias(strength=3.0, coverage=3.0)
    for _ in range(10):
        bias.learn(trial([("x0", "up")], accepted=True))
        bias.learn(trial([("x1", "down")], accepted=False))
    rng = np.random.default_rng(0)

    picks = [bias.choose(space, ["x0", "x1", "x2"], rng)[0] for _ in range(600)]
    ups = [bias.direction("x0", rng) for _ in range(600)]
    x1_ups = [bias.direction("x1", rng) for _ in range(600)]

    assert picks.count("x0") > 2 * picks.count("x2") > 2 * picks.count("x1")
    assert 0.8 < ups.count(1) / 600 <= 0.95  # never certain: capped at 0.9
    assert x1_ups.count(1) / 600 > 0.8  # "down" failed, so "up" is favoured
    assert bias.merit("x0") > 0.8 and bias.merit("x1") < -0.8
    assert bias.lean("x0") > 0.8 and bias.lean("x1") > 0.8


def test_strength_zero_chooses_uniformly() -> None:
    space = floats_space(2)
    bias = DirectionBias(strength=0.0, coverage=100.0)
    for _ in range(10):
        bias.learn(trial([("x0", "up")], accepted=True))
    rng = np.random.default_rng(0)

    picks = [bias.choose(space, ["x0", "x1"], rng)[0] for _ in range(1000)]
    ups = [bias.direction("x0", rng) for _ in range(1000)]

    assert 420 < picks.count("x0") < 580
    assert 420 < ups.count(1) < 580


@pytest.mark.parametrize(
    ("status", "learned"),
    [
        pytest.param("cached", False, id="cached-teaches-nothing"),
        pytest.param("failed", True, id="failed-counts-as-worse"),
        pytest.param("pruned", True, id="pruned-counts-as-worse"),
    ],
)
def test_what_a_trial_teaches(status: str, learned: bool) -> None:
    bias = DirectionBias()

    bias.learn(trial([("x0", "up")], accepted=False, status=status))

    assert (bias.merit("x0") < 0) is learned


def test_a_trial_without_moves_teaches_nothing() -> None:
    bias = DirectionBias()

    bias.learn(trial([], accepted=True))

    assert bias.snapshot() == {"merit": {}, "lean": {}, "idle": {}}


def test_snapshot_is_json_and_restores() -> None:
    space = floats_space(3)
    bias = DirectionBias()
    rng = np.random.default_rng(0)
    for accepted in (True, False, True):
        chosen = bias.choose(space, list(space.names), rng)
        bias.record(list(space.names), chosen)
        bias.learn(trial([(chosen[0], "down")], accepted=accepted))

    fresh = DirectionBias()
    fresh.restore(json.loads(json.dumps(bias.snapshot())))

    assert fresh.snapshot() == bias.snapshot()
    assert fresh.choose(space, list(space.names), np.random.default_rng(5)) == (
        bias.choose(space, list(space.names), np.random.default_rng(5))
    )


# -- options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"strength": -1.0}, r"strength must be a finite number >= 0", id="s"
        ),
        pytest.param({"strength": math.inf}, r"got inf", id="s-inf"),
        pytest.param({"memory": 1.0}, r"memory must be in \[0, 1\), got 1.0", id="m"),
        pytest.param(
            {"coverage": 0.5}, r"coverage must be a finite number >= 1", id="c"
        ),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DirectionBias(**options)


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        pytest.param(False, None, id="off"),
        pytest.param(True, {"strength": 2.0, "memory": 0.8, "coverage": 2.0}, id="on"),
        pytest.param(
            {"coverage": 4.0},
            {"strength": 2.0, "memory": 0.8, "coverage": 4.0},
            id="mapping",
        ),
        pytest.param(
            DirectionBias(strength=1.0),
            {"strength": 1.0, "memory": 0.8, "coverage": 2.0},
            id="instance",
        ),
    ],
)
def test_bias_option_forms(option: Any, expected: dict[str, float] | None) -> None:
    bias = DirectionBias.from_option(option)

    assert (None if bias is None else bias.options()) == expected
    if isinstance(option, DirectionBias):
        assert bias is not option  # never shared between strategies


def test_a_bad_bias_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"bias must be True, False, a mapping"):
        RandomStep(bias="yes")  # type: ignore[arg-type]


def test_random_step_records_the_bias_and_restores_from_options() -> None:
    strategy = RandomStep(bias={"coverage": 3.0})

    options = strategy.options()
    again = at.create_strategy("random-step", **json.loads(json.dumps(options)))

    assert options["bias"] == {"strength": 2.0, "memory": 0.8, "coverage": 3.0}
    assert again.options() == options


@pytest.mark.parametrize(
    ("space", "count"),
    [
        pytest.param(floats_space(3), 3, id="floats"),
        pytest.param(
            at.SearchSpace({"a": at.Categorical(choices=("only",)), "b": at.Bool()}),
            1,
            id="one-choice-does-not-count",
        ),
    ],
)
def test_movable_count(space: at.SearchSpace, count: int) -> None:
    assert movable_count(space) == count
