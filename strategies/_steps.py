"""Step lengths in unit space, shared by the move modules."""

from __future__ import annotations

import numpy as np

# Step lengths are drawn from [1 - _JITTER, 1 + _JITTER] x step_size.
_JITTER = 0.5


def pick(rng: np.random.Generator, n: int) -> int:
    """A uniform index in ``range(n)``.

    One ``rng.random()`` draw: several times cheaper than ``rng.integers``
    for a single number, which matters on the engine's hot path.
    """
    return min(int(rng.random() * n), n - 1)


def unit_step(
    rng: np.random.Generator, step_size: float, direction: int | None = None
) -> float:
    """A signed step length in unit space: jittered size, random or given direction.

    Both random numbers are drawn whether or not ``direction`` is given, so
    that choosing a direction does not shift the rest of a seeded run.
    """
    size = step_size * (1 + _JITTER * (2 * float(rng.random()) - 1))
    up = rng.random() < 0.5
    if direction is not None:
        up = direction > 0
    return size if up else -size
