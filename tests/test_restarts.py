"""Restarts: several start points, and a fresh search when the current one stalls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import autotune_core as at
from strategies import LocalGrid, MultiParamMove, RandomStep, Restarts

LINE = at.SearchSpace({"x": at.Float(low=-4.0, high=4.0)})
PLANE = at.SearchSpace(
    {"x": at.Float(low=-4.0, high=4.0), "y": at.Float(low=-4.0, high=4.0)}
)


def flat(params: dict[str, Any]) -> float:
    return 0.0


def two_peaks(params: dict[str, Any]) -> float:
    """A broad low peak at x=-2 (height 1), a narrow high one at x=2.5 (height 2)."""
    x = params["x"]
    return max(1 - (x + 2) ** 2 / 4, 2 - 4 * (x - 2.5) ** 2)


def tune(
    objective: Any, space: at.SearchSpace, strategy: at.StepStrategy, **options: Any
) -> at.TuneResult:
    settings: dict[str, Any] = {
        "seed": 0,
        "executor": "inline",
        "run_dir": False,
        **options,
    }
    return at.tune(objective, space, strategy=strategy, **settings)


def test_a_stalled_search_restarts_from_random_points() -> None:
    strategy = Restarts(patience=5, n_starts=3)

    result = tune(flat, PLANE, strategy, max_trials=15)

    starts, steps = result.trials[:3], result.trials[3:8]
    restart, after = result.trials[8:11], result.trials[11:]
    assert all(t.parent is None for t in starts)  # the run's start and 2 more
    assert all(t.parent == 0 for t in steps)
    assert all((t.parent, t.moves) == (None, ()) for t in restart)
    # nothing beat the incumbent, but the search goes on from the new start
    assert not any(t.accepted for t in restart)
    assert {t.parent for t in after} == {restart[0].number}
    assert strategy.restarts == 1


def test_restart_from_the_best_kicks_the_incumbent() -> None:
    strategy = Restarts(patience=4, mode="best", n_starts=2, kick=0.5)

    result = tune(flat, PLANE, strategy, max_trials=12)

    kicks = result.trials[6:8]  # after the start, 1 more start point and 4 steps
    for kick in kicks:
        assert kick.parent == 0
        assert 1 <= len(kick.moves) <= 2
        for move in kick.moves:
            assert abs(move.new - move.old) >= 0.25 * 8 * 0.5 - 1e-9


def test_several_start_points_at_the_beginning() -> None:
    strategy = Restarts(patience=100, n_starts=4)

    result = tune(lambda p: -abs(p["x"] - 3), LINE, strategy, max_trials=12)

    starts = result.trials[:4]
    assert all(t.parent is None for t in starts)
    best_start = max(starts, key=lambda t: t.score or -1e9)
    assert result.trials[4].parent == best_start.number
    assert strategy.restarts == 0


def test_max_restarts_limits_the_restarts() -> None:
    strategy = Restarts(patience=2, max_restarts=3)

    result = tune(flat, PLANE, strategy, max_trials=40)

    assert strategy.restarts == 3
    assert sum(t.parent is None for t in result.trials) == 1 + 3


def test_a_finished_wrapped_strategy_restarts_at_once() -> None:
    strategy = Restarts(
        strategy="local-grid",
        strategy_options={"spread": 0.1, "min_spread": 0.05},
        patience=1000,
    )

    result = tune(flat, LINE, strategy, max_trials=60)

    assert strategy.restarts >= 2
    assert isinstance(strategy.inner, LocalGrid)
    assert len(result.trials) == 60


def test_restarts_escape_a_local_optimum() -> None:
    def best_x(strategy: at.StepStrategy, seed: int) -> float:
        result = tune(two_peaks, LINE, strategy, max_trials=100, seed=seed)
        return float(result.best_params["x"])

    plain = [best_x(RandomStep(), seed) for seed in range(8)]
    restarted = [best_x(Restarts(patience=12, n_starts=2), seed) for seed in range(8)]

    found = [sum(abs(x - 2.5) < 0.3 for x in runs) for runs in (plain, restarted)]
    assert found[0] == 0  # from x=0 the broad peak always wins
    assert found[1] >= 4


def test_resumed_run_goes_on_as_if_never_stopped(tmp_path: Path) -> None:
    def run(max_trials: int, **options: Any) -> at.TuneResult:
        return at.tune(
            two_peaks,
            LINE if "resume" not in options else None,
            strategy=Restarts(strategy="multi-param", patience=4, n_starts=2),
            max_trials=max_trials,
            seed=0,
            executor="inline",
            **options,
        )

    whole = run(40, run_dir=tmp_path / "whole")
    run(17, run_dir=tmp_path / "split")
    resumed = run(40, resume=tmp_path / "split")

    def path(result: at.TuneResult) -> list[tuple[Any, ...]]:
        return [(t.params, t.score, t.accepted, t.parent) for t in result.trials]

    assert path(resumed) == path(whole)


def test_resumed_by_name_from_the_recorded_options(tmp_path: Path) -> None:
    strategy = Restarts(strategy="multi-param", strategy_options={"n_params": 1})
    at.tune(
        two_peaks,
        LINE,
        strategy=strategy,
        max_trials=5,
        seed=0,
        executor="inline",
        run_dir=tmp_path / "run",
    )

    result = at.tune(
        two_peaks, None, max_trials=8, executor="inline", resume=tmp_path / "run"
    )

    assert len(result.trials) == 8
    assert result.strategy["name"] == "restarts"
    assert result.strategy["options"]["strategy"] == "multi-param"


def test_options_are_plain_data_and_rebuild_the_strategy() -> None:
    strategy = Restarts(strategy=MultiParamMove(n_params=3), patience=7, mode="best")

    options = json.loads(json.dumps(strategy.options()))
    again = at.create_strategy("restarts", **options)

    assert options["strategy"] == "multi-param"
    assert options["strategy_options"]["n_params"] == 3
    assert again.options() == strategy.options()


def test_snapshot_round_trips_through_json() -> None:
    strategy = Restarts(patience=3, n_starts=2)
    tune(two_peaks, LINE, strategy, max_trials=12)

    fresh = Restarts(patience=3, n_starts=2)
    fresh.restore(json.loads(json.dumps(strategy.snapshot())))

    assert json.loads(json.dumps(fresh.snapshot())) == json.loads(
        json.dumps(strategy.snapshot())
    )


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        pytest.param(
            {"patience": 0}, ValueError, r"patience must be an int >= 1", id="p"
        ),
        pytest.param(
            {"n_starts": 0}, ValueError, r"n_starts must be an int >= 1", id="n"
        ),
        pytest.param(
            {"mode": "worst"},
            ValueError,
            r"mode must be one of \('best', 'random'\), got 'worst'",
            id="mode",
        ),
        pytest.param({"kick": 0}, ValueError, r"kick must be in \(0, 1\]", id="kick"),
        pytest.param(
            {"max_restarts": -1}, ValueError, r"max_restarts must be None", id="max"
        ),
        pytest.param(
            {"strategy": "no-such"},
            at.UnknownPluginError,
            r"unknown strategy",
            id="name",
        ),
        pytest.param(
            {"strategy": RandomStep(), "strategy_options": {"step_size": 0.2}},
            ValueError,
            r"strategy_options is only for a strategy given by name",
            id="options-with-instance",
        ),
        pytest.param(
            {"strategy": 3}, TypeError, r"registered name or a StepStrategy", id="type"
        ),
    ],
)
def test_invalid_options_are_rejected(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Restarts(**options)
