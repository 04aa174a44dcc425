"""Hypothesis strategies that generate AutoTune objects, and a strategy contract.

The kit draws valid parameter definitions, search spaces (conditional ones
included), points inside a given space, and histories of finished trials, so
that a step strategy, an acceptance policy or a reporter can be tested on
many inputs in a few lines. :func:`check_strategy` checks a step strategy
against the whole contract of :class:`~autotune_core.StepStrategy` in one
call.

It needs Hypothesis, which comes with the ``test`` extra
(``pip install autotune-core[test]``). ``import autotune_core`` does not
import this module: import it from the tests that use it.

The values drawn stay in ranges where floating-point arithmetic on them is
exact enough to compare (integers within about ``1e8``, reals within about
``1e12``), so a failing example points at the code under test rather than at
rounding.

Examples
--------
>>> from hypothesis import given
>>> from autotune_core.testing import search_spaces
>>> @given(search_spaces(max_params=3))
... def test_default_point_is_valid(space):
...     assert space.contains(space.default_point())
>>> test_default_point_is_valid()
"""

from __future__ import annotations

import math
import random
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning, InvalidArgument

from autotune_core._strategy_contract import ContractError, check_strategy
from autotune_core.events import (
    Event,
    NewIncumbent,
    RunFinished,
    RunResumed,
    RunStarted,
    SpaceChanged,
    TrialFinished,
    TrialStarted,
)
from autotune_core.reporter import Reporter, RunControl
from autotune_core.space import (
    Bool,
    Categorical,
    ChoiceValue,
    Condition,
    Float,
    Int,
    Layers,
    Param,
    Point,
    SearchSpace,
)
from autotune_core.trial import Evaluation, Move, Trial, TrialStatus

__all__ = [
    "HOSTILE_TEXTS",
    "KINDS",
    "ContractError",
    "ReportedTrial",
    "check_reporter",
    "check_strategy",
    "choice_values",
    "event_stream",
    "event_streams",
    "parameter_names",
    "parameter_values",
    "parameters",
    "points",
    "search_spaces",
    "trial_histories",
]

KINDS = ("int", "float", "categorical", "bool", "layers")
"""Parameter kinds :func:`parameters` can draw, by their ``kind`` field."""

_ParamT = TypeVar("_ParamT", Int, Float, Categorical, Bool, Layers)
_T = TypeVar("_T")

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_SCORES = st.floats(min_value=-1e6, max_value=1e6)
_DURATIONS = st.floats(min_value=0.0, max_value=1e3)


def parameter_names() -> st.SearchStrategy[str]:
    """Parameter names in scikit-learn's style, ``step__param`` included.

    Returns
    -------
    SearchStrategy[str]
        Names such as ``"alpha"``, ``"max_depth"`` or ``"mlp__alpha"``.

    Examples
    --------
    >>> from hypothesis import given
    >>> from autotune_core.testing import parameter_names
    >>> @given(parameter_names())
    ... def test_names_are_not_padded(name):
    ...     assert name == name.strip() and name[0].isalpha()
    >>> test_names_are_not_padded()
    """
    return _NAMES


def choice_values() -> st.SearchStrategy[ChoiceValue]:
    """Values a :class:`~autotune_core.Categorical` may offer, of every type.

    ``None``, booleans, integers, finite floats and short strings, so that
    ``1``, ``1.0`` and ``True`` all turn up.

    Returns
    -------
    SearchStrategy[ChoiceValue]
        One choice value.

    Examples
    --------
    >>> from hypothesis import given
    >>> import autotune_core as at
    >>> from autotune_core.testing import choice_values
    >>> @given(choice_values())
    ... def test_a_lone_choice_is_the_default(value):
    ...     default = at.Categorical(choices=(value,)).default()
    ...     assert type(default) is type(value) and default == value
    >>> test_a_lone_choice_is_the_default()
    """
    return _CHOICE_VALUES


def parameters(*, kinds: Iterable[str] | None = None) -> st.SearchStrategy[Param]:
    """Valid parameter definitions of the given kinds (all kinds by default).

    Integers with steps or on a log scale, reals on linear or log scales,
    categoricals with choices of mixed types (``None`` and booleans
    included), booleans and layer lists; each sometimes with a ``start``.

    Parameters
    ----------
    kinds
        Any of ``"int"``, ``"float"``, ``"categorical"``, ``"bool"`` and
        ``"layers"``.

    Returns
    -------
    SearchStrategy[Param]
        One parameter definition.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        If ``kinds`` is empty or names an unknown kind.

    Examples
    --------
    >>> from hypothesis import given
    >>> from autotune_core.testing import parameters
    >>> @given(parameters(kinds=["int", "float"]))
    ... def test_default_is_within_bounds(param):
    ...     assert param.low <= param.default() <= param.high
    >>> test_default_is_within_bounds()
    """
    chosen = KINDS if kinds is None else tuple(kinds)
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown or not chosen:
        raise InvalidArgument(
            f"kinds={chosen!r} must be a non-empty selection of {KINDS!r}"
        )

    if chosen == KINDS:
        return _PARAMETERS

    return st.one_of([_PARAMETER_KINDS[kind] for kind in dict.fromkeys(chosen)])


