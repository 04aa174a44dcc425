"""Experiment files: validation, building the estimator and data, running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.pipeline import Pipeline

import autotune_core as at
from autotune_core.experiment import (
    Experiment,
    bundled_loaders,
    describe_validation_error,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def iris_svc(**changes: Any) -> dict[str, Any]:
    """A small valid experiment as plain data; ``changes`` replace tables."""
    data: dict[str, Any] = {
        "estimator": {"class": "sklearn.svm.SVC"},
        "data": {"loader": "load_iris"},
        "objective": {"cv": 3, "scoring": "accuracy"},
        "space": {
            "C": {"kind": "float", "low": 0.01, "high": 100.0, "log": True},
            "kernel": {"kind": "categorical", "choices": ["rbf", "poly"]},
            "degree": {"kind": "int", "low": 2, "high": 4},
        },
        "conditions": [{"param": "degree", "parent": "kernel", "values": ["poly"]}],
        "run": {"max_trials": 4, "seed": 0, "executor": "inline"},
    }
    data.update(changes)
    return data


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    """A CSV of 60 rows: two numeric features and a ``label`` column."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 2))
    frame = pd.DataFrame(features, columns=["height", "width"])
    frame["label"] = (features[:, 0] + features[:, 1] > 0).astype(int)
    path = tmp_path / "data" / "points.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


# -- validation ----------------------------------------------------------------


def test_valid_experiment_has_defaults_and_a_space() -> None:
    experiment = Experiment.model_validate(iris_svc())

    assert experiment.strategy.name == "random-step"
    assert experiment.acceptance is None
    assert experiment.reporters == ()
    assert experiment.objective.cv == 3
    assert experiment.run_config.max_trials == 4
    assert experiment.search_space.names == ("C", "kernel", "degree")
    assert experiment.search_space.default_point() == {"C": 1.0, "kernel": "rbf"}


def test_experiment_is_frozen() -> None:
    experiment = Experiment.model_validate(iris_svc())

    with pytest.raises(ValidationError, match="frozen"):
        experiment.conditions = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    "name", ["mlp_digits.toml", "hgb_diabetes.toml", "svc_iris.json"]
)
def test_example_files_are_valid(name: str) -> None:
    experiment = Experiment.from_file(EXAMPLES / name)

    assert len(experiment.search_space) >= 3
    assert experiment.resolve_config().max_trials is not None


