"""Run configuration: validation, files, and fuzzing with invalid values."""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

import autotune_core as at
from autotune_core.config import RunConfig, read_config_file

FIELDS = RunConfig.model_fields

# Values no option accepts, whatever its type.
JUNK = st.sampled_from([[1], {"max_trials": 1}, (), object()])
# Text no number parser reads as a number (pydantic's lax mode reads "5").
NOT_A_NUMBER = st.text(alphabet="xyz!? ", max_size=6)
NON_FINITE = st.sampled_from([math.inf, -math.inf, math.nan])
NOT_INTEGRAL = st.floats().filter(lambda x: not x.is_integer())
# Names with a character a run-folder name may not hold.
BAD_NAMES = st.builds(
    "{}{}{}".format,
    st.text(alphabet="ab1", max_size=3),
    st.sampled_from(list(" /\\:*?\"'<>|#\n\t")),
    st.text(alphabet="ab1", max_size=3),
)
VIOLATES = {
    "ge": operator.lt,
    "gt": operator.le,
    "le": operator.gt,
    "lt": operator.ge,
}

VALID_SETTINGS = st.fixed_dictionaries(
    {},
    optional={
        "max_trials": st.integers(1, 10**6),
        "max_time_s": st.floats(1e-3, 1e6),
        "patience": st.integers(1, 1000),
        "min_improvement": st.floats(0.0, 1.0),
        "target_score": st.floats(-1e6, 1e6),
        "direction": st.sampled_from(["maximize", "minimize"]),
        "concurrency": st.integers(1, 1024),
        "seed": st.integers(0, 2**63 - 1),
        "executor": st.sampled_from(["auto", "process", "thread"]),
        "threads_per_worker": st.integers(1, 64),
        "name": st.from_regex(r"[A-Za-z0-9_.@+-]{1,20}", fullmatch=True).filter(
            lambda name: set(name) != {"."}
        ),
    },
)


def _base_type(field: FieldInfo) -> tuple[Any, bool]:
    """The field's type without ``None``, and whether ``None`` is allowed."""
    annotation = field.annotation
    if get_origin(annotation) not in (Union, UnionType):
        return _unannotated(annotation), False

    members = [arg for arg in get_args(annotation) if arg is not type(None)]
    assert len(members) == 1, f"cannot fuzz a union of {members!r}"
    return _unannotated(members[0]), True


def _unannotated(annotation: Any) -> Any:
    """``int`` for ``Annotated[int, Strict()]`` (StrictInt), and so on."""
    return (
        get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation
    )


def _out_of_bounds(
    field: FieldInfo, numbers: Callable[..., st.SearchStrategy[Any]]
) -> list[st.SearchStrategy[Any]]:
    """Numbers just past each of the field's ``ge``/``gt``/``le``/``lt`` bounds."""
    found = []
    for item in field.metadata:
        for attr, violates in VIOLATES.items():
            bound = getattr(item, attr, None)
            if bound is None:
                continue

            side = "max_value" if attr in ("ge", "gt") else "min_value"
            found.append(
                numbers(**{side: bound}).filter(lambda x, b=bound, v=violates: v(x, b))
            )

    return found


def _invalid_values(field: FieldInfo) -> st.SearchStrategy[Any]:
    """Values the field must refuse: wrong type, out of bounds, not finite."""
    base, optional = _base_type(field)
    choices = [JUNK] if optional else [JUNK, st.none()]
    if get_origin(base) is Literal:
        allowed = get_args(base)
        choices += [st.text(max_size=10).filter(lambda s: s not in allowed)]
    elif base is bool:
        choices += [st.integers(), st.floats(), st.text(max_size=5)]
    elif base is int:
        choices += [NOT_A_NUMBER, NOT_INTEGRAL, *_out_of_bounds(field, st.integers)]
    elif base is float:
        choices += [NOT_A_NUMBER, NON_FINITE, *_out_of_bounds(field, st.floats)]
    elif base is str:
        choices += [st.integers(), BAD_NAMES]
    else:
        raise AssertionError(f"no invalid values known for {field!r}")

    return st.one_of(choices)