def parameter_values(param: Param, /) -> st.SearchStrategy[Any]:
    """Valid values of one parameter, spread over its whole range.

    Parameters
    ----------
    param
        The parameter definition.

    Returns
    -------
    SearchStrategy
        Values that ``param.contains`` accepts, in canonical form.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        If ``param`` is not a parameter definition.

    Examples
    --------
    >>> from hypothesis import given
    >>> import autotune_core as at
    >>> from autotune_core.testing import parameter_values
    >>> @given(parameter_values(at.Int(low=0, high=10, step=5)))
    ... def test_values_are_on_the_grid(value):
    ...     assert value in (0, 5, 10)
    >>> test_values_are_on_the_grid()
    """
    _check_type("param", param, Int, Float, Categorical, Bool, Layers)
    if isinstance(param, Int):
        if param.log:
            return st.integers(min_value=param.low, max_value=param.high)
        steps = (param.high - param.low) // param.step
        return st.integers(0, steps).map(lambda k: param.low + k * param.step)
    if isinstance(param, Float):
        return st.floats(min_value=param.low, max_value=param.high)
    if isinstance(param, Categorical):
        return st.sampled_from(param.choices)
    if isinstance(param, Bool):
        return st.booleans()
    return _widths(param)


def search_spaces(
    *, min_params: int = 1, max_params: int = 6, conditional: bool = True
) -> st.SearchStrategy[SearchSpace]:
    """Valid search spaces, sometimes with conditions between parameters.

    A condition's parent is a :class:`~autotune_core.Categorical` or a
    :class:`~autotune_core.Bool`, and its values are valid for that parent.
    Conditions never form a cycle, but a child may be defined before its
    parent, and a parameter may depend on several parents.

    Parameters
    ----------
    min_params, max_params
        Bounds on the number of parameters.
    conditional
        Whether conditions may be drawn.

    Returns
    -------
    SearchStrategy[SearchSpace]
        One search space.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        If the bounds are not integers with ``1 <= min_params <= max_params``.

    Examples
    --------
    >>> from hypothesis import given
    >>> from autotune_core.testing import search_spaces
    >>> @given(search_spaces(max_params=2, conditional=False))
    ... def test_small_plain_spaces(space):
    ...     assert 1 <= len(space) <= 2 and not space.is_conditional
    >>> test_small_plain_spaces()
    """
    _check_count("min_params", min_params, minimum=1)
    _check_count("max_params", max_params, minimum=min_params)
    _check_type("conditional", conditional, bool)
    return _spaces(min_params, max_params, conditional)


def points(space: SearchSpace, /) -> st.SearchStrategy[Point]:
    """Valid points of ``space``: its active parameters only, each valid.

    Activity is worked out here, independently of
    :meth:`SearchSpace.normalize`, so that tests of the space can rely on it.

    Parameters
    ----------
    space
        The space the points belong to.

    Returns
    -------
    SearchStrategy[Point]
        One point, its names in definition order.

    Examples
    --------
    >>> from hypothesis import given, strategies as st
    >>> from autotune_core.testing import points, search_spaces
    >>> @given(st.data())
    ... def test_points_validate_unchanged(data):
    ...     space = data.draw(search_spaces())
    ...     point = data.draw(points(space))
    ...     assert space.validate_point(point) == point
    >>> test_points_validate_unchanged()
    """
    _check_type("space", space, SearchSpace)
    return _points(space)


def trial_histories(
    space: SearchSpace, /, *, min_trials: int = 0, max_trials: int = 20
) -> st.SearchStrategy[list[Trial]]:
    """Histories of finished trials in ``space``, as a run would record them.

    Trials are numbered ``0`` to ``n - 1`` in order, with status ``ok`` (a
    finite score) or ``failed`` (an error text, no score). A trial's parent
    is ``None`` or an earlier trial, and its moves are the differences from
    the parent's parameters. A trial is accepted when it is ``ok`` and
    scores higher than every earlier accepted trial (the default acceptance,
    maximising, with ``min_improvement=0``). Start times do not decrease and
    no trial finishes before it starts.

    Parameters
    ----------
    space
        The space every trial's parameters lie in.
    min_trials, max_trials
        Bounds on the number of trials.

    Returns
    -------
    SearchStrategy[list[Trial]]
        One history, in trial-number order.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        If ``space`` is not a :class:`~autotune_core.SearchSpace`, or the
        bounds are not integers with ``0 <= min_trials <= max_trials``.

    Examples
    --------
    >>> from hypothesis import given
    >>> import autotune_core as at
    >>> from autotune_core.testing import trial_histories
    >>> space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    >>> @given(trial_histories(space, min_trials=1, max_trials=5))
    ... def test_the_first_trial_has_no_parent(history):
    ...     assert history[0].parent is None
    >>> test_the_first_trial_has_no_parent()
    """
    _check_type("space", space, SearchSpace)
    _check_count("min_trials", min_trials, minimum=0)
    _check_count("max_trials", max_trials, minimum=min_trials)
    return _histories(space, min_trials, max_trials)


# -- argument checks ---------------------------------------------------------


