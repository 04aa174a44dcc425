"""Runs that survive: failures, timeouts, dead workers, crashes, resume, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _processes import running

import autotune_core as at
from tests.conftest import quadratic


def comparable(result: at.TuneResult) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.parent, t.params, t.moves, t.score, t.status, t.accepted)
        for t in result.trials
    ]


# -- failures, timeouts, dead workers ---------------------------------------------


def _misbehave(params: dict[str, Any], *, folder: Path) -> at.Evaluation:
    """Hangs, dies or raises depending on x; records its pid (and a child's)."""
    x = params["x"]
    (folder / f"{os.getpid()}.pids").write_text(str(os.getpid()))
    if x == 0.1:
        _start_child(folder)
        time.sleep(60)
    if x == 0.2:
        _start_child(folder)
        os._exit(3)
    if x == 0.3:
        raise RuntimeError("boom")
    return at.Evaluation(score=x, metrics={"pid": float(os.getpid())})


def test_hanging_dying_and_raising_trials_in_worker_processes(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    starts = [{"x": 0.1}, {"x": 0.2}, {"x": 0.3}, {"x": 0.4}, {"x": 0.5}]
    folder = tmp_path / "pids"
    folder.mkdir()

    began = time.monotonic()
    result = at.tune(
        partial(_misbehave, folder=folder),
        space,
        strategy=Fixed(),
        start=starts,
        executor="process",
        concurrency=2,
        trial_timeout_s=1.5,
        run_dir=False,
    )
    elapsed = time.monotonic() - began

    by_x = {t.params["x"]: t for t in result.trials}
    assert by_x[0.1].status is at.TrialStatus.TIMEOUT
    assert by_x[0.1].error is not None and "1.5 s" in by_x[0.1].error
    assert by_x[0.2].status is at.TrialStatus.FAILED
    assert by_x[0.2].error == "WorkerDied: the worker process ended (exit code 3)"
    assert by_x[0.3].error == "RuntimeError: boom"
    assert by_x[0.4].ok and by_x[0.5].ok
    assert result.best_params == {"x": 0.5}
    assert elapsed < 30, "the hanging trial must not run its full minute"
    pids = _recorded_pids(folder)
    # the hung and the dead worker, their two children, and one more worker at least
    assert len(pids) >= 5
    assert {int(t.metrics["pid"]) for t in result.trials if "pid" in t.metrics} <= pids
    assert not _gone_soon(pids), "no worker, and no child of one, outlives the run"


class Fixed(at.StepStrategy):
    """Proposes nothing: only the start points run."""

    name = "fixed"

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> None:
        return None


def _gone_soon(pids: set[int], timeout: float = 5.0) -> set[int]:
    """Poll up to ``timeout`` seconds; the pids of ``pids`` still alive then."""
    deadline = time.monotonic() + timeout
    while (alive := {pid for pid in pids if running(pid)}) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return alive


def _recorded_pids(folder: Path) -> set[int]:
    return {int(pid) for f in folder.glob("*.pids") for pid in f.read_text().split()}


def _start_child(folder: Path) -> None:
    """Start ``sleep 60`` and record this process's pid and the child's."""
    child = subprocess.Popen(["sleep", "60"])
    (folder / f"{os.getpid()}.pids").write_text(f"{os.getpid()} {child.pid}")


def _child_then_hang(params: dict[str, Any], *, folder: Path) -> float:
    _start_child(folder)
    if params["x"] < 0.5:
        time.sleep(60)
    return float(params["x"])


@pytest.mark.parametrize(
    "x",
    [
        pytest.param(0.2, id="killed-at-timeout"),
        pytest.param(0.7, id="left-running-at-close"),
    ],
)
def test_no_process_started_by_an_objective_outlives_the_run(
    tmp_path: Path, x: float
) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(
        partial(_child_then_hang, folder=tmp_path),
        space,
        strategy=Fixed(),
        start=[{"x": x}],
        executor="process",
        trial_timeout_s=1.0,
        run_dir=False,
    )

    assert len(result.trials) == 1
    pids = _recorded_pids(tmp_path)
    assert len(pids) == 2, "the worker and its child"
    assert not _gone_soon(pids), "a process started by the objective survived"


@pytest.mark.parametrize("executor", ["inline", "thread"])
def test_timeout_needs_an_executor_that_can_stop_the_fit(executor: str) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    with pytest.raises(at.ConfigError, match=f"cannot stop .* on the {executor} exe"):
        at.tune(
            quadratic,
            space,
            executor=executor,
            trial_timeout_s=1,
            max_trials=2,
            run_dir=False,
        )


def test_async_objective_timeout_is_a_real_cancellation() -> None:
    import anyio

    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    async def slow(params: dict[str, Any]) -> float:
        if params["x"] < 0.5:
            await anyio.sleep(30)
        return float(params["x"])

    result = at.tune(
        slow,
        space,
        strategy=Fixed(),
        start=[{"x": 0.2}, {"x": 0.7}],
        trial_timeout_s=0.2,
        concurrency=2,
        run_dir=False,
    )

    assert [t.status.value for t in sorted(result.trials, key=lambda t: t.number)] == [
        "timeout",
        "ok",
    ]


def test_max_failures_stops_with_the_most_common_error(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    def broken(params: dict[str, Any]) -> float:
        raise ValueError("solver lbfgs does not support penalty l1")

    with pytest.raises(at.TooManyFailuresError) as caught:
        at.tune(broken, space, max_failures=5, max_trials=50, run_dir=tmp_path / "r")

    message = str(caught.value)
    assert "5 trials in a row failed" in message
    assert "ValueError: solver lbfgs does not support penalty l1 (5 of 5" in message
    assert len(caught.value.result.trials) == 5
    assert at.load_run(tmp_path / "r").stop_reason == "max_failures"


# -- caching -----------------------------------------------------------------------


class Repeater(at.StepStrategy):
    """Cycles through three configurations forever."""

    name = "repeater"

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> at.Candidate:
        return at.Candidate({"x": [0.25, 0.5, 0.75][state.n_finished % 3]})


def test_repeats_are_cached_and_do_not_use_the_budget() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1, start=0.5)})
    calls: list[float] = []

    def objective(params: dict[str, Any]) -> float:
        calls.append(params["x"])
        return float(params["x"])

    result = at.tune(
        objective, space, strategy=Repeater(), max_trials=10, run_dir=False
    )

    assert sorted(calls) == [0.25, 0.5, 0.75]  # each evaluated once
    cached = [t for t in result.trials if t.status is at.TrialStatus.CACHED]
    tail = result.trials[-at.tuner.MAX_REPEATS :]
    assert all(t.status is at.TrialStatus.CACHED for t in tail)
    assert len(result.trials) - len(cached) == 3
    assert result.stop_reason.startswith("exhausted")
    assert all(t.cached_from is not None for t in cached)
    for trial in cached:
        source = result.trials[trial.cached_from]  # type: ignore[index]
        assert source.params == trial.params and source.score == trial.score


