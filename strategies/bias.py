"""Direction bias: lean toward the parameters and directions that paid off.

:class:`DirectionBias` is a small learner that step strategies
(:class:`~strategies.RandomStep`, :class:`~strategies.MultiParamMove`) consult
to choose which parameter to move and which way. It never starves a
parameter: see the class docstring for the guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autotune_core import SearchSpace, Trial, TrialStatus
from strategies.moves import can_move

__all__ = ["DirectionBias", "movable_count"]

# The probability of the favoured direction stays within [0.1, 0.9], so the
# other direction is always tried now and then.
_MAX_LEAN = 0.4
# Outcomes that say nothing about the move: a repeat, or a configuration
# judged from an earlier trial.
_SILENT = (TrialStatus.CACHED,)


def movable_count(space: SearchSpace) -> int:
    """How many parameters of ``space`` can move (a one-choice categorical cannot).

    Examples
    --------
    >>> import autotune_core as at
    >>> movable_count(at.SearchSpace({"a": at.Bool(),
    ...                               "b": at.Categorical(choices=("only",))}))
    1
    """
    return sum(can_move(param, param.default()) for _, param in space.items())


class DirectionBias:
    """Choose parameters and directions by what improved the score before.

    Each parameter has a *merit*, a running average of +1 (a move of it was
    accepted) and -1 (rejected, failed, timed out or pruned), and each
    numeric parameter a *lean*, the same average signed by direction (+1 up,
    -1 down). A parameter is chosen with probability proportional to
    ``exp(strength * merit)``; a numeric one moves up with probability
    ``0.5 + 0.4 * tanh(strength * lean)``, so both directions stay possible.
    Cached repeats teach nothing.

    **Coverage guarantee.** Let ``n`` be the number of movable parameters of
    the space and ``window = ceil(coverage * n)``. Every active, movable
    parameter is moved at least once in every ``window`` consecutive
    proposals from an incumbent during which it stays active: the bias
    counts, per parameter, the proposals since it was last moved (or became
    active), and restricts the choice to the parameters that cannot wait any
    longer whenever waiting would break the guarantee. With the default
    ``coverage=2.0`` and 5 movable parameters, each is moved at least once
    in any 10 consecutive proposals.

    Parameters
    ----------
    strength
        How strongly merit and lean tilt the choices; ``0`` chooses
        uniformly (the guarantee still holds).
    memory
        Weight of the past in the running averages, in ``[0, 1)``: ``0.8``
        means the last five or so outcomes of a parameter dominate.
    coverage
        The window of the guarantee, as a multiple (``>= 1``) of the number
        of movable parameters.

    Examples
    --------
    >>> import numpy as np
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=0, high=1), "y": at.Bool()})
    >>> bias = DirectionBias(coverage=1.5)
    >>> bias.window(space)
    3
    >>> bias.choose(space, ["x", "y"], np.random.default_rng(0))
    ['y']
    """

    def __init__(
        self, *, strength: float = 2.0, memory: float = 0.8, coverage: float = 2.0
    ) -> None:
        if not (math.isfinite(strength) and strength >= 0):
            raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
        if not 0 <= memory < 1:
            raise ValueError(f"memory must be in [0, 1), got {memory!r}")
        if not (math.isfinite(coverage) and coverage >= 1):
            raise ValueError(f"coverage must be a finite number >= 1, got {coverage!r}")
        self.strength = float(strength)
        self.memory = float(memory)
        self.coverage = float(coverage)
        self._merit: dict[str, float] = {}
        self._lean: dict[str, float] = {}
        self._idle: dict[str, int] = {}

    @classmethod
    def from_option(
        cls, option: bool | Mapping[str, Any] | DirectionBias
    ) -> DirectionBias | None:
        """A fresh bias from a strategy's ``bias=`` option, or ``None`` if off.

        ``True`` gives the defaults, a mapping gives those options, and an
        instance gives a new bias with the same options (never shared).
        """
        if option is False:
            return None
        if option is True:
            return cls()
        if isinstance(option, DirectionBias):
            return cls(**option.options())
        if isinstance(option, Mapping):
            return cls(**option)
        raise TypeError(
            "bias must be True, False, a mapping of DirectionBias options or a "
            f"DirectionBias, got {type(option).__name__}"
        )

    def options(self) -> dict[str, float]:
        """Constructor options, as plain data."""
        return {
            "strength": self.strength,
            "memory": self.memory,
            "coverage": self.coverage,
        }

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"DirectionBias({options})"

    # -- choosing --------------------------------------------------------------

    def window(self, space: SearchSpace) -> int:
        """Proposals within which every active movable parameter is moved."""
        return max(1, math.ceil(self.coverage * movable_count(space)))

    def choose(
        self,
        space: SearchSpace,
        movable: Sequence[str],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[str]:
        """Up to ``k`` distinct names of ``movable`` to move, most promising likelier.

        The first name comes from the parameters the guarantee allows now;
        the others from any. Nothing is learned or counted here: call
        :meth:`record` with what the proposal finally moved.
        """
        pool = self._allowed(space, movable)
        chosen = [self._draw(pool, rng)]
        rest = [name for name in movable if name != chosen[0]]
        while len(chosen) < k and rest:
            chosen.append(self._draw(rest, rng))
            rest.remove(chosen[-1])
        return chosen

    def direction(self, name: str, rng: np.random.Generator) -> int:
        """``+1`` (up) or ``-1`` (down) for a numeric move of ``name``."""
        lean = self._lean.get(name, 0.0)
        p_up = 0.5 + _MAX_LEAN * math.tanh(self.strength * lean)
        return 1 if rng.random() < p_up else -1

    def _draw(self, names: Sequence[str], rng: np.random.Generator) -> str:
        """One of ``names``, drawn with weights ``exp(strength * merit)``."""
        weights = [math.exp(self.strength * self._merit.get(n, 0.0)) for n in names]
        threshold = float(rng.random()) * math.fsum(weights)
        total = 0.0
        for name, weight in zip(names, weights, strict=True):
            total += weight
            if threshold < total:
                return name
        return names[-1]

    def _allowed(self, space: SearchSpace, movable: Sequence[str]) -> list[str]:
        """The names that may be moved first without breaking the guarantee.

        Sorted by proposals waited (most first, space order among equals), a
        parameter at rank ``r`` that has waited ``window - r - 1`` proposals
        is *due*: some parameter at rank ``<= r`` must move now, or it would
        wait too long. So the first move comes from the ranks up to the first
        due one. By induction every parameter keeps ``idle <= window - r - 1``,
        so none ever waits ``window`` proposals.
        """
        window = self.window(space)
        ranked = sorted(movable, key=lambda n: -self._idle.get(n, 0))
        for rank, name in enumerate(ranked):
            if self._idle.get(name, 0) >= window - rank - 1:
                return ranked[: rank + 1]
        return list(movable)

    # -- learning --------------------------------------------------------------

    def record(self, movable: Sequence[str], moved: Sequence[str]) -> None:
        """Count a proposal made from an incumbent whose movable names were ``movable``.

        Parameters not in ``movable`` (inactive now) are forgotten, and start
        counting afresh when they become active again.
        """
        moved_set = set(moved)
        self._idle = {
            name: 0 if name in moved_set else self._idle.get(name, 0) + 1
            for name in movable
        }

    def idle(self, name: str) -> int:
        """Proposals since ``name`` was last moved (or became active)."""
        return self._idle.get(name, 0)

    def learn(self, trial: Trial) -> None:
        """Update merit and lean from a finished trial's declared moves."""
        if not trial.moves or trial.status in _SILENT:
            return
        signal = 1.0 if trial.accepted else -1.0
        keep, new = self.memory, 1.0 - self.memory
        for move in trial.moves:
            merit = self._merit.get(move.param, 0.0)
            self._merit[move.param] = keep * merit + new * signal
            if move.kind in ("up", "down"):
                sign = 1.0 if move.kind == "up" else -1.0
                lean = self._lean.get(move.param, 0.0)
                self._lean[move.param] = keep * lean + new * signal * sign

    def merit(self, name: str) -> float:
        """The running average of outcomes of moves of ``name``, in ``[-1, 1]``."""
        return self._merit.get(name, 0.0)

    def lean(self, name: str) -> float:
        """The direction lean of ``name``: > 0 favours up, < 0 down."""
        return self._lean.get(name, 0.0)

    # -- snapshot ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What the bias has learned, as JSON-ready plain data."""
        return {
            "merit": dict(self._merit),
            "lean": dict(self._lean),
            "idle": dict(self._idle),
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Return to the state a :meth:`snapshot` recorded."""
        self._merit = {str(k): float(v) for k, v in snapshot["merit"].items()}
        self._lean = {str(k): float(v) for k, v in snapshot["lean"].items()}
        self._idle = {str(k): int(v) for k, v in snapshot["idle"].items()}