def test_svc_example_makes_degree_conditional_on_kernel() -> None:
    space = Experiment.from_file(EXAMPLES / "svc_iris.json").search_space

    poly = space.validate_point({"svc__kernel": "poly", "svc__C": 1.0})
    rbf = space.validate_point({"svc__kernel": "rbf", "svc__C": 1.0})

    assert poly["svc__degree"] in range(2, 6)
    assert "svc__degree" not in rbf


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"stratgy": {"name": "random-step"}},
            r"\(top level\): unknown key 'stratgy'.*did you mean 'strategy'",
            id="unknown-top-level-key",
        ),
        pytest.param(
            {"estimator": {"clas": "sklearn.svm.SVC"}},
            r"estimator: unknown key 'clas'; allowed: class, params, steps",
            id="unknown-estimator-key",
        ),
        pytest.param(
            {"estimator": {"class": "SVC"}},
            r"estimator.class='SVC': must be a full import path",
            id="class-not-an-import-path",
        ),
        pytest.param(
            {"estimator": {"class": "sklearn.svm.SVC", "steps": []}},
            r"estimator.steps",
            id="class-and-steps",
        ),
        pytest.param(
            {
                "estimator": {
                    "steps": [
                        {"name": "a", "class": "sklearn.preprocessing.StandardScaler"},
                        {"name": "a", "class": "sklearn.svm.SVC"},
                    ]
                }
            },
            r"step names must be unique, got \['a'\]",
            id="duplicate-step-names",
        ),
        pytest.param(
            {"data": {"loader": "fetch_openml"}},
            r"data.loader='fetch_openml': fetch_\* loaders download data",
            id="fetch-loader-refused",
        ),
        pytest.param(
            {"data": {"loader": "load_files"}},
            r"data.loader='load_files': must be one of .*load_iris",
            id="unbundled-loader",
        ),
        pytest.param(
            {"data": {"loader": "load_iris", "target": "y"}},
            r"target='y' applies to csv= only",
            id="target-with-loader",
        ),
        pytest.param(
            {"data": {}},
            r"data: give exactly one of loader=",
            id="no-data-source",
        ),
        pytest.param(
            {"data": {"csv": "nowhere.csv", "target": "y"}},
            r"data.csv='nowhere.csv': no such file",
            id="missing-csv-file",
        ),
        pytest.param(
            {"objective": {"scoring": "acuracy"}},
            r"objective.scoring='acuracy': .*did you mean 'accuracy'",
            id="unknown-scorer",
        ),
        pytest.param(
            {"objective": {"scoring": "accuracy", "metric": "accuracy"}},
            r"metric='accuracy' chooses among several scorers",
            id="metric-without-scorer-list",
        ),
        pytest.param(
            {"objective": {"cv": 1}},
            r"objective.cv=1: Input should be greater than or equal to 2",
            id="one-fold",
        ),
        pytest.param(
            {"space": {"C": {"kind": "float", "low": 10.0, "high": 1.0}}},
            r"space.C.float: low=10.0 must be < high=1.0",
            id="low-above-high",
        ),
        pytest.param(
            {"space": {"C": {"kind": "real", "low": 0.0, "high": 1.0}}},
            r"space.C: Input tag 'real'",
            id="unknown-kind",
        ),
        pytest.param(
            {"conditions": [{"param": "gamma", "parent": "kernel", "values": ["x"]}]},
            r"conditions: .*param='gamma' is not a parameter of the space",
            id="condition-on-unknown-parameter",
        ),
        pytest.param(
            {"start": [{"C": 1e6}]},
            r"start: start point 0: parameter 'C': must be a number in",
            id="start-outside-space",
        ),
        pytest.param(
            {"strategy": {"name": "rnadom-step"}},
            r"strategy.name='rnadom-step': no strategy is registered by that name; "
            r"known: .*random-step",
            id="unknown-strategy",
        ),
        pytest.param(
            {"reporters": [{"name": "tsv"}]},
            r"reporters\[0\].name='tsv': no reporter is registered",
            id="unknown-reporter",
        ),
        pytest.param(
            {"data": {"loader": "load_iris", "text_columns": "onehot"}},
            r"data: .*text_columns='onehot' applies to csv= only",
            id="text-columns-with-a-loader",
        ),
        pytest.param(
            {"data": {"loader": "load_iris", "text_columns": "ordinal"}},
            r"data.text_columns='ordinal': Input should be 'refuse' or 'onehot'",
            id="unknown-text-columns",
        ),
        pytest.param(
            {"run": {"max_trials": 0}},
            r"run.max_trials=0: Input should be greater than or equal to 1",
            id="bad-run-value",
        ),
        pytest.param(
            {"run": {"max_trial": 3}},
            r"run.max_trial=3: Extra inputs are not permitted",
            id="unknown-run-key",
        ),
    ],
)
def test_invalid_file_is_a_config_error_naming_file_and_field(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = write_json(tmp_path / "bad.json", iris_svc(**changes))

    with pytest.raises(at.ConfigError, match=message) as info:
        Experiment.from_file(path)

    assert str(info.value).startswith(f"config file {str(path)!r} is invalid: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[estimator\n", r"is not valid", id="toml-syntax"),
        pytest.param("", r"estimator: missing, and it is required", id="empty"),
    ],
)
def test_unparsable_or_empty_toml_names_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(at.ConfigError, match=message) as info:
        Experiment.from_file(path)

    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(at.ConfigError, match=r"cannot read config file .*absent"):
        Experiment.from_file(tmp_path / "absent.toml")


