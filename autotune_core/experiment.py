"""A whole run described in a TOML or JSON file: :class:`Experiment`.

An experiment file names the estimator by import path, the data (one of
scikit-learn's bundled datasets or a CSV file), how to score it, the search
space, the strategy, acceptance policy and reporters by registered name, and
the run configuration. ``autotune run FILE`` runs one; so does
``Experiment.from_file(FILE).run()``.

A minimal TOML file::

    [estimator]
    class = "sklearn.svm.SVC"

    [data]
    loader = "load_iris"

    [objective]
    cv = 3

    [space.C]
    kind = "float"
    low = 0.01
    high = 100.0
    log = true

    [run]
    max_trials = 20
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from autotune_core.acceptance import AcceptancePolicy
from autotune_core.config import RunConfig, read_config_file
from autotune_core.engine import tune
from autotune_core.exceptions import ConfigError, UnknownPluginError
from autotune_core.objective import SklearnObjective
from autotune_core.registry import (
    Group,
    available,
    create_acceptance,
    create_reporter,
    create_strategy,
)
from autotune_core.reporter import Reporter
from autotune_core.result import TuneResult
from autotune_core.space import Condition, Param, SearchSpace
from autotune_core.strategy import StepStrategy

logger = logging.getLogger(__name__)

EXPERIMENT_FILE = "experiment.json"
"""The experiment as run, kept in its run folder so that it can be resumed."""

__all__ = [
    "EXPERIMENT_FILE",
    "AcceptanceSpec",
    "DataSpec",
    "EstimatorSpec",
    "Experiment",
    "ObjectiveSpec",
    "ReporterSpec",
    "StepSpec",
    "StrategySpec",
    "bundled_loaders",
    "describe_validation_error",
]

_IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_BUDGETS = ("max_trials", "max_time_s", "patience", "target_score")
_MAX_LISTED = 20
# Rows kept by ``data.max_rows`` are drawn with this fixed seed, so that every
# run of the same file sees the same subset.
_SUBSET_SEED = 0

_Plugin = TypeVar("_Plugin")


class _Section(BaseModel):
    """A table of an experiment file: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        allowed = [field.alias or name for name, field in cls.model_fields.items()]
        unknown = [key for key in data if key not in allowed]
        if unknown:
            raise ValueError(_unknown_keys_message(unknown, allowed))
        return data