def _check_count(name: str, value: object, *, minimum: int) -> None:
    """Raise :class:`InvalidArgument` unless ``value`` is an int >= ``minimum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(
            f"{name}={value!r} must be an int, got {type(value).__name__}"
        )

    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")


def _check_type(name: str, value: object, *expected: type) -> None:
    """Raise :class:`InvalidArgument` unless ``value`` is one of the ``expected``."""
    if not isinstance(value, expected):
        names = [kind.__name__ for kind in expected]
        allowed = ", ".join(names[:-1]) + " or " + names[-1] if names[1:] else names[0]
        raise InvalidArgument(
            f"{name}={value!r} must be {allowed}, got {type(value).__name__}"
        )


# -- parameters --------------------------------------------------------------


def _join_step(step: str | None, param: str) -> str:
    """``step__param``, scikit-learn's name for a pipeline step's parameter."""
    return param if step is None else f"{step}__{param}"


def _type_key(value: object) -> tuple[str, object]:
    """Key telling ``1``, ``1.0`` and ``True`` apart."""
    return (type(value).__name__, value)


def _with_start(draw: st.DrawFn, param: _ParamT) -> _ParamT:
    """``param``, sometimes given a ``start`` drawn from its own values."""
    if not draw(st.booleans()):
        return param

    start = draw(parameter_values(param))
    return type(param).model_validate({**param.model_dump(), "start": start})


@st.composite
def _ints(draw: st.DrawFn) -> Int:
    """Integers on a grid of steps, or on a log scale."""
    if draw(st.booleans()):
        low = draw(st.integers(min_value=1, max_value=10**4))
        high = draw(st.integers(min_value=low + 1, max_value=low * 10**4))
        return _with_start(draw, Int(low=low, high=high, log=True))

    step = draw(st.sampled_from((1, 2, 3, 5, 10)))
    low = draw(st.integers(min_value=-(10**6), max_value=10**6))
    high = low + step * draw(st.integers(min_value=1, max_value=10**4))
    return _with_start(draw, Int(low=low, high=high, step=step))


@st.composite
def _floats(draw: st.DrawFn) -> Float:
    """Reals on a linear or a log scale, from ranges of one ulp to wide ones."""
    if draw(st.booleans()):
        low = draw(st.floats(min_value=1e-8, max_value=1e4))
        high = draw(st.floats(min_value=low, max_value=1e12, exclude_min=True))
        return _with_start(draw, Float(low=low, high=high, log=True))

    low = draw(st.floats(min_value=-1e12, max_value=1e12))
    high = draw(st.floats(min_value=low, max_value=2e12, exclude_min=True))
    return _with_start(draw, Float(low=low, high=high))


@st.composite
def _categoricals(draw: st.DrawFn) -> Categorical:
    """Choices of mixed types, no two equal as typed values."""
    choices = draw(
        st.lists(_CHOICE_VALUES, min_size=1, max_size=6, unique_by=_type_key)
    )
    return _with_start(draw, Categorical(choices=tuple(choices)))


def _bools() -> st.SearchStrategy[Bool]:
    """Booleans, with or without a start."""
    return st.builds(Bool, start=st.none() | st.booleans())


@st.composite
def _layers(draw: st.DrawFn) -> Layers:
    """Layer lists; never one fixed shape, which the definition forbids."""
    min_layers = draw(st.integers(min_value=1, max_value=3))
    max_layers = draw(st.integers(min_value=min_layers, max_value=5))
    min_units = draw(st.integers(min_value=1, max_value=64))
    fixed_shape = min_layers == max_layers
    max_units = draw(st.integers(min_value=min_units + fixed_shape, max_value=1024))
    layers = Layers(
        min_layers=min_layers,
        max_layers=max_layers,
        min_units=min_units,
        max_units=max_units,
        log=draw(st.booleans()),
    )
    return _with_start(draw, layers)


def _widths(param: Layers) -> st.SearchStrategy[tuple[int, ...]]:
    """Valid values of a :class:`Layers` parameter."""
    width = st.integers(min_value=param.min_units, max_value=param.max_units)
    return st.lists(width, min_size=param.min_layers, max_size=param.max_layers).map(
        tuple
    )


# -- spaces and points --------------------------------------------------------


@st.composite
def _spaces(
    draw: st.DrawFn, min_params: int, max_params: int, conditional: bool
) -> SearchSpace:
    """Parameters, conditions from earlier to later ones, then a shuffled order."""
    names = draw(
        st.lists(_NAMES, min_size=min_params, max_size=max_params, unique=True)
    )
    params = [draw(_PARAMETERS) for _ in names]
    conditions = _conditions(draw, names, params) if conditional else []
    order = draw(st.permutations(range(len(names))))
    return SearchSpace(
        {names[i]: params[i] for i in order}, conditions=tuple(conditions)
    )


def _conditions(
    draw: st.DrawFn, names: Sequence[str], params: Sequence[Param]
) -> list[Condition]:
    """Conditions whose parent always comes earlier in ``names``: no cycles."""
    conditions: list[Condition] = []
    for index, name in enumerate(names):
        eligible = [
            names[i] for i in range(index) if isinstance(params[i], Categorical | Bool)
        ]
        if not eligible:
            continue

        parents = draw(st.lists(st.sampled_from(eligible), max_size=2, unique=True))
        for parent in parents:
            values = _condition_values(draw, params[names.index(parent)])
            conditions.append(Condition(param=name, parent=parent, values=values))

    return conditions


def _condition_values(draw: st.DrawFn, parent: Param) -> tuple[ChoiceValue, ...]:
    """A non-empty selection of the parent's values."""
    options: tuple[ChoiceValue, ...] = (
        parent.choices if isinstance(parent, Categorical) else (True, False)
    )
    values = draw(
        st.lists(
            st.sampled_from(options),
            min_size=1,
            max_size=len(options),
            unique_by=_type_key,
        )
    )
    return tuple(values)


