"""Built-in step strategies, registered as ``autotune.strategies`` entry points."""

from strategies.baselines import GridSearch, RandomSearch, grid_values
from strategies.bias import DirectionBias, movable_count
from strategies.layers import (
    DEFAULT_LAYER_RULE,
    LAYER_KINDS,
    LAYER_RULES,
    check_layer_rule,
    layer_kinds,
    move_layers,
    new_layer_width,
    resized_width,
)
from strategies.local_grid import LocalGrid
from strategies.moves import can_move, draw_move, movable_names, move_param, unit_step
from strategies.multi_param import MultiParamMove
from strategies.random_step import RandomStep
from strategies.restarts import RESTART_MODES, Restarts

__all__ = [
    "DEFAULT_LAYER_RULE",
    "LAYER_KINDS",
    "LAYER_RULES",
    "RESTART_MODES",
    "DirectionBias",
    "GridSearch",
    "LocalGrid",
    "MultiParamMove",
    "RandomSearch",
    "RandomStep",
    "Restarts",
    "can_move",
    "check_layer_rule",
    "draw_move",
    "grid_values",
    "layer_kinds",
    "movable_count",
    "movable_names",
    "move_layers",
    "move_param",
    "new_layer_width",
    "resized_width",
    "unit_step",
]
