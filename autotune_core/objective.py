"""Objectives: what a trial evaluates.

Any callable ``params -> float`` works (sync or ``async``); it may instead
return an :class:`~autotune_core.Evaluation` with per-fold scores and fit
times. :class:`SklearnObjective` cross-validates a scikit-learn estimator.
"""

from __future__ import annotations

import difflib
import inspect
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from autotune_core.exceptions import ConfigError, ParameterNameError
from autotune_core.racing import Racing
from autotune_core.space import SearchSpace
from autotune_core.trial import Evaluation, TrialContext, TrialStatus

__all__ = [
    "ObjectiveFn",
    "Outcome",
    "SklearnObjective",
    "describe_objective",
    "is_async_objective",
    "run_objective",
    "run_objective_async",
]

ObjectiveFn: TypeAlias = Callable[[dict[str, Any]], Any]
"""A callable taking a configuration and returning a float or an Evaluation."""

_MAX_WARNINGS = 3


@dataclass(slots=True)
class Outcome:
    """The result of running an objective once, as executors hand it back.

    Internal (executors to the tuner, which copies what it keeps into a
    frozen :class:`Trial`), so not frozen: a frozen dataclass costs several
    times more to build, and one is built per trial.
    """

    status: TrialStatus
    evaluation: Evaluation | None
    error: str | None
    started_at: float
    finished_at: float


def run_objective(
    objective: ObjectiveFn,
    params: dict[str, Any],
    context: TrialContext | None = None,
) -> Outcome:
    """Call a sync objective; an exception or a non-finite score is a failed outcome.

    Objectives with ``accepts_context = True`` also receive ``context``.
    """
    started = time.time()
    try:
        if context is not None and getattr(objective, "accepts_context", False):
            result = objective(params, context)  # type: ignore[call-arg]
        else:
            result = objective(params)
        evaluation = as_evaluation(result)
    except Exception as exc:
        return _failed(exc, started)
    return _checked(evaluation, started)


async def run_objective_async(
    objective: ObjectiveFn,
    params: dict[str, Any],
    context: TrialContext | None = None,
) -> Outcome:
    """Await an async objective, with the same rules as :func:`run_objective`."""
    started = time.time()
    try:
        if context is not None and getattr(objective, "accepts_context", False):
            result = await objective(params, context)  # type: ignore[call-arg]
        else:
            result = await objective(params)
        evaluation = as_evaluation(result)
    except Exception as exc:
        return _failed(exc, started)
    return _checked(evaluation, started)


def as_evaluation(result: object) -> Evaluation:
    """An objective's return value as an :class:`Evaluation`.

    An awaitable (a sync callable that returned a coroutine) is closed, so
    that it never warns of not being awaited, and refused.
    """
    if type(result) is float:  # the common case, first
        return Evaluation(score=result)
    if isinstance(result, Evaluation):
        return result
    if inspect.isawaitable(result):
        _close(result)
        raise TypeError(
            f"the objective returned an awaitable ({type(result).__name__}), not a "
            "number or an Evaluation; define it with `async def` so that it is "
            "awaited (executor='inline' or 'auto')"
        )
    if isinstance(result, bool) or not isinstance(result, int | float | np.number):
        raise TypeError(
            f"the objective must return a number or an Evaluation, "
            f"got {type(result).__name__}: {result!r}"
        )
    return Evaluation(score=float(result))


