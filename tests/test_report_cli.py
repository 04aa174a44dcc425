"""``autotune report RUN_FOLDER --format xlsx|csv|png``: reports after the fact."""

from __future__ import annotations

import ast
import csv
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from _reporting_runs import make_run

import autotune_core as at
from autotune_core import registry
from autotune_core.cli import main
from autotune_core.testing import event_stream
from reporters import CsvReporter, ExcelReporter, JsonlReporter


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = make_run(tmp_path_factory.mktemp("report") / "run", trials=30)
    assert result.run_dir is not None
    return result.run_dir


def write_log(folder: Path, events: list[at.Event]) -> Path:
    """A run folder holding only ``events`` as its event log."""
    writer = JsonlReporter(path=folder / "events.jsonl")
    for event in events:
        writer.handle(event)
    writer.close()
    return folder


def history_trials(path: Path) -> list[int]:
    sheet = openpyxl.load_workbook(path)["History"]
    return [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_xlsx_goes_into_the_run_folder_by_default(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", str(run_folder)])

    assert code == 0
    assert capsys.readouterr().out.strip() == f"wrote {run_folder / 'report.xlsx'}"
    assert history_trials(run_folder / "report.xlsx") == list(range(30))


def test_csv_to_a_chosen_file(run_folder: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "trials.csv"

    assert (
        main(["report", str(run_folder), "--format", "csv", "--output", str(output)])
        == 0
    )
    with output.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["trial"]) for r in rows] == list(range(30))


def test_png_writes_the_plots_folder(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "plots"

    assert (
        main(["report", str(run_folder), "--format", "png", "--output", str(output)])
        == 0
    )
    assert sorted(p.name for p in output.iterdir()) == [
        "parameter-trace.png",
        "score-by-time.png",
        "score-by-trial.png",
    ]
    assert "score-by-trial.png" in capsys.readouterr().out


def test_a_resumed_run_reports_every_session_and_parameter(tmp_path: Path) -> None:
    events = event_stream(40, seed=3)  # resumed halfway with a parameter added
    folder = write_log(tmp_path / "resumed", events)

    assert main(["report", str(folder), "--format", "csv"]) == 0
    with (folder / "history.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 40
    assert "added_6" in rows[0]
    assert rows[-1]["added_6"] != ""


def test_an_interrupted_run_is_reported(tmp_path: Path) -> None:
    events = event_stream(20, seed=1)
    cut = next(i for i, e in enumerate(events) if isinstance(e, at.RunFinished))
    folder = write_log(tmp_path / "killed", events[:cut])

    assert main(["report", str(folder)]) == 0
    finished = [e for e in events[:cut] if isinstance(e, at.TrialFinished)]
    assert history_trials(folder / "report.xlsx") == [e.trial.number for e in finished]


def test_the_reporter_is_found_by_name_through_the_registry(
    run_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    class Recording(at.Reporter):
        def __init__(self, **options: Any) -> None:
            seen.append(f"options {sorted(options)}")

        def handle(self, event: at.Event) -> None:
            seen.append(event.kind)

    monkeypatch.setitem(registry._EXTRA["reporters"], "csv", Recording)
    main(
        ["report", str(run_folder), "--format", "csv", "--output", str(tmp_path / "x")]
    )

    assert seen[0] == "options ['params', 'path']"
    assert seen[1] == "run_started" and seen[-1] == "run_finished"
    assert seen.count("trial_finished") == 30


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["report", "."], r"'\.' is not a run folder", id="not-a-run"),
        pytest.param(
            ["report", "RUN", "--output", "."],
            r"--output '\.' is a folder; give a file name such as '.*report\.xlsx'",
            id="folder-for-a-file",
        ),
        pytest.param(["report", "EMPTY"], "has no run_started event", id="empty-log"),
    ],
)
def test_user_errors(
    argv: list[str],
    message: str,
    run_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "EMPTY" / "events.jsonl").write_text("", encoding="utf-8")
    argv = [str(run_folder) if a == "RUN" else a for a in argv]

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("autotune: error: ") and "Traceback" not in err
    assert err.count("\n") == 1
    assert re.search(message, err), err


def test_an_unknown_format_is_a_usage_error(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(run_folder), "--format", "pdf"]) == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


def test_the_core_does_not_import_the_reporters_package() -> None:
    code = (
        "import sys, autotune_core, autotune_core.cli\n"
        "assert 'reporters' not in sys.modules, 'the core imported reporters'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert not [
        p.name for p in Path(at.__file__).parent.glob("*.py") if _imports_reporters(p)
    ]


def _imports_reporters(path: Path) -> bool:
    """Whether the module at ``path`` has an import statement of ``reporters``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(n == "reporters" or n.startswith("reporters.") for n in names):
            return True
    return False


# -- several reporters in one run ------------------------------------------------------


class Broken(at.Reporter):
    name = "broken"

    def on_trial_finished(self, event: at.TrialFinished) -> None:
        if event.trial.number == 3:
            raise RuntimeError("cannot draw trial 3")


def test_several_reporters_at_once_and_a_broken_one_is_detached(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="autotune_core")
    result = make_run(
        tmp_path / "run",
        trials=15,
        reporters=[
            ExcelReporter(path=tmp_path / "live.xlsx"),
            Broken(),
            CsvReporter(path=tmp_path / "live.csv"),
            JsonlReporter(path=tmp_path / "copy.jsonl"),
        ],
    )
    numbers = [t.number for t in result.trials]

    assert history_trials(tmp_path / "live.xlsx") == numbers
    with (tmp_path / "live.csv").open(newline="", encoding="utf-8") as file:
        assert [int(r["trial"]) for r in csv.DictReader(file)] == numbers
    copied = [e.kind for e in at.read_events(tmp_path / "copy.jsonl")]
    logged = [e.kind for e in at.read_events(tmp_path / "run" / "events.jsonl")]
    assert copied == logged
    assert any("broken" in r.getMessage() for r in caplog.records)
