"""Racing: hopeless candidates stop after their first folds, recorded as pruned."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.datasets import load_digits
from sklearn.tree import DecisionTreeClassifier

import autotune_core as at

Data = tuple[np.ndarray, np.ndarray]

INCUMBENT: dict[str, Any] = {"max_depth": 8}
WORSE: dict[str, Any] = {"max_depth": 2}  # about 0.45 below the incumbent per fold
BETTER: dict[str, Any] = {"max_depth": None}  # equal or better on every fold


@pytest.fixture(scope="module")
def digits() -> Data:
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def plain(digits: Data) -> at.SklearnObjective:
    """The same objective without racing: the reference for every fold score."""
    return at.SklearnObjective(DecisionTreeClassifier(random_state=0), *digits, cv=5)


@pytest.fixture(scope="module")
def incumbent_folds(plain: at.SklearnObjective) -> tuple[float, ...]:
    return plain(INCUMBENT).fold_scores


def racing_objective(data: Data, **racing: int) -> at.SklearnObjective:
    tree = DecisionTreeClassifier(random_state=0)
    return at.SklearnObjective(tree, *data, cv=5, racing=at.Racing(**racing))


def context(folds: tuple[float, ...], **fields: object) -> at.TrialContext:
    return at.TrialContext(1, incumbent_fold_scores=folds, **fields)  # type: ignore[arg-type]


# -- the rule ------------------------------------------------------------------------

INCUMBENT_SCORES = (0.90, 0.91, 0.89, 0.90, 0.92)


@pytest.mark.parametrize(
    ("candidate", "options", "stops"),
    [
        pytest.param([0.70, 0.72], {}, True, id="clearly-worse"),
        pytest.param([0.90, 0.93], {}, False, id="better-so-far"),
        pytest.param([0.88, 0.92], {}, False, id="too-noisy-to-tell"),
        pytest.param([0.70], {}, False, id="before-min-folds"),
        pytest.param([0.70] * 5, {}, False, id="all-folds-known"),
        pytest.param([0.90, 0.91], {}, False, id="equal-gains-say-nothing"),
        pytest.param([0.80, 0.81], {}, False, id="equal-gains-up-to-rounding"),
        pytest.param([0.89, 0.899], {}, True, id="slightly-worse-on-both"),
        pytest.param([0.92, 0.935], {"min_improvement": 0.05}, True, id="margin"),
        pytest.param([0.70, 0.72], {"direction": "minimize"}, False, id="minimize"),
        pytest.param([0.95, 0.97], {"direction": "minimize"}, True, id="min-worse"),
        pytest.param([math.nan, 0.5], {}, False, id="nan-never-stops"),
    ],
)
def test_rule(candidate: list[float], options: dict[str, object], stops: bool) -> None:
    racing = at.Racing(min_folds=2)

    assert racing.should_stop(candidate, INCUMBENT_SCORES, **options) is stops  # type: ignore[arg-type]


def test_the_bound_narrows_as_folds_accumulate() -> None:
    racing = at.Racing()
    gains = [-0.02, 0.0, -0.01, -0.015]

    bounds = [racing.upper_bound(gains[:k], 5) for k in (2, 3, 4)]

    assert bounds[0] > bounds[1] > bounds[2]
    assert at.Racing(confidence=0.99).upper_bound(gains[:2], 5) > bounds[0]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"min_folds": 1}, "min_folds", id="one-fold"),
        pytest.param({"min_folds": 2.0}, "min_folds", id="float-folds"),
        pytest.param({"confidence": 1.0}, "confidence", id="certain"),
        pytest.param({"confidence": 0.5}, "confidence", id="coin"),
        pytest.param({"folds": 2}, "folds", id="unknown-key"),
    ],
)
def test_invalid_racing_names_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        at.Racing(**options)


def test_racing_option_must_be_a_racing_or_a_bool(digits: Data) -> None:
    tree = DecisionTreeClassifier()
    with pytest.raises(at.ConfigError, match=r"racing= must be a Racing.*'yes'"):
        at.SklearnObjective(tree, *digits, racing="yes")  # type: ignore[arg-type]

    assert at.SklearnObjective(tree, *digits, racing=True).racing == at.Racing()
    assert not at.SklearnObjective(tree, *digits, racing=False).accepts_context


# -- the objective -------------------------------------------------------------------


@pytest.mark.parametrize("min_folds", [2, 3])
def test_clearly_worse_candidate_stops_after_min_folds(
    digits: Data,
    plain: at.SklearnObjective,
    incumbent_folds: tuple[float, ...],
    min_folds: int,
) -> None:
    objective = racing_objective(digits, min_folds=min_folds)

    evaluation = objective(WORSE, context(incumbent_folds))

    full = plain(WORSE)
    assert objective.accepts_context
    assert evaluation.pruned
    assert evaluation.fold_scores == full.fold_scores[:min_folds]
    assert evaluation.score == pytest.approx(np.mean(full.fold_scores[:min_folds]))
    assert evaluation.fit_time is not None and evaluation.fit_time > 0


def test_better_candidate_runs_every_fold(
    digits: Data, plain: at.SklearnObjective, incumbent_folds: tuple[float, ...]
) -> None:
    evaluation = racing_objective(digits)(BETTER, context(incumbent_folds))

    assert not evaluation.pruned
    assert evaluation.fold_scores == plain(BETTER).fold_scores


def test_equal_gains_never_stop_a_candidate(digits: Data) -> None:
    """max_depth=50 grows the same trees as None on digits: every paired gain is 0."""
    objective = racing_objective(digits)
    unlimited = objective(BETTER).fold_scores

    evaluation = objective({"max_depth": 50}, context(unlimited))

    assert not evaluation.pruned
    assert evaluation.fold_scores == unlimited


def test_min_improvement_raises_the_bar(
    digits: Data, incumbent_folds: tuple[float, ...]
) -> None:
    objective = racing_objective(digits)

    evaluation = objective(BETTER, context(incumbent_folds, min_improvement=0.1))

    assert evaluation.pruned


@pytest.mark.parametrize(
    "make_context",
    [
        pytest.param(lambda folds: None, id="no-context"),
        pytest.param(lambda folds: context(()), id="no-incumbent"),
        pytest.param(lambda folds: context(folds[:3]), id="other-fold-count"),
    ],
)
def test_no_racing_without_a_comparable_incumbent(
    digits: Data,
    plain: at.SklearnObjective,
    incumbent_folds: tuple[float, ...],
    make_context: object,
) -> None:
    objective = racing_objective(digits)

    evaluation = objective(WORSE, make_context(incumbent_folds))  # type: ignore[operator]

    assert not evaluation.pruned
    assert evaluation.fold_scores == plain(WORSE).fold_scores


def test_other_metrics_cover_the_folds_run(
    digits: Data, incumbent_folds: tuple[float, ...]
) -> None:
    tree = DecisionTreeClassifier(random_state=0)
    objective = at.SklearnObjective(
        tree,
        *digits,
        cv=5,
        scoring=["accuracy", "f1_macro"],
        racing=True,
    )

    evaluation = objective(WORSE, context(incumbent_folds))

    assert evaluation.pruned
    assert len(evaluation.fold_scores) == 2
    assert 0 < evaluation.metrics["f1_macro"] < 0.5


# -- through the engine --------------------------------------------------------------


def test_statuses_and_acceptance_through_the_process_executor(
    digits: Data, tmp_path: Path
) -> None:
    objective = racing_objective(digits)
    start = [INCUMBENT, WORSE, BETTER, {"max_depth": 1}]

    result = at.tune(
        objective,
        {"params": {"max_depth": at.Categorical(choices=(1, 2, 8, None))}},
        start=start,
        max_trials=len(start),
        executor="process",
        run_dir=tmp_path / "run",
        seed=0,
    )

    trials = result.trials
    assert [t.status.value for t in trials] == ["ok", "pruned", "ok", "pruned"]
    assert [t.accepted for t in trials] == [True, False, True, False]
    assert [len(t.fold_scores) for t in trials] == [5, 2, 5, 2]
    assert result.best_trial is not None and result.best_trial.number == 2
    reloaded = at.load_run(tmp_path / "run")
    assert [t.status for t in reloaded.trials] == [t.status for t in trials]
    assert reloaded.trials[1].fold_scores == trials[1].fold_scores


def test_a_search_with_racing_never_accepts_a_pruned_trial(digits: Data) -> None:
    objective = racing_objective(digits)
    space = at.SearchSpace(
        {
            "max_depth": at.Int(low=1, high=30, start=3),
            "min_samples_leaf": at.Int(low=1, high=40, start=20),
            "criterion": at.Categorical(choices=("gini", "entropy")),
        }
    )

    result = at.tune(
        objective, space, max_trials=20, seed=3, executor="inline", run_dir=False
    )

    pruned = [t for t in result.trials if t.status is at.TrialStatus.PRUNED]
    scored = [t for t in result.trials if t.ok]
    assert pruned, "a 20-trial random-step search should prune some candidates"
    assert not any(t.accepted for t in pruned)
    assert all(len(t.fold_scores) < 5 for t in pruned)
    assert result.best_trial is not None
    assert len(result.best_trial.fold_scores) == 5
    assert result.best_score == max(t.score for t in scored if t.score is not None)
