"""End-to-end tests of the engine: budgets, executors, events, failures."""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

import autotune_core as at
from autotune_core.events import Event
from tests.conftest import quadratic


class Recorder(at.Reporter):
    """Keeps every event it receives."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closed = False

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def comparable(result: at.TuneResult) -> list[tuple[Any, ...]]:
    """Trial history without times: what must repeat under a fixed seed."""
    return [
        (t.number, t.parent, t.params, t.moves, t.score, t.status, t.accepted)
        for t in result.trials
    ]


def test_random_step_finds_the_optimum(quadratic_space: at.SearchSpace) -> None:
    result = at.tune(
        quadratic,
        quadratic_space,
        max_trials=150,
        seed=3,
        executor="inline",
        run_dir=False,
    )

    assert result.best_params["kind"] == "b"
    assert result.best_params["flag"] is True
    assert result.best_params["n"] == 3
    assert abs(result.best_params["x"] - 1.0) < 0.3
    assert result.stop_reason == "max_trials"
    evaluated = [t for t in result.trials if t.status is not at.TrialStatus.CACHED]
    assert len(evaluated) == 150


def test_first_trial_is_the_default_start(quadratic_space: at.SearchSpace) -> None:
    result = at.tune(quadratic, quadratic_space, max_trials=3, seed=0, run_dir=False)

    assert result.trials[0].params == quadratic_space.default_point()
    assert result.trials[0].parent is None
    assert result.trials[0].accepted


def test_user_start_points_are_evaluated_first(quadratic_space: at.SearchSpace) -> None:
    starts = [
        {"x": 3.0, "n": 9, "kind": "c", "flag": False},
        {"x": -1.0, "n": 2, "kind": "a", "flag": True},
    ]

    result = at.tune(
        quadratic, quadratic_space, start=starts, max_trials=5, seed=0, run_dir=False
    )

    assert [t.params for t in result.trials[:2]] == starts
    assert result.trials[2].parent == 1  # stepped from the better start


def test_invalid_start_point_names_the_parameter(
    quadratic_space: at.SearchSpace,
) -> None:
    bad = [{"x": 9.0, "n": 1, "kind": "a", "flag": True}]

    with pytest.raises(
        at.ConfigError, match=r"start point 0: parameter 'x'.*\[-4.0, 4.0\]"
    ):
        at.tune(quadratic, quadratic_space, start=bad, max_trials=2, run_dir=False)


@pytest.mark.parametrize(
    "executor",
    [
        pytest.param("inline", id="inline"),
        pytest.param("thread", id="thread"),
    ],
)
def test_same_seed_same_history(quadratic_space: at.SearchSpace, executor: str) -> None:
    def run() -> at.TuneResult:
        return at.tune(
            quadratic,
            quadratic_space,
            max_trials=40,
            seed=11,
            executor=executor,
            concurrency=1,
            run_dir=False,
        )

    assert comparable(run()) == comparable(run())


def test_different_seeds_differ(quadratic_space: at.SearchSpace) -> None:
    a = at.tune(quadratic, quadratic_space, max_trials=20, seed=1, run_dir=False)
    b = at.tune(quadratic, quadratic_space, max_trials=20, seed=2, run_dir=False)

    assert comparable(a) != comparable(b)


def test_seed_is_recorded_when_not_given(quadratic_space: at.SearchSpace) -> None:
    first = at.tune(quadratic, quadratic_space, max_trials=15, run_dir=False)
    assert first.config.seed is not None

    again = at.tune(
        quadratic, quadratic_space, max_trials=15, seed=first.config.seed, run_dir=False
    )
    assert comparable(again) == comparable(first)


def test_patience_stops_after_trials_without_acceptance() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(lambda p: 1.0, space, patience=5, max_trials=100, run_dir=False)

    assert result.stop_reason == "patience"
    assert len(result.trials) == 6  # the start, accepted, then five rejections
    assert [t.accepted for t in result.trials] == [True] + [False] * 5


def test_target_score_stops_the_run() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=10, start=0.0)})

    result = at.tune(
        lambda p: p["x"], space, target_score=5.0, max_trials=500, seed=0, run_dir=False
    )

    assert result.stop_reason == "target_score"
    assert result.best_score >= 5.0
    assert sum(t.score is not None and t.score >= 5.0 for t in result.trials) == 1


def test_target_score_minimize() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=10, start=10.0)})

    result = at.tune(
        lambda p: p["x"],
        space,
        direction="minimize",
        target_score=5.0,
        max_trials=500,
        seed=0,
        run_dir=False,
    )

    assert result.stop_reason == "target_score"
    assert result.best_score <= 5.0


def test_max_time_stops_the_run() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    def slow(params: dict[str, Any]) -> float:
        threading.Event().wait(0.02)
        return float(params["x"])

    result = at.tune(slow, space, max_time_s=0.3, run_dir=False)

    assert result.stop_reason == "max_time"
    assert 3 <= len(result.trials) <= 30


def test_min_improvement_rejects_small_gains() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1, start=0.5)})

    result = at.tune(
        lambda p: p["x"],
        space,
        min_improvement=0.2,
        max_trials=60,
        seed=0,
        run_dir=False,
    )

    accepted = [t.score for t in result.trials if t.accepted]
    assert all(b - a > 0.2 for a, b in itertools.pairwise(accepted))
    rejected_better = [
        t
        for t in result.trials
        if not t.accepted and t.score is not None and t.score > result.trials[0].score  # type: ignore[operator]
    ]
    assert rejected_better, "some improvements below the margin must have been rejected"


class StartsOnly(at.StepStrategy):
    """Proposes nothing: only the start points run."""

    name = "starts-only"

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> None:
        return None


def _score_named(params: dict[str, Any]) -> float:
    """The score its ``kind`` names (``"nan"``, ``"inf"``, ...), or raises."""
    if params["kind"] == "raise":
        raise ValueError("not today")
    return float(params["kind"])


@pytest.mark.parametrize("executor", ["inline", "process"])
def test_non_finite_scores_and_errors_fail_their_trials(executor: str) -> None:
    kinds = ("nan", "inf", "-inf", "raise", "0.5")
    space = at.SearchSpace({"kind": at.Categorical(choices=kinds)})

    result = at.tune(
        _score_named,
        space,
        strategy=StartsOnly(),
        start=[{"kind": kind} for kind in kinds],
        executor=executor,
        max_failures=None,
        run_dir=False,
    )

    by_kind = {t.params["kind"]: t for t in result.trials}
    assert set(by_kind) == set(kinds)
    for kind in ("nan", "inf", "-inf"):
        trial = by_kind[kind]
        assert trial.status is at.TrialStatus.FAILED, kind
        assert trial.error == (
            f"NonFiniteScore: the objective returned score={float(kind)!r}"
        )
        assert trial.score is None and not trial.accepted
    assert by_kind["raise"].status is at.TrialStatus.FAILED
    assert by_kind["raise"].error == "ValueError: not today"
    assert by_kind["0.5"].status is at.TrialStatus.OK
    assert result.best_params == {"kind": "0.5"}
    assert result.status_counts == {"failed": 4, "ok": 1}


def test_objective_returning_a_non_number_fails_the_trial() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(lambda p: "high", space, max_trials=3, run_dir=False)

    assert result.status_counts == {"failed": 3}
    assert "must return a number" in (result.trials[0].error or "")
    with pytest.raises(at.AutoTuneError, match="no trial of 3 produced a score"):
        _ = result.best_params


def test_evaluation_results_are_recorded() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    def rich(params: dict[str, Any]) -> at.Evaluation:
        folds = [params["x"], params["x"] + 0.1, params["x"] - 0.1]
        return at.Evaluation.from_folds(
            folds, fit_times=[0.5, 0.5, 0.5], metrics={"m": 1.0}
        )

    result = at.tune(rich, space, max_trials=2, run_dir=False)

    trial = result.trials[0]
    assert trial.fold_scores == pytest.approx((0.5, 0.6, 0.4))
    assert trial.score == pytest.approx(0.5)
    assert trial.score_std == pytest.approx(np.std([0.5, 0.6, 0.4]))
    assert trial.fit_time == pytest.approx(0.5)
    assert trial.metrics == {"m": 1.0}


def test_async_objective_runs_concurrently() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    running = 0
    peak = 0

    async def objective(params: dict[str, Any]) -> float:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.01)
        running -= 1
        return float(params["x"])

    result = at.tune(
        objective,
        space,
        strategy=Scatter(),
        concurrency=4,
        max_trials=20,
        run_dir=False,
    )

    assert len(result.trials) == 20
    assert peak == 4


def test_tune_async_inside_a_running_loop() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    async def main() -> at.TuneResult:
        return await at.tune_async(lambda p: p["x"], space, max_trials=5, run_dir=False)

    assert len(anyio.run(main).trials) == 5


def test_tune_works_when_a_loop_already_runs() -> None:
    """As in Jupyter: the sync tune() is called from inside a running event loop."""
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    async def notebook_cell() -> at.TuneResult:
        return at.tune(lambda p: p["x"], space, max_trials=5, run_dir=False)

    assert len(asyncio.run(notebook_cell()).trials) == 5


def test_thread_executor_keeps_concurrency_in_flight() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    barrier = threading.Barrier(3, timeout=10)

    def objective(params: dict[str, Any]) -> float:
        barrier.wait()  # only returns if three evaluations run at once
        return float(params["x"])

    result = at.tune(
        objective,
        space,
        strategy=Scatter(),
        executor="thread",
        concurrency=3,
        max_trials=9,
        run_dir=False,
    )

    assert result.status_counts == {"ok": 9}


class Scatter(at.StepStrategy):
    """Random points, no parent: the simplest possible strategy."""

    name = "scatter"

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> at.Candidate:
        return at.Candidate(state.space.sample(rng))


class GridBatches(at.StepStrategy):
    """Proposes batches of three points along x, then stops after ``rounds``."""

    name = "grid-batches"

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.told: list[int] = []

    def propose(
        self, state: at.SearchState, rng: np.random.Generator
    ) -> at.Batch | None:
        if self.rounds == 0:
            return None
        self.rounds -= 1
        xs = rng.random(3)
        return at.Batch(tuple(at.Candidate({"x": float(x)}) for x in xs))

    def tell(self, trial: at.Trial, state: at.SearchState) -> None:
        self.told.append(trial.number)


def test_batches_are_a_barrier_and_exhaustion_ends_the_run() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    strategy = GridBatches(rounds=3)
    recorder = Recorder()

    result = at.tune(
        lambda p: p["x"],
        space,
        strategy=strategy,
        concurrency=2,
        executor="thread",
        reporters=[recorder],
        run_dir=False,
    )

    assert result.stop_reason == "exhausted"
    assert len(result.trials) == 1 + 3 * 3
    started = [e.number for e in recorder.events if isinstance(e, at.TrialStarted)]
    finished = [
        e.trial.number for e in recorder.events if isinstance(e, at.TrialFinished)
    ]
    for batch in ([1, 2, 3], [4, 5, 6], [7, 8, 9]):
        first_start = min(started.index(n) for n in batch)
        # no trial of a later batch starts before every trial of this one finished
        later = [n for n in started[first_start:] if n > batch[-1]]
        if later:
            index_later = recorder.events.index(
                next(
                    e
                    for e in recorder.events
                    if isinstance(e, at.TrialStarted) and e.number == later[0]
                )
            )
            index_done = max(
                recorder.events.index(
                    next(
                        e
                        for e in recorder.events
                        if isinstance(e, at.TrialFinished) and e.trial.number == n
                    )
                )
                for n in batch
            )
            assert index_done < index_later
    assert sorted(finished) == list(range(10))
    assert sorted(strategy.told) == list(range(10))


def test_events_arrive_in_order(quadratic_space: at.SearchSpace) -> None:
    recorder = Recorder()

    result = at.tune(
        quadratic,
        quadratic_space,
        max_trials=12,
        seed=0,
        reporters=[recorder],
        run_dir=False,
    )

    kinds = recorder.kinds()
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert kinds.count("trial_started") == kinds.count("trial_finished") == 12
    assert kinds.count("new_incumbent") == sum(t.accepted for t in result.trials)
    for event in recorder.events:
        if isinstance(event, at.NewIncumbent):
            previous = recorder.events[recorder.events.index(event) - 1]
            assert isinstance(previous, at.TrialFinished)
            assert previous.trial.number == event.number
    assert recorder.closed


def test_a_failing_reporter_is_detached_and_named_in_the_log(
    quadratic_space: at.SearchSpace, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(at.Reporter):
        name = "broken"

        def on_trial_finished(self, event: at.TrialFinished) -> None:
            raise RuntimeError("disk full")

    healthy = Recorder()

    result = at.tune(
        quadratic,
        quadratic_space,
        max_trials=5,
        reporters=[Broken(), healthy],
        run_dir=False,
    )

    assert len(result.trials) == 5
    assert healthy.kinds().count("trial_finished") == 5
    assert any("reporter broken failed" in r.getMessage() for r in caplog.records)


def test_a_reporter_can_stop_the_run(quadratic_space: at.SearchSpace) -> None:
    class StopAtFour(at.Reporter):
        name = "stopper"

        def on_trial_finished(self, event: at.TrialFinished) -> None:
            if event.trial.number == 3:
                self.request_stop("four are enough")

    result = at.tune(
        quadratic,
        quadratic_space,
        reporters=[StopAtFour()],
        max_trials=50,
        run_dir=False,
    )

    assert len(result.trials) == 4
    assert result.stop_reason == "stopper: four are enough"


def test_candidate_is_judged_against_the_incumbent_when_it_finishes() -> None:
    """Two candidates from the same incumbent: the second is compared with the first."""
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    tuner = at.Tuner(space, start=[{"x": 0.1}], run_dir=False, seed=0, max_trials=3)

    with tuner:
        start = tuner.ask()
        assert start is not None
        tuner.tell(start, 0.1)
        a = tuner.ask()
        b = tuner.ask()
        assert a is not None and b is not None
        assert a.candidate.parent == b.candidate.parent == start.number
        assert tuner.tell(a, 0.8).accepted
        assert not tuner.tell(b, 0.5).accepted  # better than its parent, not than a


def test_strategy_proposing_outside_the_space_is_an_error() -> None:
    class Wild(at.StepStrategy):
        name = "wild"

        def propose(
            self, state: at.SearchState, rng: np.random.Generator
        ) -> at.Candidate:
            return at.Candidate({"x": 7.0})

    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    with pytest.raises(at.StrategyError, match=r"Wild\(\) proposed an invalid.*'x'"):
        at.tune(lambda p: p["x"], space, strategy=Wild(), max_trials=5, run_dir=False)


def test_unknown_option_names_the_field(quadratic_space: at.SearchSpace) -> None:
    with pytest.raises(ValueError, match="max_trails"):
        at.tune(quadratic, quadratic_space, max_trails=5, run_dir=False)


def test_unknown_strategy_lists_the_known_ones(quadratic_space: at.SearchSpace) -> None:
    with pytest.raises(
        at.UnknownPluginError, match=r"unknown strategy 'nope'; known: .*random-step"
    ):
        at.tune(
            quadratic, quadratic_space, strategy="nope", max_trials=5, run_dir=False
        )


async def _async_objective(params: dict[str, Any]) -> float:
    return float(params["x"])


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_sync_only_executors_refuse_an_async_objective(executor: str) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    with pytest.raises(
        at.ConfigError,
        match=rf"executor='{executor}' runs sync objectives only, and "
        r"'_async_objective' is async; use executor='inline' \(or 'auto'",
    ):
        at.tune(_async_objective, space, executor=executor, max_trials=2, run_dir=False)


@pytest.mark.parametrize("executor", ["auto", "inline"])
def test_async_objectives_run_on_auto_and_inline(executor: str) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(
        _async_objective,
        space,
        strategy=Scatter(),
        executor=executor,
        max_trials=4,
        trial_timeout_s=5,
        run_dir=False,
    )

    assert result.status_counts == {"ok": 4}


@pytest.mark.parametrize("executor", ["inline", "thread", "process"])
def test_a_sync_objective_returning_a_coroutine_fails_its_trials_quietly(
    executor: str,
) -> None:
    """It looks sync, so no executor awaits it: each trial fails, saying why."""
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = at.tune(
            lambda p: _async_objective(p),
            space,
            strategy=Scatter(),
            executor=executor,
            max_trials=3,
            run_dir=False,
        )
        gc.collect()  # an unclosed coroutine warns when it is collected

    assert result.status_counts == {"failed": 3}
    assert result.trials[0].error == (
        "TypeError: the objective returned an awaitable (coroutine), not a number "
        "or an Evaluation; define it with `async def` so that it is awaited "
        "(executor='inline' or 'auto')"
    )
    assert [str(w.message) for w in caught] == []


def _square_in_worker(params: dict[str, Any]) -> at.Evaluation:
    return at.Evaluation(
        score=-((params["x"] - 0.3) ** 2), metrics={"pid": float(os.getpid())}
    )


def test_process_executor_uses_worker_processes_once_started(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(
        _square_in_worker,
        space,
        executor="process",
        concurrency=2,
        max_trials=12,
        seed=0,
        run_dir=tmp_path / "run",
    )

    pids = {t.metrics["pid"] for t in result.trials}
    assert result.status_counts == {"ok": 12}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2  # the same two workers serve every trial


def test_process_executor_runs_functions_defined_in_tests() -> None:
    """A closure is not importable by the worker; cloudpickle sends it by value."""
    offset = 0.25
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(
        lambda p: -abs(p["x"] - offset),
        space,
        executor="process",
        concurrency=2,
        max_trials=6,
        run_dir=False,
    )

    assert result.status_counts == {"ok": 6}


def test_run_folder_is_written_and_loads(quadratic_space: at.SearchSpace) -> None:
    result = at.tune(quadratic, quadratic_space, max_trials=10, seed=4)

    assert result.run_dir is not None
    assert (
        result.run_dir.parent == Path("autotune-runs").resolve()
        or result.run_dir.parent.name == "autotune-runs"
    )
    for name in ("config.json", "space.json", "run.json", "events.jsonl"):
        assert (result.run_dir / name).is_file()
    loaded = at.load_run(result.run_dir)
    assert comparable(loaded) == comparable(result)
    assert loaded.best_trial == result.best_trial
    assert loaded.stop_reason == "max_trials"
    assert loaded.config == result.config
    assert loaded.space == quadratic_space
    assert loaded.history.equals(result.history)


class OneBatch(at.StepStrategy):
    """One batch of fixed points after the start, then nothing."""

    name = "one-batch"

    def __init__(self, *, select_best: bool) -> None:
        self.select_best = select_best
        self.done = False

    def propose(
        self, state: at.SearchState, rng: np.random.Generator
    ) -> at.Batch | None:
        if self.done or state.incumbent is None:
            return None
        self.done = True
        points = (at.Candidate({"x": x}, parent=0) for x in (0.35, 0.5, 0.4))
        return at.Batch(tuple(points), select_best=self.select_best)


@pytest.mark.parametrize(
    ("select_best", "accepted"),
    [
        pytest.param(False, [0.1, 0.35], id="each-as-it-finishes"),
        pytest.param(True, [0.1, 0.5], id="best-of-the-batch"),
    ],
)
def test_select_best_batch_judges_only_its_best(
    select_best: bool, accepted: list[float]
) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1, start=0.1)})

    result = at.tune(
        lambda p: p["x"],
        space,
        strategy=OneBatch(select_best=select_best),
        min_improvement=0.2,
        executor="inline",
        run_dir=False,
    )

    assert [t.params["x"] for t in result.trials if t.accepted] == accepted
    assert result.best_params == {"x": accepted[-1]}
    assert sorted(t.number for t in result.trials) == [0, 1, 2, 3]
