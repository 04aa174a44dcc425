"""Hypothesis strategies that generate AutoTune objects, for property tests.

The kit draws valid parameter definitions, search spaces (conditional ones
included), points inside a given space, and histories of finished trials, so
that a step strategy, an acceptance policy or a reporter can be tested on
many inputs in a few lines.

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

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

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
    "KINDS",
    "choice_values",
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
