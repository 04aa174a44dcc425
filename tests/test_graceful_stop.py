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
from typing import Any

import pytest
from _processes import running

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
    assert not any(running(pid) for pid in summary["pids"]), "workers outlived the run"
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


def test_an_inline_run_of_slow_trials_stops_after_the_current_one() -> None:
    """The engine lets the signal receiver run after every trial longer than
    a few milliseconds, not only every so many trials."""
    started = threading.Event()

    def objective(params: dict[str, float]) -> float:
        started.set()
        time.sleep(0.05)
        return params["x"]

    def interrupt() -> None:
        started.wait(30)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=interrupt)
    sender.start()
    result = at.tune(
        objective,
        at.SearchSpace({"x": at.Float(low=0, high=1)}),
        max_trials=200,
        seed=0,
        executor="inline",
        run_dir=False,
        handle_signals=True,
    )
    sender.join()

    assert result.stop_reason == "interrupted by SIGTERM"
    assert len(result.trials) < 20  # about 5 ran before the signal, one after


_HANGING_SCRIPT = """
import json, os, sys, time
from pathlib import Path
import autotune_core as at
from reporters import CsvReporter, ExcelReporter, JsonlReporter

HANG = Path(__file__).with_name("hang")
SPACE = at.SearchSpace({"x": at.Float(low=0, high=1)})

def objective(params):
    time.sleep(0.05)
    if HANG.exists():
        HANG.with_name(f"hanging-{os.getpid()}").write_text("")
        time.sleep(60)
    return params["x"]

if __name__ == "__main__":
    out = Path(sys.argv[2])
    reporters = [CsvReporter(path=out / "trials.csv"),
                 JsonlReporter(path=out / "events.jsonl"),
                 ExcelReporter(path=out / "report.xlsx")]
    result = at.tune(objective, SPACE, max_trials=1000, executor="process",
                     concurrency=2, stop_grace_s=1, reporters=reporters,
                     run_dir=sys.argv[1])
    print(json.dumps({"reason": result.stop_reason,
                      "numbers": [t.number for t in result.trials]}))
"""


def _wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _trial_numbers(log: Path, kind: str) -> list[int]:
    events = at.read_events(log)
    if kind == "trial_started":
        return [e.number for e in events if isinstance(e, at.TrialStarted)]
    return [e.trial.number for e in events if isinstance(e, at.TrialFinished)]


def _load_module(path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("hanging_run", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trials_past_the_grace_period_are_cancelled_and_reporters_closed(
    tmp_path: Path,
) -> None:
    import csv

    import openpyxl

    script = tmp_path / "hanging_run.py"
    script.write_text(textwrap.dedent(_HANGING_SCRIPT))
    run, out = tmp_path / "run", tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, str(script), str(run), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    _wait_for_trials(process, run / "events.jsonl", 4)
    (tmp_path / "hang").write_text("")
    _wait_for(lambda: len(list(tmp_path.glob("hanging-*"))) == 2, "both trials hang")

    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stdout, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    assert time.monotonic() - began < 20, "cancelled after the grace period"
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["reason"] == "interrupted by SIGTERM"
    log = run / "events.jsonl"
    finished = _trial_numbers(log, "trial_finished")
    cancelled = sorted(set(_trial_numbers(log, "trial_started")) - set(finished))
    assert len(cancelled) == 2, "the two hanging trials are started, never finished"
    assert summary["numbers"] == finished
    loaded = at.load_run(run)
    assert [t.number for t in loaded.trials] == finished
    assert loaded.stop_reason == "interrupted by SIGTERM"
    assert set(loaded.status_counts) == {"ok"}, "cancelled trials are not recorded"
    hung = [int(p.name.split("-")[1]) for p in tmp_path.glob("hanging-*")]
    _wait_for(lambda: not any(running(pid) for pid in hung), "hung workers die", 5)

    # every reporter was flushed and closed: each has every finished trial
    with (out / "trials.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["trial"]) for row in rows] == finished
    assert _trial_numbers(out / "events.jsonl", "trial_finished") == finished
    streamed = list(at.read_events(out / "events.jsonl"))
    assert isinstance(streamed[-1], at.RunFinished)
    assert streamed[-1].reason == "interrupted by SIGTERM"
    sheet = openpyxl.load_workbook(out / "report.xlsx")["History"]
    excel = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert excel == finished

    # resuming evaluates the cancelled trials again, under their own numbers
    (tmp_path / "hang").unlink()
    resumed = at.tune(
        _load_module(script).objective,
        None,
        resume=run,
        max_trials=len(finished) + 2,
        executor="thread",
    )
    again = {t.number: t for t in resumed.trials[len(finished) :]}
    assert sorted(again) == cancelled
    assert all(t.status is at.TrialStatus.OK for t in again.values())
