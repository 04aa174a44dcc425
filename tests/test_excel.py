"""The Excel workbook: History table, Progress chart, Summary, Parameters."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from _reporting_runs import (
    FORMULAS,
    SPACE,
    in_and_out_of_a_run_folder,
    make_run,
    replay,
    run_without_paths,
)
from openpyxl.chart import LineChart

import autotune_core as at
from autotune_core.testing import HOSTILE_TEXTS, event_stream
from reporters import ExcelReporter
from reporters import _sheets as sheets
from reporters._files import safe_name
from reporters.columns import LEADING_COLUMNS, TRAILING_COLUMNS

HEADERS = [*LEADING_COLUMNS, *SPACE.names, *TRAILING_COLUMNS]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> at.TuneResult:
    return make_run(tmp_path_factory.mktemp("excel") / "run")


@pytest.fixture(scope="module")
def workbook(run: at.TuneResult) -> Any:
    assert run.run_dir is not None
    path = run.run_dir / "report.xlsx"
    replay(run.run_dir, ExcelReporter(path=path))
    return openpyxl.load_workbook(path)


def column(sheet: Any, header: str) -> list[Any]:
    """The cells of the History column named ``header``, header excluded."""
    index = HEADERS.index(header) + 1
    return [row[0] for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index)]


def close_to(value: float | None) -> Any:
    """``value`` as openpyxl reads it back: 16 significant digits."""
    return None if value is None else pytest.approx(value, rel=1e-15)


def summary(workbook: Any) -> dict[tuple[str, str], Any]:
    """Summary values by (section, label)."""
    values: dict[tuple[str, str], Any] = {}
    section = ""
    for label, value in workbook["Summary"].iter_rows(values_only=True):
        if label is not None and value is None:
            section = label
        elif label is not None:
            values[section, label] = value
    return values


# -- History ---------------------------------------------------------------------------


def test_sheets_come_in_reading_order(workbook: Any) -> None:
    assert workbook.sheetnames == ["History", "Progress", "Summary", "Parameters"]


def test_history_is_an_excel_table_over_every_trial(
    workbook: Any, run: at.TuneResult
) -> None:
    sheet = workbook["History"]
    table = sheet.tables["History"]
    last = openpyxl.utils.get_column_letter(len(HEADERS))

    assert table.ref == f"A1:{last}{len(run.trials) + 1}"
    assert table.autoFilter.ref == table.ref
    assert table.tableStyleInfo.name == sheets.TABLE_STYLE
    assert [c.name for c in table.tableColumns] == HEADERS
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert sheet.max_row == len(run.trials) + 1
    assert sheet.freeze_panes == "B2"


def test_history_rows_are_the_trials(workbook: Any, run: at.TuneResult) -> None:
    sheet = workbook["History"]

    assert [c.value for c in column(sheet, "trial")] == [t.number for t in run.trials]
    assert [c.value for c in column(sheet, "status")] == [t.status for t in run.trials]
    # openpyxl writes 16 significant digits
    assert [c.value for c in column(sheet, "score")] == [
        close_to(t.score) for t in run.trials
    ]
    assert [c.value for c in column(sheet, "accepted")] == [
        t.accepted for t in run.trials
    ]
    assert [c.value for c in column(sheet, "alpha")] == [
        close_to(t.params["alpha"]) for t in run.trials
    ]
    assert [c.value for c in column(sheet, "fit time (s)")] == [
        close_to(t.fit_time) for t in run.trials
    ]


def test_best_so_far_is_the_best_accepted_score(
    workbook: Any, run: at.TuneResult
) -> None:
    best = [c.value for c in column(workbook["History"], "best so far")]
    expected, running = [], -math.inf
    for trial in run.trials:
        if trial.accepted and trial.score is not None:
            running = max(running, trial.score)
        expected.append(pytest.approx(running, rel=1e-15))

    assert best == expected
    assert best[-1] == pytest.approx(run.best_score, rel=1e-15)


def test_moves_read_parameter_kind_old_and_new(
    workbook: Any, run: at.TuneResult
) -> None:
    moves = [c.value or "" for c in column(workbook["History"], "moves")]
    depth_step = next(t for t in run.trials if t.moves and t.moves[0].param == "depth")
    move = depth_step.moves[0]

    assert moves[0] == ""  # the start point has no parent
    assert moves[depth_step.number] == f"depth {move.kind}: {move.old} -> {move.new}"


def test_changed_cells_are_highlighted(workbook: Any, run: at.TuneResult) -> None:
    sheet = workbook["History"]
    for trial in run.trials:
        moved = {m.param for m in trial.moves}
        for name in SPACE.names:
            cell = sheet.cell(trial.number + 2, HEADERS.index(name) + 1)
            yellow = cell.fill.fgColor.rgb == "00" + sheets.YELLOW
            assert yellow is (name in moved), (trial.number, name)
            assert cell.font.b is (name in moved)


def test_accepted_rows_are_green_and_failures_red(
    workbook: Any, run: at.TuneResult
) -> None:
    sheet = workbook["History"]
    for trial in run.trials:
        trial_cell = sheet.cell(trial.number + 2, 1)
        status_cell = sheet.cell(trial.number + 2, 2)
        green = trial_cell.fill.fgColor.rgb == "00" + sheets.GREEN
        assert green is trial.accepted
        if trial.status is at.TrialStatus.FAILED:
            assert status_cell.fill.fgColor.rgb == "00" + sheets.RED

    assert {t.status for t in run.trials} >= {"ok", "failed"}


@pytest.mark.parametrize("text", [pytest.param(t, id=repr(t)) for t in FORMULAS])
def test_text_that_looks_like_a_formula_stays_text(
    workbook: Any, run: at.TuneResult, text: str
) -> None:
    cells = [c for c in column(workbook["History"], "formula") if c.value == text]

    assert len(cells) == sum(t.params["formula"] == text for t in run.trials) > 0
    assert {c.data_type for c in cells} == {"s"}


def test_negative_scores_stay_numbers(workbook: Any) -> None:
    scores = [c for c in column(workbook["History"], "score") if c.value is not None]

    assert all(c.data_type == "n" and c.value < 0 for c in scores)


def test_hostile_text_is_stored_as_text(tmp_path: Path) -> None:
    reporter = ExcelReporter(path=tmp_path / "hostile.xlsx")
    for event in event_stream(400, seed=2):
        reporter.handle(event)
    reporter.close()
    sheet = openpyxl.load_workbook(tmp_path / "hostile.xlsx")["History"]
    header = [c.value for c in sheet[1]]
    index = header.index("@choice") + 1
    cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index)]
    stored = {c.value for c in cells if c.value is not None}

    assert {c.data_type for c in cells if c.value is not None} == {"s"}
    assert {"=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(A1)", "#N/A", "-1.5"} <= stored
    assert "\ufffd\ufffd\ufffdcontrol" in stored  # control characters replaced
    assert stored <= {sheets.clean_text(t) for t in HOSTILE_TEXTS}


# -- Progress --------------------------------------------------------------------------


def test_progress_chart_plots_the_history_columns(
    workbook: Any, run: at.TuneResult
) -> None:
    charts = workbook["Progress"]._charts
    last = len(run.trials) + 1

    assert len(charts) == 1
    chart = charts[0]
    scores, fit_times = chart._charts
    assert isinstance(scores, LineChart) and isinstance(fit_times, LineChart)
    assert [s.tx.strRef.f for s in scores.series] == ["'History'!C1", "'History'!D1"]
    assert [s.val.numRef.f for s in scores.series] == [
        f"'History'!$C$2:$C${last}",
        f"'History'!$D$2:$D${last}",
    ]
    assert scores.series[0].cat.numRef.f == f"'History'!$A$2:$A${last}"
    assert [s.val.numRef.f for s in fit_times.series] == [f"'History'!$F$2:$F${last}"]


def test_progress_chart_has_a_secondary_axis_for_fit_time(workbook: Any) -> None:
    chart = workbook["Progress"]._charts[0]
    scores, fit_times = chart._charts

    assert scores.y_axis.axId == 100 and scores.x_axis.axId == 10
    assert fit_times.y_axis.axId == 200
    assert fit_times.y_axis.crosses == "max"
    assert fit_times.x_axis.delete is True
    titles = [
        axis.title.tx.rich.p[0].r[0].t
        for axis in (scores.x_axis, scores.y_axis, fit_times.y_axis)
    ]
    assert titles == ["trial", "score", "fit time (s)"]
    assert chart.title.tx.rich.p[0].r[0].t == "Score by trial"


def test_score_axis_fits_the_scores(workbook: Any, run: at.TuneResult) -> None:
    axis = workbook["Progress"]._charts[0]._charts[0].y_axis
    scores = [t.score for t in run.trials if t.score is not None]

    assert axis.scaling.min <= min(scores) and max(scores) <= axis.scaling.max
    assert axis.scaling.max - axis.scaling.min <= 2 * (max(scores) - min(scores))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([0.81, 0.97], (0.8, 0.98, 0.02), id="accuracy"),
        pytest.param([-3.2, -0.01], (-3.5, 0.5, 0.5), id="negative"),
        pytest.param([5.0, 5.0], (4.0, 6.0, 1.0), id="flat"),
        pytest.param([0.0, 0.0], (-0.2, 0.2, 0.2), id="zero"),
    ],
)
def test_axis_bounds_are_round(
    values: list[float], expected: tuple[float, float, float]
) -> None:
    assert sheets.axis_bounds(values) == pytest.approx(expected)


# -- Summary and Parameters ------------------------------------------------------------


def test_summary_gives_best_counts_and_set_up(
    workbook: Any, run: at.TuneResult
) -> None:
    values = summary(workbook)
    counts = Counter(t.status.value for t in run.trials)

    assert values["Best configuration", "best score"] == pytest.approx(
        run.best_score, rel=1e-15
    )
    assert values["Best configuration", "best trial"] == run.best_trial.number  # type: ignore[union-attr]
    assert values["Best configuration", "alpha"] == pytest.approx(
        run.best_params["alpha"], rel=1e-15
    )
    assert values["Best configuration", "formula"] == run.best_params["formula"]
    assert values["Trials by status", "ok"] == counts["ok"]
    assert values["Trials by status", "failed"] == counts["failed"]
    assert values["Trials by status", "pruned"] == 0
    assert values["Trials by status", "accepted"] == sum(t.accepted for t in run.trials)
    assert values["Run", "trials"] == len(run.trials)
    assert values["Run", "stopped because"] == run.stop_reason
    assert values["Run configuration", "max_trials"] == 60
    assert values["Run configuration", "seed"] == 0
    assert values["Search space", "depth"] == "an integer in [1, 9]; start 2"
    assert values["Strategy", "name"] == "random-step"
    assert values["Versions", "autotune-core"] == at.__version__
    assert values["Timings (s)", "mean fit time per fold"] == pytest.approx(
        sum(t.fit_time for t in run.trials if t.fit_time) / counts["ok"]
    )


def test_parameters_sheet_counts_moves_and_acceptance(
    workbook: Any, run: at.TuneResult
) -> None:
    sheet = workbook["Parameters"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[1]}
    header = [c.value for c in sheet[1]]

    assert header == list(sheets.PARAMETER_COLUMNS)
    assert sheet.tables["Parameters"].ref == f"A1:L{len(SPACE) + 1}"
    for name in SPACE.names:
        moved = [t for t in run.trials if any(m.param == name for m in t.moves)]
        assert rows[name][2] == len(moved)
        assert rows[name][3] == sum(t.accepted for t in moved)


def test_mean_score_change_up_and_down(workbook: Any, run: at.TuneResult) -> None:
    by_number = {t.number: t for t in run.trials}
    rows = {r[0]: r for r in workbook["Parameters"].iter_rows(values_only=True)}
    changes: dict[str, list[float]] = {"up": [], "down": []}
    for trial in run.trials:
        parent = by_number.get(trial.parent)  # type: ignore[arg-type]
        for move in trial.moves:
            if move.param == "alpha" and trial.score is not None and parent:
                changes[move.kind].append(trial.score - parent.score)  # type: ignore[operator]

    assert rows["alpha"][5] == len(changes["up"])
    assert rows["alpha"][6] == pytest.approx(sum(changes["up"]) / len(changes["up"]))
    assert rows["alpha"][8] == pytest.approx(
        sum(changes["down"]) / len(changes["down"])
    )


# -- writing ---------------------------------------------------------------------------


def test_nothing_is_written_before_the_run_ends(tmp_path: Path) -> None:
    path = tmp_path / "run.xlsx"
    reporter = ExcelReporter(path=path)
    events = event_stream(30, seed=1)
    end = next(i for i, e in enumerate(events) if isinstance(e, at.RunFinished))
    for event in events[:end]:
        reporter.handle(event)
    before_the_end = path.exists()
    reporter.handle(events[end])

    assert not before_the_end
    assert _rows_written(path) == sum(
        isinstance(e, at.TrialFinished) for e in events[:end]
    )


def _rows_written(path: Path) -> int:
    workbook = openpyxl.load_workbook(path, read_only=True)
    count = sum(1 for _ in workbook["History"].iter_rows(min_row=2))
    workbook.close()
    return count


def _until_finished(n_trials: int, *, seed: int) -> list[at.Event]:
    """A stream of one session, cut before its run_finished event."""
    events = event_stream(n_trials * 2, seed=seed, concurrency=1)
    end = next(i for i, e in enumerate(events) if isinstance(e, at.RunFinished))
    return events[:end]


def test_refresh_every_n_trials(tmp_path: Path) -> None:
    path = tmp_path / "run.xlsx"
    reporter = ExcelReporter(path=path, refresh_trials=10)
    sizes = []
    for event in _until_finished(25, seed=3):
        reporter.handle(event)
        if isinstance(event, at.TrialFinished) and event.trial.number in (8, 9, 19):
            sizes.append(_rows_written(path) if path.exists() else 0)

    assert sizes == [0, 10, 20]


def test_refresh_after_some_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(range(0, 10_000, 7))  # each reading 7 s after the last
    monkeypatch.setattr("reporters.excel.time.monotonic", lambda: float(next(clock)))
    path = tmp_path / "run.xlsx"
    reporter = ExcelReporter(path=path, refresh_s=20.0)
    finished = 0
    for event in _until_finished(10, seed=3):
        reporter.handle(event)
        finished += isinstance(event, at.TrialFinished)
        if finished == 2:
            assert not path.exists()  # 14 s after the start
        if finished == 3:
            assert _rows_written(path) == 3  # 21 s after the start
            return


def test_a_failed_write_keeps_the_previous_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.xlsx"
    reporter = ExcelReporter(path=path)
    for event in event_stream(20, seed=5):
        reporter.handle(event)
    before = path.read_bytes()

    class HalfWritten:
        def save(self, filename: str) -> None:
            Path(filename).write_bytes(b"half a workbook")
            raise OSError("disk full")

    monkeypatch.setattr("reporters.excel.build_workbook", lambda h: HalfWritten())
    with pytest.raises(OSError, match="disk full"):
        reporter.write()

    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.xlsx"]


def test_default_path_is_named_after_the_run(tmp_path: Path) -> None:
    events = event_stream(3, seed=0)
    reporter = ExcelReporter()
    for event in events:
        reporter.handle(event)
    reporter.close()

    assert isinstance(events[0], at.RunStarted)
    assert reporter.path == Path(f"{safe_name(events[0].name)}.xlsx")
    assert (tmp_path / reporter.path).is_file()


@in_and_out_of_a_run_folder
def test_given_no_path_it_writes_into_the_run_folder(
    tmp_path: Path, in_folder: bool
) -> None:
    folder, result = run_without_paths(tmp_path, in_folder, "excel")

    name = f"{safe_name(result.name)}.xlsx"
    assert sorted(tmp_path.rglob("*.xlsx")) == [folder / name]


def test_a_run_without_trials_gives_a_valid_workbook(tmp_path: Path) -> None:
    reporter = ExcelReporter(path=tmp_path / "empty.xlsx")
    for event in event_stream(0, seed=0):
        reporter.handle(event)
    reporter.close()
    workbook = openpyxl.load_workbook(tmp_path / "empty.xlsx")

    assert workbook["History"].tables["History"].ref.endswith("2")
    assert summary(workbook)["Best configuration", "best score"] == (
        "no trial was accepted"
    )


def test_the_reporter_works_inside_a_run(tmp_path: Path) -> None:
    path = tmp_path / "live.xlsx"
    result = make_run(tmp_path / "run", trials=12, reporters=[ExcelReporter(path=path)])
    sheet = openpyxl.load_workbook(path)["History"]

    assert [c.value for c in column(sheet, "trial")] == [
        t.number for t in result.trials
    ]


def test_found_by_name_with_options(tmp_path: Path) -> None:
    reporter = at.create_reporter("excel", path=tmp_path / "x.xlsx", refresh_s=30)

    assert isinstance(reporter, ExcelReporter)
    assert reporter.options()["refresh_s"] == 30


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"refresh_trials": 0}, r"refresh_trials=0 must be > 0", id="zero"),
        pytest.param(
            {"refresh_trials": 2.5}, r"refresh_trials=2.5 must be an int", id="float"
        ),
        pytest.param({"refresh_s": -1.0}, r"refresh_s=-1.0 must be > 0", id="negative"),
        pytest.param(
            {"refresh_s": math.inf}, r"refresh_s=inf must be > 0 and finite", id="inf"
        ),
        pytest.param(
            {"refresh_s": True}, r"refresh_s=True must be a number", id="bool"
        ),
    ],
)
def test_invalid_options_are_config_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(at.ConfigError, match=rf"ExcelReporter: {message}"):
        ExcelReporter(**options)


# -- rendered by LibreOffice -----------------------------------------------------------


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    missing = [tool for tool in ("pdftoppm", "pdftotext") if shutil.which(tool) is None]
    if found is None:
        missing.insert(0, "soffice")
    if missing:
        # CI installs both (.ci/run); there a missing tool is a failure, not a skip.
        reason = (
            f"not installed: {', '.join(missing)} (apt-get install "
            "libreoffice-calc-nogui poppler-utils, as .ci/run does)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert found is not None
    return found


def _chart_page(pdf: Path) -> int:
    """The page of ``pdf`` that holds the Progress chart (found by its title)."""
    pages = int(
        next(
            line.split()[-1]
            for line in subprocess.run(
                ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("Pages:")
        )
    )
    for page in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "Score by trial" in text:
            return page
    raise AssertionError("no page of the PDF shows the chart title")


def _near(pixels: np.ndarray, colour: str, tolerance: int = 60) -> int:
    """How many of ``pixels`` (RGB rows) are close to ``colour`` ("RRGGBB")."""
    target = np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)])
    return int((np.abs(pixels - target).sum(axis=1) < tolerance).sum())


@pytest.mark.slow
def test_libreoffice_draws_the_progress_chart(
    workbook: Any, run: at.TuneResult, tmp_path: Path
) -> None:
    from PIL import Image

    soffice = _soffice()
    assert run.run_dir is not None
    source = tmp_path / "report.xlsx"
    shutil.copy(run.run_dir / "report.xlsx", source)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    pdf = tmp_path / "report.pdf"
    page = _chart_page(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            str(page),
            "-l",
            str(page),
            str(pdf),
            str(tmp_path / "chart"),
        ],
        check=True,
        timeout=60,
    )
    image = Image.open(next(tmp_path.glob("chart*.png"))).convert("RGB")
    width, height = image.size
    # The chart is anchored at A1 and fills the top half of the landscape page.
    region = image.crop((0, 0, width, height // 2))
    pixels = np.asarray(region, dtype=int).reshape(-1, 3)
    drawn = int((pixels != 255).any(axis=1).sum())
    score_dots = _near(pixels, sheets.SCORE_COLOUR)
    best_line = _near(pixels, sheets.BEST_COLOUR)

    assert drawn > 0.02 * len(pixels), "the chart area is blank"
    assert score_dots > 50, "no score dots were drawn"
    assert best_line > 50, "no best-so-far line was drawn"
