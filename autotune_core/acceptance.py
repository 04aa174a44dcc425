"""Acceptance policies: whether a finished candidate becomes the incumbent."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from autotune_core.state import SearchState
from autotune_core.trial import Trial

__all__ = ["AcceptancePolicy", "ImprovementThreshold", "NoiseAware", "TimePenalized"]


class AcceptancePolicy(ABC):
    """Decides whether a finished trial replaces the incumbent.

    The engine calls :meth:`accept` once per trial with status ``ok``, as it
    finishes, with the incumbent *at that moment*: a candidate proposed from
    an older incumbent is judged against the current one. Trials that did
    not produce a score are never accepted.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def accept(self, trial: Trial, incumbent: Trial | None, state: SearchState) -> bool:
        """Whether ``trial`` should become the incumbent."""

    def options(self) -> dict[str, Any]:
        """Constructor options, recorded with the run."""
        return {}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"


class ImprovementThreshold(AcceptancePolicy):
    """Accept when the score beats the incumbent's by more than a margin.

    Parameters
    ----------
    min_improvement
        The margin, in score units. ``None`` (the default) uses the run's
        ``RunConfig.min_improvement``. The first scored trial is always
        accepted.

    Examples
    --------
    >>> ImprovementThreshold(min_improvement=0.01)
    ImprovementThreshold(min_improvement=0.01)
    """

    name = "threshold"

    def __init__(self, *, min_improvement: float | None = None) -> None:
        if min_improvement is not None and not min_improvement >= 0:
            raise ValueError(f"min_improvement must be >= 0, got {min_improvement!r}")
        self.min_improvement = min_improvement

    def options(self) -> dict[str, Any]:
        return (
            {}
            if self.min_improvement is None
            else {"min_improvement": self.min_improvement}
        )

    def accept(self, trial: Trial, incumbent: Trial | None, state: SearchState) -> bool:
        if trial.score is None:
            return False
        if incumbent is None or incumbent.score is None:
            return True
        margin = (
            state.config.min_improvement
            if self.min_improvement is None
            else self.min_improvement
        )
        return state.config.gain(trial.score, incumbent.score) > margin


def _margin(policy_margin: float | None, state: SearchState) -> float:
    """The policy's own margin, or the run's ``min_improvement``."""
    return state.config.min_improvement if policy_margin is None else policy_margin


def _check_margin(min_improvement: float | None) -> float | None:
    if min_improvement is not None and not (
        math.isfinite(min_improvement) and min_improvement >= 0
    ):
        raise ValueError(
            f"min_improvement must be None or a finite number >= 0, "
            f"got {min_improvement!r}"
        )
    return min_improvement


def _check_number(name: str, value: float, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not (math.isfinite(value) and value >= minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value!r}")
    return float(value)


class TimePenalized(AcceptancePolicy):
    """Accept improvements, with fit time as a limit, a tie-break and a cost.

    A candidate is judged in three steps:

    1. rejected if its mean fit time exceeds ``max_fit_time`` seconds, even
       if its score is better;
    2. accepted if its score, less ``time_weight`` times how many seconds
       slower it fits than the incumbent, beats the incumbent's by more than
       the margin (``min_improvement``, by default the run's);
    3. otherwise accepted if its score is within ``tolerance`` of the
       incumbent's and it fits at least ``min_speedup`` (a fraction) faster:
       of two models that score about the same, keep the faster one.

    Trials without a fit time (plain callables that report none) are judged
    on their score alone. The first scored trial within the limit is
    accepted. Because step 3 may accept a score up to ``tolerance`` lower,
    a run can trade a little score for a lot of speed; each such step makes
    the incumbent at least ``min_speedup`` faster, which bounds how often it
    can happen.

    Parameters
    ----------
    max_fit_time
        Largest mean fit time (seconds per fold) a candidate may have;
        ``None`` for no limit.
    tolerance
        Scores closer than this (absolute, in score units) count as equal,
        and the faster model wins; ``0`` turns the tie-break off.
    min_speedup
        How much faster (fraction of the incumbent's fit time, in ``[0, 1)``)
        a model must be to win a tie.
    time_weight
        Score units one second of extra fit time costs; ``0`` (default)
        ignores fit time in the comparison.
    min_improvement
        The margin; ``None`` uses the run's ``RunConfig.min_improvement``.

    Examples
    --------
    >>> TimePenalized(max_fit_time=2.0, tolerance=0.005)
    TimePenalized(max_fit_time=2.0, tolerance=0.005, min_speedup=0.1)
    """

    name = "time-penalized"

    def __init__(
        self,
        *,
        max_fit_time: float | None = None,
        tolerance: float = 0.0,
        min_speedup: float = 0.1,
        time_weight: float = 0.0,
        min_improvement: float | None = None,
    ) -> None:
        if max_fit_time is not None:
            max_fit_time = _check_number("max_fit_time", max_fit_time)
        self.max_fit_time = max_fit_time
        self.tolerance = _check_number("tolerance", tolerance)
        self.min_speedup = _check_number("min_speedup", min_speedup)
        if self.min_speedup >= 1:
            raise ValueError(f"min_speedup must be in [0, 1), got {min_speedup!r}")
        self.time_weight = _check_number("time_weight", time_weight)
        self.min_improvement = _check_margin(min_improvement)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_fit_time": self.max_fit_time,
            "tolerance": self.tolerance,
            "min_speedup": self.min_speedup,
            "time_weight": self.time_weight,
            "min_improvement": self.min_improvement,
        }
        defaults = {"max_fit_time": None, "time_weight": 0.0, "min_improvement": None}
        return {
            k: v for k, v in options.items() if k not in defaults or v != defaults[k]
        }

    def accept(self, trial: Trial, incumbent: Trial | None, state: SearchState) -> bool:
        if trial.score is None or self.too_slow(trial):
            return False
        if incumbent is None or incumbent.score is None:
            return True
        gain = state.config.gain(trial.score, incumbent.score)
        slower = _slower_by(trial, incumbent)
        if self.time_weight and slower is not None:
            gain -= self.time_weight * slower
        if gain > _margin(self.min_improvement, state):
            return True
        return self._wins_tie(trial, incumbent)

    def too_slow(self, trial: Trial) -> bool:
        """Whether ``trial``'s mean fit time exceeds ``max_fit_time``."""
        limit, fit_time = self.max_fit_time, trial.fit_time
        return limit is not None and fit_time is not None and fit_time > limit

    def _wins_tie(self, trial: Trial, incumbent: Trial) -> bool:
        """Close enough in score, and clearly faster."""
        if not self.tolerance or trial.fit_time is None or incumbent.fit_time is None:
            return False
        assert trial.score is not None and incumbent.score is not None
        close = abs(trial.score - incumbent.score) < self.tolerance
        return close and trial.fit_time <= (1 - self.min_speedup) * incumbent.fit_time


