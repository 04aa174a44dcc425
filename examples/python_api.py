"""Tune a random forest on the breast-cancer data with the Python API.

Run it with ``python examples/python_api.py``; it takes about half a minute
on two cores. The ``__main__`` guard matters: the process executor starts
worker processes, which import this file again.
"""

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

import autotune_core as at


def main() -> None:
    """Tune, then show the best configuration and the path that led to it."""
    X, y = load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=50, random_state=0)
    objective = at.SklearnObjective(forest, X, y, cv=5, scoring="roc_auc")
    space = at.SearchSpace(
        {
            "max_depth": at.Int(low=2, high=32, log=True),
            "min_samples_leaf": at.Int(low=1, high=32, log=True),
            "max_features": at.Float(low=0.05, high=1.0, log=True),
            "criterion": at.Categorical(choices=("gini", "entropy")),
        }
    )

    result = at.tune(
        objective,
        space,
        reporters=["console"],
        max_trials=30,
        max_time_s=45,
        concurrency=2,
        seed=0,
    )

    print(f"best ROC AUC {result.best_score:.4f} with {result.best_params}")
    accepted = result.history[result.history["accepted"]]
    print(accepted[["number", "score", "moves"]].to_string(index=False))
    print(f"run folder: {result.run_dir}")


if __name__ == "__main__":
    main()
