"""Fuzzing every user-facing entry with invalid values.

Whatever is wrong, the answer is Pydantic's ``ValidationError`` or an
``AutoTuneError`` naming the field (from Python), or exit status 2 with one
line naming it and no traceback (from the command line) - never an
unrelated exception, and never a fit started first.
"""

from __future__ import annotations

import inspect
import json
import math
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


# -- the Python API: at.tune and Tuner ------------------------------------------

SPACE = at.SearchSpace({"x": at.Float(low=0, high=1)})

# Values invalid by the documented spec of each field, built so (not filtered by
# RunConfig itself, which would only check RunConfig against itself).
_NOT_NUMBER_TEXT = st.text(alphabet="abcxyz -_/", max_size=6)  # never a number
_NOT_INT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    _NOT_NUMBER_TEXT,
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
_NOT_NUMBER = st.one_of(
    _NOT_NUMBER_TEXT,
    st.booleans(),
    st.lists(st.floats(), max_size=2),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)


def _ints_below(low: int) -> st.SearchStrategy[Any]:
    return st.one_of(_NOT_INT, st.integers(max_value=low - 1))


def _choice_other_than(*allowed: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=10).filter(lambda t: t not in allowed),
        st.integers(),
        st.booleans(),
        st.lists(st.sampled_from(allowed), min_size=1, max_size=2),
    )


_NOT_A_NAME = st.one_of(
    st.just(""),
    st.sampled_from([".", "..", "..."]),
    st.text(max_size=5).map(lambda t: f"{t}/run"),
    st.text(max_size=5).map(lambda t: f"my run{t}"),
    st.integers(),
    st.lists(st.text(max_size=2), max_size=2),
)

INVALID_RUN_OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "max_trials": _ints_below(1),
    "patience": _ints_below(1),
    "max_failures": _ints_below(1),
    "concurrency": st.one_of(_ints_below(1), st.integers(min_value=1025), st.none()),
    "round_size": st.one_of(_ints_below(1), st.integers(min_value=1025), st.none()),
    "seed": _ints_below(0),
    "threads_per_worker": st.one_of(_ints_below(1), st.none()),
    "max_time_s": st.one_of(_NOT_NUMBER, st.floats(max_value=0)),
    "trial_timeout_s": st.one_of(_NOT_NUMBER, st.floats(max_value=0)),
    "min_improvement": st.one_of(_NOT_NUMBER, st.floats(max_value=-1e-9), st.none()),
    "stop_grace_s": st.one_of(_NOT_NUMBER, st.floats(max_value=-1e-9), st.none()),
    "target_score": _NOT_NUMBER,
    "direction": _choice_other_than("maximize", "minimize"),
    "executor": _choice_other_than("auto", "process", "thread", "inline"),
    "log_sync": _choice_other_than("trial", "batch"),
    "deterministic": st.one_of(
        st.integers(), st.floats(), st.text(max_size=4), st.none()
    ),
    "name": _NOT_A_NAME,
}


def test_every_run_option_is_fuzzed() -> None:
    assert set(INVALID_RUN_OPTIONS) == set(at.RunConfig.model_fields)


def _never_fit(params: dict[str, Any]) -> float:
    raise AssertionError("a fit started although the input was invalid")


