"""Acceptance policies: whether a finished candidate becomes the incumbent."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from autotune_core.state import SearchState
from autotune_core.trial import Trial

__all__ = ["AcceptancePolicy", "ImprovementThreshold"]


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
