"""The ``autotune`` command: runs, user errors, and the demo end to end."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from threadpoolctl import threadpool_limits

import autotune_core as at
from autotune_core.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RUN_FOLDER = re.compile(r"^run folder: (.+)$", re.MULTILINE)


def run_folder(stdout: str) -> Path:
    """The run folder the command printed."""
    found = RUN_FOLDER.search(stdout)
    assert found is not None, stdout
    return Path(found.group(1))


def write_config(path: Path, **changes: Any) -> Path:
    """A tiny valid experiment (SVC on iris) as JSON, with tables replaced."""
    data: dict[str, Any] = {
        "estimator": {"class": "sklearn.svm.SVC"},
        "data": {"loader": "load_iris"},
        "objective": {"cv": 3},
        "space": {"C": {"kind": "float", "low": 0.1, "high": 10.0, "log": True}},
        "run": {"max_trials": 3, "seed": 0, "executor": "inline"},
    }
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def assert_user_error(
    code: int, capsys: pytest.CaptureFixture[str], *patterns: str
) -> str:
    """Exit status 2, one paragraph on stderr matching ``patterns``, no traceback."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("autotune: error: "), err
    assert err.strip().count("\n") == 0, err
    for pattern in patterns:
        assert re.search(pattern, err), (pattern, err)
    return err


# -- version and usage ---------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"autotune {at.__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "required: command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["demo", "--trials", "0"], "--trials: must be >= 1, got 0", id="0"
        ),
        pytest.param(
            ["run", "x.toml", "--max-trials", "many"],
            "--max-trials: must be an integer, got 'many'",
            id="not-int",
        ),
        pytest.param(
            ["run", "x.toml", "--seed", "-1"], "--seed: must be >= 0", id="neg"
        ),
        pytest.param(["demo", "--concurency", "2"], "unrecognized", id="typo"),
    ],
)
def test_bad_flag_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


# -- run -----------------------------------------------------------------------


@pytest.fixture
def one_native_thread() -> Iterator[None]:
    """Limit BLAS/OpenMP to one thread for fits in this thread (``--executor inline``).

    Worker processes do this by themselves; fits in this process do not, and on
    a busy two-core machine OpenMP's spinning threads slow them tenfold.
    """
    with threadpool_limits(limits=1):
        yield


@pytest.mark.usefixtures("one_native_thread")
@pytest.mark.parametrize(
    "name", ["mlp_digits.toml", "hgb_diabetes.toml", "svc_iris.json"]
)
def test_run_example_with_a_tiny_budget(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(EXAMPLES / name), "--max-trials", "2", "--executor", "inline"]

    code = main([*argv, "--seed", "3", "--quiet", "--run-dir", str(tmp_path / "r")])

    out = capsys.readouterr().out
    assert code == 0
    assert run_folder(out) == tmp_path / "r"
    result = at.load_run(tmp_path / "r")
    assert len(result.trials) == 2
    assert result.config.seed == 3
    assert "Best configuration" in out


def test_run_with_live_progress_reports_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "svc.json")

    assert main(["run", str(config)]) == 0

    captured = capsys.readouterr()
    assert "tuning SVC" in captured.err
    assert "stopped because" in captured.err
    folder = run_folder(captured.out)
    assert folder.parent == Path("autotune-runs")
    assert len(at.load_run(tmp_path / folder).trials) == 3


def test_a_console_in_the_experiment_is_the_only_one_on_run_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    console = {"name": "console", "options": {"quiet": True}}
    config = write_config(tmp_path / "svc.json", reporters=[console])
    run = tmp_path / "run"

    assert main(["run", str(config), "--run-dir", str(run)]) == 0
    err = capsys.readouterr().err
    assert err.count("stopped because") == 1
    assert "tuning SVC" not in err  # the experiment's console is quiet

    assert main(["resume", str(run), "--max-trials", "5"]) == 0
    err = capsys.readouterr().err
    assert err.count("stopped because") == 1
    assert "resuming SVC" not in err
    assert len(at.load_run(run).trials) == 5


def test_reporters_added_by_name_write_into_the_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "svc.json")
    run = tmp_path / "run"
    names = ["csv", "excel", "csv", "console"]  # repeats add nothing
    flags = [arg for name in names for arg in ("--reporter", name)]

    assert main(["run", str(config), "--quiet", "--run-dir", str(run), *flags]) == 0

    assert capsys.readouterr().err.count("stopped because") == 1
    reports = sorted(p.suffix for p in run.iterdir() if p.suffix in (".csv", ".xlsx"))
    assert reports == [".csv", ".xlsx"]

    assert main(["resume", str(run), "--max-trials", "5", "--reporter", "csv"]) == 0
    (table,) = run.glob("*.csv")
    assert len(table.read_text(encoding="utf-8").splitlines()) == 1 + 2


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["run", "CONFIG", "--run-dir", "NEW"], id="run"),
        pytest.param(["demo", "--run-dir", "NEW"], id="demo"),
        pytest.param(["resume", "OLD"], id="resume"),
    ],
)
def test_an_unknown_reporter_name_lists_the_known_ones(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "svc.json")
    old, new = tmp_path / "old", tmp_path / "new"
    assert main(["run", str(config), "--quiet", "--run-dir", str(old)]) == 0
    capsys.readouterr()
    paths = {"CONFIG": str(config), "NEW": str(new), "OLD": str(old)}

    code = main([*(paths.get(arg, arg) for arg in command), "--reporter", "exel"])

    assert_user_error(
        code, capsys, r"unknown reporter 'exel'; known: console, csv, excel, jsonl"
    )
    assert not new.exists()
    assert len(at.load_run(old).trials) == 3


