"""Move several parameters per step, each with its own adaptive step size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autotune_core import (
    Candidate,
    Float,
    Int,
    Layers,
    Move,
    SearchSpace,
    SearchState,
    StepStrategy,
    Trial,
    TrialStatus,
)
from strategies.bias import DirectionBias
from strategies.layers import DEFAULT_LAYER_RULE, check_layer_rule
from strategies.moves import movable_names, move_param

__all__ = ["MultiParamMove"]

_SCALED = (Float, Int, Layers)


class MultiParamMove(StepStrategy):
    """Move a few promising parameters at once, with a step size per parameter.

    Each proposal moves ``n_params`` active parameters of the incumbent (fewer
    if fewer can move). With ``bias`` on (the default) they are chosen and
    their direction set by a :class:`~strategies.DirectionBias`: parameters
    whose moves were accepted are likelier, and numeric ones lean toward the
    direction that helped, while every active parameter is still moved at
    least once in every ``bias.window(space)`` proposals.

    Each numeric or layer-list parameter has its own step scale, a fraction
    of its range that starts at ``step_size``: it is multiplied by ``grow``
    when a step that moved it is accepted and by ``shrink`` when such a step
    is rejected or fails, within ``[min_step, max_step]``. The defaults
    (1.5 and 0.9) hold the scale steady when about one step in five is
    accepted, the classic one-fifth rule of evolution strategies.

    A move that would deactivate a parameter moved earlier in the same step
    (switching a condition's parent, for example) is left out of that step.

    Parameters
    ----------
    n_params
        Parameters moved per step.
    step_size
        Initial step scale, as a fraction of a parameter's range.
    grow, shrink
        Factors applied to a parameter's step scale after an accepted
        (``grow >= 1``) or a rejected (``0 < shrink <= 1``) step that moved it.
    min_step, max_step
        Bounds of every step scale, with
        ``0 < min_step <= step_size <= max_step <= 1``.
    max_tries
        Steps drawn looking for a configuration not yet evaluated.
    layer_rule
        Width of an added layer (see :data:`strategies.layers.LAYER_RULES`).
    bias
        ``True`` (default), a mapping of :class:`~strategies.DirectionBias`
        options, or ``False`` for uniform choices of parameter and direction.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace(
    ...     {f"x{i}": at.Float(low=-2, high=2) for i in range(4)}
    ... )
    >>> result = at.tune(
    ...     lambda p: -sum((v - 1) ** 2 for v in p.values()), space,
    ...     strategy=MultiParamMove(n_params=2), max_trials=60, seed=0,
    ...     executor="inline", run_dir=False)
    >>> [len(t.moves) for t in result.trials[1:4]]
    [2, 2, 2]
    """

    name = "multi-param"

    def __init__(
        self,
        *,
        n_params: int = 2,
        step_size: float = 0.1,
        grow: float = 1.5,
        shrink: float = 0.9,
        min_step: float = 0.005,
        max_step: float = 0.5,
        max_tries: int = 20,
        layer_rule: str = DEFAULT_LAYER_RULE,
        bias: bool | Mapping[str, Any] | DirectionBias = True,
    ) -> None:
        _check_options(n_params, step_size, grow, shrink, min_step, max_step)
        if max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {max_tries!r}")
        self.n_params = int(n_params)
        self.step_size = float(step_size)
        self.grow = float(grow)
        self.shrink = float(shrink)
        self.min_step = float(min_step)
        self.max_step = float(max_step)
        self.max_tries = int(max_tries)
        self.layer_rule = check_layer_rule(layer_rule, owner="MultiParamMove")
        self.bias = DirectionBias.from_option(bias)
        self._scales: dict[str, float] = {}

    def options(self) -> dict[str, Any]:
        return {
            "n_params": self.n_params,
            "step_size": self.step_size,
            "grow": self.grow,
            "shrink": self.shrink,
            "min_step": self.min_step,
            "max_step": self.max_step,
            "max_tries": self.max_tries,
            "layer_rule": self.layer_rule,
            "bias": False if self.bias is None else self.bias.options(),
        }

    def scale(self, name: str) -> float:
        """The current step scale of parameter ``name``."""
        return self._scales.get(name, self.step_size)

    # -- proposing ---------------------------------------------------------------

    def propose(self, state: SearchState, rng: np.random.Generator) -> Candidate | None:
        incumbent = state.incumbent
        if incumbent is None:
            return None if state.pending else Candidate(state.space.sample(rng))
        movable = movable_names(state.space, incumbent.params)
        if not movable:
            return None
        candidate = self._step(state.space, incumbent, movable, rng)
        for _ in range(self.max_tries - 1):
            if not state.has_seen(candidate.params):
                break
            candidate = self._step(state.space, incumbent, movable, rng)
        if self.bias is not None:
            self.bias.record(movable, [move.param for move in candidate.moves])
        return candidate

    def _step(
        self,
        space: SearchSpace,
        incumbent: Trial,
        movable: list[str],
        rng: np.random.Generator,
    ) -> Candidate:
        params = dict(incumbent.params)
        moves: list[Move] = []
        for name in self._choose(space, movable, rng):
            move = self._move(space, name, params[name], rng)
            trial_params = space.normalize({**params, name: move.new})
            if all(m.param in trial_params for m in (*moves, move)):
                params[name] = move.new
                moves.append(move)
        new = space.normalize(params)
        ordered = sorted(moves, key=lambda m: space.names.index(m.param))
        return Candidate(new, parent=incumbent.number, moves=tuple(ordered))

    def _choose(
        self, space: SearchSpace, movable: list[str], rng: np.random.Generator
    ) -> list[str]:
        k = min(self.n_params, len(movable))
        if self.bias is not None:
            return self.bias.choose(space, movable, rng, k)

        picks = rng.choice(len(movable), size=k, replace=False)
        return [movable[int(i)] for i in picks]

    def _move(
        self, space: SearchSpace, name: str, value: Any, rng: np.random.Generator
    ) -> Move:
        param = space[name]
        direction = None
        if self.bias is not None and isinstance(param, Float | Int):
            direction = self.bias.direction(name, rng)
        return move_param(
            name,
            param,
            value,
            rng,
            self.scale(name),
            layer_rule=self.layer_rule,
            direction=direction,
        )

    # -- learning ----------------------------------------------------------------

    def tell(self, trial: Trial, state: SearchState) -> None:
        if trial.parent is None or not trial.moves:
            return
        if trial.status is TrialStatus.CACHED:
            return  # a repeat: the step was judged before
        if self.bias is not None:
            self.bias.learn(trial)
        factor = self.grow if trial.accepted else self.shrink
        for move in trial.moves:
            if move.param in state.space and isinstance(
                state.space[move.param], _SCALED
            ):
                scaled = self.scale(move.param) * factor
                self._scales[move.param] = min(
                    max(scaled, self.min_step), self.max_step
                )

    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = {"scales": dict(self._scales)}
        if self.bias is not None:
            snapshot["bias"] = self.bias.snapshot()
        return snapshot

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._scales = {str(k): float(v) for k, v in snapshot["scales"].items()}
        if self.bias is not None and "bias" in snapshot:
            self.bias.restore(snapshot["bias"])


def _check_options(
    n_params: int,
    step_size: float,
    grow: float,
    shrink: float,
    min_step: float,
    max_step: float,
) -> None:
    """Raise :class:`ValueError` naming the first invalid option."""
    if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params < 1:
        raise ValueError(f"n_params must be an int >= 1, got {n_params!r}")
    if not 0 < step_size <= 1:
        raise ValueError(f"step_size must be in (0, 1], got {step_size!r}")
    if not 1 <= grow < float("inf"):
        raise ValueError(f"grow must be a finite number >= 1, got {grow!r}")
    if not 0 < shrink <= 1:
        raise ValueError(f"shrink must be in (0, 1], got {shrink!r}")
    if not 0 < min_step <= step_size <= max_step <= 1:
        raise ValueError(
            "need 0 < min_step <= step_size <= max_step <= 1, got "
            f"min_step={min_step!r}, step_size={step_size!r}, max_step={max_step!r}"
        )
