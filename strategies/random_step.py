"""The default strategy: change one parameter by a random step."""

from __future__ import annotations

from typing import Any

import numpy as np

from autotune_core import Candidate, SearchState, StepStrategy
from strategies.moves import can_move, move_param

__all__ = ["RandomStep"]


class RandomStep(StepStrategy):
    """Move one parameter of the incumbent by a random step in a random direction.

    Each proposal picks one active parameter at random and changes it:
    numeric parameters by a step of about ``step_size`` of their range
    (jittered between half and one and a half times that, multiplicative on
    log scales, bouncing off the bounds), categoricals to another choice,
    booleans flipped, layer lists by adding, removing or resizing a layer.
    Whether the change is kept is the acceptance policy's decision.

    Until a first trial has been accepted, it waits while start points are
    running, and proposes a random point of the space if they all failed.

    Parameters
    ----------
    step_size
        Typical step as a fraction of a parameter's range, in ``(0, 1]``.
    max_tries
        How many moves to draw looking for a configuration not already
        evaluated or running, before proposing one that was.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"C": at.Float(low=1e-3, high=1e3, log=True)})
    >>> result = at.tune(lambda p: -abs(np.log10(p["C"]) - 1), space,
    ...                  strategy=RandomStep(step_size=0.2), max_trials=30, seed=0,
    ...                  executor="inline", run_dir=False)
    >>> result.best_trial.moves[0].param
    'C'
    """

    name = "random-step"

    def __init__(self, *, step_size: float = 0.1, max_tries: int = 20) -> None:
        if not 0 < step_size <= 1:
            raise ValueError(f"step_size must be in (0, 1], got {step_size!r}")
        if max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {max_tries!r}")
        self.step_size = float(step_size)
        self.max_tries = int(max_tries)

    def options(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "max_tries": self.max_tries}

    def propose(self, state: SearchState, rng: np.random.Generator) -> Candidate | None:
        incumbent = state.incumbent
        if incumbent is None:
            return None if state.pending else Candidate(state.space.sample(rng))
        movable = [
            name
            for name, value in incumbent.params.items()
            if can_move(state.space[name], value)
        ]
        if not movable:
            return None
        candidate = None
        for _ in range(self.max_tries):
            candidate = self._step(
                state, incumbent.number, incumbent.params, movable, rng
            )
            if not state.has_seen(candidate.params):
                break
        return candidate

    def _step(
        self,
        state: SearchState,
        parent: int,
        params: dict[str, Any],
        movable: list[str],
        rng: np.random.Generator,
    ) -> Candidate:
        name = movable[int(rng.integers(0, len(movable)))]
        move = move_param(name, state.space[name], params[name], rng, self.step_size)
        new = state.space.normalize({**params, name: move.new})
        return Candidate(new, parent=parent, moves=(move,))