def _unknown_keys_message(unknown: list[Any], allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(unknown[0]), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    keys = ", ".join(repr(key) for key in unknown)
    return f"unknown key {keys}; allowed: {', '.join(allowed)}{hint}"


def _check_import_path(value: str) -> str:
    if not _IMPORT_PATH.match(value):
        raise ValueError(
            "must be a full import path such as 'sklearn.svm.SVC' "
            "(module, a dot, then the class name)"
        )
    return value


# -- estimator -----------------------------------------------------------------


class StepSpec(_Section):
    """One step of a scikit-learn pipeline: ``name``, ``class`` and ``params``."""

    name: str = Field(min_length=1)
    class_path: str = Field(alias="class")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if "__" in value or value != value.strip():
            raise ValueError(
                "a step name must not contain '__' (it separates step and "
                "parameter in names such as 'mlp__alpha') nor padding"
            )
        return value

    @field_validator("class_path")
    @classmethod
    def _import_path(cls, value: str) -> str:
        return _check_import_path(value)


class EstimatorSpec(_Section):
    """The estimator: ``class`` with ``params``, or pipeline ``steps``.

    Examples
    --------
    >>> spec = EstimatorSpec.model_validate(
    ...     {"class": "sklearn.svm.SVC", "params": {"C": 2.0}}
    ... )
    >>> spec.class_path
    'sklearn.svm.SVC'
    """

    class_path: str | None = Field(default=None, alias="class")
    params: dict[str, Any] = Field(default_factory=dict)
    steps: tuple[StepSpec, ...] | None = Field(default=None, min_length=1)

    @field_validator("class_path")
    @classmethod
    def _import_path(cls, value: str | None) -> str | None:
        return None if value is None else _check_import_path(value)

    @model_validator(mode="after")
    def _class_or_steps(self) -> Self:
        if (self.class_path is None) == (self.steps is None):
            raise ValueError(
                "give exactly one of class= (one estimator) or steps= "
                "(a pipeline of {name, class, params} steps)"
            )
        if self.steps is not None and self.params:
            raise ValueError(
                "params= goes inside each step when steps= is given, "
                f"got params={self.params!r}"
            )
        names = [step.name for step in self.steps or ()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"step names must be unique, got {duplicates!r} twice")
        return self


# -- data ----------------------------------------------------------------------


@cache
def bundled_loaders() -> tuple[str, ...]:
    """Names of scikit-learn's bundled ``load_*`` datasets (no download needed).

    Examples
    --------
    >>> "load_iris" in bundled_loaders()
    True
    """
    import sklearn.datasets

    return tuple(
        name
        for name in sorted(dir(sklearn.datasets))
        if name.startswith("load_")
        and "return_X_y"
        in inspect.signature(getattr(sklearn.datasets, name)).parameters
    )


class DataSpec(_Section):
    """The data: a bundled ``loader``, or a ``csv`` file with a ``target`` column.

    A relative ``csv`` path is read relative to the experiment file (or the
    working folder when there is none). ``max_rows`` keeps a random subset
    of that many rows, the same subset on every run. ``text_columns`` says
    what becomes of a CSV's non-numeric feature columns: ``"refuse"`` (the
    default) makes them an error before any fit; ``"onehot"`` replaces each
    by one 0/1 column per value (a missing value has none set), once, on
    the whole file. Only which values exist is taken from rows outside a
    training fold, never a target; a column with more than 100 distinct
    values (free text, an identifier) is still refused.

    Examples
    --------
    >>> DataSpec(loader="load_wine").loader
    'load_wine'
    """

    loader: str | None = None
    csv: Path | None = None
    target: str | None = Field(default=None, min_length=1)
    max_rows: int | None = Field(default=None, ge=2)
    text_columns: Literal["refuse", "onehot"] = "refuse"

    @field_validator("loader")
    @classmethod
    def _bundled(cls, value: str | None) -> str | None:
        known = ", ".join(bundled_loaders())
        if value is None or value in bundled_loaders():
            return value
        if value.startswith("fetch_"):
            raise ValueError(
                "fetch_* loaders download data and are not allowed; use one of "
                f"scikit-learn's bundled datasets ({known}) or give csv= instead"
            )
        raise ValueError(f"must be one of scikit-learn's bundled loaders: {known}")

    @field_validator("csv")
    @classmethod
    def _existing_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base = (info.context or {}).get("base_dir")
        path = value if value.is_absolute() or base is None else Path(base) / value
        if not path.is_file():
            raise ValueError(f"no such file (looked for {str(path.resolve())!r})")
        return path.resolve()

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.loader is None) == (self.csv is None):
            raise ValueError(
                "give exactly one of loader= (a bundled scikit-learn dataset "
                "such as 'load_iris') or csv= (a file path, with target=)"
            )
        if self.csv is not None and self.target is None:
            raise ValueError(
                f"csv={str(self.csv)!r} needs target=, the column to predict"
            )
        if self.loader is not None and self.target is not None:
            raise ValueError(
                f"target={self.target!r} applies to csv= only; "
                f"loader={self.loader!r} brings its own target"
            )
        if self.loader is not None and self.text_columns != "refuse":
            raise ValueError(
                f"text_columns={self.text_columns!r} applies to csv= only; "
                f"loader={self.loader!r} has numeric features"
            )
        return self


# -- objective and plugins -----------------------------------------------------


