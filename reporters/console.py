"""A live progress display on the terminal, with rich."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from autotune_core import (
    NewIncumbent,
    Reporter,
    RunFinished,
    RunResumed,
    RunStarted,
    TrialFinished,
)

__all__ = ["ConsoleReporter"]


class ConsoleReporter(Reporter):
    """Live progress bar (trials, best score, trials per minute, time left).

    The bar counts finished trials against ``max_trials``; the time left is
    estimated from the pace so far, or read from ``max_time_s`` when that
    budget ends the run sooner (or is the only one). When the run stops, a
    summary table shows why, the trials by status, the best score and the
    pace.

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
        self._session_done = 0
        self._accepted = 0

    def options(self) -> dict[str, Any]:
        return {"quiet": self.quiet}

    def on_run_started(self, event: RunStarted) -> None:
        self._started = time.monotonic()
        self._session_done = 0
        if isinstance(event, RunResumed):
            self._done = event.n_trials_before
        if self.quiet:
            return

        self._stop_progress()
        verb = "resuming" if isinstance(event, RunResumed) else "tuning"
        self.console.print(
            f"[bold]{escape(event.name)}[/]: {verb} {escape(event.objective)} over "
            f"{len(event.space.get('params', {}))} parameters with "
            f"{escape(str(event.strategy.get('name', '?')))}"
        )
        self._start_progress(event)

    def _start_progress(self, event: RunStarted) -> None:
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best [bold green]{task.fields[best]}[/]"),
            TextColumn("{task.fields[rate]} trials/min"),
            TimeElapsedColumn(),
            _TimeLeftColumn(event.config.get("max_time_s"), self._started),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "trials",
            total=event.config.get("max_trials"),
            completed=self._done,
            best=self._best_text(),
            rate="-",
        )

    def on_trial_finished(self, event: TrialFinished) -> None:
        self._done += 1
        self._session_done += 1
        self._refresh()

    def on_new_incumbent(self, event: NewIncumbent) -> None:
        self._best = event.score
        self._best_number = event.number
        self._accepted += 1
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is None or self._task is None:
            return

        self._progress.update(
            self._task,
            completed=self._done,
            best=self._best_text(),
            rate=f"{self._rate():.1f}",
        )

    def _rate(self) -> float:
        """Trials per minute in this session."""
        minutes = max(time.monotonic() - self._started, 1e-9) / 60
        return self._session_done / minutes

    def _best_text(self) -> str:
        return "-" if self._best is None else f"{self._best:.5g}"

    def on_run_finished(self, event: RunFinished) -> None:
        self._stop_progress()
        table = Table(title="AutoTune run", show_header=False)
        table.add_row("stopped because", escape(event.reason))
        table.add_row("trials", str(event.n_trials))
        for status, count in sorted(event.status_counts.items()):
            table.add_row(f"  {escape(status)}", str(count))
        table.add_row("  accepted", str(self._accepted))
        best = "none" if event.best_score is None else f"{event.best_score:.6g}"
        table.add_row("best score", f"{best} (trial {event.best_number})")
        elapsed = time.monotonic() - self._started
        table.add_row("elapsed", f"{elapsed:.1f} s")
        table.add_row("pace", f"{self._rate():.1f} trials/min")
        self.console.print(table)

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        self._stop_progress()


class _TimeLeftColumn(ProgressColumn):
    """Time left: the sooner of the pace's estimate and the time budget."""

    def __init__(self, max_time_s: float | None, started: float) -> None:
        super().__init__()
        self.deadline = None if max_time_s is None else started + max_time_s

    def render(self, task: Task) -> Text:
        estimates = [] if task.time_remaining is None else [task.time_remaining]
        if self.deadline is not None:
            estimates.append(max(self.deadline - time.monotonic(), 0.0))
        if not estimates:
            return Text("-:--:-- left", style="progress.remaining")

        seconds = int(min(estimates))
        hours, rest = divmod(seconds, 3600)
        return Text(
            f"{hours}:{rest // 60:02d}:{rest % 60:02d} left", style="progress.remaining"
        )
