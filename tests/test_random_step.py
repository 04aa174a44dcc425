"""Single-parameter moves (``strategies.moves``) and the ``RandomStep`` strategy."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autotune_core as at
from strategies import RandomStep, can_move, draw_move, move_param, unit_step

NUMERIC_KINDS = {"up", "down"}
LAYER_KINDS = {"add_layer", "remove_layer", "resize_layer"}


# -- Hypothesis strategies for parameters, values and states --------------------


@st.composite
def floats(draw: st.DrawFn) -> at.Float:
    if draw(st.booleans()):
        low = draw(st.floats(1e-8, 1e4))
        return at.Float(low=low, high=low * draw(st.floats(1.001, 1e8)), log=True)

    low = draw(st.floats(-1e6, 1e6))
    return at.Float(low=low, high=low + draw(st.floats(1e-6, 1e6)))


@st.composite
def ints(draw: st.DrawFn) -> at.Int:
    if draw(st.booleans()):
        low = draw(st.integers(1, 1000))
        return at.Int(low=low, high=low + draw(st.integers(1, 10**6)), log=True)

    low = draw(st.integers(-1000, 1000))
    step = draw(st.integers(1, 10))
    return at.Int(low=low, high=low + step * draw(st.integers(1, 200)), step=step)


def _choice_key(value: object) -> tuple[str, object]:
    return (type(value).__name__, value)


categoricals = st.lists(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=3),
    ),
    min_size=1,
    max_size=5,
    unique_by=_choice_key,
).map(lambda choices: at.Categorical(choices=tuple(choices)))


@st.composite
def layers(draw: st.DrawFn) -> at.Layers:
    min_layers = draw(st.integers(1, 3))
    max_layers = draw(st.integers(min_layers, 4))
    min_units = draw(st.integers(1, 64))
    fixed_count = min_layers == max_layers
    max_units = draw(st.integers(min_units + fixed_count, 512))
    return at.Layers(
        min_layers=min_layers,
        max_layers=max_layers,
        min_units=min_units,
        max_units=max_units,
        log=draw(st.booleans()),
    )


params = st.one_of(floats(), ints(), categoricals, st.just(at.Bool()), layers())
step_sizes = st.floats(0.01, 1.0)
seeds = st.integers(0, 2**32 - 1)


@st.composite
def values_of(draw: st.DrawFn, param: Any) -> Any:
    """A valid value of ``param``, edges included."""
    if isinstance(param, at.Float | at.Int):
        edge = st.sampled_from([param.low, param.high, param.default()])
        return draw(
            st.one_of(
                edge,
                st.integers(0, 2**32 - 1).map(
                    lambda seed: param.sample(np.random.default_rng(seed))
                ),
            )
        )

    return param.sample(np.random.default_rng(draw(seeds)))


@st.composite
def param_and_value(draw: st.DrawFn) -> tuple[Any, Any]:
    param = draw(params)
    return param, draw(values_of(param))


@st.composite
def spaces(draw: st.DrawFn) -> at.SearchSpace:
    definitions = draw(st.lists(params, min_size=1, max_size=5))
    return at.SearchSpace({f"p{i}": p for i, p in enumerate(definitions)})


def state_at(space: at.SearchSpace, params: dict[str, Any]) -> at.SearchState:
    """A state whose incumbent (trial 0, accepted) is at ``params``."""
    incumbent = at.Trial(
        number=0, params=params, status=at.TrialStatus.OK, score=0.0, accepted=True
    )
    return at.SearchState(
        space, at.RunConfig(), history=[incumbent], incumbent=incumbent
    )


@st.composite
def states(draw: st.DrawFn) -> at.SearchState:
    space = draw(spaces())
    assume(any(can_move(p, p.default()) for _, p in space.items()))
    point = space.sample(np.random.default_rng(draw(seeds)))
    return state_at(space, point)


def tolerance(param: at.Float) -> float:
    """Rounding error of a unit-space position: more for narrow ranges far from 0."""
    if param.log:
        return 1e-9

    spacing = math.ulp(max(abs(param.low), abs(param.high)))
    return 1e-9 + 4 * spacing / (param.high - param.low)


def changed(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """Names whose value differs (types kept apart, so ``1`` is not ``True``)."""
    names = set(old) | set(new)
    return {
        n
        for n in names
        if n not in old or n not in new or _choice_key(old[n]) != _choice_key(new[n])
    }


# -- unit_step and can_move -------------------------------------------------------


@given(step_size=step_sizes, seed=seeds)
def test_unit_step_length_is_jittered_around_step_size(
    step_size: float, seed: int
) -> None:
    step = unit_step(np.random.default_rng(seed), step_size)

    assert 0.5 * step_size <= abs(step) <= 1.5 * step_size


def test_unit_step_goes_both_ways() -> None:
    rng = np.random.default_rng(0)
    signs = {math.copysign(1, unit_step(rng, 0.1)) for _ in range(50)}

    assert signs == {-1.0, 1.0}


@pytest.mark.parametrize(
    ("param", "value", "movable"),
    [
        pytest.param(at.Categorical(choices=("only",)), "only", False, id="one-choice"),
        pytest.param(at.Categorical(choices=("a", "b")), "a", True, id="two-choices"),
        pytest.param(at.Bool(), False, True, id="bool"),
        pytest.param(at.Int(low=0, high=1), 0, True, id="int"),
        pytest.param(at.Float(low=0, high=1), 0.5, True, id="float"),
        pytest.param(at.Layers(max_units=8), (4,), True, id="layers"),
    ],
)
def test_can_move(param: Any, value: Any, movable: bool) -> None:
    assert can_move(param, value) is movable


# -- move_param ---------------------------------------------------------------------


@given(pv=param_and_value(), step_size=step_sizes, seed=seeds)
def test_every_move_lands_inside_the_parameter_and_changes_it(
    pv: tuple[Any, Any], step_size: float, seed: int
) -> None:
    param, value = pv
    assume(can_move(param, value))

    move = move_param("p", param, value, np.random.default_rng(seed), step_size)

    assert move.param == "p"
    assert move.old is value
    assert param.contains(move.new)
    assert _choice_key(move.new) != _choice_key(move.old)


@given(
    pv=param_and_value(),
    step_size=step_sizes,
    seed=seeds,
    direction=st.sampled_from([None, -1, 1]),
)
def test_draw_move_makes_the_same_draws_as_move_param(
    pv: tuple[Any, Any], step_size: float, seed: int, direction: int | None
) -> None:
    param, value = pv
    assume(can_move(param, value))
    drawn_rng, moved_rng = np.random.default_rng(seed), np.random.default_rng(seed)

    kind, new = draw_move("p", param, value, drawn_rng, step_size, direction=direction)
    move = move_param("p", param, value, moved_rng, step_size, direction=direction)

    assert (move.kind, _choice_key(move.new)) == (kind, _choice_key(new))
    assert drawn_rng.random() == moved_rng.random()  # the generators agree after


@given(param=st.one_of(floats(), ints()), data=st.data(), step_size=step_sizes)
def test_numeric_move_kind_says_which_way_it_went(
    param: at.Float | at.Int, data: st.DataObject, step_size: float
) -> None:
    value = data.draw(values_of(param))

    move = move_param("p", param, value, np.random.default_rng(0), step_size)

    assert move.kind in NUMERIC_KINDS
    assert (move.new > move.old) == (move.kind == "up")
    assert param.low <= move.new <= param.high


@given(param=floats(), data=st.data(), step_size=st.floats(0.01, 0.3), seed=seeds)
def test_float_step_is_a_step_size_fraction_of_the_unit_range(
    param: at.Float, data: st.DataObject, step_size: float, seed: int
) -> None:
    # With step_size <= 0.3 a step is at most 0.45 of the range, so bouncing
    # off an edge always fits and no step is ever clipped.
    value = data.draw(values_of(param))

    move = move_param("p", param, value, np.random.default_rng(seed), step_size)

    moved = abs(param.to_unit(move.new) - param.to_unit(move.old))
    assert 0.5 * step_size - tolerance(param) <= moved
    assert moved <= 1.5 * step_size + tolerance(param)


@given(seed=seeds)
def test_log_scale_float_moves_multiply(seed: int) -> None:
    # 1e-4 .. 1 spans four decades; a unit step of 0.125 .. 0.375 (step_size
    # 0.25, jittered) is a factor of 10**0.5 .. 10**1.5.
    param = at.Float(low=1e-4, high=1.0, log=True)

    move = move_param("lr", param, 1e-2, np.random.default_rng(seed), 0.25)

    factor = max(move.new / move.old, move.old / move.new)
    assert 10**0.5 - 1e-9 <= factor <= 10**1.5 + 1e-9


def test_log_scale_int_moves_multiply() -> None:
    # Four decades; unit steps of 0.125 .. 0.375 multiply or divide 100 by
    # 10**0.5 .. 10**1.5, that is 3.16 .. 31.6 (before rounding to an integer).
    param = at.Int(low=1, high=10_000, log=True)
    rng = np.random.default_rng(7)

    news = [move_param("n", param, 100, rng, 0.25).new for _ in range(200)]

    assert all(3 <= new <= 32 or 316 <= new <= 3162 for new in news)
    assert min(news) < 10
    assert max(news) > 1000


@given(param=ints(), data=st.data(), seed=seeds)
def test_int_moves_stay_on_the_grid(
    param: at.Int, data: st.DataObject, seed: int
) -> None:
    value = data.draw(values_of(param))

    move = move_param("n", param, value, np.random.default_rng(seed), 0.1)

    assert isinstance(move.new, int)
    assert (move.new - param.low) % param.step == 0


def test_int_on_a_tiny_range_still_moves() -> None:
    param = at.Int(low=0, high=1)

    for seed in range(20):
        move = move_param("n", param, 0, np.random.default_rng(seed), 0.01)
        assert (move.kind, move.new) == ("up", 1)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        pytest.param(at.Int(low=0, high=10), 0, id="int-low"),
        pytest.param(at.Int(low=0, high=10), 10, id="int-high"),
        pytest.param(at.Layers(max_layers=1, max_units=10), (1,), id="width-low"),
        pytest.param(at.Layers(max_layers=1, max_units=10), (10,), id="width-high"),
        pytest.param(at.Float(low=0.0, high=1.0), 0.0, id="float-low"),
        pytest.param(at.Float(low=0.0, high=1.0), 1.0, id="float-high"),
    ],
)
def test_a_full_step_at_a_bound_still_moves(param: Any, value: Any) -> None:
    news = [
        move_param("p", param, value, np.random.default_rng(seed), 1.0).new
        for seed in range(20)
    ]

    assert all(param.contains(new) for new in news)
    assert all(new != value for new in news)


def test_float_at_an_edge_bounces_back_inside() -> None:
    param = at.Float(low=0.0, high=1.0)

    news = [
        move_param("x", param, 1.0, np.random.default_rng(s), 0.2).new
        for s in range(30)
    ]

    assert all(0.7 - 1e-12 <= new <= 0.9 + 1e-12 for new in news)


@given(param=categoricals, data=st.data())
def test_categorical_switches_to_another_choice(
    param: at.Categorical, data: st.DataObject
) -> None:
    assume(len(param.choices) > 1)
    value = data.draw(st.sampled_from(param.choices))

    move = move_param("c", param, value, np.random.default_rng(0), 0.1)

    assert move.kind == "switch"
    assert param.contains(move.new)
    assert _choice_key(move.new) != _choice_key(value)


def test_categorical_reaches_every_other_choice() -> None:
    param = at.Categorical(choices=(1, 1.0, True, "1", None))
    rng = np.random.default_rng(0)

    reached = {_choice_key(move_param("c", param, 1, rng, 0.1).new) for _ in range(200)}

    assert reached == {_choice_key(c) for c in (1.0, True, "1", None)}


@pytest.mark.parametrize("value", [True, False])
def test_bool_flips(value: bool) -> None:
    move = move_param("flag", at.Bool(), value, np.random.default_rng(0), 0.1)

    assert (move.kind, move.old, move.new) == ("flip", value, not value)


@given(param=layers(), seed=seeds, data=st.data(), step_size=step_sizes)
def test_layers_add_remove_or_resize_one_layer_within_limits(
    param: at.Layers, seed: int, data: st.DataObject, step_size: float
) -> None:
    value = data.draw(values_of(param))

    move = move_param("hidden", param, value, np.random.default_rng(seed), step_size)

    old, new = move.old, move.new
    assert move.kind in LAYER_KINDS
    assert param.contains(new)
    if move.kind == "add_layer":
        assert len(new) == len(old) + 1 <= param.max_layers
        assert any(new[:i] + new[i + 1 :] == old for i in range(len(new)))
        assert set(new) == set(old)  # the new layer copies a neighbour
    elif move.kind == "remove_layer":
        assert param.min_layers <= len(new) == len(old) - 1
        assert any(old[:i] + old[i + 1 :] == new for i in range(len(old)))
    else:
        assert len(new) == len(old)
        assert sum(a != b for a, b in zip(old, new, strict=True)) == 1


@pytest.mark.parametrize(
    ("param", "value", "allowed"),
    [
        pytest.param(
            at.Layers(min_layers=2, max_layers=2, max_units=64),
            (8, 8),
            {"resize_layer"},
            id="fixed-count-only-resizes",
        ),
        pytest.param(
            at.Layers(max_layers=3, min_units=16, max_units=16),
            (16,),
            {"add_layer"},
            id="fixed-width-one-layer-only-adds",
        ),
        pytest.param(
            at.Layers(max_layers=3, min_units=16, max_units=16),
            (16, 16, 16),
            {"remove_layer"},
            id="fixed-width-full-only-removes",
        ),
        pytest.param(
            at.Layers(max_layers=3, max_units=64),
            (8, 8),
            LAYER_KINDS,
            id="all-three",
        ),
    ],
)
def test_layer_moves_respect_the_limits(
    param: at.Layers, value: tuple[int, ...], allowed: set[str]
) -> None:
    rng = np.random.default_rng(0)

    kinds = {move_param("h", param, value, rng, 0.2).kind for _ in range(100)}

    assert kinds == allowed


def test_move_of_an_unknown_parameter_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no move defined for parameter 'x' of type"):
        move_param("x", object(), 1, np.random.default_rng(0), 0.1)


# -- RandomStep ----------------------------------------------------------------------


@given(state=states(), step_size=step_sizes, seed=seeds)
def test_proposal_changes_exactly_the_declared_parameter(
    state: at.SearchState, step_size: float, seed: int
) -> None:
    incumbent = state.incumbent
    assert incumbent is not None

    candidate = RandomStep(step_size=step_size).propose(
        state, np.random.default_rng(seed)
    )

    assert isinstance(candidate, at.Candidate)
    assert state.space.contains(candidate.params)
    assert candidate.parent == incumbent.number
    (move,) = candidate.moves
    assert changed(incumbent.params, candidate.params) == {move.param}
    assert move.old == incumbent.params[move.param]
    assert move.new == candidate.params[move.param]


@given(state=states(), seed=seeds)
def test_propose_does_not_modify_the_state(state: at.SearchState, seed: int) -> None:
    incumbent = state.incumbent
    before = copy.deepcopy(incumbent.params) if incumbent else None
    history = list(state.history)

    for _ in range(3):
        RandomStep().propose(state, np.random.default_rng(seed))

    assert state.incumbent is incumbent
    assert incumbent is not None
    assert incumbent.params == before
    assert list(state.history) == history
    assert list(state.pending) == []


@given(state=states(), seed=seeds, step_size=step_sizes)
def test_same_seed_gives_the_same_proposals(
    state: at.SearchState, seed: int, step_size: float
) -> None:
    def proposals() -> list[at.Candidate | None]:
        rng = np.random.default_rng(seed)
        strategy = RandomStep(step_size=step_size)
        return [strategy.propose(state, rng) for _ in range(5)]

    assert proposals() == proposals()


def test_different_seeds_explore_different_parameters() -> None:
    space = at.SearchSpace({f"x{i}": at.Float(low=0, high=1) for i in range(4)})
    state = state_at(space, space.default_point())

    moved = set()
    for seed in range(40):
        candidate = RandomStep().propose(state, np.random.default_rng(seed))
        assert isinstance(candidate, at.Candidate)
        moved.add(candidate.moves[0].param)

    assert moved == set(space.names)


def test_conditional_activation_adds_and_drops_the_child() -> None:
    space = at.SearchSpace(
        {
            "kernel": at.Categorical(choices=("rbf", "poly")),
            "degree": at.Int(low=2, high=5, start=3),
        },
        conditions=[at.Condition(param="degree", parent="kernel", values=("poly",))],
    )
    strategy = RandomStep()

    on = strategy.propose(state_at(space, {"kernel": "rbf"}), np.random.default_rng(0))
    assert on is not None
    assert on.params == {"kernel": "poly", "degree": 3}
    assert [(m.param, m.kind) for m in on.moves] == [("kernel", "switch")]

    kinds = set()
    for seed in range(30):
        state = state_at(space, {"kernel": "poly", "degree": 3})
        off = strategy.propose(state, np.random.default_rng(seed))
        assert off is not None
        assert space.contains(off.params)
        (move,) = off.moves
        kinds.add(move.param)
        if move.param == "kernel":
            assert off.params == {"kernel": "rbf"}
        else:
            assert off.params["kernel"] == "poly"
            assert off.params["degree"] != 3

    assert kinds == {"kernel", "degree"}


def test_before_any_acceptance_it_waits_for_running_start_points() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    start = at.Candidate(space.default_point())
    state = at.SearchState(space, at.RunConfig(), pending=[start])

    assert RandomStep().propose(state, np.random.default_rng(0)) is None


def test_after_failed_start_points_it_samples_the_space() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1), "n": at.Int(low=1, high=5)})
    failed = at.Trial(number=0, params=space.default_point(), status="failed")
    state = at.SearchState(space, at.RunConfig(), history=[failed])

    candidate = RandomStep().propose(state, np.random.default_rng(0))

    assert candidate is not None
    assert space.contains(candidate.params)
    assert (candidate.parent, candidate.moves) == (None, ())


def test_nothing_to_move_proposes_nothing() -> None:
    space = at.SearchSpace({"only": at.Categorical(choices=("a",))})

    assert (
        RandomStep().propose(state_at(space, {"only": "a"}), np.random.default_rng(0))
        is None
    )


@pytest.mark.parametrize("seed", range(10))
def test_prefers_configurations_not_yet_evaluated(seed: int) -> None:
    space = at.SearchSpace({"c": at.Categorical(choices=("a", "b", "c"))})
    incumbent = at.Trial(
        number=0, params={"c": "a"}, status=at.TrialStatus.OK, score=1.0, accepted=True
    )
    seen = at.Trial(number=1, params={"c": "b"}, status=at.TrialStatus.OK, score=0.0)
    state = at.SearchState(
        space, at.RunConfig(), history=[incumbent, seen], incumbent=incumbent
    )

    candidate = RandomStep().propose(state, np.random.default_rng(seed))

    assert candidate is not None
    assert candidate.params == {"c": "c"}


def test_proposes_a_seen_configuration_when_nothing_else_is_left() -> None:
    space = at.SearchSpace({"flag": at.Bool()})
    incumbent = at.Trial(
        number=0, params={"flag": False}, status="ok", score=1.0, accepted=True
    )
    seen = at.Trial(number=1, params={"flag": True}, status="ok", score=0.0)
    state = at.SearchState(
        space, at.RunConfig(), history=[incumbent, seen], incumbent=incumbent
    )

    candidate = RandomStep(max_tries=3).propose(state, np.random.default_rng(0))

    assert candidate is not None
    assert candidate.params == {"flag": True}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"step_size": 0}, r"step_size must be in \(0, 1\], got 0", id="zero"
        ),
        pytest.param({"step_size": -0.1}, r"got -0\.1", id="negative"),
        pytest.param({"step_size": 1.5}, r"got 1\.5", id="above-one"),
        pytest.param({"step_size": math.nan}, r"got nan", id="nan"),
        pytest.param({"max_tries": 0}, r"max_tries must be >= 1, got 0", id="tries"),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RandomStep(**options)  # type: ignore[arg-type]


def test_options_are_reported_and_keyword_only() -> None:
    strategy = RandomStep(step_size=1, max_tries=5)

    assert strategy.options() == {"step_size": 1.0, "max_tries": 5}
    assert repr(strategy) == "RandomStep(step_size=1.0, max_tries=5)"
    with pytest.raises(TypeError):
        RandomStep(0.2)  # type: ignore[misc]


def test_a_short_run_improves_on_the_start(quadratic_space: at.SearchSpace) -> None:
    from tests.conftest import quadratic

    result = at.tune(
        quadratic,
        quadratic_space,
        strategy=RandomStep(step_size=0.2),
        max_trials=80,
        seed=3,
        executor="inline",
        run_dir=False,
    )

    start = result.trials[0]
    assert start.score is not None
    assert result.best_score > start.score
    assert all(len(t.moves) == 1 for t in result.trials[1:])
    assert result.history["accepted"].sum() >= 2