class ObjectiveSpec(_Section):
    """How a configuration is scored: ``cv`` folds, ``scoring`` and ``metric``.

    ``scoring`` is a scikit-learn scorer name, a list of them (the first, or
    ``metric``, guides the search), or absent for the estimator's ``score``.

    Examples
    --------
    >>> ObjectiveSpec(cv=3, scoring=["r2", "neg_mean_absolute_error"]).cv
    3
    """

    cv: int = Field(default=5, ge=2, strict=True)
    scoring: str | list[str] | None = None
    metric: str | None = None

    @field_validator("scoring")
    @classmethod
    def _known_scorers(cls, value: str | list[str] | None) -> str | list[str] | None:
        from sklearn.metrics import get_scorer_names

        names = [value] if isinstance(value, str) else value or []
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one scorer")
        for name in names:
            if name not in get_scorer_names():
                close = difflib.get_close_matches(name, get_scorer_names(), n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ValueError(
                    f"{name!r} is not a scikit-learn scorer (see "
                    f"sklearn.metrics.get_scorer_names()){hint}"
                )
        if len(set(names)) != len(names):
            raise ValueError("scorer names must be unique")
        return value

    @model_validator(mode="after")
    def _metric_among_scorers(self) -> Self:
        if self.metric is None:
            return self
        if not isinstance(self.scoring, list):
            raise ValueError(
                f"metric={self.metric!r} chooses among several scorers; give "
                "scoring= as a list that includes it"
            )
        if self.metric not in self.scoring:
            raise ValueError(
                f"metric={self.metric!r} must be one of scoring={self.scoring!r}"
            )
        return self


class _PluginSpec(_Section):
    """A plugin by registered ``name``, with constructor ``options``."""

    group: ClassVar[Group]
    kind: ClassVar[str]
    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _registered(cls, value: str) -> str:
        known = available(cls.group)
        if value not in known:
            raise ValueError(
                f"no {cls.kind} is registered by that name; known: {', '.join(known)}"
            )
        return value


class StrategySpec(_PluginSpec):
    """The step strategy by name (``"random-step"`` by default) and its options."""

    group: ClassVar[Group] = "strategies"
    kind: ClassVar[str] = "strategy"
    name: str = Field(default="random-step", min_length=1)


class AcceptanceSpec(_PluginSpec):
    """The acceptance policy by name (``"threshold"``) and its options."""

    group: ClassVar[Group] = "acceptance"
    kind: ClassVar[str] = "acceptance policy"


class ReporterSpec(_PluginSpec):
    """A reporter by name (``"jsonl"``, ``"console"``, ...) and its options."""

    group: ClassVar[Group] = "reporters"
    kind: ClassVar[str] = "reporter"


# -- the experiment ------------------------------------------------------------


class Experiment(_Section):
    """A whole run: estimator, data, objective, space, plugins and run config.

    Every table is validated when the experiment is created (unknown keys,
    bad values, unknown plugin names, start points outside the space);
    estimator imports and data are checked by :meth:`run`, before any fit.
    The run needs a budget: at least one of ``run.max_trials``,
    ``run.max_time_s``, ``run.patience`` or ``run.target_score``, in the
    file or as an override.

    Parameters
    ----------
    estimator
        ``class`` (an import path) and ``params``, or pipeline ``steps``.
    data
        ``loader`` (a bundled scikit-learn dataset) or ``csv`` and
        ``target``; optional ``max_rows``.
    objective
        ``cv``, ``scoring`` and ``metric``.
    space
        Parameter name to definition, with its ``kind`` (``"int"``,
        ``"float"``, ``"categorical"``, ``"bool"``, ``"layers"``).
    conditions
        ``{param, parent, values}``: ``param`` is only active while
        ``parent`` takes one of ``values``.
    strategy, acceptance, reporters
        Plugins by registered name, with their ``options``.
    run
        :class:`~autotune_core.RunConfig` fields (the ``[run]`` table).
    start
        Configurations evaluated first.

    Examples
    --------
    >>> experiment = Experiment.model_validate(
    ...     {
    ...         "estimator": {"class": "sklearn.linear_model.Ridge"},
    ...         "data": {"loader": "load_diabetes"},
    ...         "objective": {"cv": 3, "scoring": "r2"},
    ...         "space": {"alpha": {"kind": "float", "low": 1e-3, "high": 1e3,
    ...                             "log": True}},
    ...         "run": {"max_trials": 5, "seed": 0, "executor": "inline"},
    ...     }
    ... )
    >>> result = experiment.run(run_dir=False)
    >>> len(result.trials)
    5
    """

    estimator: EstimatorSpec
    data: DataSpec
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    space: dict[str, Param] = Field(min_length=1)
    conditions: tuple[Condition, ...] = ()
    strategy: StrategySpec = Field(default_factory=StrategySpec)
    acceptance: AcceptanceSpec | None = None
    reporters: tuple[ReporterSpec, ...] = ()
    run_config: RunConfig = Field(default_factory=RunConfig, alias="run")
    start: tuple[dict[str, Any], ...] | None = Field(default=None, min_length=1)

    @field_validator("conditions")
    @classmethod
    def _conditions_fit_space(
        cls, conditions: tuple[Condition, ...], info: ValidationInfo
    ) -> tuple[Condition, ...]:
        params = info.data.get("space")
        if params is None or not conditions:
            return conditions
        try:
            SearchSpace(params, conditions=conditions)
        except ValidationError as exc:
            raise ValueError(describe_validation_error(exc)) from None
        return conditions

    @field_validator("start")
    @classmethod
    def _start_in_space(
        cls, start: tuple[dict[str, Any], ...] | None, info: ValidationInfo
    ) -> tuple[dict[str, Any], ...] | None:
        params = info.data.get("space")
        if start is None or params is None or "conditions" not in info.data:
            return start
        space = SearchSpace(params, conditions=info.data["conditions"])
        for index, point in enumerate(start):
            try:
                space.validate_point(point)
            except ConfigError as exc:
                raise ValueError(f"start point {index}: {exc}") from None
        return start

    @classmethod
    def from_file(cls, path: str | Path) -> Experiment:
        """Read and validate a ``.toml`` or ``.json`` experiment file.

        Raises :class:`~autotune_core.ConfigError` naming the file when it
        cannot be read or parsed, or when a value is invalid.
        """
        path = Path(path)
        data = read_config_file(path)
        try:
            return cls.model_validate(data, context={"base_dir": path.parent})
        except ValidationError as exc:
            raise ConfigError(
                f"config file {str(path)!r} is invalid: "
                f"{describe_validation_error(exc)}"
            ) from None

    @property
    def search_space(self) -> SearchSpace:
        """The :class:`~autotune_core.SearchSpace` of ``space`` and ``conditions``."""
        return SearchSpace(self.space, conditions=self.conditions)

    # -- building --------------------------------------------------------------

    def build_estimator(self) -> Any:
        """A new, unfitted estimator (a :class:`~sklearn.pipeline.Pipeline` for steps).

        Raises :class:`~autotune_core.ConfigError` naming the import path or
        parameter that is wrong.
        """
        spec = self.estimator
        if spec.class_path is not None:
            return _instantiate(spec.class_path, spec.params, field="estimator")
        from sklearn.pipeline import Pipeline

        assert spec.steps is not None
        steps = [
            (step.name, _instantiate(step.class_path, step.params, field=field))
            for step, field in _step_fields(spec.steps)
        ]
        _check_pipeline(steps)
        return Pipeline(steps)

    def load_data(self) -> tuple[Any, Any]:
        """The features ``X`` and target ``y``; a CSV gives a DataFrame and a Series.

        Raises :class:`~autotune_core.ConfigError` for an unreadable CSV, a
        missing target column (listing the columns) or non-numeric features.
        """
        data = self.data
        if data.loader is not None:
            X, y = _load_bundled(data.loader)
        else:
            assert data.csv is not None
            assert data.target is not None
            X, y = _load_csv(data.csv, data.target, data.text_columns)
        return _subset(X, y, data.max_rows)

    def build_objective(self) -> SklearnObjective:
        """The :class:`~autotune_core.SklearnObjective` for the estimator and data."""
        estimator = self.build_estimator()
        X, y = self.load_data()
        spec = self.objective
        return SklearnObjective(
            estimator, X, y, cv=spec.cv, scoring=spec.scoring, metric=spec.metric
        )

    def build_strategy(self) -> StepStrategy:
        """The step strategy named in ``[strategy]``, with its options."""
        return _build_plugin(create_strategy, self.strategy, field="strategy")

    def build_acceptance(self) -> AcceptancePolicy | None:
        """The policy named in ``[acceptance]``, or ``None`` for the default."""
        if self.acceptance is None:
            return None
        return _build_plugin(create_acceptance, self.acceptance, field="acceptance")

    def build_reporters(self) -> list[Reporter]:
        """The reporters listed in ``reporters``, in order."""
        return [
            _build_plugin(create_reporter, spec, field=f"reporters[{index}]")
            for index, spec in enumerate(self.reporters)
        ]

    def resolve_config(self, **overrides: Any) -> RunConfig:
        """The ``[run]`` table with ``overrides`` applied; it must set a budget."""
        given = self.run_config.model_dump(exclude_unset=True)
        config = RunConfig.model_validate({**given, **overrides})
        if all(getattr(config, name) is None for name in _BUDGETS):
            raise ConfigError(
                "the run has no budget: set at least one of "
                + ", ".join(f"run.{name}" for name in _BUDGETS)
            )
        return config

    # -- running ---------------------------------------------------------------

    def run(
        self,
        *,
        reporters: Sequence[Reporter] = (),
        run_dir: str | Path | Literal[False] | None = None,
        **overrides: Any,
    ) -> TuneResult:
        """Build everything, check it, then tune with :func:`~autotune_core.tune`.

        Parameters
        ----------
        reporters
            Reporters added after those of the file.
        run_dir
            The run folder; ``None`` for a new one under ``./autotune-runs/``,
            ``False`` for none.
        **overrides
            :class:`~autotune_core.RunConfig` fields overriding ``[run]``.

        Returns
        -------
        TuneResult
        """
        config = self.resolve_config(**overrides)
        strategy = self.build_strategy()
        acceptance = self.build_acceptance()
        plugins = [*self.build_reporters(), *reporters]
        objective = self.build_objective()
        space = self.search_space
        # tune() checks this too, but only after creating the run folder.
        objective.check_space(space)
        return tune(
            objective,
            space,
            strategy=strategy,
            acceptance=acceptance,
            config=config,
            start=self.start,
            reporters=plugins,
            run_dir=run_dir,
            record={EXPERIMENT_FILE: self.model_dump(mode="json", by_alias=True)},
        )

    @classmethod
    def from_run_folder(cls, folder: str | Path) -> Experiment:
        """The experiment that :meth:`run` kept in the run folder ``folder``.

        Raises :class:`~autotune_core.ConfigError` if the run was not started
        from an experiment.
        """
        path = Path(folder) / EXPERIMENT_FILE
        if not path.is_file():
            raise ConfigError(
                f"{str(folder)!r} has no {EXPERIMENT_FILE}: only runs started from an "
                "experiment (autotune run, autotune demo) can be resumed here; "
                "resume others with autotune_core.tune(..., resume=folder)"
            )
        return cls.model_validate(read_config_file(path))

    @classmethod
    def resume(
        cls,
        folder: str | Path,
        *,
        reporters: Sequence[Reporter] = (),
        **overrides: Any,
    ) -> TuneResult:
        """Go on with a run that :meth:`run` started, from its run folder.

        The experiment is read back from the folder's ``experiment.json``;
        history, strategy state and random state from its event log.
        ``overrides`` (``max_trials=...``) extend or change the run config.
        """
        experiment = cls.from_run_folder(folder)
        objective = experiment.build_objective()
        plugins = [*experiment.build_reporters(), *reporters]
        return tune(objective, None, resume=folder, reporters=plugins, **overrides)


# -- helpers -------------------------------------------------------------------


def describe_validation_error(exc: ValidationError) -> str:
    """A one-line account of a Pydantic error: ``field=value: problem; ...``.

    Examples
    --------
    >>> try:
    ...     RunConfig(max_trials=0)
    ... except ValidationError as exc:
    ...     print(describe_validation_error(exc))
    max_trials=0: Input should be greater than or equal to 1
    """
    return "; ".join(_describe_error(error) for error in exc.errors(include_url=False))


def _describe_error(error: Mapping[str, Any]) -> str:
    where = _location(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where}: missing, and it is required"
    value = error.get("input")
    if isinstance(value, str | int | float | bool | Path) and where != "(top level)":
        shown = str(value) if isinstance(value, Path) else value
        return f"{where}={shown!r}: {message}"
    return f"{where}: {message}"


def _location(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


def _step_fields(steps: Sequence[StepSpec]) -> list[tuple[StepSpec, str]]:
    return [(step, f"estimator.steps[{i}]") for i, step in enumerate(steps)]


def _import_class(path: str, *, field: str) -> type:
    """The class at ``path``, or :class:`ConfigError` saying what to fix."""
    module_name, _, attribute = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{field}.class={path!r}: cannot import module {module_name!r} ({exc}); "
            "check the spelling, or install the package that provides it"
        ) from None
    found = getattr(module, attribute, None)
    if found is None:
        public = [name for name in dir(module) if not name.startswith("_")]
        close = difflib.get_close_matches(attribute, public, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ConfigError(
            f"{field}.class={path!r}: module {module_name!r} has no {attribute!r}{hint}"
        )
    if not isinstance(found, type):
        raise ConfigError(
            f"{field}.class={path!r} is a {type(found).__name__}, not a class"
        )
    return found


def _instantiate(path: str, params: Mapping[str, Any], *, field: str) -> Any:
    """An estimator of the class at ``path``, its parameters checked."""
    cls = _import_class(path, field=field)
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise ConfigError(
            f"{field}.params={dict(params)!r}: {exc}; {cls.__name__} takes "
            f"{_parameter_names(cls)}"
        ) from None
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise ConfigError(
            f"{field}.class={path!r} is not a scikit-learn estimator "
            "(it has no fit and get_params methods)"
        )
    _check_params(estimator, field=field)
    return estimator


def _parameter_names(cls: type) -> str:
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return "parameters that could not be listed"
    names = [name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY]
    names += [
        name for name, p in parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    return ", ".join(sorted(names)) or "no parameters"


def _check_params(estimator: Any, *, field: str) -> None:
    # scikit-learn checks parameter values only when fitting; its (private)
    # validator lets a bad value fail here, once, rather than in every trial.
    validate = getattr(estimator, "_validate_params", None)
    if not callable(validate):
        return
    try:
        validate()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{field}.params: {exc}") from None


def _check_pipeline(steps: Sequence[tuple[str, Any]]) -> None:
    for index, (name, estimator) in enumerate(steps[:-1]):
        if not hasattr(estimator, "transform"):
            raise ConfigError(
                f"estimator.steps[{index}] ({name!r}, {type(estimator).__name__}) "
                "has no transform method; only the last step may be a model"
            )


def _build_plugin(
    factory: Callable[..., _Plugin], spec: _PluginSpec, *, field: str
) -> _Plugin:
    """``factory(name, **options)``, its errors naming the field and the options."""
    try:
        return factory(spec.name, **spec.options)
    except UnknownPluginError:
        raise
    except (ValueError, TypeError) as exc:
        # the registry wraps the plugin's own error: show that one
        reason = exc.__context__ if isinstance(exc, ConfigError) else exc
        raise ConfigError(
            f"{field}.options={spec.options!r} for {spec.name!r}: {reason or exc}"
        ) from None


def _load_bundled(loader: str) -> tuple[Any, Any]:
    import sklearn.datasets

    X, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    return X, y


def _load_csv(path: Path, target: str, text_columns: str = "refuse") -> tuple[Any, Any]:
    """Features and target from a CSV file, checked before any fit."""
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"data.csv={str(path)!r} cannot be read: {exc}") from None
    except pd.errors.EmptyDataError:
        raise ConfigError(f"data.csv={str(path)!r} is empty") from None

    columns = [str(column) for column in frame.columns]
    if target not in columns:
        raise ConfigError(
            f"data.target={target!r} is not a column of {str(path)!r}; "
            f"its columns are {_listed(columns)}{_close_hint(target, columns)}"
        )

    X = frame.drop(columns=[target])
    y = frame[target]
    if text_columns == "onehot":
        X = _one_hot(X, path=path)
    _check_frame(X, y, path=path, target=target)
    return X, y


_MAX_TEXT_LEVELS = 100  # most distinct values a column to one-hot encode may have


def _text_columns(X: Any) -> list[Any]:
    return [c for c, dtype in X.dtypes.items() if dtype.kind not in "biuf"]


def _one_hot(X: Any, *, path: Path) -> Any:
    """``X`` with each text column replaced by one 0/1 column per value."""
    import pandas as pd

    text = _text_columns(X)
    many = [str(c) for c in text if X[c].nunique() > _MAX_TEXT_LEVELS]
    if many:
        raise ConfigError(
            f"data.csv={str(path)!r}: text column(s) {_listed(many)} have more "
            f"than {_MAX_TEXT_LEVELS} distinct values (free text or identifiers?); "
            "drop them from the file or encode them yourself"
        )
    if not text:
        return X

    encoded = pd.get_dummies(X, columns=text, prefix_sep="=", dtype=float)
    logger.info(
        "data: %d text column(s) one-hot encoded into %d columns",
        len(text),
        encoded.shape[1] - X.shape[1] + len(text),
    )
    return encoded


def _check_frame(X: Any, y: Any, *, path: Path, target: str) -> None:
    text = [str(c) for c in _text_columns(X)]
    if text:
        raise ConfigError(
            f"data.csv={str(path)!r}: feature column(s) {_listed(text)} are not "
            'numeric; set text_columns = "onehot" in [data], or encode or drop '
            "them in the file"
        )
    if X.shape[1] == 0:
        raise ConfigError(
            f"data.csv={str(path)!r} has no feature column besides target={target!r}"
        )
    missing = int(y.isna().sum())
    if missing:
        raise ConfigError(
            f"data.target={target!r}: {missing} row(s) of {str(path)!r} have no "
            "target value; remove them from the file"
        )


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:_MAX_LISTED])
    more = f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else ""
    return shown + more


def _close_hint(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _subset(X: Any, y: Any, max_rows: int | None) -> tuple[Any, Any]:
    """At most ``max_rows`` rows, drawn at random with a fixed seed."""
    if max_rows is None or len(y) <= max_rows:
        return X, y
    rng = np.random.default_rng(_SUBSET_SEED)
    rows = np.sort(rng.choice(len(y), size=max_rows, replace=False))
    return _take(X, rows), _take(y, rows)


def _take(values: Any, rows: np.ndarray) -> Any:
    return values.iloc[rows] if hasattr(values, "iloc") else values[rows]
