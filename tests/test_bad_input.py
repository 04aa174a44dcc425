"""Fuzzing every user-facing entry with invalid values.

Whatever is wrong, the answer is Pydantic's ``ValidationError`` or an
``AutoTuneError`` naming the field (from Python), or exit status 2 with one
line naming it and no traceback (from the command line) - never an
unrelated exception, and never a fit started first.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import autotune_core as at
from autotune_core.cli import main

JUNK = st.one_of(
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=-1),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)

# tmp_path is shared by the examples of one test: fine, each writes its own file.
_FUNCTION_SCOPED = settings(
    max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _base() -> dict[str, Any]:
    return {
        "estimator": {"class": "sklearn.svm.SVC"},
        "data": {"loader": "load_iris"},
        "objective": {"cv": 3},
        "space": {"C": {"kind": "float", "low": 0.1, "high": 10.0, "log": True}},
        "run": {"max_trials": 2, "seed": 0, "executor": "inline"},
    }


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


# (path in the experiment file, text the message must contain, values to reject)
FIELDS = [
    (("run", "max_trials"), "max_trials", JUNK.filter(lambda v: not _positive_int(v))),
    (
        ("run", "concurrency"),
        "concurrency",
        JUNK.filter(lambda v: not _positive_int(v)),
    ),
    (("run", "seed"), "seed", JUNK.filter(lambda v: not _non_negative_int(v))),
    (("run", "executor"), "executor", JUNK),
    (("run", "max_time_s"), "max_time_s", JUNK.filter(lambda v: not _positive(v))),
    (("run", "direction"), "direction", JUNK),
    (("objective", "cv"), "cv", JUNK.filter(lambda v: not _cv_ok(v))),
    (("space", "C", "low"), "low", JUNK.filter(lambda v: not _below_ten(v))),
    (("space", "C", "kind"), "kind", JUNK),
    (("data", "loader"), "loader", JUNK),
    (("estimator", "class"), "class", JUNK),
    (("strategy",), "strategy", JUNK.filter(lambda v: v != {})),
]


def _positive_int(value: object) -> bool:
    return type(value) is int and value >= 1


def _non_negative_int(value: object) -> bool:
    return type(value) is int and value >= 0


def _positive(value: object) -> bool:
    return (
        type(value) in (int, float) and value == value and 0 < value < float("inf")  # type: ignore[operator]
    )


def _below_ten(value: object) -> bool:
    return type(value) in (int, float) and 0 < value < 10  # type: ignore[operator]


def _cv_ok(value: object) -> bool:
    return type(value) is int and 2 <= value <= 150


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [pytest.param(*field, id=".".join(map(str, field[0]))) for field in FIELDS],
)
@given(data=st.data())
@_FUNCTION_SCOPED
def test_invalid_experiment_values_are_user_errors(
    path: tuple[str, ...],
    name: str,
    values: st.SearchStrategy[Any],
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    experiment = _base()
    _set(experiment, path, data.draw(values, label=".".join(path)))
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    config = folder / "experiment.json"
    config.write_text(json.dumps(experiment), encoding="utf-8")

    code = main(["run", str(config), "--quiet", "--run-dir", str(folder / "r")])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert name in err, err
    assert not (folder / "r" / "events.jsonl").exists(), "no run may start"


FLAGS = [
    ("--max-trials", st.one_of(st.integers(max_value=0), st.text(max_size=6))),
    ("--seed", st.one_of(st.integers(max_value=-1), st.text(max_size=6))),
    ("--concurrency", st.one_of(st.integers(max_value=0), st.text(max_size=6))),
    ("--executor", st.text(max_size=8)),
]


@pytest.mark.parametrize(("flag", "values"), [pytest.param(*f, id=f[0]) for f in FLAGS])
@given(data=st.data())
@_FUNCTION_SCOPED
def test_invalid_flags_are_user_errors(
    flag: str,
    values: st.SearchStrategy[Any],
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    value = str(data.draw(values, label=flag))
    if flag == "--executor" and value in ("auto", "process", "thread", "inline"):
        return
    if flag != "--executor" and re.fullmatch(r"\s*\+?\d+\s*", value) and int(value) > 0:
        return
    config = tmp_path / "experiment.json"
    config.write_text(json.dumps(_base()), encoding="utf-8")

    code = main(["run", str(config), f"{flag}={value}", "--quiet"])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert flag in err, err


@given(option=st.sampled_from(sorted(at.RunConfig.model_fields)), value=JUNK)
def test_invalid_tune_options_name_the_field(option: str, value: Any) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    try:
        at.RunConfig.model_validate({option: value})
    except ValidationError:
        pass
    else:
        return  # a valid value for this option: nothing to check
    with pytest.raises((ValidationError, at.AutoTuneError)) as caught:
        at.tune(lambda p: p["x"], space, run_dir=False, **{option: value})
    assert option in str(caught.value)


@given(
    kind=st.sampled_from(["int", "float", "categorical", "bool", "layers"]),
    field=st.sampled_from(
        ["low", "high", "start", "choices", "max_units", "log", "step"]
    ),
    value=JUNK,
)
def test_invalid_space_definitions_name_the_field(
    kind: str, field: str, value: Any
) -> None:
    valid = {
        "int": {"kind": "int", "low": 1, "high": 5},
        "float": {"kind": "float", "low": 0.0, "high": 1.0},
        "categorical": {"kind": "categorical", "choices": ["a", "b"]},
        "bool": {"kind": "bool"},
        "layers": {"kind": "layers", "max_units": 8},
    }[kind]
    definition = {**valid, field: value}
    try:
        at.SearchSpace({"p": definition})
    except ValidationError as exc:
        message = str(exc)
    else:
        return  # the junk happened to be valid there
    assert "params.p" in message
    assert field in message, message
