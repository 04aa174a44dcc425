"""Ctrl-C and SIGTERM stop a run gracefully, from Python and from the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import autotune_core as at

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import json, os, sys, time
import autotune_core as at

def objective(params):
    time.sleep(0.2)
    return at.Evaluation(score=params["x"], metrics={"pid": float(os.getpid())})

if __name__ == "__main__":
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})
    result = at.tune(objective, space, max_trials=1000, executor="process",
                     concurrency=2, stop_grace_s=5, run_dir=sys.argv[1])
    pids = sorted({int(t.metrics["pid"]) for t in result.trials})
    print(json.dumps({"reason": result.stop_reason, "n": len(result.trials),
                      "pids": pids}))
"""


def _finished(log: Path) -> int:
    if not log.exists():
        return 0
    return log.read_text().count('"event":"trial_finished"')


def _wait_for_trials(process: subprocess.Popen[str], log: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while _finished(log) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)


def _evaluated(result: at.TuneResult) -> int:
    return sum(t.status is not at.TrialStatus.CACHED for t in result.trials)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
def test_signal_stops_the_python_api_gracefully(tmp_path: Path, signum: int) -> None:
    script = tmp_path / "long_run.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    run = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, str(script), str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    _wait_for_trials(process, run / "events.jsonl", 4)

    process.send_signal(signum)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["reason"] == f"interrupted by {signal.Signals(signum).name}"
    assert summary["n"] < 1000
    assert not any(_alive(pid) for pid in summary["pids"]), "workers outlived the run"
    loaded = at.load_run(run)
    assert loaded.stop_reason == summary["reason"]
    assert len(loaded.trials) == summary["n"]


def test_ctrl_c_on_the_cli_prints_how_to_resume(tmp_path: Path) -> None:
    run = tmp_path / "cli-run"
    command = [
        sys.executable,
        "-m",
        "autotune_core.cli",
        "run",
        str(ROOT / "examples" / "svc_iris.json"),
        "--max-trials",
        "100000",
        "--quiet",
        "--run-dir",
        str(run),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    _wait_for_trials(process, run / "events.jsonl", 20)

    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert f"to go on: autotune resume {run}" in out.replace("\n", "")
    before = _evaluated(at.load_run(run))

    from autotune_core.cli import main

    assert main(["resume", str(run), "--max-trials", str(before + 5), "--quiet"]) == 0
    resumed = at.load_run(run)
    assert _evaluated(resumed) == before + 5
    assert resumed.stop_reason == "max_trials"


class _CtrlC(at.Reporter):
    """Sends SIGINT to the main thread after ``after`` trials, as a notebook's
    interrupt does while the cell waits for :func:`tune`."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.seen = 0

    def on_trial_finished(self, event: at.TrialFinished) -> None:
        self.seen += 1
        if self.seen == self.after:
            main = threading.main_thread().ident
            assert main is not None
            signal.pthread_kill(main, signal.SIGINT)


def test_ctrl_c_while_a_loop_runs_stops_gracefully_and_returns_the_result() -> None:
    """As in Jupyter: tune() waits for a worker thread, and Ctrl-C reaches the wait."""
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    def objective(params: dict[str, float]) -> float:
        time.sleep(0.01)
        return params["x"]

    async def notebook_cell() -> at.TuneResult:
        return at.tune(
            objective,
            space,
            executor="thread",
            max_trials=500,
            reporters=[_CtrlC(after=3)],
            run_dir=False,
        )

    # Not asyncio.run: its SIGINT handler would hide Ctrl-C from the cell.
    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(notebook_cell())
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped tune() instead of stopping the run")
    finally:
        loop.close()

    assert result.stop_reason == "interrupted by KeyboardInterrupt"
    assert 3 <= len(result.trials) < 100


@pytest.mark.parametrize("handle", [True, False], ids=["handled", "left-alone"])
def test_tune_takes_over_sigterm_only_when_asked(handle: bool) -> None:
    # SIGTERM, not SIGINT: asyncio's runner installs a SIGINT handler of its own.
    seen: list[object] = []

    def objective(params: dict[str, float]) -> float:
        seen.append(signal.getsignal(signal.SIGTERM))
        return params["x"]

    before = signal.getsignal(signal.SIGTERM)
    at.tune(
        objective,
        at.SearchSpace({"x": at.Float(low=0, high=1)}),
        max_trials=2,
        seed=0,
        executor="inline",
        run_dir=False,
        handle_signals=handle,
    )

    assert (seen[0] is before) is not handle
    assert signal.getsignal(signal.SIGTERM) is before
