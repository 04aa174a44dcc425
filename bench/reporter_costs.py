"""What the reporters cost: the Excel workbook's write time, and each
streaming reporter's cost per trial.

Run from the repository root::

    python bench/reporter_costs.py                       # 1,000 and 10,000 trials
    python bench/reporter_costs.py --trials 2000 --repeats 5 --json reporters.json

(It is not called ``reporters.py``: a script's folder comes first on
``sys.path``, so that name would hide the ``reporters`` package.)

The events come from a real run: ``tune()`` with a nearly free objective
over six parameters (log and linear floats, an integer, a categorical, a
boolean, layer widths), ``executor="inline"``, collected in memory. Each
reporter then gets the same events through ``handle()``, as the engine
sends them, in this one process:

workbook
    ``ExcelReporter``: the time to write the workbook when the run
    finishes (History, Progress chart, Summary, Parameters), in seconds
    and per trial row. Target (issue 4): at most 1 ms per row at 10,000
    trials.
streaming
    The cost per trial of handling every event of the run (its trial
    started, trial finished and new incumbent events), the final write
    excluded: ``CsvReporter`` and ``JsonlReporter`` (a row or a line
    written and flushed per trial), ``ConsoleReporter`` (quiet, and with
    its live bar drawing on an in-memory console), ``ExcelReporter`` and
    ``PlotReporter`` (which only collect rows until the end). Files go to a
    temporary folder on the local disk.
plots
    ``PlotReporter``: the time to draw and write its three PNG files.

Figures are medians over ``--repeats`` runs, with the range beside them.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# A script's own folder comes first on sys.path, and bench/strategies.py would
# then hide the installed ``strategies`` package: drop this folder from it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

from rich.console import Console

import autotune_core as at
from reporters import (
    ConsoleReporter,
    CsvReporter,
    ExcelReporter,
    JsonlReporter,
    PlotReporter,
)

TARGET_MS_PER_ROW = 1.0
SPACE = at.SearchSpace(
    {
        "alpha": at.Float(low=1e-6, high=1.0, log=True),
        "tol": at.Float(low=-1.0, high=1.0),
        "max_depth": at.Int(low=1, high=64),
        "activation": at.Categorical(choices=("relu", "tanh", "logistic")),
        "early_stopping": at.Bool(),
        "hidden_layer_sizes": at.Layers(
            min_layers=1, max_layers=3, min_units=4, max_units=512, log=True
        ),
    }
)


class Collector(at.Reporter):
    """Keeps every event of the run."""

    def __init__(self) -> None:
        self.events: list[at.Event] = []

    def handle(self, event: at.Event) -> None:
        self.events.append(event)


def objective(params: dict[str, Any]) -> at.Evaluation:
    """Nearly free, with a score that rewards a few settings, and a fit time."""
    score = -abs(math.log10(params["alpha"]) + 3) - abs(params["tol"])
    score -= abs(params["max_depth"] - 20) / 20 + 0.1 * params["early_stopping"]
    return at.Evaluation(score=score, score_std=0.01, fit_time=0.5)


def run_events(n_trials: int) -> list[at.Event]:
    """The events of a real ``n_trials`` run."""
    collector = Collector()
    at.tune(
        objective,
        SPACE,
        max_trials=n_trials,
        seed=0,
        executor="inline",
        run_dir=False,
        reporters=[collector],
    )
    return collector.events


def stream(reporter: at.Reporter, events: Sequence[at.Event]) -> float:
    """Seconds to hand ``events`` to ``reporter`` (no close)."""
    reporter.bind(at.RunControl())
    started = time.perf_counter()
    for event in events:
        reporter.handle(event)
    return time.perf_counter() - started


def final(reporter: at.Reporter, events: Sequence[at.Event]) -> float:
    """Seconds ``reporter`` takes on the last event (the run_finished), closed."""
    stream(reporter, events[:-1])
    started = time.perf_counter()
    reporter.handle(events[-1])
    reporter.close()
    return time.perf_counter() - started


def streaming_reporters(folder: Path) -> dict[str, Callable[[], at.Reporter]]:
    return {
        "csv": lambda: CsvReporter(path=folder / "trials.csv"),
        "jsonl": lambda: JsonlReporter(path=folder / "events.jsonl"),
        "console (quiet)": lambda: ConsoleReporter(
            quiet=True, console=Console(file=io.StringIO())
        ),
        "console (live bar)": lambda: ConsoleReporter(
            console=Console(file=io.StringIO(), force_terminal=True, width=120)
        ),
        "excel (collect)": lambda: ExcelReporter(path=folder / "run.xlsx"),
        "plots (collect)": lambda: PlotReporter(path=folder / "plots"),
    }


def median_range(samples: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
    }


def measure(n_trials: int, repeats: int) -> dict[str, Any]:
    events = run_events(n_trials)
    results: dict[str, Any] = {"trials": n_trials, "events": len(events)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        writes = [
            final(ExcelReporter(path=folder / "run.xlsx"), events)
            for _ in range(repeats)
        ]
        results["workbook_s"] = median_range(writes)
        results["workbook_ms_per_row"] = median_range(
            [1e3 * s / n_trials for s in writes]
        )
        results["streaming_us_per_trial"] = {}
        for name, make in streaming_reporters(folder).items():
            samples = []
            for _ in range(repeats):
                reporter = make()
                samples.append(1e6 * stream(reporter, events[:-1]) / n_trials)
                if not name.startswith(("excel", "plots")):
                    reporter.handle(events[-1])
                reporter.close()
            results["streaming_us_per_trial"][name] = median_range(samples)
        results["plots_s"] = median_range(
            [final(PlotReporter(path=folder / "plots"), events) for _ in range(repeats)]
        )
    return results


def show(results: Sequence[dict[str, Any]]) -> None:
    print(" " * 28 + "".join(f"{r['trials']:>22,} trials" for r in results))
    rows: list[tuple[str, Callable[[dict[str, Any]], dict[str, float]], str]] = [
        ("workbook write (s)", lambda r: r["workbook_s"], "{:.2f}"),
        ("workbook (ms per row)", lambda r: r["workbook_ms_per_row"], "{:.3f}"),
        ("plots write (s)", lambda r: r["plots_s"], "{:.2f}"),
    ]
    for name in results[0]["streaming_us_per_trial"]:
        rows.append(
            (
                f"{name} (us/trial)",
                lambda r, n=name: r["streaming_us_per_trial"][n],
                "{:.1f}",
            )
        )
    for label, pick, fmt in rows:
        cells = []
        for result in results:
            figure = pick(result)
            spread = f"{fmt.format(figure['min'])}-{fmt.format(figure['max'])}"
            cells.append(f"{fmt.format(figure['median']):>12} ({spread})")
        print(f"{label:<28}" + "".join(f"{c:>29}" for c in cells))

    worst = max(r["workbook_ms_per_row"]["median"] for r in results)
    verdict = "met" if worst <= TARGET_MS_PER_ROW else "MISSED"
    print(
        f"\ntarget: workbook at most {TARGET_MS_PER_ROW} ms per row: {verdict} "
        f"(worst median {worst:.3f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials", type=int, nargs="+", default=[1_000, 10_000], help="run lengths"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"autotune-core {at.__version__}, {args.repeats} repeats"
    )
    results = [measure(n, args.repeats) for n in args.trials]
    show(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
