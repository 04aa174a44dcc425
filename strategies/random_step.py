"""The default strategy: change one parameter by a random step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autotune_core import (
    Candidate,
    Float,
    Int,
    Move,
    SearchSpace,
    SearchState,
    StepStrategy,
    Trial,
)
from strategies._steps import pick
from strategies.bias import DirectionBias
from strategies.layers import DEFAULT_LAYER_RULE, check_layer_rule
from strategies.moves import draw_move, movable_names

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
    layer_rule
        Width of a layer added to a :class:`~autotune_core.Layers` value:
        one of :data:`strategies.layers.LAYER_RULES` (``"copy"`` copies a
        neighbour; ``"adj_max"`` takes the wider neighbour, ...).
    bias
        Lean the choice of parameter and direction toward what improved the
        score (see :class:`~strategies.DirectionBias`, which also guarantees
        that every active parameter is still moved regularly): ``True``, a
        mapping of its options, or ``False`` (the default) for uniform
        choices.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"C": at.Float(low=1e-3, high=1e3, log=True)})
    >>> result = at.tune(lambda p: -abs(np.log10(p["C"]) - 1), space,
    ...                  strategy=RandomStep(step_size=0.2), max_trials=30, seed=0,
    ...                  executor="inline", run_dir=False)
    >>> result.best_trial.moves[0].param
    'C'
    >>> RandomStep(layer_rule="adj_max", bias={"coverage": 3.0})  # doctest: +ELLIPSIS
    RandomStep(step_size=0.1, max_tries=20, layer_rule='adj_max', bias={...})
    """

    name = "random-step"

    def __init__(
        self,
        *,
        step_size: float = 0.1,
        max_tries: int = 20,
        layer_rule: str = DEFAULT_LAYER_RULE,
        bias: bool | Mapping[str, Any] | DirectionBias = False,
    ) -> None:
        if not 0 < step_size <= 1:
            raise ValueError(f"step_size must be in (0, 1], got {step_size!r}")
        if max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {max_tries!r}")
        self.step_size = float(step_size)
        self.max_tries = int(max_tries)
        self.layer_rule = check_layer_rule(layer_rule, owner="RandomStep")
        self.bias = DirectionBias.from_option(bias)
        # Not state: a function of the space and the incumbent, recomputed
        # whenever either is another object.
        self._movable_cache: tuple[SearchSpace, Trial, list[str]] | None = None

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "step_size": self.step_size,
            "max_tries": self.max_tries,
        }
        if self.layer_rule != DEFAULT_LAYER_RULE:
            options["layer_rule"] = self.layer_rule
        if self.bias is not None:
            options["bias"] = self.bias.options()
        return options

    def propose(self, state: SearchState, rng: np.random.Generator) -> Candidate | None:
        incumbent = state.incumbent
        if incumbent is None:
            return None if state.pending else Candidate(state.space.sample(rng))
        movable = self._movable(state.space, incumbent)
        if not movable:
            return None
        params, name, kind = self._step(state, incumbent, movable, rng)
        for _ in range(self.max_tries - 1):
            if not state.has_seen(params):
                break
            params, name, kind = self._step(state, incumbent, movable, rng)
        if self.bias is not None:
            self.bias.record(movable, [name])
        move = Move(name, kind, incumbent.params[name], params[name])
        return Candidate(params, parent=incumbent.number, moves=(move,))

    def _step(
        self,
        state: SearchState,
        incumbent: Trial,
        movable: list[str],
        rng: np.random.Generator,
    ) -> tuple[dict[str, Any], str, str]:
        """One move from the incumbent: the new configuration, what moved and how."""
        name, direction = self._choose(state.space, movable, rng)
        params = incumbent.params
        kind, value = draw_move(
            name,
            state.space[name],
            params[name],
            rng,
            self.step_size,
            layer_rule=self.layer_rule,
            direction=direction,
        )
        space = state.space
        new = {**params, name: value}
        if space.conditions:  # the move may switch other parameters on or off
            new = space.normalize(new)
        return new, name, kind

    def _movable(self, space: SearchSpace, incumbent: Trial) -> list[str]:
        """:func:`movable_names` of the incumbent, kept while it stays the same."""
        cached = self._movable_cache
        if cached is not None and cached[0] is space and cached[1] is incumbent:
            return cached[2]
        movable = movable_names(space, incumbent.params)
        self._movable_cache = (space, incumbent, movable)
        return movable

    def _choose(
        self, space: SearchSpace, movable: list[str], rng: np.random.Generator
    ) -> tuple[str, int | None]:
        """The parameter to move and, with a bias, the direction of a numeric one."""
        if self.bias is None:
            return movable[pick(rng, len(movable))], None

        (name,) = self.bias.choose(space, movable, rng)
        numeric = isinstance(space[name], Float | Int)
        return name, self.bias.direction(name, rng) if numeric else None

    def tell(self, trial: Trial, state: SearchState) -> None:
        if self.bias is not None:
            self.bias.learn(trial)

    def snapshot(self) -> dict[str, Any]:
        return {} if self.bias is None else {"bias": self.bias.snapshot()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        if self.bias is not None and "bias" in snapshot:
            self.bias.restore(snapshot["bias"])
