"""Acceptance policies: time-penalized and noise-aware, alone and in runs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from autotune_core.acceptance import NoiseAware, TimePenalized
from strategies import LocalGrid, MultiParamMove, RandomSearch, RandomStep


def trial(
    score: float | None,
    *,
    fit_time: float | None = None,
    folds: tuple[float, ...] = (),
    number: int = 1,
) -> at.Trial:
    return at.Trial(
        number=number,
        params={"x": 0.0},
        status=at.TrialStatus.OK if score is not None else at.TrialStatus.FAILED,
        score=score,
        fold_scores=folds,
        fit_time=fit_time,
    )


def state(**config: Any) -> at.SearchState:
    space = at.SearchSpace({"x": at.Float(low=-1, high=1)})
    return at.SearchState(space, at.RunConfig(**config))


INCUMBENT = trial(0.80, fit_time=10.0, number=0)


# -- time-penalized -------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "candidate", "accepted"),
    [
        pytest.param(TimePenalized(), trial(0.81, fit_time=50.0), True, id="plain"),
        pytest.param(
            TimePenalized(max_fit_time=20.0),
            trial(0.95, fit_time=25.0),
            False,
            id="over-the-limit-even-if-better",
        ),
        pytest.param(
            TimePenalized(max_fit_time=20.0),
            trial(0.81, fit_time=20.0),
            True,
            id="at-the-limit",
        ),
        pytest.param(
            TimePenalized(max_fit_time=20.0),
            trial(0.81, fit_time=None),
            True,
            id="no-fit-time-judged-on-score",
        ),
        pytest.param(
            TimePenalized(tolerance=0.01),
            trial(0.795, fit_time=5.0),
            True,
            id="tie-faster-wins",
        ),
        pytest.param(
            TimePenalized(tolerance=0.01),
            trial(0.795, fit_time=9.5),
            False,
            id="tie-not-fast-enough",
        ),
        pytest.param(
            TimePenalized(tolerance=0.01, min_speedup=0.0),
            trial(0.795, fit_time=9.5),
            True,
            id="tie-any-speedup",
        ),
        pytest.param(
            TimePenalized(tolerance=0.01),
            trial(0.785, fit_time=1.0),
            False,
            id="outside-tolerance",
        ),
        pytest.param(
            TimePenalized(time_weight=0.01),
            trial(0.85, fit_time=20.0),
            False,
            id="weight-slower-costs-more-than-it-gains",
        ),
        pytest.param(
            TimePenalized(time_weight=0.01),
            trial(0.85, fit_time=14.0),
            True,
            id="weight-worth-it",
        ),
        pytest.param(
            TimePenalized(time_weight=0.01),
            trial(0.79, fit_time=5.0),
            True,
            id="weight-much-faster-slightly-worse",
        ),
        pytest.param(
            TimePenalized(min_improvement=0.05),
            trial(0.84, fit_time=1.0),
            False,
            id="own-margin",
        ),
        pytest.param(TimePenalized(), trial(None), False, id="failed"),
    ],
)
def test_time_penalized(
    policy: TimePenalized, candidate: at.Trial, accepted: bool
) -> None:
    assert policy.accept(candidate, INCUMBENT, state()) is accepted


def test_time_penalized_uses_the_run_margin_by_default() -> None:
    policy = TimePenalized()

    assert not policy.accept(
        trial(0.82, fit_time=1.0), INCUMBENT, state(min_improvement=0.05)
    )
    assert policy.accept(
        trial(0.86, fit_time=1.0), INCUMBENT, state(min_improvement=0.05)
    )


def test_time_penalized_first_trial_within_the_limit_is_accepted() -> None:
    policy = TimePenalized(max_fit_time=5.0)

    assert policy.accept(trial(0.1, fit_time=4.0), None, state())
    assert not policy.accept(trial(0.1, fit_time=6.0), None, state())


def test_time_penalized_when_minimising() -> None:
    policy = TimePenalized(tolerance=0.01)
    incumbent = trial(0.30, fit_time=10.0)
    minimise = state(direction="minimize")

    assert policy.accept(trial(0.20, fit_time=20.0), incumbent, minimise)
    assert not policy.accept(trial(0.40, fit_time=20.0), incumbent, minimise)
    assert policy.accept(trial(0.305, fit_time=2.0), incumbent, minimise)


def test_time_penalized_options_and_repr() -> None:
    policy = TimePenalized(max_fit_time=3.0, time_weight=0.1)

    assert policy.options() == {
        "max_fit_time": 3.0,
        "tolerance": 0.0,
        "min_speedup": 0.1,
        "time_weight": 0.1,
    }
    assert repr(TimePenalized()) == "TimePenalized(tolerance=0.0, min_speedup=0.1)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"max_fit_time": -1.0}, r"max_fit_time must be a finite", id="limit"
        ),
        pytest.param(
            {"tolerance": math.nan}, r"tolerance must be .* got nan", id="tol"
        ),
        pytest.param(
            {"min_speedup": 1.0}, r"min_speedup must be in \[0, 1\)", id="speed"
        ),
        pytest.param({"time_weight": -0.5}, r"time_weight must be", id="weight"),
        pytest.param(
            {"min_improvement": -1.0}, r"min_improvement must be", id="margin"
        ),
        pytest.param({"tolerance": True}, r"tolerance must be", id="bool"),
    ],
)
def test_time_penalized_validates(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TimePenalized(**options)


# -- noise-aware -------------------------------------------------------------------

FOLDS = (0.80, 0.90, 0.70, 0.85, 0.75)


def shifted(by: tuple[float, ...]) -> at.Trial:
    folds = tuple(f + d for f, d in zip(FOLDS, by, strict=True))
    return trial(sum(folds) / len(folds), folds=folds)


NOISY_INCUMBENT = trial(sum(FOLDS) / 5, folds=FOLDS, number=0)


@pytest.mark.parametrize(
    ("policy", "candidate", "accepted"),
    [
        pytest.param(
            NoiseAware(),
            shifted((0.01, 0.01, 0.01, 0.01, 0.01)),
            True,
            id="small-but-consistent",
        ),
        pytest.param(
            NoiseAware(),
            shifted((0.09, -0.06, 0.08, -0.07, 0.01)),
            False,
            id="same-mean-but-noisy",
        ),
        pytest.param(
            NoiseAware(),
            shifted((0.012, 0.008, 0.011, 0.009, 0.010)),
            True,
            id="slightly-noisy",
        ),
        pytest.param(
            NoiseAware(z=0.0),
            shifted((0.09, -0.06, 0.08, -0.07, 0.01)),
            True,
            id="z-zero-any-mean-gain",
        ),
        pytest.param(
            NoiseAware(min_improvement=0.02),
            shifted((0.01, 0.01, 0.01, 0.01, 0.01)),
            False,
            id="below-the-margin",
        ),
        pytest.param(
            NoiseAware(),
            shifted((-0.01, -0.01, -0.01, -0.01, -0.01)),
            False,
            id="consistently-worse",
        ),
        pytest.param(
            NoiseAware(),
            trial(0.81, folds=(0.81, 0.81)),
            True,
            id="unpaired-falls-back",
        ),
        pytest.param(NoiseAware(), trial(0.79), False, id="no-folds-falls-back"),
        pytest.param(NoiseAware(), trial(None), False, id="failed"),
    ],
)
def test_noise_aware(policy: NoiseAware, candidate: at.Trial, accepted: bool) -> None:
    assert policy.accept(candidate, NOISY_INCUMBENT, state()) is accepted


def test_noise_aware_first_trial_is_accepted() -> None:
    assert NoiseAware().accept(shifted((0.0,) * 5), None, state())


def test_noise_aware_when_minimising() -> None:
    policy = NoiseAware()
    minimise = state(direction="minimize")

    assert policy.accept(shifted((-0.01,) * 5), NOISY_INCUMBENT, minimise)
    assert not policy.accept(shifted((0.01,) * 5), NOISY_INCUMBENT, minimise)


@given(
    diffs=st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=10),
    z=st.floats(0.0, 4.0),
    margin=st.floats(0.0, 0.5),
)
def test_noise_aware_accepts_only_a_mean_gain_beyond_the_margin(
    diffs: list[float], z: float, margin: float
) -> None:
    incumbent = trial(0.0, folds=tuple(0.0 for _ in diffs), number=0)
    candidate = trial(float(np.mean(diffs)), folds=tuple(diffs))

    accepted = NoiseAware(z=z, min_improvement=margin).accept(
        candidate, incumbent, state()
    )

    if accepted:
        assert math.fsum(diffs) / len(diffs) > margin
    error = float(np.std(diffs, ddof=1)) / math.sqrt(len(diffs))
    if math.fsum(diffs) / len(diffs) - margin > z * error + 1e-9:
        assert accepted


def test_a_larger_z_is_stricter() -> None:
    candidate = shifted((0.03, 0.0, 0.02, 0.01, 0.015))

    verdicts = [
        NoiseAware(z=z).accept(candidate, NOISY_INCUMBENT, state())
        for z in (0, 1, 2, 4)
    ]

    assert verdicts == sorted(verdicts, reverse=True)
    assert verdicts[0] and not verdicts[-1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"z": -1.0}, r"z must be a finite number >= 0.0, got -1.0", id="z"
        ),
        pytest.param({"z": math.inf}, r"got inf", id="z-inf"),
        pytest.param({"min_improvement": math.nan}, r"min_improvement", id="margin"),
    ],
)
def test_noise_aware_validates(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NoiseAware(**options)


# -- registered and composable --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls", "options"),
    [
        pytest.param("time-penalized", TimePenalized, {"max_fit_time": 2.0}, id="time"),
        pytest.param("noise-aware", NoiseAware, {"z": 1.0}, id="noise"),
    ],
)
def test_registered_by_name(name: str, cls: type, options: dict[str, Any]) -> None:
    policy = at.create_acceptance(name, **options)

    assert isinstance(policy, cls)
    assert cls.name == name  # type: ignore[attr-defined]
    assert at.create_acceptance(name, **policy.options()).options() == policy.options()


def test_unknown_option_by_name_is_a_config_error() -> None:
    with pytest.raises(at.ConfigError, match=r"acceptance policy 'noise-aware'"):
        at.create_acceptance("noise-aware", sigma=2)


def noisy_objective(params: dict[str, Any]) -> at.Evaluation:
    """Five folds of a bowl plus fold-specific offsets; fit time grows with n."""
    base = -((params["x"] - 0.3) ** 2) - 0.01 * abs(params["n"] - 10)
    offsets = (0.05, -0.03, 0.0, 0.02, -0.04)
    return at.Evaluation.from_folds(
        [base + o for o in offsets], fit_times=[0.01 * params["n"]] * 5
    )


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(RandomStep, id="random-step"),
        pytest.param(MultiParamMove, id="multi-param"),
        pytest.param(LocalGrid, id="local-grid"),
        pytest.param(RandomSearch, id="random-search"),
    ],
)
@pytest.mark.parametrize(
    "acceptance",
    [
        pytest.param(lambda: NoiseAware(z=2.0), id="noise-aware"),
        pytest.param(
            lambda: TimePenalized(max_fit_time=0.15, tolerance=1e-3), id="time"
        ),
    ],
)
def test_policies_compose_with_any_strategy(strategy: Any, acceptance: Any) -> None:
    space = at.SearchSpace({"x": at.Float(low=-1, high=1), "n": at.Int(low=1, high=30)})
    policy = acceptance()

    result = at.tune(
        noisy_objective,
        space,
        strategy=strategy(),
        acceptance=policy,
        max_trials=40,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    accepted = [t for t in result.trials if t.accepted]
    assert accepted
    assert result.best_trial is accepted[-1]
    if isinstance(policy, TimePenalized):
        assert all(t.fit_time is not None and t.fit_time <= 0.15 for t in accepted)


def test_a_run_records_the_policy_by_name() -> None:
    space = at.SearchSpace({"x": at.Float(low=-1, high=1), "n": at.Int(low=1, high=30)})

    result = at.tune(
        noisy_objective,
        space,
        acceptance="noise-aware",
        max_trials=5,
        seed=0,
        executor="inline",
    )

    assert result.run_dir is not None
    run = at.load_run(result.run_dir)
    assert run.trials[0].accepted
    assert (result.run_dir / "run.json").read_text().count('"noise-aware"') == 1
