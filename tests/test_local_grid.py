"""LocalGrid: a batch of one parameter's values around the incumbent."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import autotune_core as at
from strategies import LocalGrid


def state_at(
    space: at.SearchSpace, params: dict[str, Any], *seen: dict[str, Any]
) -> at.SearchState:
    incumbent = at.Trial(
        number=0, params=params, status=at.TrialStatus.OK, score=0.0, accepted=True
    )
    others = [
        at.Trial(number=i + 1, params=p, status=at.TrialStatus.OK, score=-1.0)
        for i, p in enumerate(seen)
    ]
    return at.SearchState(
        space, at.RunConfig(), history=[incumbent, *others], incumbent=incumbent
    )


def grid(
    strategy: LocalGrid, space: at.SearchSpace, params: dict[str, Any], seed: int = 0
) -> list[at.Candidate]:
    batch = strategy.propose(state_at(space, params), np.random.default_rng(seed))
    assert isinstance(batch, at.Batch)
    return list(batch.candidates)


@pytest.mark.parametrize(
    ("param", "value", "size", "spread", "expected"),
    [
        pytest.param(
            at.Float(low=0.0, high=10.0), 5.0, 4, 0.2, [6.0, 4.0, 7.0, 3.0], id="float"
        ),
        pytest.param(
            at.Float(low=0.0, high=10.0), 5.0, 3, 0.2, [6.0, 4.0, 7.0], id="odd-size"
        ),
        pytest.param(
            at.Float(low=0.0, high=10.0), 9.5, 4, 0.2, [10.0, 8.5, 7.5], id="at-a-bound"
        ),
        pytest.param(
            at.Float(low=1e-4, high=1.0, log=True),
            1e-2,
            2,
            0.25,
            [1e-1, 1e-3],
            id="log-multiplies",
        ),
        pytest.param(at.Int(low=0, high=4), 2, 4, 0.1, [3, 1], id="int-deduplicated"),
        pytest.param(at.Bool(), False, 4, 0.1, [True], id="bool"),
        pytest.param(
            at.Categorical(choices=("a", "b", "c")), "b", 4, 0.1, ["a", "c"], id="cat"
        ),
    ],
)
def test_grid_values(
    param: Any, value: Any, size: int, spread: float, expected: list[Any]
) -> None:
    space = at.SearchSpace({"p": param})

    values = [
        c.params["p"]
        for c in grid(LocalGrid(size=size, spread=spread), space, {"p": value})
    ]

    assert values == pytest.approx(expected)


def test_a_large_categorical_offers_size_other_choices() -> None:
    space = at.SearchSpace({"c": at.Categorical(choices=tuple("abcdefgh"))})

    values = [c.params["c"] for c in grid(LocalGrid(size=3), space, {"c": "a"})]

    assert len(set(values)) == 3
    assert "a" not in values


def test_layers_get_one_move_of_each_kind() -> None:
    space = at.SearchSpace({"h": at.Layers(max_layers=3, min_units=4, max_units=64)})

    candidates = grid(LocalGrid(size=4), space, {"h": (16, 16)})

    kinds = sorted(c.moves[0].kind for c in candidates)
    assert kinds == ["add_layer", "remove_layer", "resize_layer", "resize_layer"]
    assert len({c.params["h"] for c in candidates}) == 4


def test_every_point_moves_one_parameter_from_the_incumbent() -> None:
    space = at.SearchSpace(
        {"x": at.Float(low=0, high=1), "n": at.Int(low=0, high=50), "f": at.Bool()}
    )
    incumbent = {"x": 0.5, "n": 20, "f": False}

    candidates = grid(LocalGrid(), space, incumbent)

    (name,) = {c.moves[0].param for c in candidates}
    for candidate in candidates:
        (move,) = candidate.moves
        assert candidate.parent == 0
        assert {k for k in incumbent if incumbent[k] != candidate.params[k]} == {name}
        assert (move.old, move.new) == (incumbent[name], candidate.params[name])


def test_points_already_evaluated_are_left_out() -> None:
    space = at.SearchSpace({"x": at.Float(low=0.0, high=10.0)})
    state = state_at(space, {"x": 5.0}, {"x": 6.0}, {"x": 3.0})

    batch = LocalGrid(size=4, spread=0.2).propose(state, np.random.default_rng(0))

    assert isinstance(batch, at.Batch)
    assert [c.params["x"] for c in batch.candidates] == pytest.approx([4.0, 7.0])


def test_a_pass_visits_every_parameter_once() -> None:
    space = at.SearchSpace({f"x{i}": at.Float(low=0, high=1) for i in range(5)})
    strategy = LocalGrid()
    state = state_at(space, space.default_point())
    rng = np.random.default_rng(3)

    visited = []
    for _ in range(10):
        batch = strategy.propose(state, rng)
        assert isinstance(batch, at.Batch)
        visited.append(batch.candidates[0].moves[0].param)

    assert sorted(visited[:5]) == sorted(visited[5:]) == sorted(space.names)
    assert visited[:5] != visited[5:]  # each pass in its own random order


# -- in a run -----------------------------------------------------------------------


def test_with_no_margin_the_run_moves_to_the_best_point_of_the_grid() -> None:
    space = at.SearchSpace({"x": at.Float(low=0.0, high=10.0)})

    result = at.tune(
        lambda p: -abs(p["x"] - 6.8),
        space,
        strategy=LocalGrid(size=4, spread=0.2),
        max_trials=5,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    grid_scores = {t.params["x"]: t.score for t in result.trials[1:]}
    assert sorted(grid_scores) == pytest.approx([3.0, 4.0, 6.0, 7.0])
    assert result.best_params["x"] == pytest.approx(7.0)


def test_spread_shrinks_after_a_pass_without_progress_and_the_run_ends() -> None:
    space = at.SearchSpace({"x": at.Float(low=0.0, high=1.0), "y": at.Bool()})
    strategy = LocalGrid(spread=0.4, shrink=0.5, min_spread=0.05)

    result = at.tune(
        lambda p: -abs(p["x"] - 0.5) - p["y"],  # the start is the optimum
        space,
        strategy=strategy,
        max_trials=200,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    assert result.stop_reason == "exhausted"
    assert strategy.current_spread < 0.05
    x_steps = [
        abs(t.moves[0].new - 0.5)
        for t in result.trials
        if t.moves[0:1] and t.moves[0].param == "x"
    ]
    assert max(x_steps) == pytest.approx(0.4)
    assert min(x_steps) == pytest.approx(0.025)


def test_converges_on_a_mixed_space() -> None:
    space = at.SearchSpace(
        {
            "x": at.Float(low=0, high=10),
            "n": at.Int(low=0, high=20),
            "kind": at.Categorical(choices=("a", "b", "c")),
        }
    )

    result = at.tune(
        lambda p: -abs(p["x"] - 7.3) - abs(p["n"] - 3) - (p["kind"] != "c"),
        space,
        strategy=LocalGrid(spread=0.2),
        max_trials=150,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    assert result.best_params["n"] == 3
    assert result.best_params["kind"] == "c"
    assert result.best_params["x"] == pytest.approx(7.3, abs=0.1)


def test_snapshot_is_json_and_restores() -> None:
    space = at.SearchSpace({f"x{i}": at.Float(low=0, high=1) for i in range(3)})
    strategy = LocalGrid()
    state = state_at(space, space.default_point())
    strategy.propose(state, np.random.default_rng(0))

    fresh = LocalGrid()
    fresh.restore(json.loads(json.dumps(strategy.snapshot())))

    assert fresh.snapshot() == strategy.snapshot()
    assert fresh.propose(state, np.random.default_rng(1)) == strategy.propose(
        state, np.random.default_rng(1)
    )


def test_registered_by_name() -> None:
    strategy = at.create_strategy("local-grid", size=6, spread=0.05)

    assert isinstance(strategy, LocalGrid)
    assert strategy.options() == {
        "size": 6,
        "spread": 0.05,
        "shrink": 0.5,
        "min_spread": 0.001,
        "layer_rule": "copy",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"size": 0}, r"size must be an int >= 1, got 0", id="size"),
        pytest.param(
            {"size": 2.5}, r"size must be an int >= 1, got 2.5", id="size-float"
        ),
        pytest.param({"spread": 0}, r"spread must be in \(0, 1\], got 0", id="spread"),
        pytest.param({"shrink": 1}, r"shrink must be in \(0, 1\), got 1", id="shrink"),
        pytest.param(
            {"min_spread": 0.5}, r"min_spread must be in \(0, spread=0.1\]", id="min"
        ),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalGrid(**options)