def test_run_on_csv_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{int(i % 7 > 3)}" for i in range(40))
    (tmp_path / "table.csv").write_text("a,b,target\n" + rows + "\n", encoding="utf-8")
    data = {"csv": "table.csv", "target": "target"}
    config = write_config(tmp_path / "csv.json", data=data)

    assert main(["run", str(config), "--quiet"]) == 0

    result = at.load_run(tmp_path / run_folder(capsys.readouterr().out))
    assert [t.status.value for t in result.trials] == ["ok"] * 3


def test_verbose_logs_trials_at_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "svc.json")
    handlers = list(logging.getLogger().handlers)

    assert main(["-v", "run", str(config), "--quiet"]) == 0

    assert "trial 2 ok score=" in capsys.readouterr().err
    assert logging.getLogger().handlers == handlers


def test_all_trials_failing_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Accuracy cannot score a regressor's continuous predictions: every trial fails.
    config = write_config(
        tmp_path / "ridge.json",
        estimator={"class": "sklearn.linear_model.Ridge"},
        data={"loader": "load_diabetes"},
        objective={"cv": 3, "scoring": "accuracy"},
        space={"alpha": {"kind": "float", "low": 0.1, "high": 10.0}},
    )

    assert main(["run", str(config), "--quiet"]) == 1

    assert "No trial produced a score" in capsys.readouterr().out


def test_too_many_failures_in_a_row_exits_1_with_the_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "ridge.json",
        estimator={"class": "sklearn.linear_model.Ridge"},
        data={"loader": "load_diabetes"},
        objective={"cv": 3, "scoring": "accuracy"},
        space={"alpha": {"kind": "float", "low": 0.1, "high": 10.0}},
        run={"max_trials": 10, "max_failures": 2, "seed": 0, "executor": "inline"},
    )

    assert main(["run", str(config), "--quiet"]) == 1

    captured = capsys.readouterr()
    assert "autotune: run stopped: 2 trials in a row failed" in captured.err
    assert "Traceback" not in captured.err
    assert len(at.load_run(tmp_path / run_folder(captured.out)).trials) == 2


# -- user errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "patterns"),
    [
        pytest.param(
            {"estimator": {"class": "sklearn.svm.SVC", "parms": {}}},
            [r"estimator: unknown key 'parms'", r"did you mean 'params'"],
            id="unknown-key",
        ),
        pytest.param(
            {"space": {"C": {"kind": "float", "low": 1.0, "high": 0.5}}},
            [r"space.C.float: low=1.0 must be < high=0.5"],
            id="bad-value",
        ),
        pytest.param(
            {"estimator": {"class": "sklearn.svm.SVM"}},
            [r"estimator.class='sklearn.svm.SVM'", r"has no 'SVM'"],
            id="bad-import-path",
        ),
        pytest.param(
            {"data": {"loader": "fetch_california_housing"}},
            [r"data.loader='fetch_california_housing'", r"not allowed"],
            id="fetch-loader",
        ),
        pytest.param(
            {"space": {"gama": {"kind": "float", "low": 0.1, "high": 1.0}}},
            [r"'gama' is not a parameter of SVC; did you mean 'gamma'"],
            id="space-name-typo",
        ),
        pytest.param(
            {"run": {"seed": 1}},
            [r"no budget"],
            id="no-budget",
        ),
    ],
)
def test_bad_config_exits_2_without_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
    patterns: list[str],
) -> None:
    config = write_config(tmp_path / "bad.json", **changes)

    assert_user_error(main(["run", str(config)]), capsys, *patterns)
    assert not (tmp_path / "autotune-runs").exists()


def test_missing_csv_target_column_lists_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.csv").write_text("a,b,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    config = write_config(tmp_path / "c.json", data={"csv": "t.csv", "target": "Y"})

    code = main(["run", str(config)])

    assert_user_error(code, capsys, r"data.target='Y'", r"columns are 'a', 'b', 'y'")


def test_missing_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "no-such.toml"])

    assert_user_error(code, capsys, r"cannot read config file 'no-such.toml'")


def test_invalid_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.toml").write_text("[run\nmax_trials = 2\n", encoding="utf-8")

    code = main(["run", str(tmp_path / "broken.toml")])

    assert_user_error(code, capsys, r"broken.toml' is not valid")


def test_unusable_run_dir_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "svc.json", run={"max_trials": 2, "seed": 0})

    code = main(["run", str(config), "--run-dir", str(tmp_path / "svc.json")])

    assert_user_error(code, capsys, r"svc.json")


def test_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "bad.json", estimator={"class": "nowhere.Model"})

    assert main(["--debug", "run", str(config)]) == 2

    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "cannot import module 'nowhere'" in err


# -- demo ----------------------------------------------------------------------


@pytest.mark.usefixtures("one_native_thread")
def test_demo_with_a_tiny_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["demo", "--trials", "2", "--executor", "inline", "--seed", "0", "--quiet"]

    assert main([*argv, "--run-dir", str(tmp_path / "demo")]) == 0

    out = capsys.readouterr().out
    assert run_folder(out) == tmp_path / "demo"
    assert "mlp__hidden_layer_sizes" in out
    assert len(at.load_run(tmp_path / "demo").trials) == 2


@pytest.mark.slow
def test_demo_end_to_end_in_under_two_minutes(tmp_path: Path) -> None:
    autotune = Path(sys.executable).with_name("autotune")
    env = {**os.environ, "COLUMNS": "200"}
    started = time.monotonic()

    done = subprocess.run(
        [str(autotune), "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )

    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 120
    result = at.load_run(tmp_path / run_folder(done.stdout))
    assert len(result.trials) >= 10
    assert result.best_score > 0.9
    assert result.stop_reason in ("max_trials", "max_time")