def test_several_problems_are_reported_together() -> None:
    bad = iris_svc(run={"max_trials": 0}, objective={"cv": 1})

    with pytest.raises(ValidationError) as info:
        Experiment.model_validate(bad)

    text = describe_validation_error(info.value)
    assert "objective.cv=1" in text
    assert "run.max_trials=0" in text


def test_bundled_loaders_never_download() -> None:
    loaders = bundled_loaders()

    assert {"load_iris", "load_digits", "load_diabetes"} <= set(loaders)
    assert all(name.startswith("load_") for name in loaders)


# -- building the estimator ----------------------------------------------------


def test_pipeline_steps_build_a_pipeline() -> None:
    experiment = Experiment.from_file(EXAMPLES / "mlp_digits.toml")

    estimator = experiment.build_estimator()

    assert isinstance(estimator, Pipeline)
    assert [name for name, _ in estimator.steps] == ["scale", "mlp"]
    assert estimator.get_params()["mlp__max_iter"] == 60


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        pytest.param(
            {"class": "sklearn.svmm.SVC"},
            r"estimator.class='sklearn.svmm.SVC': cannot import module 'sklearn.svmm'"
            r".*check the spelling, or install",
            id="no-such-module",
        ),
        pytest.param(
            {"class": "sklearn.svm.SVX"},
            r"estimator.class='sklearn.svm.SVX': module 'sklearn.svm' has no 'SVX'; "
            r"did you mean",
            id="no-such-class",
        ),
        pytest.param(
            {"class": "sklearn.datasets.load_iris"},
            r"is a function, not a class",
            id="not-a-class",
        ),
        pytest.param(
            {"class": "pathlib.Path"},
            r"estimator.class='pathlib.Path' is not a scikit-learn estimator",
            id="not-an-estimator",
        ),
        pytest.param(
            {"class": "sklearn.svm.SVC", "params": {"kernal": "rbf"}},
            r"estimator.params=\{'kernal': 'rbf'\}: .*'kernal'; SVC takes C, ",
            id="unknown-parameter",
        ),
        pytest.param(
            {"class": "sklearn.svm.SVC", "params": {"kernel": "cubic"}},
            r"estimator.params: The 'kernel' parameter of SVC must be",
            id="bad-parameter-value",
        ),
        pytest.param(
            {
                "steps": [
                    {"name": "svc", "class": "sklearn.svm.SVC"},
                    {"name": "scale", "class": "sklearn.preprocessing.StandardScaler"},
                ]
            },
            r"estimator.steps\[0\] \('svc', SVC\) has no transform method",
            id="model-before-last-step",
        ),
        pytest.param(
            {"steps": [{"name": "svc", "class": "sklearn.svm.NoSuch"}]},
            r"estimator.steps\[0\].class='sklearn.svm.NoSuch'",
            id="bad-step-class",
        ),
    ],
)
def test_bad_estimator_is_a_config_error(
    estimator: dict[str, Any], message: str
) -> None:
    experiment = Experiment.model_validate(iris_svc(estimator=estimator))

    with pytest.raises(at.ConfigError, match=message):
        experiment.build_estimator()


# -- data ----------------------------------------------------------------------


def test_bundled_loader_gives_arrays() -> None:
    X, y = Experiment.model_validate(iris_svc()).load_data()

    assert X.shape == (150, 4)
    assert y.shape == (150,)


def test_max_rows_keeps_the_same_random_subset() -> None:
    experiment = Experiment.model_validate(
        iris_svc(data={"loader": "load_iris", "max_rows": 40})
    )

    X1, y1 = experiment.load_data()
    X2, _ = experiment.load_data()

    assert X1.shape == (40, 4)
    assert np.array_equal(X1, X2)
    assert len(set(y1.tolist())) == 3