INVALID_SETTINGS = st.sampled_from(sorted(FIELDS)).flatmap(
    lambda name: st.tuples(st.just(name), _invalid_values(FIELDS[name]))
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _toml(settings: dict[str, Any]) -> str:
    """``settings`` as TOML lines (JSON scalars are valid TOML values)."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())


# -- validation ---------------------------------------------------------------


def test_defaults_are_the_documented_ones() -> None:
    config = RunConfig()

    assert (config.max_trials, config.max_time_s, config.patience) == (None,) * 3
    assert (config.target_score, config.seed, config.name) == (None,) * 3
    assert config.min_improvement == 0.0
    assert (config.direction, config.executor) == ("maximize", "auto")
    assert (config.concurrency, config.threads_per_worker) == (1, 1)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"max_trials": 1}, id="max_trials-1"),
        pytest.param({"max_time_s": 1e-9}, id="max_time_s-tiny"),
        pytest.param({"patience": 1}, id="patience-1"),
        pytest.param({"min_improvement": 0.0}, id="min_improvement-0"),
        pytest.param({"target_score": -1e300}, id="target_score-very-low"),
        pytest.param({"concurrency": 1024}, id="concurrency-1024"),
        pytest.param({"seed": 0}, id="seed-0"),
        pytest.param({"threads_per_worker": 1}, id="threads_per_worker-1"),
        pytest.param({"name": "run-1.v2@host+x_y"}, id="name-all-allowed-chars"),
        pytest.param({"direction": "minimize"}, id="direction-minimize"),
    ],
)
def test_values_on_the_boundary_are_accepted(settings: dict[str, Any]) -> None:
    config = RunConfig(**settings)

    assert config.model_dump(include=set(settings)) == settings


def _bound(field: str, relation: str, value: str) -> str:
    """Pydantic's message for a value ``value`` of ``field`` out of bounds."""
    return rf"{field}\n.*{relation}.*input_value={value}[,\]]"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"max_trials": 0},
            _bound("max_trials", "greater than or equal to 1", "0"),
            id="max_trials-0",
        ),
        pytest.param(
            {"max_trials": 2.5},
            r"max_trials\n.*valid integer.*input_value=2.5",
            id="max_trials-fraction",
        ),
        pytest.param(
            {"max_time_s": 0.0},
            _bound("max_time_s", "greater than 0", "0.0"),
            id="max_time_s-0",
        ),
        pytest.param(
            {"max_time_s": math.nan},
            _bound("max_time_s", "greater than 0", "nan"),
            id="max_time_s-nan",
        ),
        pytest.param(
            {"max_time_s": math.inf},
            r"max_time_s=inf must be finite",
            id="max_time_s-inf",
        ),
        pytest.param(
            {"patience": 0},
            _bound("patience", "greater than or equal to 1", "0"),
            id="patience-0",
        ),
        pytest.param(
            {"min_improvement": -0.1},
            _bound("min_improvement", "greater than or equal to 0", "-0.1"),
            id="min_improvement-negative",
        ),
        pytest.param(
            {"min_improvement": math.inf},
            r"min_improvement=inf must be finite",
            id="min_improvement-inf",
        ),
        pytest.param(
            {"target_score": -math.inf},
            r"target_score=-inf must be finite",
            id="target_score-inf",
        ),
        pytest.param(
            {"target_score": math.nan},
            r"target_score=nan must be finite",
            id="target_score-nan",
        ),
        pytest.param(
            {"concurrency": 0},
            _bound("concurrency", "greater than or equal to 1", "0"),
            id="concurrency-0",
        ),
        pytest.param(
            {"concurrency": 1025},
            _bound("concurrency", "less than or equal to 1024", "1025"),
            id="concurrency-1025",
        ),
        pytest.param(
            {"seed": -1},
            _bound("seed", "greater than or equal to 0", "-1"),
            id="seed-negative",
        ),
        pytest.param(
            {"threads_per_worker": 0},
            _bound("threads_per_worker", "greater than or equal to 1", "0"),
            id="threads_per_worker-0",
        ),
        pytest.param(
            {"direction": "max"},
            r"direction\n.*'maximize' or 'minimize'.*input_value='max'",
            id="direction-unknown",
        ),
        pytest.param(
            {"executor": "fork"},
            r"executor\n.*input_value='fork'",
            id="executor-unknown",
        ),
        pytest.param(
            {"name": ""},
            r"name\n.*at least 1 character.*input_value=''",
            id="name-empty",
        ),
        pytest.param(
            {"name": "a/b"},
            r"name\n.*match pattern.*input_value='a/b'",
            id="name-with-slash",
        ),
        pytest.param(
            {"max_trial": 5},
            r"max_trial\n.*Extra inputs are not permitted.*input_value=5",
            id="unknown-key",
        ),
    ],
)
def test_invalid_value_is_rejected_naming_the_field(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        RunConfig(**settings)


def test_config_is_frozen_and_hashable() -> None:
    config = RunConfig(max_trials=5, seed=1)

    with pytest.raises(ValidationError, match=r"max_trials\n.*frozen"):
        config.max_trials = 6  # type: ignore[misc]

    assert config.max_trials == 5
    assert hash(config) == hash(RunConfig(seed=1, max_trials=5))


@pytest.mark.parametrize(
    ("direction", "candidate", "incumbent", "better", "gain"),
    [
        pytest.param("maximize", 0.9, 0.8, True, 0.1, id="maximize-higher"),
        pytest.param("maximize", 0.8, 0.9, False, -0.1, id="maximize-lower"),
        pytest.param("maximize", 0.8, 0.8, False, 0.0, id="maximize-equal"),
        pytest.param("minimize", 0.8, 0.9, True, 0.1, id="minimize-lower"),
        pytest.param("minimize", 0.9, 0.8, False, -0.1, id="minimize-higher"),
    ],
)
def test_better_and_gain_follow_the_direction(
    direction: Literal["maximize", "minimize"],
    candidate: float,
    incumbent: float,
    better: bool,
    gain: float,
) -> None:
    config = RunConfig(direction=direction)

    assert config.better(candidate, incumbent) is better
    assert config.gain(candidate, incumbent) == pytest.approx(gain)


def test_toml_dict_leaves_out_unset_options() -> None:
    data = RunConfig(max_trials=5).to_toml_dict()

    assert data["max_trials"] == 5
    assert None not in data.values()


# -- fuzzing ------------------------------------------------------------------


def test_every_option_has_invalid_values_to_fuzz() -> None:
    for field in FIELDS.values():
        _invalid_values(field)


@given(INVALID_SETTINGS, VALID_SETTINGS)
def test_any_invalid_value_raises_validation_error_naming_the_field(
    setting: tuple[str, Any], valid: dict[str, Any]
) -> None:
    name, value = setting

    with pytest.raises(ValidationError, match=re.escape(name)):
        RunConfig.model_validate({**valid, name: value})


@given(
    st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True).filter(
        lambda key: key not in FIELDS
    ),
    st.integers() | st.text(max_size=5) | st.none(),
)
def test_any_unknown_key_raises_validation_error_naming_it(
    key: str, value: object
) -> None:
    with pytest.raises(ValidationError, match=rf"{key}\n.*Extra inputs"):
        RunConfig.model_validate({key: value})