def test_a_failed_configuration_is_not_evaluated_again() -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1, start=0.5)})
    calls = 0

    def objective(params: dict[str, Any]) -> float:
        nonlocal calls
        calls += 1
        raise ValueError("always")

    result = at.tune(
        objective,
        space,
        strategy=Repeater(),
        max_trials=10,
        max_failures=None,
        run_dir=False,
    )

    assert calls == 3
    repeats = [t for t in result.trials if t.cached_from is not None]
    assert all(t.error == "ValueError: always" and t.score is None for t in repeats)


class SameAgain(at.StepStrategy):
    """Proposes x=0.5 again and again, for three finished trials."""

    name = "same-again"

    def propose(self, state: at.SearchState, rng: np.random.Generator) -> at.Candidate:
        return at.Candidate({"x": 0.5}) if state.n_finished < 3 else None  # type: ignore[return-value]


@pytest.mark.parametrize(
    "deterministic", [pytest.param(False, id="async"), pytest.param(True, id="rounds")]
)
def test_a_configuration_equal_to_a_running_one_waits_for_it(
    deterministic: bool,
) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1, start=0.5)})
    calls: list[float] = []

    def slow(params: dict[str, Any]) -> float:
        calls.append(params["x"])
        time.sleep(0.3)  # still running when the strategy proposes it again
        return float(params["x"])

    result = at.tune(
        slow,
        space,
        strategy=SameAgain(),
        concurrency=2,
        executor="thread",
        deterministic=deterministic,
        max_trials=10,
        run_dir=False,
    )

    assert calls == [0.5], "fitted once"
    statuses = [t.status for t in result.trials]
    assert statuses == [at.TrialStatus.OK, at.TrialStatus.CACHED, at.TrialStatus.CACHED]
    assert all(t.cached_from == 0 and t.score == 0.5 for t in result.trials[1:])
    assert [t.number for t in result.trials] == [0, 1, 2]


# -- crash, resume, determinism ------------------------------------------------------

_SCRIPT = """
import sys, time
import autotune_core as at

def objective(params):
    time.sleep(0.03)
    return -((params["x"] - 0.3) ** 2) - (params["n"] - 4) ** 2 / 10

SPACE = at.SearchSpace({"x": at.Float(low=0, high=1), "n": at.Int(low=1, high=9),
                        "act": at.Categorical(choices=("relu", "tanh"))})

if __name__ == "__main__":
    at.tune(objective, SPACE, max_trials=int(sys.argv[2]), seed=7,
            concurrency=int(sys.argv[3]), executor=sys.argv[4], run_dir=sys.argv[1])
"""


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "crash_me.py"
    path.write_text(textwrap.dedent(_SCRIPT))
    return path


def _finished_numbers(log: Path) -> list[int]:
    if not log.exists():
        return []
    numbers = []
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event["event"] == "trial_finished":
            numbers.append(event["trial"]["number"])
    return numbers


