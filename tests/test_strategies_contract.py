"""The strategy contract kit: every built-in passes it, and it catches broken ones."""

from __future__ import annotations

import doctest
import importlib
import random
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import numpy as np
import pytest
from hypothesis.errors import InvalidArgument

import autotune_core as at
from autotune_core.testing import ContractError, check_strategy
from strategies import (
    GridSearch,
    LocalGrid,
    MultiParamMove,
    RandomSearch,
    RandomStep,
    Restarts,
)

BUILT_INS = [
    pytest.param(RandomStep, id="random-step"),
    pytest.param(
        lambda: RandomStep(bias=True, layer_rule="adj_max", step_size=0.3),
        id="random-step-biased",
    ),
    pytest.param(MultiParamMove, id="multi-param"),
    pytest.param(
        lambda: MultiParamMove(n_params=4, bias=False, layer_rule="uniform"),
        id="multi-param-unbiased",
    ),
    pytest.param(LocalGrid, id="local-grid"),
    pytest.param(
        lambda: LocalGrid(size=3, spread=0.5, min_spread=0.2), id="local-grid-coarse"
    ),
    pytest.param(RandomSearch, id="random-search"),
    pytest.param(lambda: GridSearch(points=3), id="grid-search"),
    pytest.param(lambda: GridSearch(shuffle=True), id="grid-search-shuffled"),
    pytest.param(lambda: Restarts(patience=3, n_starts=2), id="restarts"),
    pytest.param(
        lambda: Restarts(strategy="multi-param", patience=2, mode="best", n_starts=2),
        id="restarts-best",
    ),
    pytest.param(
        lambda: Restarts(strategy="local-grid", patience=2, max_restarts=2),
        id="restarts-local-grid",
    ),
]

Factory = Callable[[], at.StepStrategy]


@pytest.mark.parametrize("factory", BUILT_INS)
def test_built_in_strategy_keeps_the_contract(factory: Factory) -> None:
    check_strategy(factory, max_examples=30)


def test_every_registered_built_in_is_checked() -> None:
    checked = {type(param.values[0]()) for param in BUILT_INS}

    built_ins = [
        entry
        for entry in entry_points(group="autotune.strategies")
        if entry.value.startswith("strategies:")
    ]
    assert built_ins
    assert [e.name for e in built_ins if e.load() not in checked] == []


def test_the_kit_leaves_the_global_random_state_alone() -> None:
    python_state = random.getstate()
    numpy_state = np.random.get_state()

    check_strategy(RandomStep, max_examples=3)

    assert random.getstate() == python_state
    assert all(
        np.array_equal(a, b)
        for a, b in zip(np.random.get_state(), numpy_state, strict=True)
    )


# -- broken strategies: the kit must catch each one -------------------------------


class OutOfSpace(RandomStep):
    """Pushes a numeric parameter past its upper bound."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        candidate = super().propose(state, rng)
        numeric = [
            n
            for n, p in state.space.items()
            if isinstance(p, at.Float | at.Int) and candidate and n in candidate.params
        ]
        if candidate is None or not numeric:
            return candidate
        name = numeric[0]
        params = {**candidate.params, name: state.space[name].high + 1}  # type: ignore[union-attr]
        return at.Candidate(params)


class GlobalRandom(RandomStep):
    """Picks its moves with Python's global ``random``."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        hidden = np.random.default_rng(random.getrandbits(32))
        return super().propose(state, hidden)


class GlobalNumpyRandom(RandomStep):
    """Picks its moves with NumPy's legacy global generator."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        hidden = np.random.default_rng(np.random.randint(2**31))
        return super().propose(state, hidden)


class MutatesIncumbent(RandomStep):
    """Writes the candidate into the incumbent's parameters."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        candidate = super().propose(state, rng)
        if candidate is not None and state.incumbent is not None:
            state.incumbent.params.update(candidate.params)
        return candidate


class MutatesInTell(RandomStep):
    """Empties the finished trial's parameters once it has learned from them."""

    def tell(self, trial: at.Trial, state: at.SearchState) -> None:
        state.history[-1].params.clear()


class PhantomMove(RandomStep):
    """Declares its move but proposes the parent's configuration unchanged."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        candidate = super().propose(state, rng)
        if candidate is None or state.incumbent is None:
            return candidate
        return at.Candidate(
            dict(state.incumbent.params), candidate.parent, candidate.moves
        )


class UndeclaredMove(RandomStep):
    """Changes a parameter without declaring the move."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        candidate = super().propose(state, rng)
        if candidate is None or candidate.parent is None:
            return candidate
        return at.Candidate(candidate.params, candidate.parent, ())