@st.composite
def _points(draw: st.DrawFn, space: SearchSpace) -> Point:
    """Values for the active parameters, visiting parents before children."""
    point: Point = {}
    for name in _parents_first(space):
        if _is_active(space, name, point):
            point[name] = draw(parameter_values(space[name]))

    return {name: point[name] for name in space.names if name in point}


def _parents_first(space: SearchSpace) -> list[str]:
    """The space's names, every parent before its children."""
    parents = {name: set[str]() for name in space.names}
    for condition in space.conditions:
        parents[condition.param].add(condition.parent)

    ordered: list[str] = []
    while len(ordered) < len(parents):
        placed = set(ordered)
        ordered += [n for n in parents if n not in placed and parents[n] <= placed]

    return ordered


def _is_active(space: SearchSpace, name: str, point: Mapping[str, Any]) -> bool:
    """Whether every condition on ``name`` holds in ``point``."""
    return all(
        condition.parent in point
        and _type_key(point[condition.parent]) in map(_type_key, condition.values)
        for condition in space.conditions
        if condition.param == name
    )


# -- trial histories ----------------------------------------------------------


@st.composite
def _histories(
    draw: st.DrawFn, space: SearchSpace, min_trials: int, max_trials: int
) -> list[Trial]:
    """Trials in number order, acceptance decided as each one finishes."""
    count = draw(st.integers(min_value=min_trials, max_value=max_trials))
    history: list[Trial] = []
    best: float | None = None
    started_at = 0.0
    for _ in range(count):
        started_at += draw(_DURATIONS)
        trial = _trial(draw, space, history, best=best, started_at=started_at)
        history.append(trial)
        if trial.accepted:
            best = trial.score

    return history


def _trial(
    draw: st.DrawFn,
    space: SearchSpace,
    history: Sequence[Trial],
    *,
    best: float | None,
    started_at: float,
) -> Trial:
    """The next trial of ``history``, ok or failed."""
    number = len(history)
    parent = draw(st.none() | st.integers(0, number - 1)) if number else None
    params = draw(points(space))
    moves = () if parent is None else _moves(space, history[parent].params, params)
    common: dict[str, Any] = {
        "number": number,
        "params": params,
        "parent": parent,
        "moves": moves,
        "started_at": started_at,
        "finished_at": started_at + draw(_DURATIONS),
    }
    if draw(st.booleans()):
        return _ok_trial(draw, common, best=best)

    message = draw(st.text(min_size=1, max_size=20))
    return Trial(status=TrialStatus.FAILED, error=f"ValueError: {message}", **common)


def _ok_trial(draw: st.DrawFn, common: dict[str, Any], *, best: float | None) -> Trial:
    """A trial with a finite score, accepted if it beats ``best``."""
    folds = draw(st.lists(_SCORES, max_size=5))
    evaluation = Evaluation.from_folds(folds) if folds else Evaluation(draw(_SCORES))
    metrics = draw(st.dictionaries(st.sampled_from(("accuracy", "f1")), _SCORES))
    return Trial(
        status=TrialStatus.OK,
        score=evaluation.score,
        score_std=evaluation.score_std,
        fold_scores=evaluation.fold_scores,
        fit_time=draw(st.none() | _DURATIONS),
        score_time=draw(st.none() | _DURATIONS),
        metrics=metrics,
        accepted=best is None or evaluation.score > best,
        **common,
    )


def _moves(space: SearchSpace, old: Point, new: Point) -> tuple[Move, ...]:
    """The changes from ``old`` to ``new`` of parameters active in both."""
    return tuple(
        Move(name, _move_kind(space[name], old[name], new[name]), old[name], new[name])
        for name in space.names
        if name in old and name in new and _type_key(old[name]) != _type_key(new[name])
    )


def _move_kind(param: Param, old: Any, new: Any) -> str:
    """The name :class:`~strategies.RandomStep` gives a change of this kind."""
    if isinstance(param, Bool):
        return "flip"
    if isinstance(param, Categorical):
        return "switch"
    if isinstance(param, Layers):
        if len(new) == len(old):
            return "resize_layer"
        return "add_layer" if len(new) > len(old) else "remove_layer"
    return "up" if new > old else "down"


# -- shared strategies, built once --------------------------------------------

_WORD = st.builds(
    str.__add__,
    st.text(alphabet=_LETTERS, min_size=1, max_size=6),
    st.just("") | st.text(alphabet=_LETTERS + _DIGITS, max_size=4).map("_".__add__),
)
_NAMES = st.builds(_join_step, st.none() | _WORD, _WORD)
_CHOICE_VALUES: st.SearchStrategy[ChoiceValue] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
_PARAMETER_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "int": _ints(),
    "float": _floats(),
    "categorical": _categoricals(),
    "bool": _bools(),
    "layers": _layers(),
}
_PARAMETERS: st.SearchStrategy[Param] = st.one_of(list(_PARAMETER_KINDS.values()))


# -- reporter contract ----------------------------------------------------------------

HOSTILE_TEXTS = (
    "=1+1",
    "+SUM(A1:A9)",
    "-2+3",
    "@SUM(A1)",
    "\t=tab",
    "\r=carriage",
    '=HYPERLINK("http://example.com","x")',
    "\uff1dfull-width",
    "#N/A",
    "-1.5",
    "é漢字 🙂",
    "\x00\x01\x1bcontrol",
    "\ufffe\uffff",
    "<b>&amp;</b>",
    "a,b;c\nnew line",
    "\"quoted\" and 'single'",
    "$x$ and [bold]markup[/]",
    "x" * 120,
)
"""Text that breaks careless writers: formula starts, control characters,
markup, separators, quotes, wide characters and a long line."""