@given(VALID_SETTINGS)
def test_valid_config_round_trips_through_json(settings: dict[str, Any]) -> None:
    config = RunConfig(**settings)

    assert RunConfig.model_validate_json(config.model_dump_json()) == config


# -- files --------------------------------------------------------------------


@given(VALID_SETTINGS, st.sampled_from([".toml", ".json", ".TOML", ".Json"]))
def test_valid_config_round_trips_through_a_file(
    tmp_path_factory: pytest.TempPathFactory, settings: dict[str, Any], suffix: str
) -> None:
    config = RunConfig(**settings)
    data = config.to_toml_dict()
    text = json.dumps(data) if suffix.lower() == ".json" else _toml(data)
    path = _write(tmp_path_factory.mktemp("config") / f"run{suffix}", text)

    assert RunConfig.from_file(path) == config


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        pytest.param("run.toml", "max_trials = 5\nseed = 3\n", id="toml-whole-file"),
        pytest.param(
            "tune.toml",
            "[run]\nmax_trials = 5\nseed = 3\n\n[space.x]\nkind = 'float'\n",
            id="toml-run-table",
        ),
        pytest.param("run.json", '{"max_trials": 5, "seed": 3}', id="json-whole"),
        pytest.param(
            "tune.json",
            '{"space": {"x": {}}, "run": {"max_trials": 5, "seed": 3}}',
            id="json-run-object",
        ),
    ],
)
def test_config_loads_from_a_whole_file_or_its_run_table(
    tmp_path: Path, filename: str, text: str
) -> None:
    config = RunConfig.from_file(str(_write(tmp_path / filename, text)))

    assert config == RunConfig(max_trials=5, seed=3)


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        pytest.param(
            "run.toml", "[run]\nconcurrency = 0\n", r"concurrency\n", id="toml-bound"
        ),
        pytest.param(
            "run.json", '{"target_score": NaN}', r"target_score=nan", id="json-nan"
        ),
        pytest.param("run.toml", "max_time_s = inf\n", r"max_time_s=inf", id="inf"),
        pytest.param(
            "run.toml", "[run]\nmax_trail = 5\n", r"max_trail\n.*Extra", id="typo"
        ),
    ],
)
def test_invalid_value_in_a_file_raises_validation_error_naming_it(
    tmp_path: Path, filename: str, text: str, message: str
) -> None:
    path = _write(tmp_path / filename, text)

    with pytest.raises(ValidationError, match=message):
        RunConfig.from_file(path)


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        pytest.param("run.toml", "max_trials = = 5", r"is not valid", id="bad-toml"),
        pytest.param("run.json", '{"max_trials": 5', r"is not valid", id="bad-json"),
        pytest.param(
            "run.yaml",
            "max_trials: 5",
            r"must end in \.toml or \.json, got '\.yaml'",
            id="yaml-suffix",
        ),
        pytest.param(
            "run", "max_trials = 5", r"must end in .*, got ''", id="no-suffix"
        ),
        pytest.param("run.json", "[1, 2]", r"must hold a table/object", id="json-list"),
        pytest.param("run.json", "5", r"must hold a table/object", id="json-number"),
    ],
)
def test_invalid_file_raises_config_error_naming_it(
    tmp_path: Path, filename: str, text: str, message: str
) -> None:
    path = _write(tmp_path / filename, text)

    with pytest.raises(at.ConfigError, match=re.escape(repr(str(path)))) as info:
        RunConfig.from_file(path)

    assert re.search(message, str(info.value))


def test_missing_file_raises_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    expected = rf"cannot read config file {re.escape(repr(str(path)))}: No such file"

    with pytest.raises(at.ConfigError, match=expected):
        read_config_file(path)


def test_folder_instead_of_file_raises_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "configs.toml"
    path.mkdir()

    with pytest.raises(at.ConfigError, match=re.escape(repr(str(path)))):
        read_config_file(path)


def test_file_that_is_not_utf8_raises_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_bytes(b"name = '\xff\xfe'\n")

    with pytest.raises(at.ConfigError, match=re.escape(repr(str(path)))):
        read_config_file(path)
