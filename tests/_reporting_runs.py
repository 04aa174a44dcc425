"""A small real run shared by the reporter tests: negative scores, failures,
fit times, and text choices that look like formulas."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import pytest

import autotune_core as at

FORMULAS = ("=1+1", "-1.5", "@SUM(A1)", "+cmd", "#N/A", "plain")
"""Choices of the ``formula`` parameter; the run starts on ``"=1+1"``."""

SPACE = at.SearchSpace(
    {
        "alpha": at.Float(low=1e-4, high=1.0, log=True, start=0.01),
        "depth": at.Int(low=1, high=9, start=2),
        "formula": at.Categorical(choices=FORMULAS, start="=1+1"),
        "flag": at.Bool(),
    }
)


def objective(params: dict[str, Any]) -> at.Evaluation:
    """Negative everywhere, best near alpha=0.03, depth=6, formula='plain'."""
    if params["depth"] >= 7:
        raise ValueError("=depth too deep")

    score = (
        -((math.log10(params["alpha"]) + 1.5) ** 2)
        - 0.1 * (params["depth"] - 6) ** 2
        - (0.0 if params["formula"] == "plain" else 0.3)
        - (0.05 if params["flag"] else 0.0)
    )
    return at.Evaluation(score=score, score_std=0.01, fit_time=0.01 * params["depth"])


def make_run(
    folder: Path | Literal[False], *, trials: int = 60, **options: Any
) -> at.TuneResult:
    """Tune :func:`objective` over :data:`SPACE`, recording into ``folder``
    (``False``: no run folder)."""
    return at.tune(
        objective,
        SPACE,
        max_trials=trials,
        seed=0,
        executor="inline",
        run_dir=folder,
        **options,
    )


in_and_out_of_a_run_folder = pytest.mark.parametrize(
    "in_folder",
    [pytest.param(True, id="run-folder"), pytest.param(False, id="run_dir=False")],
)
"""Runs a test with a run folder and with ``run_dir=False``."""


def run_without_paths(
    tmp_path: Path, in_folder: bool, reporter: str | at.Reporter
) -> tuple[Path, at.TuneResult]:
    """A short run with ``reporter`` given no path, and where its files belong:
    the run folder, or the working directory (``tmp_path``) without one."""
    folder = tmp_path / "run" if in_folder else tmp_path
    result = make_run(folder if in_folder else False, trials=5, reporters=[reporter])
    return folder, result


def replay(folder: Path, reporter: at.Reporter) -> at.Reporter:
    """Send the events of the run in ``folder`` to ``reporter``, then close it."""
    reporter.bind(at.RunControl())
    for event in at.read_events(folder / "events.jsonl"):
        reporter.handle(event)
    reporter.close()
    return reporter
