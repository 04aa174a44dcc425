"""A small real run shared by the reporter tests: negative scores, failures,
fit times, and text choices that look like formulas."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

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


def replay(folder: Path, reporter: at.Reporter) -> at.Reporter:
    """Send the events of the run in ``folder`` to ``reporter``, then close it."""
    reporter.bind(at.RunControl())
    for event in at.read_events(folder / "events.jsonl"):
        reporter.handle(event)
    reporter.close()
    return reporter
