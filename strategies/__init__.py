"""Built-in step strategies, registered as ``autotune.strategies`` entry points."""

from strategies.moves import can_move, move_param, unit_step
from strategies.random_step import RandomStep

__all__ = ["RandomStep", "can_move", "move_param", "unit_step"]