def test_csv_path_is_relative_to_the_config_file(
    tmp_path: Path, small_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = iris_svc(data={"csv": "points.csv", "target": "label"})
    path = write_json(small_csv.parent / "experiment.json", config)
    monkeypatch.chdir(tmp_path)

    X, y = Experiment.from_file(path).load_data()

    assert list(X.columns) == ["height", "width"]
    assert y.name == "label"
    assert len(X) == 60


def test_missing_target_column_lists_the_columns(small_csv: Path) -> None:
    config = iris_svc(data={"csv": "points.csv", "target": "lable"})
    experiment = Experiment.from_file(write_json(small_csv.parent / "e.json", config))

    with pytest.raises(
        at.ConfigError,
        match=r"data.target='lable' is not a column of .*points.csv'; "
        r"its columns are 'height', 'width', 'label'; did you mean 'label'\?",
    ):
        experiment.load_data()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "size,colour,label\n1,red,0\n2,blue,1\n",
            r"feature column\(s\) 'colour' are not numeric; "
            r'set text_columns = "onehot" in \[data\]',
            id="text-feature",
        ),
        pytest.param(
            "size,label\n1,0\n2,\n",
            r"data.target='label': 1 row\(s\) .* have no target value",
            id="missing-target-value",
        ),
        pytest.param("label\n0\n1\n", r"has no feature column", id="no-features"),
        pytest.param("", r"is empty", id="empty-file"),
    ],
)
def test_unusable_csv_is_a_config_error(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "table.csv").write_text(text, encoding="utf-8")
    config = iris_svc(data={"csv": "table.csv", "target": "label"})
    experiment = Experiment.from_file(write_json(tmp_path / "e.json", config))

    with pytest.raises(at.ConfigError, match=message):
        experiment.load_data()


def _csv_experiment(tmp_path: Path, frame: pd.DataFrame, **data: Any) -> Experiment:
    frame.to_csv(tmp_path / "table.csv", index=False)
    config = iris_svc(data={"csv": "table.csv", "target": "label", **data})
    return Experiment.from_file(write_json(tmp_path / "e.json", config))


def test_onehot_replaces_each_text_column_by_a_column_per_value(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame(
        {
            "size": [1.0, 2.0, 3.0, 4.0],
            "colour": ["red", "blue", None, "red"],
            "label": [0, 1, 0, 1],
        }
    )
    experiment = _csv_experiment(tmp_path, frame, text_columns="onehot")

    X, y = experiment.load_data()

    assert list(X.columns) == ["size", "colour=blue", "colour=red"]
    assert X["colour=red"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert X["colour=blue"].tolist() == [0.0, 1.0, 0.0, 0.0]  # missing: none set
    assert X["size"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert y.tolist() == [0, 1, 0, 1]


def test_onehot_refuses_a_column_of_free_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "size": np.arange(150.0),
            "note": [f"note {i}" for i in range(150)],
            "label": [0, 1] * 75,
        }
    )
    experiment = _csv_experiment(tmp_path, frame, text_columns="onehot")

    with pytest.raises(
        at.ConfigError, match=r"text column\(s\) 'note' have more than 100 distinct"
    ):
        experiment.load_data()


def test_a_csv_with_text_features_tunes_once_encoded(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], size=90)
    size = rng.normal(size=90)
    frame = pd.DataFrame(
        {"size": size, "colour": colour, "label": (colour == "red").astype(int)}
    )
    experiment = _csv_experiment(tmp_path, frame, text_columns="onehot")

    result = experiment.run(run_dir=False, max_trials=3)

    assert [t.status for t in result.trials] == [at.TrialStatus.OK] * 3
    assert result.best_score is not None and result.best_score > 0.9


# -- plugins and run config ----------------------------------------------------


def test_plugins_are_built_with_their_options(tmp_path: Path) -> None:
    experiment = Experiment.model_validate(
        iris_svc(
            strategy={"name": "random-step", "options": {"step_size": 0.3}},
            acceptance={"name": "threshold", "options": {"min_improvement": 0.01}},
            reporters=[{"name": "jsonl", "options": {"path": "events.jsonl"}}],
        )
    )

    assert experiment.build_strategy().options()["step_size"] == 0.3
    acceptance = experiment.build_acceptance()
    assert acceptance is not None
    assert acceptance.options() == {"min_improvement": 0.01}
    assert [r.name for r in experiment.build_reporters()] == ["jsonl"]