def _close(awaitable: object) -> None:
    """Close a coroutine that will never be awaited."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


def _checked(evaluation: Evaluation, started: float) -> Outcome:
    if not math.isfinite(evaluation.score):
        error = f"NonFiniteScore: the objective returned score={evaluation.score!r}"
        return Outcome(TrialStatus.FAILED, evaluation, error, started, time.time())
    status = TrialStatus.PRUNED if evaluation.pruned else TrialStatus.OK
    return Outcome(status, evaluation, None, started, time.time())


def _failed(exc: BaseException, started: float) -> Outcome:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return Outcome(TrialStatus.FAILED, None, error, started, time.time())


def is_async_objective(objective: object) -> bool:
    """Whether calling ``objective`` returns an awaitable."""
    call = getattr(objective, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(objective) or inspect.iscoroutinefunction(call)


def describe_objective(objective: object) -> str:
    """A short name for logs and run-folder names."""
    describe = getattr(objective, "describe", None)
    if callable(describe):
        return str(describe())
    name = getattr(objective, "__qualname__", None) or type(objective).__name__
    return str(name).replace("<", "").replace(">", "")


class SklearnObjective:
    """Cross-validated score of a scikit-learn estimator, the same folds every trial.

    Parameters
    ----------
    estimator
        Any scikit-learn estimator or pipeline; it is cloned for every fit
        and never modified.
    X, y
        Training data.
    cv
        Anything :func:`sklearn.model_selection.check_cv` accepts. The splits
        are drawn once, here, so every trial is scored on the same folds
        (a shuffling splitter without ``random_state`` included).
    scoring
        A scorer name, a callable, or several (a list or dict) for
        multi-metric scoring; ``None`` uses the estimator's ``score``. A
        callable may return a dict of several metrics, as in scikit-learn.
    metric
        With several scorers, or a callable returning several metrics, the
        one that guides the search; by default the first (for a callable,
        the first key of the dict it returns). The others are recorded in
        ``Trial.metrics``.
    groups
        Group labels for group-aware splitters.
    fit_params
        Extra keyword arguments for ``fit`` (sample weights, ...).
    racing
        A :class:`Racing` configuration, or ``True`` for the default one:
        fit the folds one at a time and stop a candidate, recorded as
        ``pruned`` with the folds it ran, once its scores on the first folds
        show that it cannot beat the incumbent's on the same folds by more
        than ``min_improvement``. Candidates run every fold while there is
        no incumbent, or when the incumbent has another number of folds.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> objective = SklearnObjective(LogisticRegression(max_iter=500), X, y, cv=3)
    >>> round(objective({"C": 1.0}).score, 3)
    0.973

    With racing, a hopeless candidate stops after ``min_folds`` folds:

    >>> from autotune_core import TrialContext
    >>> racing = SklearnObjective(LogisticRegression(max_iter=500), X, y, cv=5,
    ...                           racing=Racing(min_folds=2))
    >>> incumbent = racing({"C": 1.0})
    >>> context = TrialContext(1, incumbent_fold_scores=incumbent.fold_scores)
    >>> candidate = racing({"C": 1e-4}, context)
    >>> candidate.pruned, len(candidate.fold_scores)
    (True, 2)
    """

    direction = "maximize"
    accepts_context = False

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: Any = None,
        *,
        cv: Any = 5,
        scoring: Any = None,
        metric: str | None = None,
        groups: Any = None,
        fit_params: Mapping[str, Any] | None = None,
        racing: Racing | bool | None = None,
    ) -> None:
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv

        if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
            raise ConfigError(f"estimator {estimator!r} has no fit/get_params methods")
        self.estimator = estimator
        self.X = X
        self.y = y
        self.scoring = scoring
        self.groups = groups
        self.fit_params = dict(fit_params or {})
        self.metric = self._primary_metric(scoring, metric)
        self.racing = _as_racing(racing)
        self.accepts_context = self.racing is not None
        try:
            splitter = check_cv(cv, y, classifier=is_classifier(estimator))
            self.splits: list[tuple[np.ndarray, np.ndarray]] = list(
                splitter.split(X, y, groups)
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"cv={cv!r} cannot split the data: {exc}") from None

    @staticmethod
    def _primary_metric(scoring: Any, metric: str | None) -> str | None:
        """The guiding metric; ``None`` for the first a callable scorer returns."""
        if callable(scoring):
            return metric

        several = isinstance(scoring, Sequence) and not isinstance(scoring, str)
        if several or isinstance(scoring, Mapping):
            names = list(scoring)
        else:
            if metric is not None:
                raise ConfigError(
                    f"metric={metric!r} needs several scorers in scoring= (a list, "
                    "a dict, or a callable returning a dict of metrics)"
                )
            return "score"
        if not names:
            raise ConfigError("scoring= must name at least one scorer")
        if metric is None:
            return str(names[0])
        if metric not in names:
            raise ConfigError(f"metric={metric!r} must be one of the scorers {names!r}")
        return metric

    @property
    def n_splits(self) -> int:
        """Number of cross-validation folds."""
        return len(self.splits)

    def describe(self) -> str:
        """The estimator's class name (the last step's, for a pipeline)."""
        est = self.estimator
        steps = getattr(est, "steps", None)
        if steps:
            est = steps[-1][1]
        return type(est).__name__

    def _guide(self, scores: Mapping[str, Any]) -> str:
        """The name of the metric that guides the search, among ``scores``."""
        if self.metric is None:
            return next(iter(scores))

        if self.metric not in scores:
            raise ConfigError(
                f"metric={self.metric!r} is not among the metrics the scorer "
                f"returned: {list(scores)!r}"
            )
        return self.metric

    def check_space(self, space: SearchSpace) -> None:
        """Raise :class:`ParameterNameError` for a space name the estimator lacks."""
        known = set(self.estimator.get_params(deep=True))
        for name in space.names:
            if name not in known:
                raise ParameterNameError(
                    _unknown_name_message(name, known, self.describe())
                )

    def __call__(
        self, params: dict[str, Any], context: TrialContext | None = None
    ) -> Evaluation:
        """Cross-validate the estimator with ``params`` set.

        With racing and a ``context`` naming an incumbent, the folds run one
        at a time and may stop early (see :class:`Racing`).
        """
        from sklearn.base import clone

        estimator = clone(self.estimator).set_params(**params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if context is not None and self._races(context):
                results, pruned = self._race(estimator, context)
            else:
                results, pruned = [self._cross_validate(estimator, self.splits)], False
        return self._evaluation(results, caught, pruned=pruned)

    def _races(self, context: TrialContext) -> bool:
        """Whether this evaluation races: racing on, and a comparable incumbent."""
        return (
            self.racing is not None
            and len(context.incumbent_fold_scores) == self.n_splits
        )

    def _race(
        self, estimator: Any, context: TrialContext
    ) -> tuple[list[dict[str, Any]], bool]:
        """Fit fold by fold until done or hopeless; results, and whether stopped."""
        assert self.racing is not None
        results: list[dict[str, Any]] = []
        scores: list[float] = []
        for split in self.splits[:-1]:
            results.append(self._cross_validate(estimator, [split]))
            fold = _test_scores(results[-1])
            scores.extend(np.asarray(fold[self._guide(fold)]).tolist())
            if self.racing.should_stop(
                scores,
                context.incumbent_fold_scores,
                direction=context.direction,
                min_improvement=context.min_improvement,
            ):
                return results, True

        results.append(self._cross_validate(estimator, self.splits[-1:]))
        return results, False

    def _cross_validate(
        self, estimator: Any, splits: list[tuple[np.ndarray, np.ndarray]]
    ) -> dict[str, Any]:
        """scikit-learn's ``cross_validate`` on the given splits."""
        from sklearn.model_selection import cross_validate

        return cross_validate(  # type: ignore[no-any-return]
            estimator,
            self.X,
            self.y,
            groups=self.groups,
            cv=splits,
            scoring=self.scoring,
            error_score="raise",
            params=self.fit_params or None,
        )

    def _evaluation(
        self,
        results: Sequence[dict[str, Any]],
        caught: Sequence[warnings.WarningMessage],
        *,
        pruned: bool,
    ) -> Evaluation:
        """One Evaluation from the results of one or more ``cross_validate`` calls."""
        merged = {
            key: np.concatenate([np.asarray(r[key]) for r in results])
            for key in results[0]
        }
        scores = _test_scores(merged)
        guide = self._guide(scores)
        metrics = {k: float(np.mean(v)) for k, v in scores.items() if k != guide}
        return Evaluation.from_folds(
            scores[guide].tolist(),
            fit_times=merged["fit_time"].tolist(),
            score_times=merged["score_time"].tolist(),
            metrics=metrics,
            warnings=_summarise(caught),
            pruned=pruned,
        )


def _test_scores(result: Mapping[str, Any]) -> dict[str, Any]:
    """The per-fold scores in a ``cross_validate`` result, by metric name."""
    return {
        key.removeprefix("test_"): values
        for key, values in result.items()
        if key.startswith("test_")
    }


def _as_racing(racing: Racing | bool | None) -> Racing | None:
    if racing is True:
        return Racing()
    if racing is None or racing is False:
        return None
    if not isinstance(racing, Racing):
        raise ConfigError(
            f"racing= must be a Racing, True or False, got "
            f"{type(racing).__name__}: {racing!r}"
        )
    return racing


def _unknown_name_message(name: str, known: set[str], estimator: str) -> str:
    suffix = [k for k in known if k.endswith(f"__{name}")]
    close = suffix or difflib.get_close_matches(name, known, n=3)
    hint = (
        f"; did you mean {', '.join(repr(c) for c in sorted(close))}?" if close else ""
    )
    return f"search-space parameter {name!r} is not a parameter of {estimator}{hint}"


def _summarise(caught: Sequence[warnings.WarningMessage]) -> tuple[str, ...]:
    unique: dict[str, None] = {}
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:200]}"
        unique.setdefault(text)
    return tuple(unique)[:_MAX_WARNINGS]