@pytest.fixture
def no_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if a run gets as far as asking for a trial."""

    def ask(self: at.Tuner) -> None:
        raise AssertionError("a trial was asked for although the input was invalid")

    monkeypatch.setattr(at.Tuner, "ask", ask)


def _call(entry: str, space: at.SearchSpace | None, options: dict[str, Any]) -> None:
    """``at.tune`` or a ``Tuner`` opened with ``options``; neither may succeed."""
    if entry == "tune":
        at.tune(_never_fit, space, **{"executor": "inline", **options})
    else:
        tuner = at.Tuner(space, **options)
        tuner.open()
        tuner.close()
    pytest.fail(f"{entry} accepted {options!r}")


ENTRIES = [pytest.param("tune", id="tune"), pytest.param("Tuner", id="Tuner")]


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(
    "option", [pytest.param(name, id=name) for name in INVALID_RUN_OPTIONS]
)
@given(data=st.data())
@_FUNCTION_SCOPED
def test_invalid_run_options_name_the_field(
    entry: str, option: str, data: st.DataObject, no_fit: None
) -> None:
    value = data.draw(INVALID_RUN_OPTIONS[option], label=option)

    with pytest.raises(ValidationError) as caught:
        _call(entry, SPACE, {"run_dir": False, "max_trials": 2, option: value})

    assert option in str(caught.value)


@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
@_FUNCTION_SCOPED
def test_unknown_options_are_named(name: str, no_fit: None) -> None:
    if name in at.RunConfig.model_fields or name in _TUNE_PARAMETERS:
        return  # a real option or argument

    with pytest.raises(ValidationError, match=re.escape(name)):
        _call("tune", SPACE, {"run_dir": False, "max_trials": 2, name: 1})


_TUNE_PARAMETERS = frozenset(inspect.signature(at.tune).parameters)


def _unregistered(group: str) -> st.SearchStrategy[str]:
    return st.text(max_size=12).filter(lambda t: t not in at.available(group))  # type: ignore[arg-type]


_NOT_A_PLUGIN = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.binary(max_size=3),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
    st.sampled_from([object(), at.RunConfig(), at.Float(low=0, high=1)]),
)


def _bad_paths(root: Path) -> st.SearchStrategy[Any]:
    """Paths that cannot be run folders (made under ``root``), and non-paths."""
    names = st.text(alphabet="abcdefgh", min_size=1, max_size=8)
    return st.one_of(
        st.just(root / "a-file"),
        names.map(lambda n: root / "a-file" / n),
        names.map(lambda n: str(root / "a-run")),
        st.integers(),
        st.lists(st.text(max_size=2), max_size=2),
        st.just("run\0dir"),
    )


def _missing_folders(root: Path) -> st.SearchStrategy[Any]:
    names = st.text(alphabet="abcdefgh", min_size=1, max_size=8)
    return st.one_of(
        names.map(lambda n: root / "missing" / n),
        st.just(root / "a-file"),
        st.just(str(root / "a-file")),
        st.integers(),
        st.lists(st.text(max_size=2), max_size=2),
        st.just("run\0dir"),
    )


def _bad_starts() -> st.SearchStrategy[Any]:
    point = st.dictionaries(st.sampled_from(["x", "y"]), JUNK, min_size=1, max_size=2)
    return st.one_of(
        st.integers(),
        st.floats(),
        st.text(max_size=4),
        st.binary(max_size=3),
        point,  # a single configuration, not a list of them
        st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), min_size=1),
        st.lists(point.filter(lambda p: _invalid_point(p)), min_size=1, max_size=2),
    )


def _invalid_point(point: dict[str, Any]) -> bool:
    x = point.get("x", 0.5)
    number = type(x) in (int, float) and 0 <= x <= 1
    return "y" in point or not number


def _bad_reporters() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(["console", "csv"]),  # a name, not a list of names
        st.integers(),
        st.lists(_unregistered("reporters"), min_size=1, max_size=2),
        st.lists(_NOT_A_PLUGIN.filter(lambda v: not isinstance(v, str)), min_size=1),
        st.dictionaries(st.sampled_from(["console"]), st.integers(), min_size=1),
    )


def _bad_records() -> st.SearchStrategy[Any]:
    names = st.sampled_from(["events.jsonl", "config.json", "../up.json", "a/b", ""])
    return st.one_of(
        st.integers(),
        st.text(min_size=1, max_size=3),
        st.lists(st.integers(), min_size=1, max_size=2),
        st.dictionaries(names, st.integers(), min_size=1, max_size=1),
        st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=1),
        st.just({"extra.json": object()}),
        st.just({"extra.json": {"n": 2**80, "bad": object()}}),
    )


@pytest.fixture
def bad_places(tmp_path: Path) -> Path:
    """``a-file`` (a file) and ``a-run`` (a folder holding a run) in a fresh folder."""
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-run").mkdir()
    (tmp_path / "a-run" / "events.jsonl").write_text("{}\n")
    return tmp_path


# (argument, text its error must contain, values to try)
ARGUMENTS: list[tuple[str, str, Any]] = [
    ("start", "start", lambda root: _bad_starts()),
    (
        "strategy",
        "strategy",
        lambda root: st.one_of(_unregistered("strategies"), _NOT_A_PLUGIN),
    ),
    (
        "acceptance",
        "acceptance",
        lambda root: st.one_of(_unregistered("acceptance"), _NOT_A_PLUGIN),
    ),
    ("reporters", "reporter", lambda root: _bad_reporters()),
    ("resume", "resume", _missing_folders),
    ("run_dir", "run_dir", _bad_paths),
    (
        "config",
        "config",
        lambda root: _NOT_A_PLUGIN.filter(lambda v: not isinstance(v, at.RunConfig)),
    ),
    ("record", "record", lambda root: _bad_records()),
]


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize(
    ("argument", "name", "values"),
    [pytest.param(*case, id=case[0]) for case in ARGUMENTS],
)
@given(data=st.data())
@_FUNCTION_SCOPED
def test_invalid_tune_arguments_name_the_argument(
    entry: str,
    argument: str,
    name: str,
    values: Any,
    data: st.DataObject,
    bad_places: Path,
    no_fit: None,
) -> None:
    value = data.draw(values(bad_places), label=argument)
    options: dict[str, Any] = {"max_trials": 2, argument: value}
    if argument not in ("run_dir", "resume"):
        options["run_dir"] = False
    space = None if argument == "resume" else SPACE

    with pytest.raises((ValidationError, at.AutoTuneError)) as caught:
        _call(entry, space, options)

    assert name in str(caught.value), caught.value
    assert sorted(p.name for p in bad_places.iterdir()) == ["a-file", "a-run"]


def test_invalid_arguments_say_what_is_allowed() -> None:
    from strategies import RandomStep

    with pytest.raises(at.ConfigError, match=r"got the class RandomStep; use Rand"):
        at.tune(_never_fit, SPACE, strategy=RandomStep, run_dir=False)  # type: ignore[arg-type]
    with pytest.raises(at.ConfigError, match=r"reporters= must be a list .* str 'csv'"):
        at.tune(_never_fit, SPACE, reporters="csv", run_dir=False)
    with pytest.raises(at.ConfigError, match=r"start point 0: must be a mapping"):
        at.tune(_never_fit, SPACE, start=[0.5], run_dir=False)  # type: ignore[list-item]
    with pytest.raises(at.RunFolderError, match=r"resume: '.*' is not a run folder"):
        at.tune(_never_fit, None, resume="nowhere")


# -- the command line -------------------------------------------------------------

_DIGITS = "0123456789"


def _not_int_text() -> st.SearchStrategy[str]:
    """Text that int() refuses: no digits at all, or a decimal number."""
    no_digits = st.text(
        alphabet=st.characters(exclude_categories=["Nd", "Cs"]), max_size=6
    )
    return st.one_of(no_digits, st.floats().map(repr))


def _int_text_below(low: int) -> st.SearchStrategy[str]:
    return st.one_of(_not_int_text(), st.integers(max_value=low - 1).map(str))


def _float_text_not_positive() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet="abcxyz -_", max_size=6),  # float() refuses these
        st.sampled_from(["nan", "inf", "-inf", "NaN", "0", "-0.0"]),
        st.floats(max_value=0, allow_nan=False).map(repr),
    )


def _other_text(*allowed: str) -> st.SearchStrategy[str]:
    return st.text(max_size=8).filter(lambda t: t not in allowed)


_EXECUTORS = ("auto", "process", "thread", "inline")


def _bad_run_dirs(root: Path) -> st.SearchStrategy[str]:
    names = st.text(alphabet="abcdefgh", min_size=1, max_size=8)
    return st.one_of(
        st.just(str(root / "a-file")),
        names.map(lambda n: str(root / "a-file" / n)),
        st.just(str(root / "a-run")),
    )


def _run_options() -> list[tuple[str, str, Any]]:
    """Flags every run-starting command takes: (flag, its field, values)."""
    return [
        ("--seed", "seed", lambda root: _int_text_below(0)),
        ("--concurrency", "concurrency", lambda root: _int_text_below(1)),
        ("--executor", "executor", lambda root: _other_text(*_EXECUTORS)),
        ("--run-dir", "run_dir", _bad_run_dirs),
        (
            "--reporter",
            "reporter",
            lambda root: _unregistered("reporters").filter(lambda t: t != "console"),
        ),
    ]


# (command, flag, field the library names, values); the command's positional
# argument is filled in by the test
CLI_FLAGS: list[tuple[str, str, str, Any]] = [
    ("run", "--max-trials", "max_trials", lambda root: _int_text_below(1)),
    *(("run", *option) for option in _run_options()),
    ("demo", "--trials", "trials", lambda root: _int_text_below(1)),
    *(("demo", *option) for option in _run_options()),
    ("resume", "--max-trials", "max_trials", lambda root: _int_text_below(1)),
    ("resume", "--max-time-s", "max_time_s", lambda root: _float_text_not_positive()),
    ("resume", "--concurrency", "concurrency", lambda root: _int_text_below(1)),
    ("resume", "--executor", "executor", lambda root: _other_text(*_EXECUTORS)),
    (
        "resume",
        "--reporter",
        "reporter",
        lambda root: _unregistered("reporters").filter(lambda t: t != "console"),
    ),
    ("report", "--format", "format", lambda root: _other_text("xlsx", "csv", "png")),
    ("report", "--output", "output", lambda root: st.just(str(root))),
]


@pytest.fixture(scope="module")
def cli_places(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An experiment file, a run of it (to resume and report), a file."""
    root = tmp_path_factory.mktemp("cli")
    (root / "a-file").write_text("not a folder")
    config = root / "experiment.json"
    config.write_text(json.dumps(_base()), encoding="utf-8")
    assert main(["run", str(config), "--quiet", "--run-dir", str(root / "a-run")]) == 0
    return root


