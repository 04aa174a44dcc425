"""SklearnObjective with real estimators on bundled datasets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import autotune_core as at


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return X, y


def test_scores_match_scikit_learn(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    objective = at.SklearnObjective(LogisticRegression(max_iter=1000), X, y, cv=4)

    evaluation = objective({"C": 0.5})

    expected = cross_val_score(LogisticRegression(C=0.5, max_iter=1000), X, y, cv=4)
    assert evaluation.fold_scores == pytest.approx(tuple(expected))
    assert evaluation.score == pytest.approx(expected.mean())
    assert evaluation.score_std == pytest.approx(expected.std())
    assert evaluation.fit_time is not None and evaluation.fit_time > 0
    assert evaluation.score_time is not None and evaluation.score_time >= 0


def test_estimator_is_never_modified(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    estimator = DecisionTreeClassifier(random_state=0)
    objective = at.SklearnObjective(estimator, X, y, cv=3)

    objective({"max_depth": 2})

    assert estimator.get_params()["max_depth"] is None
    assert not hasattr(estimator, "tree_")


def test_shuffled_folds_are_drawn_once(iris: tuple[np.ndarray, np.ndarray]) -> None:
    """A shuffling splitter without random_state would change folds every call."""
    X, y = iris
    objective = at.SklearnObjective(
        DecisionTreeClassifier(random_state=0), X, y, cv=KFold(3, shuffle=True)
    )

    first = objective({"max_depth": 3})
    second = objective({"max_depth": 3})

    assert first.fold_scores == second.fold_scores
    assert objective.n_splits == 3


def test_pipeline_parameters_and_a_typo_is_an_error_before_any_fit(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    objective = at.SklearnObjective(pipe, X, y, cv=3)
    space = at.SearchSpace({"C": at.Float(low=0.01, high=10, log=True)})

    with pytest.raises(
        at.ParameterNameError, match=r"'C'.*did you mean 'logisticregression__C'"
    ):
        at.tune(objective, space, max_trials=2, run_dir=False)


def test_close_match_suggestion_for_a_misspelt_name(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    objective = at.SklearnObjective(LogisticRegression(), X, y, cv=3)
    space = at.SearchSpace({"max_itr": at.Int(low=50, high=500)})

    with pytest.raises(at.ParameterNameError, match="did you mean 'max_iter'"):
        objective.check_space(space)


def test_multi_metric_scoring_guides_by_the_chosen_metric(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    objective = at.SklearnObjective(
        DecisionTreeClassifier(random_state=0),
        X,
        y,
        cv=3,
        scoring=["accuracy", "f1_macro"],
        metric="f1_macro",
    )

    evaluation = objective({"max_depth": 2})

    expected = cross_val_score(
        DecisionTreeClassifier(max_depth=2, random_state=0),
        X,
        y,
        cv=3,
        scoring="f1_macro",
    )
    assert evaluation.score == pytest.approx(expected.mean())
    assert set(evaluation.metrics) == {"accuracy"}


def _f1_and_accuracy(
    estimator: object, X: np.ndarray, y: np.ndarray
) -> dict[str, float]:
    """A callable scorer returning several metrics, as scikit-learn allows."""
    predicted = estimator.predict(X)  # type: ignore[attr-defined]
    return {
        "f1": float(f1_score(y, predicted, average="macro")),
        "accuracy": float(accuracy_score(y, predicted)),
    }


_SCORER_NAMES = {"f1": "f1_macro", "accuracy": "accuracy"}


def _cv_mean(X: np.ndarray, y: np.ndarray, metric: str) -> float:
    tree = DecisionTreeClassifier(max_depth=2, random_state=0)
    scores = cross_val_score(tree, X, y, cv=3, scoring=_SCORER_NAMES[metric])
    return float(scores.mean())


@pytest.mark.parametrize(
    ("metric", "guide", "other"),
    [
        pytest.param(None, "f1", "accuracy", id="first-key"),
        pytest.param("accuracy", "accuracy", "f1", id="chosen"),
    ],
)
def test_a_callable_scorer_returning_several_metrics(
    iris: tuple[np.ndarray, np.ndarray], metric: str | None, guide: str, other: str
) -> None:
    X, y = iris
    tree = DecisionTreeClassifier(random_state=0)
    objective = at.SklearnObjective(
        tree, X, y, cv=3, scoring=_f1_and_accuracy, metric=metric
    )

    evaluation = objective({"max_depth": 2})

    assert evaluation.score == pytest.approx(_cv_mean(X, y, guide))
    assert evaluation.metrics == {other: pytest.approx(_cv_mean(X, y, other))}


def test_a_callable_scorer_with_several_metrics_tunes_and_races(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    objective = at.SklearnObjective(
        DecisionTreeClassifier(random_state=0),
        X,
        y,
        cv=3,
        scoring=_f1_and_accuracy,
        racing=at.Racing(min_folds=2),
    )
    space = at.SearchSpace({"max_depth": at.Int(low=1, high=6, start=1)})

    result = at.tune(
        objective, space, max_trials=6, seed=0, executor="inline", run_dir=False
    )

    assert result.status_counts.get("failed", 0) == 0
    assert all(set(t.metrics) == {"accuracy"} for t in result.trials)


def test_a_metric_the_callable_scorer_does_not_return(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    objective = at.SklearnObjective(
        LogisticRegression(max_iter=500), X, y, cv=3, scoring=_accuracy, metric="f1"
    )

    with pytest.raises(
        at.ConfigError,
        match=r"metric='f1' is not among the metrics the scorer returned: \['score'\]",
    ):
        objective({"C": 1.0})


def _accuracy(estimator: object, X: np.ndarray, y: np.ndarray) -> float:
    return float(accuracy_score(y, estimator.predict(X)))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("scoring", "metric", "message"),
    [
        pytest.param(
            ["accuracy"], "roc", "metric='roc' must be one of", id="unknown-metric"
        ),
        pytest.param(
            "accuracy", "accuracy", "needs several scorers", id="single-scorer"
        ),
        pytest.param([], None, "at least one scorer", id="empty"),
    ],
)
def test_bad_metric_choice(
    iris: tuple[np.ndarray, np.ndarray],
    scoring: object,
    metric: str | None,
    message: str,
) -> None:
    X, y = iris
    with pytest.raises(at.ConfigError, match=message):
        at.SklearnObjective(LogisticRegression(), X, y, scoring=scoring, metric=metric)


def test_minimize_conflicts_with_scikit_learn_scores() -> None:
    X, y = load_diabetes(return_X_y=True)
    objective = at.SklearnObjective(Ridge(), X, y, cv=3)
    space = at.SearchSpace({"alpha": at.Float(low=1e-3, high=10, log=True)})

    with pytest.raises(at.ConfigError, match="greater-is-better"):
        at.tune(objective, space, direction="minimize", max_trials=2, run_dir=False)


def test_a_failing_fit_is_a_failed_trial(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    objective = at.SklearnObjective(LogisticRegression(max_iter=200), X, y, cv=3)
    # l1 needs a solver that supports it: lbfgs raises inside fit.
    space = at.SearchSpace(
        {
            "penalty": at.Categorical(choices=("l2", "l1")),
            "C": at.Float(low=0.1, high=10, log=True),
        }
    )

    result = at.tune(
        objective,
        space,
        start=[{"penalty": "l1", "C": 1.0}, {"penalty": "l2", "C": 1.0}],
        max_trials=4,
        seed=0,
        run_dir=False,
    )

    first = result.trials[0]
    assert first.status is at.TrialStatus.FAILED
    assert first.error is not None and first.error.startswith("ValueError")
    assert result.best_params["penalty"] == "l2"


def test_convergence_warnings_are_recorded_not_raised(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    objective = at.SklearnObjective(
        MLPClassifier(max_iter=5, random_state=0), X, y, cv=3
    )

    evaluation = objective({"alpha": 1e-3})

    assert any(w.startswith("ConvergenceWarning") for w in evaluation.warnings)


def test_mlp_layers_end_to_end(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0))
    objective = at.SklearnObjective(pipe, X, y, cv=3)
    space = at.SearchSpace(
        {
            "mlpclassifier__hidden_layer_sizes": at.Layers(
                max_layers=2, min_units=4, max_units=32, log=True
            ),
            "mlpclassifier__alpha": at.Float(low=1e-5, high=1e-1, log=True),
        }
    )

    result = at.tune(objective, space, max_trials=6, seed=0, run_dir=False)

    assert result.status_counts == {"ok": 6}
    assert result.best_score > 0.9
    sizes = result.history["param_mlpclassifier__hidden_layer_sizes"]
    assert all(isinstance(s, tuple) for s in sizes)


def test_same_seed_same_history_with_scikit_learn(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    objective = at.SklearnObjective(DecisionTreeClassifier(random_state=0), X, y, cv=3)
    space = at.SearchSpace(
        {
            "max_depth": at.Int(low=1, high=10),
            "criterion": at.Categorical(choices=("gini", "entropy")),
            "min_samples_leaf": at.Int(low=1, high=20),
        }
    )

    def run() -> list[tuple[object, ...]]:
        result = at.tune(objective, space, max_trials=15, seed=5, run_dir=False)
        return [(t.params, t.fold_scores, t.accepted, t.status) for t in result.trials]

    assert run() == run()