class MovesInactive(RandomStep):
    """Activates a conditional parameter and declares a move of it too."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        incumbent = state.incumbent
        for condition in state.space.conditions if incumbent else ():
            assert incumbent is not None
            child, parent = condition.param, condition.parent
            if child in incumbent.params or parent not in incumbent.params:
                continue
            params = state.space.normalize(
                {**incumbent.params, parent: condition.values[0]}
            )
            if child in params:
                moves = (
                    at.Move(parent, "switch", incumbent.params[parent], params[parent]),
                    at.Move(child, "switch", None, params[child]),
                )
                return at.Candidate(params, incumbent.number, moves)
        return super().propose(state, rng)


class ForgetfulSnapshot(RandomStep):
    """Learns a direction bias but snapshots nothing."""

    def __init__(self) -> None:
        super().__init__(bias=True)

    def snapshot(self) -> dict[str, Any]:
        return {}


class SetSnapshot(RandomStep):
    """Snapshots a set, which JSON cannot hold."""

    def snapshot(self) -> dict[str, Any]:
        return {"seen": {1, 2}}


class WrongType(RandomStep):
    """Returns the parameters instead of a Candidate."""

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> Any:
        candidate = super().propose(state, rng)
        return None if candidate is None else candidate.params


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        pytest.param(OutOfSpace, r"which is not in the space", id="out-of-space"),
        pytest.param(
            GlobalRandom,
            r"same seed and observations gave different proposals",
            id="global-random",
        ),
        pytest.param(
            GlobalNumpyRandom,
            r"same seed and observations gave different proposals",
            id="global-numpy-random",
        ),
        pytest.param(
            MutatesIncumbent,
            r"propose\(\) mutated the state it was given",
            id="mutates-in-propose",
        ),
        pytest.param(
            MutatesInTell,
            r"tell\(\) mutated the state it was given",
            id="mutates-in-tell",
        ),
        pytest.param(PhantomMove, r"a move that did not happen", id="phantom-move"),
        pytest.param(
            UndeclaredMove,
            r"declared moves do not match the actual difference",
            id="undeclared-move",
        ),
        pytest.param(MovesInactive, r"is inactive in the parent", id="moves-inactive"),
        pytest.param(
            ForgetfulSnapshot,
            r"after snapshot\(\) and restore\(\) at proposal \d+, the proposals differ",
            id="forgetful-snapshot",
        ),
        pytest.param(SetSnapshot, r"not JSON-ready plain data", id="set-snapshot"),
        pytest.param(
            WrongType, r"must return a Candidate, a Batch or None", id="wrong-type"
        ),
    ],
)
def test_the_kit_catches_a_broken_strategy(
    broken: type[at.StepStrategy], message: str
) -> None:
    with pytest.raises(ContractError, match=message):
        check_strategy(broken, max_examples=10)


def test_a_contract_error_is_an_assertion_error() -> None:
    assert issubclass(ContractError, AssertionError)


@pytest.mark.parametrize(
    ("factory", "options", "message"),
    [
        pytest.param(42, {}, r"factory=42 must be callable", id="not-callable"),
        pytest.param(
            lambda: "strategy",
            {},
            r"factory\(\) must return a StepStrategy, got str",
            id="not-a-strategy",
        ),
        pytest.param(
            (lambda shared: lambda: shared)(RandomStep()),
            {},
            r"must return a new strategy on every call",
            id="shared-instance",
        ),
        pytest.param(
            RandomStep,
            {"max_examples": 0},
            r"max_examples=0 must be an int >= 1",
            id="n",
        ),
        pytest.param(
            RandomStep, {"steps": 0}, r"steps=0 must be an int >= 1", id="steps"
        ),
    ],
)
def test_the_kit_validates_its_arguments(
    factory: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_strategy(factory, **options)


# -- the examples in the docstrings of the new modules run -------------------------


@pytest.mark.parametrize(
    "module",
    [
        "autotune_core._strategy_contract",
        "autotune_core.acceptance",
        "strategies.baselines",
        "strategies.bias",
        "strategies.layers",
        "strategies.local_grid",
        "strategies.moves",
        "strategies.multi_param",
        "strategies.random_step",
        "strategies.restarts",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    failures, tried = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.ELLIPSIS
    )

    assert tried > 0
    assert failures == 0
