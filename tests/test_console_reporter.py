"""The console reporter: the live bar, quiet mode, and the final table."""

from __future__ import annotations

import io

import pytest
from _reporting_runs import make_run
from rich.console import Console

import autotune_core as at
from reporters import ConsoleReporter

TRIALS = 30


def _console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=100, color_system=None), text


def _table_rows(output: str) -> dict[str, str]:
    """The rows of the final table, label to value."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


@pytest.fixture(scope="module")
def quiet() -> tuple[at.TuneResult, str]:
    console, text = _console()
    reporter = ConsoleReporter(quiet=True, console=console)
    result = make_run(False, trials=TRIALS, reporters=[reporter])
    return result, text.getvalue()


def test_quiet_mode_prints_only_the_final_table(
    quiet: tuple[at.TuneResult, str],
) -> None:
    _, output = quiet

    assert output.lstrip().startswith("AutoTune run")
    assert "tuning" not in output
    assert f"{TRIALS}/{TRIALS}" not in output
    assert " left" not in output


def test_the_live_bar_shows_the_header_and_the_count() -> None:
    console, text = _console()

    make_run(False, trials=TRIALS, reporters=[ConsoleReporter(console=console)])

    output = text.getvalue()
    assert "tuning objective over 4 parameters with random-step" in output
    assert f"{TRIALS}/{TRIALS}" in output
    assert output.count("AutoTune run") == 1


def test_the_final_table_sums_up_the_run(quiet: tuple[at.TuneResult, str]) -> None:
    result, output = quiet
    rows = _table_rows(output)
    assert result.best_trial is not None and result.best_score is not None

    assert list(rows)[:2] == ["stopped because", "trials"]
    assert rows["stopped because"] == "max_trials"
    assert rows["trials"] == str(TRIALS)
    statuses = {k: int(v) for k, v in rows.items() if k in result.status_counts}
    assert statuses == result.status_counts
    assert set(result.status_counts) == {"ok", "failed"}
    assert rows["accepted"] == str(sum(t.accepted for t in result.trials))
    best = f"{result.best_score:.6g} (trial {result.best_trial.number})"
    assert rows["best score"] == best
    assert rows["elapsed"].endswith(" s")
    assert rows["pace"].endswith(" trials/min")