def _kill_midway(
    tmp_path: Path, run: Path, concurrency: int, executor: str
) -> list[int]:
    script = _script(tmp_path)
    process = subprocess.Popen(
        [sys.executable, str(script), str(run), "40", str(concurrency), executor],
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while len(_finished_numbers(run / "events.jsonl")) < 15:
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return _finished_numbers(run / "events.jsonl")


def _load_script_module(tmp_path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("crash_me", _script(tmp_path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    module = _load_script_module(tmp_path)
    before = _kill_midway(tmp_path, tmp_path / "killed", 1, "inline")

    resumed = at.tune(
        module.objective, None, resume=tmp_path / "killed", executor="inline"
    )
    straight = at.tune(
        module.objective,
        module.SPACE,
        max_trials=40,
        seed=7,
        executor="inline",
        run_dir=tmp_path / "straight",
    )

    assert 15 <= len(before) < 40
    assert len(resumed.trials) == 40
    assert comparable(resumed) == comparable(straight)
    assert comparable(at.load_run(tmp_path / "killed")) == comparable(straight)


def test_sigkill_at_concurrency_two_loses_no_finished_trial(tmp_path: Path) -> None:
    module = _load_script_module(tmp_path)
    before = _kill_midway(tmp_path, tmp_path / "killed", 2, "thread")
    finished_before = {
        e.trial.number: e.trial
        for e in at.read_events(tmp_path / "killed" / "events.jsonl")
        if isinstance(e, at.TrialFinished)
    }

    resumed = at.tune(module.objective, None, resume=tmp_path / "killed")

    after = {t.number: t for t in resumed.trials}
    assert set(before) <= set(after)
    for number, trial in finished_before.items():
        assert after[number] == trial
    evaluated = [t for t in resumed.trials if t.status is not at.TrialStatus.CACHED]
    assert len(evaluated) == 40
    assert len(after) == len(resumed.trials), "trial numbers are unique"


def test_resume_extends_a_finished_run(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    at.tune(lambda p: p["x"], space, max_trials=10, seed=3, run_dir=tmp_path / "r")

    more = at.tune(lambda p: p["x"], None, resume=tmp_path / "r", max_trials=25)

    assert len(more.trials) == 25
    assert more.config.max_trials == 25 and more.config.seed == 3
    assert [t.number for t in more.trials] == list(range(25))
    kinds = [e.kind for e in at.read_events(tmp_path / "r" / "events.jsonl")]
    assert kinds.count("run_started") == 1 and kinds.count("run_resumed") == 1


def test_resume_with_an_added_and_a_removed_parameter(tmp_path: Path) -> None:
    old = at.SearchSpace({"x": at.Float(low=0, high=1), "drop": at.Int(low=1, high=5)})
    new = at.SearchSpace(
        {
            "x": at.Float(low=0.2, high=0.6),
            "extra": at.Categorical(choices=("a", "b"), start="b"),
        }
    )
    at.tune(lambda p: p["x"], old, max_trials=12, seed=1, run_dir=tmp_path / "r")

    result = at.tune(lambda p: p["x"], new, resume=tmp_path / "r", max_trials=20)

    history = result.trials
    assert len(history) == 20
    first_new = history[12]
    assert set(first_new.params) == {"x", "extra"}
    assert first_new.params["extra"] == "b"  # joins at its start value
    after = history[12:]
    assert all(set(t.params) == {"x", "extra"} for t in after)
    outside = [t.params["x"] for t in after if not 0.2 <= t.params["x"] <= 0.6]
    assert not outside, "every trial after the resume respects the narrowed bounds"
    assert all(set(t.params) == {"x", "drop"} for t in history[:12])
    changes = [
        e
        for e in at.read_events(tmp_path / "r" / "events.jsonl")
        if isinstance(e, at.SpaceChanged)
    ]
    assert len(changes) == 1
    assert changes[0].added == ("extra",) and changes[0].removed == ("drop",)
    assert changes[0].changed == ("x",)
    assert at.load_run(tmp_path / "r").space == new


def test_resume_a_run_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    at.tune(lambda p: p["x"], space, max_trials=3, run_dir=tmp_path / "r")
    log = tmp_path / "r" / "events.jsonl"
    log.write_text(log.read_text().replace('"v":1', '"v":99'))

    with pytest.raises(at.RunFolderError, match="v=99 is not supported"):
        at.tune(lambda p: p["x"], None, resume=tmp_path / "r")


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_deterministic_mode_is_the_same_at_any_concurrency(concurrency: int) -> None:
    space = at.SearchSpace({"x": at.Float(low=-4, high=4), "n": at.Int(low=1, high=9)})
    jitter = np.random.default_rng(concurrency)

    def objective(params: dict[str, Any]) -> float:
        time.sleep(float(jitter.random()) * 0.004)  # finish order varies
        return -((params["x"] - 1) ** 2) - (params["n"] - 3) ** 2

    def run(c: int) -> list[tuple[Any, ...]]:
        result = at.tune(
            objective,
            space,
            deterministic=True,
            concurrency=c,
            executor="thread",
            max_trials=24,
            seed=5,
            run_dir=False,
        )
        return comparable(result)

    assert run(concurrency) == run(1)


def test_log_sync_batch_still_records_every_trial(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    at.tune(
        lambda p: p["x"], space, max_trials=30, log_sync="batch", run_dir=tmp_path / "r"
    )

    assert len(at.load_run(tmp_path / "r").trials) == 30
