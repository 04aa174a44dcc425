"""The CSV reporter: one row per trial, streamed, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _reporting_runs import (
    SPACE,
    in_and_out_of_a_run_folder,
    make_run,
    replay,
    run_without_paths,
)

import autotune_core as at
from autotune_core.testing import HOSTILE_TEXTS, event_stream
from reporters import CsvReporter
from reporters._files import safe_name
from reporters.columns import LEADING_COLUMNS, TRAILING_COLUMNS
from reporters.csv_table import FORMULA_STARTS, csv_field, neutralise

HEADERS = [*LEADING_COLUMNS, *SPACE.names, *TRAILING_COLUMNS]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> at.TuneResult:
    return make_run(tmp_path_factory.mktemp("csv") / "run")


@pytest.fixture(scope="module")
def rows(run: at.TuneResult) -> list[dict[str, str]]:
    assert run.run_dir is not None
    path = run.run_dir / "history.csv"
    replay(run.run_dir, CsvReporter(path=path))
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.mark.usefixtures("rows")
def test_header_is_the_history_layout(run: at.TuneResult) -> None:
    assert run.run_dir is not None
    with (run.run_dir / "history.csv").open(encoding="utf-8") as file:
        header = next(csv.reader(file))

    assert header == HEADERS


def test_one_row_per_trial_with_exact_numbers(
    rows: list[dict[str, str]], run: at.TuneResult
) -> None:
    assert [int(r["trial"]) for r in rows] == [t.number for t in run.trials]
    assert [r["status"] for r in rows] == [t.status.value for t in run.trials]
    assert [float(r["score"]) if r["score"] else None for r in rows] == [
        t.score for t in run.trials
    ]
    assert [float(r["alpha"]) for r in rows] == [t.params["alpha"] for t in run.trials]
    assert [r["accepted"] for r in rows] == [
        "TRUE" if t.accepted else "FALSE" for t in run.trials
    ]


def test_negative_scores_are_plain_numbers(rows: list[dict[str, str]]) -> None:
    scores = [r["score"] for r in rows if r["score"]]

    assert all(s.startswith("-") and float(s) < 0 for s in scores)


def test_formula_like_text_gets_an_apostrophe(
    rows: list[dict[str, str]], run: at.TuneResult
) -> None:
    written = [r["formula"] for r in rows]
    expected = [neutralise(t.params["formula"]) for t in run.trials]

    assert written == expected
    assert {"'=1+1", "'-1.5", "'@SUM(A1)", "'+cmd", "#N/A", "plain"} <= set(written)


def test_failed_trials_keep_their_error(
    rows: list[dict[str, str]], run: at.TuneResult
) -> None:
    failed = [r for r in rows if r["status"] == "failed"]

    assert failed
    assert all(r["score"] == "" and r["error"].startswith("ValueError") for r in failed)


@pytest.mark.usefixtures("rows")
def test_pandas_reads_it_back(run: at.TuneResult) -> None:
    assert run.run_dir is not None
    frame = pd.read_csv(run.run_dir / "history.csv")

    assert list(frame.columns) == HEADERS
    assert frame["accepted"].dtype == bool
    assert frame["score"].tolist()[:3] == [t.score for t in run.trials[:3]]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        pytest.param(-0.25, "-0.25", id="negative"),
        pytest.param(0.1 + 0.2, "0.30000000000000004", id="exact"),
        pytest.param(1e-300, "1e-300", id="tiny"),
        pytest.param(float("nan"), "", id="nan"),
        pytest.param(True, "TRUE", id="true"),
        pytest.param(-3, "-3", id="int"),
        pytest.param(None, "", id="none"),
        pytest.param("-3", "'-3", id="text-number"),
        pytest.param("=SUM(A1)", "'=SUM(A1)", id="equals"),
        pytest.param("\t=x", "'\t=x", id="tab"),
        pytest.param("\uff1dx", "'\uff1dx", id="full-width"),
        pytest.param("a=b", "a=b", id="inner"),
    ],
)
def test_fields(value: Any, field: str) -> None:
    assert csv_field(value) == field


@pytest.mark.parametrize(
    "text", [pytest.param(t, id=repr(t)[:20]) for t in HOSTILE_TEXTS]
)
def test_no_hostile_text_starts_a_formula(text: str) -> None:
    assert not csv_field(text).startswith(FORMULA_STARTS)


@in_and_out_of_a_run_folder
def test_given_no_path_it_writes_into_the_run_folder(
    tmp_path: Path, in_folder: bool
) -> None:
    folder, result = run_without_paths(tmp_path, in_folder, "csv")

    name = f"{safe_name(result.name)}.csv"
    assert sorted(tmp_path.rglob("*.csv")) == [folder / name]


def test_rows_are_flushed_as_trials_finish(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    reporter = CsvReporter(path=path)
    counts = []
    for event in event_stream(20, seed=0):
        reporter.handle(event)
        if isinstance(event, at.TrialFinished):
            with path.open(newline="", encoding="utf-8") as file:
                counts.append(len(list(csv.reader(file))) - 1)
    reporter.close()

    assert counts == list(range(1, 21))


def test_append_adds_rows_under_one_header(tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    for _ in range(2):
        reporter = CsvReporter(path=path, append=True)
        for event in event_stream(5, seed=0):
            reporter.handle(event)
        reporter.close()
    with path.open(newline="", encoding="utf-8") as file:
        lines = list(csv.reader(file))

    assert len(lines) == 1 + 10
    assert lines[0][0] == "trial"


def test_excel_bom(tmp_path: Path) -> None:
    reporter = CsvReporter(path=tmp_path / "excel.csv", excel_bom=True)
    for event in event_stream(2, seed=0):
        reporter.handle(event)
    reporter.close()

    assert (tmp_path / "excel.csv").read_bytes().startswith(b"\xef\xbb\xbftrial,")


def test_a_parameter_added_later_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="reporters")
    reporter = CsvReporter(path=tmp_path / "t.csv")
    for event in event_stream(10, seed=0):  # resumed halfway, a parameter added
        reporter.handle(event)
    reporter.close()

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'added_6'" in warnings[0] and "autotune report" in warnings[0]


def test_params_option_fixes_the_columns(tmp_path: Path) -> None:
    reporter = CsvReporter(path=tmp_path / "t.csv", params=["kernel", "alpha"])
    for event in event_stream(3, seed=0):
        reporter.handle(event)
    reporter.close()
    header = (tmp_path / "t.csv").read_text(encoding="utf-8").splitlines()[0]

    assert header.startswith(",".join([*LEADING_COLUMNS, "kernel", "alpha"]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"append": "yes"}, "append='yes' must be True or False", id="append"
        ),
        pytest.param({"excel_bom": 1}, "excel_bom=1 must be True or False", id="bom"),
    ],
)
def test_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(at.ConfigError, match=f"CsvReporter: {message}"):
        CsvReporter(**options)
