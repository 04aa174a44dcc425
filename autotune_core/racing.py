"""Racing: stop a candidate's cross-validation once it cannot beat the incumbent.

Most candidates a step strategy proposes are worse than the incumbent, and
each costs a full cross-validation. With racing, a
:class:`~autotune_core.SklearnObjective` fits the folds one at a time, in
the same order as for every trial, and after each fold compares the
candidate's scores with the incumbent's on the same folds. Once a candidate
cannot plausibly beat the incumbent by more than ``min_improvement`` over
all folds, the rest of its folds are skipped and the trial is recorded as
``pruned``, with the folds it ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, StrictInt

__all__ = ["Racing"]

_EQUAL = 1e-9  # gains closer than this (relative) count as equal


class Racing(BaseModel):
    """When a candidate's cross-validation may stop early.

    After ``k`` of ``n`` folds the candidate's paired gains over the
    incumbent, ``d_i`` (its fold score minus the incumbent's on the same
    fold, negated when minimising), have mean ``m`` and sample standard
    deviation ``s``. The gain the acceptance policy will judge is the mean
    over all ``n`` folds; its one-sided Student-t prediction bound is::

        m + t(confidence, k - 1) * s * sqrt((n - k) / (n * k))

    (the last factor because ``k`` of the ``n`` folds are already known).
    The evaluation stops when that bound is at most ``min_improvement``.
    Under the bound's model (normal noise in the paired gains), each stop
    has at most a ``1 - confidence`` chance of discarding a candidate that
    would have cleared the threshold; candidates near the threshold carry
    that risk, clearly better ones almost none. ``docs/benchmarks.md``
    gives the rates measured on real tasks.

    Parameters
    ----------
    min_folds
        Folds every candidate runs before it may be stopped; at least 2,
        since a spread needs two. More folds stop later and more safely.
    confidence
        One-sided confidence of the bound, in ``(0.5, 1)``. Higher values
        stop fewer candidates, and wrongly fewer still.

    Notes
    -----
    Racing assumes that acceptance needs a score gain of more than
    ``RunConfig.min_improvement`` over the incumbent, as the default
    ``threshold`` policy does (stricter policies, such as noise-aware
    acceptance, are fine). A policy that may accept a candidate whose score
    is no better (one preferring faster models within a tolerance, for
    instance) can lose such candidates to racing.

    Scores on small test folds are coarse (an accuracy moves in steps of one
    sample), so the first folds' paired gains are often all equal, zero
    most of all. Equal gains say nothing about the noise, so the bound is
    then infinite: the candidate is not stopped while its gains stay equal,
    whatever their mean. A change that leaves the model as it was runs
    every fold.

    Examples
    --------
    >>> racing = Racing(min_folds=2)
    >>> racing.should_stop([0.70, 0.72], [0.90, 0.91, 0.89, 0.90, 0.92])
    True
    >>> racing.should_stop([0.90, 0.93], [0.90, 0.91, 0.89, 0.90, 0.92])
    False
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_folds: StrictInt = Field(default=2, ge=2)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)

    def should_stop(
        self,
        candidate: Sequence[float],
        incumbent: Sequence[float],
        *,
        direction: str = "maximize",
        min_improvement: float = 0.0,
    ) -> bool:
        """Whether ``candidate``'s first folds show it cannot beat ``incumbent``.

        ``candidate`` holds the scores of the folds run so far, ``incumbent``
        the incumbent's scores on all folds, in the same order.
        """
        k, n = len(candidate), len(incumbent)
        if k < self.min_folds or k >= n:
            return False

        sign = 1.0 if direction == "maximize" else -1.0
        gains = [sign * (c - i) for c, i in zip(candidate, incumbent, strict=False)]
        return self.upper_bound(gains, n) <= min_improvement

    def upper_bound(self, gains: Sequence[float], n_folds: int) -> float:
        """Upper prediction bound of the mean gain over ``n_folds`` folds."""
        k = len(gains)
        mean = math.fsum(gains) / k
        spread = math.sqrt(math.fsum((g - mean) ** 2 for g in gains) / (k - 1))
        if spread <= _EQUAL * max(abs(g) for g in gains):
            return math.inf  # equal gains (up to rounding): no measure of the noise
        remaining = math.sqrt((n_folds - k) / (n_folds * k))
        return mean + _t_quantile(self.confidence, k - 1) * spread * remaining


@lru_cache(maxsize=256)
def _t_quantile(confidence: float, df: int) -> float:
    """Student-t quantile (scipy.special, which scikit-learn already needs)."""
    from scipy.special import stdtrit

    return float(stdtrit(df, confidence))