_STATUS_WEIGHTS = (
    *(TrialStatus.OK,) * 6,
    TrialStatus.FAILED,
    TrialStatus.TIMEOUT,
    TrialStatus.CACHED,
    TrialStatus.PRUNED,
)
_SPECIAL_SCORES = (0.0, -0.0, -1.0, 1e-300, -1e-300, 1e300, -1e300, 0.1 + 0.2)
_START_TIME = 1.8e9


class ReportedTrial(NamedTuple):
    """What a reporter's output says about one finished trial, for
    :func:`check_reporter` to compare with what it was sent."""

    number: int
    status: str
    score: float | None


def check_reporter(
    factory: Callable[[Path], Reporter],
    /,
    *,
    read_back: Callable[[Path], Sequence[ReportedTrial]] | None = None,
    max_examples: int = 25,
    max_trials: int = 30,
    long_run_trials: int = 2_000,
) -> None:
    """Check that a reporter takes any valid run without raising or losing trials.

    The reporter is fed, through :meth:`~autotune_core.Reporter.handle` and
    then :meth:`~autotune_core.Reporter.close`, as the engine does:

    - generated event streams (:func:`event_streams`): ok, failed,
      timed-out, cached and pruned trials, concurrent trials finishing out
      of order, runs stopped without a ``run_finished`` event, runs resumed
      (trials restarted under the same number, a parameter added to the
      space), hostile text (:data:`HOSTILE_TEXTS`) in names, choices and
      errors, and scores from ``-1e300`` to ``1e300``;
    - one long stream of ``long_run_trials`` trials (:func:`event_stream`);
    - nothing at all: ``close()`` right after ``bind()``, as when a run
      fails before it starts.

    Each stream goes to a new reporter from ``factory(folder)``, where
    ``folder`` is a new empty directory the reporter may write into.

    *Delivery* is checked always: every hook the reporter overrides
    (``on_run_started``, ``on_trial_started``, ``on_trial_finished``,
    ``on_new_incumbent``, ``on_run_finished``) must receive each event of
    its kind once, in the order sent, ``run_started`` and ``run_finished``
    included. This matters for a reporter that overrides
    :meth:`~autotune_core.Reporter.handle` as well: it must still pass the
    events to its hooks, in order. Hooks left as the no-op defaults are not
    checked.

    *Not losing* a trial is checked when ``read_back`` is given: after
    ``close()``, ``read_back(folder)`` reads the reporter's output and
    returns one :class:`ReportedTrial` per trial it holds, in the order it
    holds them. That list must equal the finished trials, in the order
    their ``trial_finished`` events came: same numbers (none missing, none
    repeated), same statuses, and same scores (``None`` for none) to 14
    significant digits. Without ``read_back`` only "does not raise" is
    checked.

    Parameters
    ----------
    factory
        Makes a fresh reporter writing under the given folder.
    read_back
        Reads the trials back from what the reporter wrote in the folder.
    max_examples
        Number of generated streams.
    max_trials
        Most trials in a generated stream.
    long_run_trials
        Trials in the long stream; ``0`` skips it.

    Raises
    ------
    AssertionError
        If the output lost, repeated, reordered or changed a trial, or a
        hook missed, repeated or reordered an event; the message shows the
        first difference.
    Exception
        Whatever the reporter raised, with a note naming the event.

    Examples
    --------
    >>> import csv
    >>> from autotune_core.testing import ReportedTrial, check_reporter
    >>> from reporters import CsvReporter
    >>> def read_csv(folder):
    ...     with open(folder / "t.csv", newline="", encoding="utf-8") as file:
    ...         return [
    ...             ReportedTrial(int(r["trial"]), r["status"],
    ...                           float(r["score"]) if r["score"] else None)
    ...             for r in csv.DictReader(file)
    ...         ]
    >>> check_reporter(lambda folder: CsvReporter(path=folder / "t.csv"),
    ...                read_back=read_csv, max_examples=5, long_run_trials=100)
    """
    _check_count("max_examples", max_examples, minimum=1)
    _check_count("max_trials", max_trials, minimum=0)
    _check_count("long_run_trials", long_run_trials, minimum=0)
    _check_stream(factory, None, [])

    @settings(parent=settings.default, max_examples=max_examples, deadline=None)
    @given(event_streams(max_trials=max_trials))
    def generated(events: list[Event]) -> None:
        _check_stream(factory, read_back, events)

    with warnings.catch_warnings():
        # A failing stream is shown in full, however long its repr.
        warnings.filterwarnings(
            "ignore", "Generating overly large repr", HypothesisWarning
        )
        generated()
    if long_run_trials:
        _check_stream(factory, read_back, event_stream(long_run_trials, seed=0))


def _check_stream(
    factory: Callable[[Path], Reporter],
    read_back: Callable[[Path], Sequence[ReportedTrial]] | None,
    events: Sequence[Event],
) -> None:
    """Feed ``events`` to a new reporter, close it, and compare its output."""
    with tempfile.TemporaryDirectory(prefix="autotune-reporter-") as tmp:
        folder = Path(tmp)
        reporter = factory(folder)
        hooks = _HookSpy(reporter)
        reporter.bind(RunControl())
        for index, event in enumerate(events):
            try:
                reporter.handle(event)
            except Exception as exc:
                exc.add_note(
                    f"{type(reporter).__name__} failed on event {index} "
                    f"({event.kind}) of a stream of {len(events)} events"
                )
                raise

        reporter.close()
        hooks.check(events)
        if read_back is not None and events:
            _compare_reported(list(read_back(folder)), _finished_trials(events))


