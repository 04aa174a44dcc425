"""A live progress display on the terminal, with rich."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from autotune_core import (
    NewIncumbent,
    Reporter,
    RunFinished,
    RunStarted,
    TrialFinished,
)

__all__ = ["ConsoleReporter"]


class ConsoleReporter(Reporter):
    """Live progress bar (trials, best score, trials per minute, time left).

    Parameters
    ----------
    quiet
        Print only the final summary, no live bar.
    console
        The :class:`rich.console.Console` to draw on (stderr by default).

    Examples
    --------
    >>> reporter = ConsoleReporter(quiet=True)
    """

    name = "console"

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._best: float | None = None
        self._best_number: int | None = None
        self._started = time.monotonic()
        self._done = 0
        self._direction = "maximize"

    def options(self) -> dict[str, Any]:
        return {"quiet": self.quiet}

    def on_run_started(self, event: RunStarted) -> None:
        self._started = time.monotonic()
        self._direction = event.config.get("direction", "maximize")
        total = event.config.get("max_trials")
        if self.quiet:
            return
        self.console.print(
            f"[bold]{event.name}[/]: tuning {event.objective} over "
            f"{len(event.space['params'])} parameters with {event.strategy['name']}"
        )
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best [bold green]{task.fields[best]}[/]"),
            TextColumn("{task.fields[rate]} trials/min"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("trials", total=total, best="-", rate="-")

    def on_trial_finished(self, event: TrialFinished) -> None:
        self._done += 1
        if self._progress is None or self._task is None:
            return
        minutes = max(time.monotonic() - self._started, 1e-9) / 60
        best = "-" if self._best is None else f"{self._best:.5g}"
        self._progress.update(
            self._task,
            completed=self._done,
            best=best,
            rate=f"{self._done / minutes:.1f}",
        )

    def on_new_incumbent(self, event: NewIncumbent) -> None:
        self._best = event.score
        self._best_number = event.number

    def on_run_finished(self, event: RunFinished) -> None:
        self._stop_progress()
        table = Table(title="AutoTune run", show_header=False)
        table.add_row("stopped because", event.reason)
        table.add_row("trials", str(event.n_trials))
        for status, count in sorted(event.status_counts.items()):
            table.add_row(f"  {status}", str(count))
        best = "none" if event.best_score is None else f"{event.best_score:.6g}"
        table.add_row("best score", f"{best} (trial {event.best_number})")
        table.add_row("elapsed", f"{time.monotonic() - self._started:.1f} s")
        self.console.print(table)

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        self._stop_progress()