def _command(command: str, root: Path) -> list[str]:
    return {
        "run": ["run", str(root / "experiment.json")],
        "demo": ["demo"],
        "resume": ["resume", str(root / "a-run")],
        "report": ["report", str(root / "a-run"), "--format", "csv"],
    }[command]


def _run_log(root: Path) -> bytes:
    return (root / "a-run" / "events.jsonl").read_bytes()


@pytest.mark.parametrize(
    ("command", "flag", "field", "values"),
    [pytest.param(*case, id=f"{case[0]} {case[1]}") for case in CLI_FLAGS],
)
@given(data=st.data())
@_FUNCTION_SCOPED
def test_invalid_flags_are_user_errors(
    command: str,
    flag: str,
    field: str,
    values: Any,
    data: st.DataObject,
    cli_places: Path,
    capsys: pytest.CaptureFixture[str],
    no_fit: None,
) -> None:
    value = data.draw(values(cli_places), label=flag)
    log = _run_log(cli_places)
    quiet = [] if command == "report" else ["--quiet"]

    code = main([*_command(command, cli_places), f"{flag}={value}", *quiet])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert flag in err or field in err.replace("\n", ""), err
    assert _run_log(cli_places) == log, "the run folder must not change"


@pytest.mark.parametrize(
    ("command", "target"),
    [
        pytest.param("run", "missing.json", id="run missing file"),
        pytest.param("run", "a-file", id="run not a config file"),
        pytest.param("resume", "missing", id="resume missing folder"),
        pytest.param("resume", "a-file", id="resume a file"),
        pytest.param("report", "missing", id="report missing folder"),
        pytest.param("report", "a-file", id="report a file"),
    ],
)
def test_missing_or_wrong_targets_are_user_errors(
    command: str,
    target: str,
    cli_places: Path,
    capsys: pytest.CaptureFixture[str],
    no_fit: None,
) -> None:
    quiet = [] if command == "report" else ["--quiet"]

    code = main([command, str(cli_places / target), *quiet])

    err = capsys.readouterr().err.replace("\n", "")
    assert code == 2, err
    assert "Traceback" not in err
    assert target in err, err


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