_HOOKS: tuple[tuple[type[Event], str], ...] = (
    (RunStarted, "on_run_started"),
    (TrialStarted, "on_trial_started"),
    (TrialFinished, "on_trial_finished"),
    (NewIncumbent, "on_new_incumbent"),
    (RunFinished, "on_run_finished"),
)


def _hook_for(event: Event) -> str | None:
    """The hook :meth:`Reporter.handle` sends ``event`` to, if any."""
    return next((hook for kind, hook in _HOOKS if isinstance(event, kind)), None)


class _HookSpy:
    """Records which events reach the hooks a reporter overrides, in order."""

    def __init__(self, reporter: Reporter) -> None:
        self.name = type(reporter).__name__
        self.received: list[tuple[str, Event]] = []
        overridden = [
            hook
            for _, hook in _HOOKS
            if getattr(type(reporter), hook) is not getattr(Reporter, hook)
        ]
        self.hooks: set[str] = set()
        for hook in overridden:
            try:
                setattr(reporter, hook, self._spy(hook, getattr(reporter, hook)))
            except AttributeError:  # __slots__: its hooks cannot be watched
                continue
            self.hooks.add(hook)

    def _spy(self, hook: str, method: Callable[[Any], None]) -> Callable[[Any], None]:
        def spy(event: Any) -> None:
            self.received.append((hook, event))
            method(event)

        return spy

    def check(self, events: Sequence[Event]) -> None:
        """Assert that each watched hook got its events once, in order."""
        sent = [(h, e) for e in events if (h := _hook_for(e)) in self.hooks]
        for index, (mine, theirs) in enumerate(zip(sent, self.received, strict=False)):
            if mine[0] != theirs[0] or mine[1] is not theirs[1]:
                raise AssertionError(
                    f"{self.name}: hook call {index} should be {mine[0]}"
                    f"({mine[1].kind}), got {theirs[0]}({theirs[1].kind}): "
                    "events missed, repeated or out of order"
                )

        if len(sent) != len(self.received):
            first = (self.received[len(sent) :] or sent[len(self.received) :])[0]
            raise AssertionError(
                f"{self.name}: its hooks should receive {len(sent)} events, got "
                f"{len(self.received)}; first extra or missing: "
                f"{first[0]}({first[1].kind})"
            )


def _finished_trials(events: Iterable[Event]) -> list[ReportedTrial]:
    return [
        ReportedTrial(e.trial.number, e.trial.status.value, e.trial.score)
        for e in events
        if isinstance(e, TrialFinished)
    ]


def _compare_reported(got: list[ReportedTrial], sent: list[ReportedTrial]) -> None:
    """Assert that ``got`` is ``sent``, naming the first difference."""
    for index, (mine, theirs) in enumerate(zip(sent, got, strict=False)):
        if not _same_reported(mine, theirs):
            raise AssertionError(
                f"trial {index} of {len(sent)} in the order sent differs: "
                f"sent {mine!r}, read back {theirs!r}"
            )

    if len(got) != len(sent):
        raise AssertionError(
            f"{len(sent)} trials were sent but {len(got)} were read back; "
            f"first extra or missing: {(got[len(sent) :] or sent[len(got) :])[0]!r}"
        )


def _same_reported(sent: ReportedTrial, got: ReportedTrial) -> bool:
    if (sent.number, sent.status) != (got.number, got.status):
        return False
    if sent.score is None or got.score is None:
        return sent.score is got.score
    return math.isclose(sent.score, got.score, rel_tol=1e-14, abs_tol=1e-300)


def event_streams(
    *, min_trials: int = 0, max_trials: int = 30
) -> st.SearchStrategy[list[Event]]:
    """Valid event streams of a run, as the engine publishes them.

    A stream opens with :class:`~autotune_core.RunStarted`; each trial has
    a :class:`~autotune_core.TrialStarted`, later its
    :class:`~autotune_core.TrialFinished` (status ``ok``, ``failed``,
    ``timeout``, ``cached`` or ``pruned``) and a
    :class:`~autotune_core.NewIncumbent` if it was accepted (it scored
    better than the incumbent, by the run's direction). Up to three trials
    run at once and finish in any order. Some runs are interrupted and
    resumed: a ``run_finished`` with reason ``"interrupted"``, a
    :class:`~autotune_core.RunResumed`, sometimes a
    :class:`~autotune_core.SpaceChanged` that adds a parameter, and the
    interrupted trials started again under their numbers. Some streams end
    without ``run_finished``, like the log of a killed run.

    Spaces are drawn by :func:`search_spaces`, plus a categorical
    parameter named ``"@choice"`` whose choices are
    :data:`HOSTILE_TEXTS`; names, objectives and error texts are hostile too.

    Parameters
    ----------
    min_trials, max_trials
        Bounds on the number of finished trials.

    Returns
    -------
    SearchStrategy[list[Event]]
        One stream, in publication order.

    Examples
    --------
    >>> from hypothesis import given
    >>> import autotune_core as at
    >>> from autotune_core.testing import event_streams
    >>> @given(event_streams(max_trials=5))
    ... def test_streams_open_with_run_started(events):
    ...     assert isinstance(events[0], at.RunStarted)
    >>> test_streams_open_with_run_started()
    """
    _check_count("min_trials", min_trials, minimum=0)
    _check_count("max_trials", max_trials, minimum=min_trials)
    return _streams(min_trials, max_trials)


