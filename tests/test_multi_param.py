"""MultiParamMove: several parameters per step, a step scale per parameter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from autotune_core.testing import points, search_spaces
from strategies import MultiParamMove, movable_names


def state_at(space: at.SearchSpace, params: dict[str, Any]) -> at.SearchState:
    incumbent = at.Trial(
        number=0, params=params, status=at.TrialStatus.OK, score=0.0, accepted=True
    )
    return at.SearchState(
        space, at.RunConfig(), history=[incumbent], incumbent=incumbent
    )


def told(
    strategy: MultiParamMove,
    space: at.SearchSpace,
    names: list[str],
    *,
    accepted: bool,
    status: str = "ok",
) -> None:
    trial = at.Trial(
        number=1,
        params=space.default_point(),
        status=at.TrialStatus(status),
        parent=0,
        moves=tuple(at.Move(n, "up", 0.0, 1.0) for n in names),
        score=1.0,
        accepted=accepted,
    )
    strategy.tell(trial, at.SearchState(space, at.RunConfig()))


SPACE = at.SearchSpace({f"x{i}": at.Float(low=-2.0, high=2.0) for i in range(5)})


@given(data=st.data(), space=search_spaces(), n_params=st.integers(1, 4))
def test_moves_up_to_n_params_declared_parameters(
    data: st.DataObject, space: at.SearchSpace, n_params: int
) -> None:
    point = data.draw(points(space))
    state = state_at(space, point)
    movable = movable_names(space, point)

    candidate = MultiParamMove(n_params=n_params).propose(
        state, np.random.default_rng(data.draw(st.integers(0, 99)))
    )

    if not movable:
        assert candidate is None
        return
    assert candidate is not None
    assert space.contains(candidate.params)
    assert 1 <= len(candidate.moves) <= min(n_params, len(movable))
    for move in candidate.moves:
        assert move.param in point
        assert move.old == point[move.param]
        assert move.new == candidate.params[move.param]


@pytest.mark.parametrize("n_params", [1, 2, 3, 5, 9])
def test_without_conditions_exactly_n_params_move(n_params: int) -> None:
    strategy = MultiParamMove(n_params=n_params)
    state = state_at(SPACE, SPACE.default_point())

    for seed in range(10):
        candidate = strategy.propose(state, np.random.default_rng(seed))
        assert candidate is not None
        assert len({m.param for m in candidate.moves}) == min(n_params, 5)


def test_a_move_that_would_deactivate_another_is_left_out() -> None:
    space = at.SearchSpace(
        {
            "kernel": at.Categorical(choices=("rbf", "poly")),
            "degree": at.Int(low=2, high=5),
        },
        conditions=[at.Condition(param="degree", parent="kernel", values=("poly",))],
    )
    state = state_at(space, {"kernel": "poly", "degree": 3})
    strategy = MultiParamMove(n_params=2, bias=False)

    outcomes = set()
    for seed in range(40):
        candidate = strategy.propose(state, np.random.default_rng(seed))
        assert candidate is not None
        assert space.contains(candidate.params)
        outcomes.add(tuple(m.param for m in candidate.moves))
        if "degree" not in candidate.params:
            assert [m.param for m in candidate.moves] == ["kernel"]

    assert ("kernel",) in outcomes  # the switch came first, the degree move dropped
    assert ("degree",) in outcomes  # the degree move came first, the switch dropped


# -- step scales ---------------------------------------------------------------------


def test_scales_grow_where_moves_helped_and_shrink_where_they_hurt() -> None:
    strategy = MultiParamMove(step_size=0.1, grow=1.5, shrink=0.9)

    told(strategy, SPACE, ["x0", "x1"], accepted=True)
    told(strategy, SPACE, ["x1", "x2"], accepted=False)

    assert strategy.scale("x0") == pytest.approx(0.15)
    assert strategy.scale("x1") == pytest.approx(0.135)
    assert strategy.scale("x2") == pytest.approx(0.09)
    assert strategy.scale("x3") == 0.1


@pytest.mark.parametrize(
    ("accepted", "bound"),
    [pytest.param(True, 0.5, id="max-step"), pytest.param(False, 0.005, id="min-step")],
)
def test_scales_stay_within_bounds(accepted: bool, bound: float) -> None:
    strategy = MultiParamMove()

    for _ in range(100):
        told(strategy, SPACE, ["x0"], accepted=accepted)

    assert strategy.scale("x0") == bound


@pytest.mark.parametrize("status", ["failed", "timeout", "pruned"])
def test_a_failed_step_shrinks_the_scale(status: str) -> None:
    strategy = MultiParamMove()

    told(strategy, SPACE, ["x0"], accepted=False, status=status)

    assert strategy.scale("x0") < 0.1


def test_a_cached_repeat_changes_nothing() -> None:
    strategy = MultiParamMove()

    told(strategy, SPACE, ["x0"], accepted=False, status="cached")

    assert strategy.snapshot()["scales"] == {}


def test_categoricals_have_no_scale() -> None:
    space = at.SearchSpace({"c": at.Categorical(choices=("a", "b")), "x": at.Bool()})
    strategy = MultiParamMove()

    told(strategy, space, ["c", "x"], accepted=True)

    assert strategy.snapshot()["scales"] == {}


def test_a_larger_scale_makes_larger_steps() -> None:
    strategy = MultiParamMove(n_params=1, bias=False)
    for _ in range(20):
        told(strategy, SPACE, ["x0"], accepted=True)
    state = state_at(SPACE, SPACE.default_point())

    sizes: dict[str, list[float]] = {"x0": [], "other": []}
    for seed in range(200):
        candidate = strategy.propose(state, np.random.default_rng(seed))
        assert candidate is not None
        (move,) = candidate.moves
        key = "x0" if move.param == "x0" else "other"
        sizes[key].append(abs(move.new - move.old))

    assert min(sizes["x0"]) > max(sizes["other"])


def test_the_most_promising_parameters_are_chosen_most_often() -> None:
    strategy = MultiParamMove(n_params=2, bias={"strength": 3.0, "coverage": 4.0})
    for _ in range(10):
        told(strategy, SPACE, ["x3"], accepted=True)
        told(strategy, SPACE, ["x0"], accepted=False)
    state = state_at(SPACE, SPACE.default_point())
    rng = np.random.default_rng(0)

    counts = dict.fromkeys(SPACE.names, 0)
    for _ in range(200):
        candidate = strategy.propose(state, rng)
        assert candidate is not None
        for move in candidate.moves:
            counts[move.param] += 1

    assert counts["x3"] == max(counts.values())
    assert counts["x0"] == min(counts.values())


# -- in a run -----------------------------------------------------------------------


def ill_conditioned(params: dict[str, Any]) -> float:
    """A shifted, stretched bowl: x0 matters 100 times more than x4."""
    return -sum(10 ** (2 - i) * (params[f"x{i}"] - 0.7) ** 2 for i in range(5))


def test_a_run_improves_and_adapts_its_scales() -> None:
    strategy = MultiParamMove()

    result = at.tune(
        ill_conditioned,
        SPACE,
        strategy=strategy,
        max_trials=150,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    assert result.best_score > 0.5 * ill_conditioned(SPACE.default_point())
    scales = strategy.snapshot()["scales"]
    assert len(set(scales.values())) > 1


def test_resumed_run_goes_on_as_if_never_stopped(tmp_path: Path) -> None:
    def run(max_trials: int, **options: Any) -> at.TuneResult:
        return at.tune(
            ill_conditioned,
            SPACE if "resume" not in options else None,
            strategy=MultiParamMove(),
            max_trials=max_trials,
            seed=0,
            executor="inline",
            **options,
        )

    whole = run(50, run_dir=tmp_path / "whole")
    run(20, run_dir=tmp_path / "split")
    resumed = run(50, resume=tmp_path / "split")

    def path(result: at.TuneResult) -> list[tuple[Any, ...]]:
        return [(t.params, t.score, t.accepted, t.moves) for t in result.trials]

    assert path(resumed) == path(whole)


def test_registered_by_name_with_json_options() -> None:
    strategy = MultiParamMove(n_params=3, layer_rule="adj_min", bias=False)

    again = at.create_strategy(
        "multi-param", **json.loads(json.dumps(strategy.options()))
    )

    assert isinstance(again, MultiParamMove)
    assert again.options() == strategy.options()
    assert again.bias is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"n_params": 0}, r"n_params must be an int >= 1, got 0", id="n"),
        pytest.param({"n_params": True}, r"n_params must be an int", id="n-bool"),
        pytest.param({"step_size": 0}, r"step_size must be in \(0, 1\]", id="step"),
        pytest.param({"grow": 0.5}, r"grow must be a finite number >= 1", id="grow"),
        pytest.param({"shrink": 0}, r"shrink must be in \(0, 1\]", id="shrink"),
        pytest.param(
            {"min_step": 0.2}, r"need 0 < min_step <= step_size <= max_step", id="min"
        ),
        pytest.param({"max_step": 0.05}, r"max_step=0.05", id="max-below-step"),
        pytest.param({"max_tries": 0}, r"max_tries must be >= 1", id="tries"),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MultiParamMove(**options)