@pytest.mark.parametrize(
    ("changes", "build", "message"),
    [
        pytest.param(
            {"strategy": {"name": "random-step", "options": {"step_size": 5}}},
            "build_strategy",
            r"strategy.options=\{'step_size': 5\} for 'random-step': step_size must",
            id="bad-option-value",
        ),
        pytest.param(
            {"strategy": {"name": "random-step", "options": {"stepsize": 0.1}}},
            "build_strategy",
            r"strategy.options=\{'stepsize': 0.1\} for 'random-step': .*'stepsize'",
            id="unknown-option",
        ),
        pytest.param(
            {"acceptance": {"name": "threshold", "options": {"min_improvement": -1}}},
            "build_acceptance",
            r"acceptance.options=\{'min_improvement': -1\}",
            id="bad-acceptance-option",
        ),
        pytest.param(
            {"reporters": [{"name": "jsonl"}]},
            "build_reporters",
            r"reporters\[0\].options=\{\} for 'jsonl': .*'path'",
            id="missing-reporter-option",
        ),
    ],
)
def test_bad_plugin_options_are_config_errors(
    changes: dict[str, Any], build: str, message: str
) -> None:
    experiment = Experiment.model_validate(iris_svc(**changes))

    with pytest.raises(at.ConfigError, match=message):
        getattr(experiment, build)()


def test_overrides_replace_run_fields() -> None:
    experiment = Experiment.model_validate(iris_svc())

    config = experiment.resolve_config(max_trials=9, concurrency=2)

    assert config.max_trials == 9
    assert config.concurrency == 2
    assert config.seed == 0


def test_a_run_without_budget_is_refused() -> None:
    experiment = Experiment.model_validate(iris_svc(run={"seed": 0}))

    with pytest.raises(at.ConfigError, match="no budget: set at least one of run"):
        experiment.resolve_config()


def test_bad_override_is_a_validation_error() -> None:
    experiment = Experiment.model_validate(iris_svc())

    with pytest.raises(ValidationError, match="concurrency"):
        experiment.resolve_config(concurrency=0)


# -- running -------------------------------------------------------------------


def test_run_tunes_with_start_points_first() -> None:
    start = [{"C": 2.0, "kernel": "poly", "degree": 3}]
    experiment = Experiment.model_validate(iris_svc(start=start))

    result = experiment.run(run_dir=False, max_trials=3)

    assert len(result.trials) == 3
    first = min(result.trials, key=lambda t: t.number)
    assert first.params == {"C": 2.0, "kernel": "poly", "degree": 3}
    assert 0.5 < result.best_score <= 1.0


def test_run_on_csv_with_several_scorers(small_csv: Path) -> None:
    config = iris_svc(
        estimator={"class": "sklearn.linear_model.LogisticRegression"},
        data={"csv": "points.csv", "target": "label"},
        objective={"cv": 3, "scoring": ["accuracy", "f1"], "metric": "f1"},
        space={"C": {"kind": "float", "low": 0.01, "high": 10.0, "log": True}},
        conditions=[],
    )
    path = write_json(small_csv.parent / "experiment.json", config)

    result = Experiment.from_file(path).run(run_dir=small_csv.parent / "run")

    assert result.run_dir == small_csv.parent / "run"
    assert all(t.status == "ok" for t in result.trials)
    assert set(result.best_trial.metrics) == {"accuracy"}  # type: ignore[union-attr]
    assert len(at.load_run(small_csv.parent / "run").trials) == 4


def test_space_name_the_estimator_lacks_fails_before_any_fit() -> None:
    space = {"CC": {"kind": "float", "low": 0.1, "high": 1.0}}
    experiment = Experiment.model_validate(iris_svc(space=space, conditions=[]))

    with pytest.raises(at.ParameterNameError, match=r"'CC'.*did you mean 'C'"):
        experiment.run(run_dir=False)