def event_stream(
    n_trials: int, /, *, seed: int = 0, concurrency: int = 2
) -> list[Event]:
    """A long valid event stream, built without Hypothesis (fast, reproducible).

    Like one of :func:`event_streams`, over a fixed space of every
    parameter kind (with the hostile ``"@choice"``), with ``n_trials``
    trials, ``concurrency`` of them at a time, interrupted and resumed
    once halfway.

    Examples
    --------
    >>> from autotune_core.testing import event_stream
    >>> events = event_stream(1000, seed=1)
    >>> sum(event.kind == "trial_finished" for event in events)
    1000
    """
    _check_count("n_trials", n_trials, minimum=0)
    _check_count("concurrency", concurrency, minimum=1)
    draws = _RandomDraws(random.Random(seed))
    return _StreamBuilder(draws, _reporter_space(), concurrency=concurrency).build(
        n_trials, resume_at=n_trials // 2, finished=True, change_space=True
    )


def _reporter_space() -> SearchSpace:
    return SearchSpace(
        {
            "alpha": Float(low=1e-6, high=1.0, log=True),
            "max_depth": Int(low=1, high=64),
            "kernel": Categorical(choices=("linear", "rbf", None, 3, 2.5, True)),
            "shrinking": Bool(),
            "hidden_layer_sizes": Layers(
                min_layers=1, max_layers=3, min_units=4, max_units=512
            ),
            **_hostile_param(),
        }
    )


def _hostile_param() -> dict[str, Param]:
    return {"@choice": Categorical(choices=HOSTILE_TEXTS)}


class _Draws(Protocol):
    """Where a stream's choices come from: Hypothesis, or a seeded generator."""

    def choice(self, options: Sequence[_T]) -> _T: ...

    def real(self, low: float, high: float) -> float: ...

    def point(self, space: SearchSpace) -> Point: ...

    def text(self) -> str: ...


class _HypothesisDraws:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def choice(self, options: Sequence[_T]) -> _T:
        return self.draw(st.sampled_from(options))

    def real(self, low: float, high: float) -> float:
        return self.draw(st.floats(min_value=low, max_value=high))

    def point(self, space: SearchSpace) -> Point:
        return self.draw(points(space))

    def text(self) -> str:
        return self.draw(st.sampled_from(HOSTILE_TEXTS) | st.text(max_size=12))


