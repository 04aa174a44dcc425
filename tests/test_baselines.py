"""Baselines in the same engine: RandomSearch and GridSearch."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from autotune_core.testing import search_spaces
from strategies import GridSearch, RandomSearch, grid_values


def keys(space: at.SearchSpace, points: list[dict[str, Any]]) -> list[Any]:
    return [space.key(p) for p in points]


def run_grid(
    space: at.SearchSpace, strategy: GridSearch, **options: Any
) -> at.TuneResult:
    return at.tune(
        lambda p: 0.0,
        space,
        strategy=strategy,
        seed=0,
        executor="inline",
        run_dir=False,
        **options,
    )


MIXED = at.SearchSpace(
    {
        "x": at.Float(low=0.0, high=1.0),
        "n": at.Int(low=1, high=3),
        "kind": at.Categorical(choices=("a", "b")),
    }
)


# -- grid values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "points", "values"),
    [
        pytest.param(
            at.Float(low=0.0, high=1.0), 5, [0.0, 0.25, 0.5, 0.75, 1.0], id="float"
        ),
        pytest.param(
            at.Float(low=1e-3, high=1e1, log=True),
            5,
            [1e-3, 1e-2, 1e-1, 1.0, 1e1],
            id="log-float",
        ),
        pytest.param(at.Int(low=0, high=100), 3, [0, 50, 100], id="int"),
        pytest.param(at.Int(low=0, high=2), 5, [0, 1, 2], id="small-int-deduplicated"),
        pytest.param(at.Int(low=0, high=10, step=5), 5, [0, 5, 10], id="int-step"),
        pytest.param(
            at.Categorical(choices=("a", 1, None)), 2, ["a", 1, None], id="cat"
        ),
        pytest.param(at.Bool(), 5, [False, True], id="bool"),
        pytest.param(
            at.Layers(min_layers=1, max_layers=2, min_units=10, max_units=30),
            3,
            [(10,), (20,), (30,), (10, 10), (20, 20), (30, 30)],
            id="layers",
        ),
    ],
)
def test_grid_values(param: Any, points: int, values: list[Any]) -> None:
    expected = values if isinstance(param, at.Layers) else pytest.approx(values)

    assert grid_values(param, points) == expected


# -- grid search --------------------------------------------------------------------


def test_grid_visits_every_point_once_then_ends() -> None:
    product = [
        {"x": x, "n": n, "kind": k}
        for x, n, k in itertools.product([0.0, 0.5, 1.0], [1, 2, 3], ["a", "b"])
    ]

    result = run_grid(MIXED, GridSearch(points=3))

    assert result.stop_reason == "exhausted"
    visited = keys(MIXED, [t.params for t in result.trials])
    assert sorted(map(repr, visited)) == sorted(map(repr, keys(MIXED, product)))
    assert all(t.status is at.TrialStatus.OK for t in result.trials)


def test_grid_in_order_varies_the_last_parameter_fastest() -> None:
    space = at.SearchSpace({"a": at.Int(low=0, high=1), "b": at.Int(low=0, high=1)})

    result = run_grid(space, GridSearch(points=2))  # the start is (0, 0)

    assert [(t.params["a"], t.params["b"]) for t in result.trials] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]


def test_shuffled_grid_visits_the_same_points_in_another_order() -> None:
    in_order = run_grid(MIXED, GridSearch(points=3))
    shuffled = run_grid(MIXED, GridSearch(points=3, shuffle=True))

    first = [repr(MIXED.key(t.params)) for t in in_order.trials]
    second = [repr(MIXED.key(t.params)) for t in shuffled.trials]
    assert sorted(first) == sorted(second)
    assert first != second


def test_the_budget_stops_a_grid_early() -> None:
    result = run_grid(MIXED, GridSearch(points=5), max_trials=7)

    assert len(result.trials) == 7
    assert result.stop_reason == "max_trials"


def test_conditional_grid_has_no_duplicates_and_no_inactive_parameters() -> None:
    space = at.SearchSpace(
        {
            "kernel": at.Categorical(choices=("rbf", "poly", "linear")),
            "degree": at.Int(low=2, high=4),
            "gamma": at.Float(low=0.1, high=10.0, log=True),
        },
        conditions=[
            at.Condition(param="degree", parent="kernel", values=("poly",)),
            at.Condition(param="gamma", parent="kernel", values=("rbf", "poly")),
        ],
    )

    result = run_grid(space, GridSearch(points=3))

    visited = [t.params for t in result.trials]
    assert all(space.contains(p) for p in visited)
    assert len({repr(space.key(p)) for p in visited}) == len(visited)
    # rbf: 3 gammas; poly: 3 degrees x 3 gammas; linear: 1 (the run's start,
    # rbf with the middle gamma, is one of them)
    assert len(visited) == 3 + 9 + 1
    assert GridSearch(points=3).size(space) == 27


@given(space=search_spaces(max_params=4), shuffle=st.booleans())
def test_any_grid_yields_distinct_valid_points(
    space: at.SearchSpace, shuffle: bool
) -> None:
    strategy = GridSearch(points=2, shuffle=shuffle)
    state = at.SearchState(space, at.RunConfig())
    rng = np.random.default_rng(0)

    seen = set()
    for _ in range(30):
        candidate = strategy.propose(state, rng)
        if candidate is None:
            break
        assert space.contains(candidate.params)
        assert (candidate.parent, candidate.moves) == (None, ())
        key = repr(space.key(candidate.params))
        assert key not in seen
        seen.add(key)


def test_grid_snapshot_resumes_where_it_stopped() -> None:
    state = at.SearchState(MIXED, at.RunConfig())
    strategy = GridSearch(points=3, shuffle=True)
    rng = np.random.default_rng(4)
    for _ in range(5):
        strategy.propose(state, rng)

    fresh = GridSearch(points=3, shuffle=True)
    fresh.restore(json.loads(json.dumps(strategy.snapshot())))

    # 18 points, 5 proposed: 13 more, then None. The order was drawn once.
    rest = [strategy.propose(state, rng) for _ in range(14)]
    assert [fresh.propose(state, rng) for _ in range(14)] == rest
    assert rest[-1] is None and None not in rest[:-1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"points": 1}, r"points must be an int >= 2, got 1", id="points"),
        pytest.param({"points": 2.0}, r"got 2.0", id="points-float"),
        pytest.param(
            {"shuffle": "yes"}, r"shuffle must be True or False", id="shuffle"
        ),
    ],
)
def test_grid_validates(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GridSearch(**options)


# -- random search ------------------------------------------------------------------


def test_random_search_samples_independently_and_avoids_repeats() -> None:
    space = at.SearchSpace({"c": at.Categorical(choices=("a", "b", "c", "d"))})
    history = [
        at.Trial(number=i, params={"c": c}, status=at.TrialStatus.OK, score=0.0)
        for i, c in enumerate("abc")
    ]
    state = at.SearchState(space, at.RunConfig(), history=history)

    candidate = RandomSearch().propose(state, np.random.default_rng(0))

    assert candidate.params == {"c": "d"}
    assert (candidate.parent, candidate.moves) == (None, ())


def test_random_search_spreads_over_the_space() -> None:
    space = at.SearchSpace({"x": at.Float(low=1e-4, high=1.0, log=True)})

    result = at.tune(
        lambda p: p["x"],
        space,
        strategy=RandomSearch(),
        max_trials=200,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    decades = {int(np.floor(np.log10(t.params["x"]))) for t in result.trials}
    assert decades == {-4, -3, -2, -1}


def test_same_seed_same_random_search() -> None:
    def run() -> list[dict[str, Any]]:
        result = at.tune(
            lambda p: p["x"],
            MIXED,
            strategy="random-search",
            max_trials=15,
            seed=7,
            executor="inline",
            run_dir=False,
        )
        return [t.params for t in result.trials]

    assert run() == run()


@pytest.mark.parametrize("max_tries", [0, -1, 1.5, True])
def test_random_search_validates(max_tries: Any) -> None:
    with pytest.raises(ValueError, match=r"max_tries must be an int >= 1"):
        RandomSearch(max_tries=max_tries)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        pytest.param("random-search", RandomSearch, id="random"),
        pytest.param("grid-search", GridSearch, id="grid"),
    ],
)
def test_registered_by_name(name: str, cls: type) -> None:
    strategy = at.create_strategy(name)

    assert isinstance(strategy, cls)
    assert (
        at.create_strategy(name, **strategy.options()).options() == strategy.options()
    )
