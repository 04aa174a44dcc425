"""Run folders and the event log: layout, reading back, damaged and foreign logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autotune_core as at
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
    text = log.read_text()
    lines = text.splitlines(keepends=True)
    # drop run_finished and cut the last trial_finished in half, as a crash would
    cut = "".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2]
    log.write_text(cut)

    loaded = at.load_run(tmp_path / "run")

    assert loaded.stop_reason == "incomplete"
    assert len(loaded.trials) >= len(result.trials) - 1


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
