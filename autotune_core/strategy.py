"""The extension point for search methods: :class:`StepStrategy`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from autotune_core.state import SearchState
from autotune_core.trial import Batch, Candidate, Trial

__all__ = ["Proposal", "StepStrategy"]

Proposal = Candidate | Batch | None
"""What :meth:`StepStrategy.propose` returns."""


class StepStrategy(ABC):
    """Base class of step strategies: they choose what to evaluate next.

    The engine calls a strategy in this order:

    1. ``restore(snapshot)``, only when a run is resumed;
    2. ``propose(state, rng)`` whenever an evaluation slot is free. It
       returns a :class:`Candidate`, a :class:`Batch` (the engine proposes
       nothing more until the whole batch has finished) or ``None`` (nothing
       to propose now: the engine asks again when a running trial finishes,
       and ends the run if none is running);
    3. ``tell(trial, state)`` once per finished trial, in the order trials
       finish, after acceptance has been decided (``trial.accepted``) and
       the state updated;
    4. ``snapshot()`` between calls, whenever the engine records progress.

    A strategy must draw every random number from the ``rng`` it is handed,
    must not modify ``state``, and must declare in ``Candidate.moves`` each
    parameter it changed from the parent. Proposals are checked against the
    space; an invalid one stops the run with a :class:`StrategyError`.

    Subclasses set ``name`` (the registry name) and keep their constructor
    options keyword-only so that :meth:`options` can report them.

    Examples
    --------
    A strategy that samples the space at random:

    >>> class Scatter(StepStrategy):
    ...     name = "scatter"
    ...
    ...     def propose(self, state, rng):
    ...         return Candidate(state.space.sample(rng))
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def propose(
        self, state: SearchState, rng: np.random.Generator
    ) -> Candidate | Batch | None:
        """The next candidate, batch, or ``None`` (see the class docstring)."""

    def tell(self, trial: Trial, state: SearchState) -> None:  # noqa: B027
        """Learn from a finished trial. The default does nothing."""

    def options(self) -> dict[str, Any]:
        """Constructor options, recorded with the run. The default has none."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        """Learned state as JSON-ready plain data. The default has none."""
        return {}

    def restore(self, snapshot: dict[str, Any]) -> None:  # noqa: B027
        """Return to the state a :meth:`snapshot` recorded. The default does nothing."""

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({options})"
