"""Run folders and the event log: layout, reading back, damaged and foreign logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _processes import running

import autotune_core as at
from autotune_core import run_folder
from autotune_core.run_folder import EventLog, _SyncProcess, read_events
from reporters import JsonlReporter
from tests.conftest import quadratic


def _run(space: at.SearchSpace, run_dir: Path, **options: Any) -> at.TuneResult:
    return at.tune(quadratic, space, max_trials=8, seed=1, run_dir=run_dir, **options)


def test_folder_layout_and_resolved_config(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    result = _run(quadratic_space, tmp_path / "run")

    folder = tmp_path / "run"
    assert result.run_dir == folder
    config = json.loads((folder / "config.json").read_text())
    assert config["seed"] == 1 and config["max_trials"] == 8
    space = at.SearchSpace.model_validate_json((folder / "space.json").read_text())
    assert space == quadratic_space
    meta = json.loads((folder / "run.json").read_text())
    assert meta["strategy"]["name"] == "random-step"
    assert "scikit-learn" in meta["versions"]
    lines = (folder / "events.jsonl").read_text().splitlines()
    assert all(json.loads(line)["v"] == at.SCHEMA_VERSION for line in lines)


def test_default_folders_do_not_collide(quadratic_space: at.SearchSpace) -> None:
    a = at.tune(quadratic, quadratic_space, max_trials=2, name="same")
    b = at.tune(quadratic, quadratic_space, max_trials=2, name="same")

    assert a.run_dir is not None and b.run_dir is not None
    assert a.run_dir != b.run_dir
    assert a.run_dir.name == "same" and b.run_dir.name == "same-2"


def test_explicit_folder_holding_a_run_is_refused(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    _run(quadratic_space, tmp_path / "run")

    with pytest.raises(at.RunFolderError, match="already holds a run"):
        _run(quadratic_space, tmp_path / "run")


def test_a_log_cut_mid_line_still_loads(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    result = _run(quadratic_space, tmp_path / "run")
    log = tmp_path / "run" / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if '"trial_finished"' in line)
    # cut the last trial_finished in half and lose what followed, as a crash would
    log.write_text("".join(lines[:last]) + lines[last][: len(lines[last]) // 2])

    loaded = at.load_run(tmp_path / "run")

    assert loaded.stop_reason == "incomplete"
    assert len(loaded.trials) == len(result.trials) - 1
    assert loaded.trials == result.trials[:-1]


def test_a_broken_line_in_the_middle_is_an_error(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    _run(quadratic_space, tmp_path / "run")
    log = tmp_path / "run" / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[3] = "{not json\n"
    log.write_text("".join(lines))

    with pytest.raises(at.RunFolderError, match=r"events.jsonl:4: not a JSON event"):
        at.load_run(tmp_path / "run")


_GREEK = at.SearchSpace(
    {
        "letter": at.Categorical(choices=("αβγ", "δεζ", "ηθι")),
        "x": at.Float(low=0, high=1),
    }
)


def _greek(params: dict[str, Any]) -> float:
    return float(params["x"]) + float(params["letter"] == "δεζ")


def _greek_run(run_dir: Path, *, max_trials: int = 6) -> at.TuneResult:
    return at.tune(
        _greek,
        _GREEK,
        max_trials=max_trials,
        seed=2,
        executor="inline",
        run_dir=run_dir,
    )


def _cut_inside_a_character(line: bytes) -> bytes:
    first = next(i for i, byte in enumerate(line) if byte >= 0x80)
    return line[: first + 1]  # one byte of a two-byte character


# how a crash (or a disk) can leave the last line of a log
DAMAGED_ENDS = [
    pytest.param(lambda line: line[: len(line) // 2], id="cut-json"),
    pytest.param(_cut_inside_a_character, id="cut-inside-a-utf8-character"),
    pytest.param(lambda line: b"\xff\xfe\x00garbage\n", id="garbage-bytes"),
    pytest.param(lambda line: b"\x00" * 40, id="nul-bytes"),
]


def _damage_the_end(log: Path, damage: Any) -> int:
    """Damage the last trial_finished, drop what follows; trials left intact."""
    lines = log.read_bytes().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if b'"trial_finished"' in line)
    assert not lines[last].isascii()
    log.write_bytes(b"".join(lines[:last]) + damage(lines[last]))
    return sum(b'"trial_finished"' in line for line in lines[:last])


@pytest.mark.parametrize("damage", DAMAGED_ENDS)
def test_a_damaged_last_line_is_skipped(
    tmp_path: Path, damage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _greek_run(tmp_path / "run")
    intact = _damage_the_end(tmp_path / "run" / "events.jsonl", damage)

    loaded = at.load_run(tmp_path / "run")

    assert loaded.stop_reason == "incomplete"
    assert len(loaded.trials) == intact
    assert "last line is incomplete and was skipped" in caplog.text


@pytest.mark.parametrize("damage", DAMAGED_ENDS)
def test_resuming_a_damaged_log_repairs_it(
    tmp_path: Path, damage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _greek_run(tmp_path / "run", max_trials=4)
    log = tmp_path / "run" / "events.jsonl"
    intact = _damage_the_end(log, damage)

    resumed = at.tune(
        _greek,
        None,
        resume=tmp_path / "run",
        max_trials=intact + 3,
        executor="inline",
    )

    assert "before resuming" in caplog.text
    assert resumed.stop_reason == "max_trials"
    assert [t.number for t in resumed.trials] == list(range(len(resumed.trials)))
    data = log.read_bytes()
    assert data.endswith(b"\n")
    assert all(json.loads(line.decode("utf-8")) for line in data.splitlines())
    loaded = at.load_run(tmp_path / "run")
    assert loaded.stop_reason == "max_trials"
    assert len(loaded.trials) == len(resumed.trials)


def test_an_unfinished_line_that_parses_is_kept_on_resume(tmp_path: Path) -> None:
    """The crash came between the event and its newline: the event counts."""
    _greek_run(tmp_path / "run", max_trials=4)
    log = tmp_path / "run" / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    kept = b"".join(lines[:-1]).rstrip(b"\n")  # no run_finished, no last newline
    log.write_bytes(kept)
    before = len(at.load_run(tmp_path / "run").trials)

    resumed = at.tune(
        _greek,
        None,
        resume=tmp_path / "run",
        max_trials=6,
        executor="inline",
    )

    assert before == 4
    assert resumed.trials[:4] == at.load_run(tmp_path / "run").trials[:4]
    assert log.read_bytes().startswith(kept + b"\n"), "every event is kept"
    assert all(json.loads(line) for line in log.read_bytes().splitlines())


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param(b"\xff\xfe{}\n", "not UTF-8 text", id="undecodable"),
        pytest.param(b'{"v": \xce\n', "not UTF-8 text", id="cut-character"),
        pytest.param(b"[1, 2]\n", "not a JSON event", id="not-an-object"),
    ],
)
def test_a_bad_line_in_the_middle_is_an_error_naming_it(
    quadratic_space: at.SearchSpace, tmp_path: Path, line: bytes, problem: str
) -> None:
    _run(quadratic_space, tmp_path / "run")
    log = tmp_path / "run" / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[3] = line
    log.write_bytes(b"".join(lines))

    with pytest.raises(at.RunFolderError, match=rf"events.jsonl:4: {problem}"):
        at.load_run(tmp_path / "run")
    with pytest.raises(at.RunFolderError, match=rf"events.jsonl:4: {problem}"):
        at.tune(quadratic, None, resume=tmp_path / "run")


def test_report_and_resume_of_an_undecodable_log_are_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from autotune_core.cli import main

    experiment = {
        "estimator": {"class": "sklearn.linear_model.LogisticRegression"},
        "data": {"loader": "load_iris"},
        "objective": {"cv": 2},
        "space": {"C": {"kind": "float", "low": 0.1, "high": 10.0, "log": True}},
        "run": {"max_trials": 3, "seed": 0, "executor": "inline"},
    }
    config = tmp_path / "experiment.json"
    config.write_text(json.dumps(experiment), encoding="utf-8")
    run = tmp_path / "run"
    assert main(["run", str(config), "--quiet", "--run-dir", str(run)]) == 0
    log = run / "events.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[2] = b"\x80\x81\n"
    log.write_bytes(b"".join(lines))
    capsys.readouterr()

    for command in (["report", str(run)], ["resume", str(run), "--quiet"]):
        code = main(command)

        err = capsys.readouterr().err
        assert code == 2, err
        assert "Traceback" not in err
        assert "events.jsonl:3: not UTF-8 text" in err.replace("\n", ""), err


def test_a_newer_log_version_is_refused(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    _run(quadratic_space, tmp_path / "run")
    log = tmp_path / "run" / "events.jsonl"
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first["v"] = at.SCHEMA_VERSION + 1
    log.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")

    with pytest.raises(at.RunFolderError, match=r"schema version v=2 is not supported"):
        at.load_run(tmp_path / "run")


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(at.RunFolderError, match="is not a run folder"):
        at.load_run(tmp_path)


def test_numpy_values_and_non_finite_metrics_are_recorded(tmp_path: Path) -> None:
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    def objective(params: dict[str, Any]) -> at.Evaluation:
        return at.Evaluation(
            score=float(np.float32(params["x"])), metrics={"odd": float("nan")}
        )

    at.tune(objective, space, max_trials=3, run_dir=tmp_path / "run")

    loaded = at.load_run(tmp_path / "run")
    assert loaded.trials[0].metrics == {"odd": None}
    for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_jsonl_reporter_writes_the_same_events(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    stream = tmp_path / "elsewhere" / "stream.jsonl"

    _run(quadratic_space, tmp_path / "run", reporters=[JsonlReporter(path=stream)])

    assert stream.read_text() == (tmp_path / "run" / "events.jsonl").read_text()
    assert next(e.kind for e in at.read_events(stream)) == "run_started"


def test_jsonl_reporter_by_name_with_options(
    quadratic_space: at.SearchSpace, tmp_path: Path
) -> None:
    reporter = at.create_reporter("jsonl", path=tmp_path / "s.jsonl")

    at.tune(
        quadratic, quadratic_space, max_trials=3, reporters=[reporter], run_dir=False
    )

    kinds = [e.kind for e in at.read_events(tmp_path / "s.jsonl")]
    assert kinds.count("trial_finished") == 3


def test_no_folder_when_turned_off(quadratic_space: at.SearchSpace) -> None:
    result = at.tune(quadratic, quadratic_space, max_trials=2, run_dir=False)

    assert result.run_dir is None
    assert not Path("autotune-runs").exists()


def _finished_event(number: int = 0) -> at.TrialFinished:
    trial = at.Trial(
        number=number, params={"x": 1.0}, status=at.TrialStatus.OK, score=1.0
    )
    return at.TrialFinished(trial)


def test_the_log_is_synced_by_a_helper_that_ends_with_it(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    helper = log._syncer
    assert isinstance(helper, _SyncProcess)
    for number in range(3):
        log.write(_finished_event(number))
        log.commit()
    assert helper._process.poll() is None  # alive while the log is open
    log.close()
    assert helper._process.wait(timeout=30) == 0  # it synced at the end and exited
    events = list(read_events(tmp_path / "events.jsonl"))
    assert [e.trial.number for e in events if isinstance(e, at.TrialFinished)] == [
        0,
        1,
        2,
    ]


def test_a_forked_child_holding_the_pipe_does_not_keep_the_helper(
    tmp_path: Path,
) -> None:
    """An objective may fork; its child inherits the pipe to the helper."""
    log = EventLog(tmp_path / "events.jsonl")
    helper = log._syncer
    assert isinstance(helper, _SyncProcess)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only waits to be killed
        time.sleep(60)
        os._exit(0)
    try:
        log.write(_finished_event())
        log.close()
        assert helper._process.wait(timeout=30) == 0
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_the_sync_helper_of_a_killed_run_exits(tmp_path: Path) -> None:
    script = f"""
import os, signal
from pathlib import Path
from autotune_core.run_folder import EventLog
log = EventLog(Path({str(tmp_path / "events.jsonl")!r}))
print(log._syncer._process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == -signal.SIGKILL
    pid = int(run.stdout.split()[0])
    deadline = time.monotonic() + 30
    while running(pid):
        assert time.monotonic() < deadline, f"sync helper {pid} outlived its run"
        time.sleep(0.05)


def test_without_a_helper_the_log_syncs_from_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise OSError("no interpreter here")

    monkeypatch.setattr(run_folder, "_SyncProcess", no_process)
    space = at.SearchSpace({"x": at.Float(low=-1, high=1)})
    result = at.tune(
        lambda p: p["x"], space, max_trials=5, executor="inline", run_dir=tmp_path / "r"
    )
    assert len(at.load_run(tmp_path / "r").trials) == len(result.trials) == 5
