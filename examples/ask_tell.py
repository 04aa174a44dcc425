"""Run the evaluations yourself: an ask/tell loop with ``at.Tuner``.

Run it with ``python examples/ask_tell.py``; it takes a few seconds. Here the
evaluation is a plain cross-validation in this process, but it could as well
be a job on a cluster: ask for a trial, evaluate it anywhere, tell the result.
"""

from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import cross_validate

import autotune_core as at


def main() -> None:
    """Tune an elastic net on the diabetes data, one trial at a time."""
    X, y = load_diabetes(return_X_y=True)
    space = at.SearchSpace(
        {
            "alpha": at.Float(low=1e-4, high=10.0, log=True),
            "l1_ratio": at.Float(low=0.0, high=1.0),
        }
    )

    tuner = at.Tuner(space, max_trials=40, patience=15, seed=0, run_dir=False)
    with tuner:
        while (trial := tuner.ask()) is not None:
            model = ElasticNet(max_iter=10_000, **trial.params)
            folds = cross_validate(model, X, y, cv=5, scoring="r2")
            evaluation = at.Evaluation.from_folds(
                folds["test_score"].tolist(), fit_times=folds["fit_time"].tolist()
            )
            finished = tuner.tell(trial, evaluation)
            mark = "accepted" if finished.accepted else ""
            print(f"trial {finished.number:2d}  r2 {finished.score:.4f}  {mark}")

    result = tuner.result()
    print(f"stopped: {result.stop_reason}; best r2 {result.best_score:.4f}")
    print(f"best parameters: {result.best_params}")


if __name__ == "__main__":
    main()