def _slower_by(trial: Trial, incumbent: Trial) -> float | None:
    """Seconds more ``trial`` takes to fit than ``incumbent``, if both are known."""
    if trial.fit_time is None or incumbent.fit_time is None:
        return None
    return trial.fit_time - incumbent.fit_time


class NoiseAware(AcceptancePolicy):
    """Accept only improvements that clear the noise of cross-validation.

    The candidate's fold scores are paired with the incumbent's, fold by
    fold (they must come from the same folds, as
    :class:`~autotune_core.SklearnObjective` guarantees), and the candidate
    is accepted when the mean paired improvement, less the margin, exceeds
    ``z`` standard errors of that mean::

        d_i = candidate_i - incumbent_i      (sign flipped when minimising)
        accept if mean(d) - min_improvement > z * std(d, ddof=1) / sqrt(k)

    Pairing removes the variation that comes from the folds themselves (an
    easy fold is easy for both models), so a real improvement is recognised
    with far fewer folds than comparing two means would need. When the
    fold scores cannot be paired (fewer than two, or not as many as the
    incumbent's) the policy falls back to the plain threshold on the mean.
    The first scored trial is accepted.

    Parameters
    ----------
    z
        How many standard errors the improvement must clear: ``2`` is about
        a one-sided 2 % false acceptance rate under normal noise; ``0``
        accepts any positive mean improvement beyond the margin.
    min_improvement
        The margin; ``None`` uses the run's ``RunConfig.min_improvement``.

    Examples
    --------
    >>> NoiseAware(z=1.5)
    NoiseAware(z=1.5)
    """

    name = "noise-aware"

    def __init__(self, *, z: float = 2.0, min_improvement: float | None = None) -> None:
        self.z = _check_number("z", z)
        self.min_improvement = _check_margin(min_improvement)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"z": self.z}
        if self.min_improvement is not None:
            options["min_improvement"] = self.min_improvement
        return options

    def accept(self, trial: Trial, incumbent: Trial | None, state: SearchState) -> bool:
        if trial.score is None:
            return False
        if incumbent is None or incumbent.score is None:
            return True
        margin = _margin(self.min_improvement, state)
        folds, reference = trial.fold_scores, incumbent.fold_scores
        if len(folds) < 2 or len(folds) != len(reference):
            return state.config.gain(trial.score, incumbent.score) > margin
        diffs = [state.config.gain(a, b) for a, b in zip(folds, reference, strict=True)]
        mean, error = _mean_and_error(diffs)
        return mean - margin > self.z * error


def _mean_and_error(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation)."""
    k = len(values)
    mean = math.fsum(values) / k
    variance = math.fsum((v - mean) ** 2 for v in values) / (k - 1)
    return mean, math.sqrt(variance / k)