class _RandomDraws:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.generator = np.random.default_rng(rng.getrandbits(64))

    def choice(self, options: Sequence[_T]) -> _T:
        return options[self.rng.randrange(len(options))]

    def real(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def point(self, space: SearchSpace) -> Point:
        return space.sample(self.generator)

    def text(self) -> str:
        return self.choice(HOSTILE_TEXTS)


@st.composite
def _streams(draw: st.DrawFn, min_trials: int, max_trials: int) -> list[Event]:
    space = draw(search_spaces(max_params=3))
    space = SearchSpace(
        {**dict(space.items()), **_hostile_param()}, conditions=space.conditions
    )
    n_trials = draw(st.integers(min_value=min_trials, max_value=max_trials))
    builder = _StreamBuilder(
        _HypothesisDraws(draw), space, concurrency=draw(st.integers(1, 3))
    )
    resume = draw(st.booleans())
    return builder.build(
        n_trials,
        resume_at=draw(st.integers(0, n_trials)) if resume else None,
        finished=draw(st.booleans()),
        change_space=draw(st.booleans()),
    )


@dataclass
class _Running:
    """A trial started and not finished yet."""

    number: int
    params: Point
    parent: int | None
    moves: tuple[Move, ...]
    status: TrialStatus
    source: Trial | None
    started_at: float = 0.0


class _StreamBuilder:
    """Plays a run: starts trials, finishes them, decides acceptance."""

    def __init__(self, draws: _Draws, space: SearchSpace, *, concurrency: int) -> None:
        self.draws = draws
        self.space = space
        self.concurrency = concurrency
        self.direction = draws.choice(("maximize", "minimize"))
        self.events: list[Event] = []
        self.running: dict[int, _Running] = {}
        self.finished: list[Trial] = []
        self.scored: list[Trial] = []
        self.incumbent: Trial | None = None
        self.now = _START_TIME
        self.next_number = 0

    def build(
        self,
        n_trials: int,
        *,
        resume_at: int | None,
        finished: bool,
        change_space: bool,
    ) -> list[Event]:
        self.events.append(self._run_started(n_trials))
        while len(self.finished) < n_trials:
            if len(self.finished) == resume_at:
                self._interrupt_and_resume(change_space=change_space)
                resume_at = None
            while len(self.running) < self.concurrency and self.next_number < n_trials:
                self._start()
            self._finish()
        if resume_at is not None:
            self._interrupt_and_resume(change_space=change_space)
        if finished:
            self.events.append(self._run_finished("max_trials"))
        return self.events

    def _tick(self) -> float:
        self.now += self.draws.real(0.0, 5.0)
        return self.now

    def _run_started(self, n_trials: int, *, resumed: bool = False) -> RunStarted:
        fields: dict[str, Any] = {
            "name": self.draws.text(),
            "time": self._tick(),
            "config": {
                "max_trials": n_trials,
                "direction": self.direction,
                "concurrency": self.concurrency,
                "min_improvement": 0.0,
                "seed": 0,
            },
            "space": self.space.model_dump(mode="json"),
            "strategy": {"name": "random-step", "options": {"step_size": 0.1}},
            "acceptance": {"name": "threshold", "options": {}},
            "objective": self.draws.text(),
            "versions": {"autotune-core": "0.0.0"},
        }
        if resumed:
            return RunResumed(**fields, n_trials_before=len(self.finished))
        return RunStarted(**fields)

    def _run_finished(self, reason: str) -> RunFinished:
        best = self.incumbent
        return RunFinished(
            reason=reason,
            time=self._tick(),
            n_trials=len(self.finished),
            best_number=None if best is None else best.number,
            best_score=None if best is None else best.score,
            status_counts=dict(Counter(t.status.value for t in self.finished)),
        )

    def _interrupt_and_resume(self, *, change_space: bool) -> None:
        """Stop with trials in flight, resume, and start those trials again."""
        self.events.append(self._run_finished("interrupted"))
        if change_space:
            added = f"added_{len(self.space)}"
            self.space = SearchSpace(
                {**dict(self.space.items()), added: Float(low=-1.0, high=1.0)},
                conditions=self.space.conditions,
            )
        self.events.append(self._run_started(len(self.finished), resumed=True))
        if change_space:
            self.events.append(
                SpaceChanged((added,), (), (), self.space.model_dump(mode="json"))
            )
        for running in self.running.values():
            self.events.append(self._started_event(running))

    def _start(self) -> None:
        status = self.draws.choice(_STATUS_WEIGHTS)
        scored = self.scored
        source = (
            self.draws.choice(scored)
            if status is TrialStatus.CACHED and scored
            else None
        )
        if status is TrialStatus.CACHED and source is None:
            status = TrialStatus.OK
        parent = self.incumbent
        params = source.params if source is not None else self._candidate(parent)
        moves = () if parent is None else _moves(self.space, parent.params, params)
        running = _Running(
            number=self.next_number,
            params=params,
            parent=None if parent is None else parent.number,
            moves=moves,
            status=status,
            source=source,
        )
        self.next_number += 1
        self.running[running.number] = running
        self.events.append(self._started_event(running))

    def _candidate(self, parent: Trial | None) -> Point:
        """A random point, or (mostly) the parent with one parameter changed."""
        point = self.draws.point(self.space)
        shared = [] if parent is None else [n for n in point if n in parent.params]
        if self.space.is_conditional or not shared or self.draws.choice((0, 1, 1)) == 0:
            return point

        assert parent is not None
        moved = self.draws.choice(shared)
        return {
            n: parent.params[n] if n in shared and n != moved else v
            for n, v in point.items()
        }

    def _started_event(self, running: _Running) -> TrialStarted:
        running.started_at = self._tick()
        return TrialStarted(
            number=running.number,
            params=running.params,
            parent=running.parent,
            moves=running.moves,
            time=running.started_at,
        )

    def _finish(self) -> None:
        number = self.draws.choice(sorted(self.running))
        running = self.running.pop(number)
        trial = self._accept(self._outcome(running, self._tick()))
        self.finished.append(trial)
        if trial.ok and trial.score is not None:
            self.scored.append(trial)
        self.events.append(TrialFinished(trial))
        if trial.accepted:
            assert trial.score is not None
            previous = self.incumbent
            self.incumbent = trial
            self.events.append(
                NewIncumbent(
                    trial.number,
                    trial.score,
                    None if previous is None else previous.number,
                    trial.params,
                )
            )

    def _outcome(self, running: _Running, ended: float) -> Trial:
        common: dict[str, Any] = {
            "number": running.number,
            "params": running.params,
            "status": running.status,
            "parent": running.parent,
            "moves": running.moves,
            "started_at": running.started_at,
            "finished_at": ended,
        }
        if running.status in (TrialStatus.FAILED, TrialStatus.TIMEOUT):
            return Trial(error=self._error(running.status), **common)
        if running.source is not None:
            source = running.source
            return Trial(
                score=source.score,
                score_std=source.score_std,
                fit_time=source.fit_time,
                cached_from=source.number,
                **{**common, "started_at": ended},
            )
        # Scores come whole rather than from folds: the spread of folds such
        # as (1e300, -1e300) is not a finite number.
        return Trial(
            score=self._score(),
            score_std=self.draws.choice((None, self.draws.real(0.0, 10.0))),
            fit_time=self.draws.choice((None, self.draws.real(0.0, 60.0))),
            **common,
        )

    def _score(self) -> float:
        if self.draws.choice((False, False, False, True)):
            return self.draws.choice(_SPECIAL_SCORES)
        return self.draws.real(-1e3, 1e3)

    def _error(self, status: TrialStatus) -> str:
        if status is TrialStatus.TIMEOUT:
            return "TrialTimeout: the evaluation ran past trial_timeout_s=10"
        text = self.draws.text()
        return self.draws.choice((f"ValueError: {text}", text or "Error"))

    def _accept(self, trial: Trial) -> Trial:
        judged = trial.status in (TrialStatus.OK, TrialStatus.CACHED)
        if not judged or trial.score is None:
            return trial
        best = self.incumbent
        if best is None or best.score is None or self._better(trial.score, best.score):
            return replace(trial, accepted=True)
        return trial

    def _better(self, score: float, than: float) -> bool:
        return score < than if self.direction == "minimize" else score > than
