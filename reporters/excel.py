"""An Excel workbook of a run: History table, Progress chart, Summary, Parameters."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from autotune_core import Event, Reporter, RunFinished, RunStarted
from reporters import _sheets
from reporters._files import check_positive, default_path, write_atomically
from reporters.columns import History

__all__ = ["ExcelReporter"]

logger = logging.getLogger(__name__)


class ExcelReporter(Reporter):
    """Write the run as an Excel workbook (``.xlsx``) a modeller can work with.

    The workbook has four sheets:

    - **History**: one row per trial, an Excel table named ``History`` with
      the columns of :mod:`reporters.columns` (trial, status, score, best so
      far, score std, fit time, accepted, moves, one column per parameter,
      elapsed time, error). Accepted rows are green; the parameter cells a
      trial's step changed are yellow and bold; failed and timed-out
      statuses are red.
    - **Progress**: a native Excel line chart of each trial's score (dots)
      and the best score so far (line) against the trial, with the mean fit
      time on a secondary axis. Its series refer to the History columns.
    - **Summary**: the best score and parameters, counts by status,
      timings, the run configuration, the search space, the strategy and
      acceptance policy with their options, and the library versions.
    - **Parameters**: for each parameter, how often a step moved it, how
      often that was accepted, and the mean score change of moves up,
      down and of other kinds (a categorical switch, a layer added...).

    Text is always stored as text: a value that starts with ``=``, ``+``,
    ``-`` or ``@`` never becomes a formula, and numbers (negative scores
    included) stay numbers. Characters a workbook cannot hold (control
    characters) are replaced by U+FFFD.

    The rows are collected as events arrive and the workbook is written in
    one pass when the run finishes (or when the reporter is closed), to a
    temporary file renamed over ``path``: a reader never sees half a
    workbook. Writing costs about a quarter of a millisecond per trial.

    Parameters
    ----------
    path
        The ``.xlsx`` file to write; its folder is created if needed. By
        default ``<run name>.xlsx`` in the run folder (in the working
        directory for a run with ``run_dir=False``).
    params
        Parameter columns, in order; by default the run's parameters, in
        the space's order, with parameters added by a space change after.
    refresh_trials
        Also rewrite the workbook during the run, once this many trials
        have finished since the last write.
    refresh_s
        Also rewrite the workbook during the run, once this many seconds
        have passed since the last write (checked when a trial finishes).

    Notes
    -----
    A refresh rewrites the whole workbook on the event loop, so refreshing
    every few trials of a long run slows it down; ``refresh_s=60`` keeps
    the cost below one percent. A live reporter sees only the trials of its
    own session: for the whole history of a resumed run, write the workbook
    afterwards with ``autotune report RUN_FOLDER --format xlsx``.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=-3, high=3)})
    >>> result = at.tune(lambda p: -(p["x"] - 1) ** 2, space, max_trials=20,
    ...                  executor="inline", run_dir=False,
    ...                  reporters=[ExcelReporter(path="run.xlsx")])
    ... # doctest: +SKIP
    """

    name = "excel"

    def __init__(
        self,
        *,
        path: str | Path | None = None,
        params: Sequence[str] | None = None,
        refresh_trials: int | None = None,
        refresh_s: float | None = None,
    ) -> None:
        check_positive("ExcelReporter", "refresh_trials", refresh_trials, int)
        check_positive("ExcelReporter", "refresh_s", refresh_s, float)
        self.path = None if path is None else Path(path)
        self.params = None if params is None else list(params)
        self.refresh_trials = refresh_trials
        self.refresh_s = refresh_s
        self.history = History(self.params or ())
        self._dirty = False
        self._since_write = 0
        self._last_write = time.monotonic()

    def options(self) -> dict[str, Any]:
        return {
            "path": None if self.path is None else str(self.path),
            "params": self.params,
            "refresh_trials": self.refresh_trials,
            "refresh_s": self.refresh_s,
        }

    def handle(self, event: Event) -> None:
        row = self.history.add(event)
        self._dirty = True
        if isinstance(event, RunStarted) and self.path is None:
            self.path = default_path(event, ".xlsx")

        if row is not None:
            self._since_write += 1
            if self._refresh_due():
                self.write()
        elif isinstance(event, RunFinished):
            self.write()

    def _refresh_due(self) -> bool:
        by_trials = (
            self.refresh_trials is not None and self._since_write >= self.refresh_trials
        )
        by_time = (
            self.refresh_s is not None
            and time.monotonic() - self._last_write >= self.refresh_s
        )
        return by_trials or by_time

    def write(self) -> Path:
        """Write the workbook now (atomically) and return its path."""
        if self.path is None:
            self.path = default_path(self.history.run, ".xlsx")

        started = time.perf_counter()
        workbook = build_workbook(self.history)
        write_atomically(self.path, workbook.save)
        self._dirty = False
        self._since_write = 0
        self._last_write = time.monotonic()
        logger.debug(
            "wrote %s (%d trials) in %.3f s",
            self.path,
            len(self.history.rows),
            time.perf_counter() - started,
        )
        return self.path

    def close(self) -> None:
        if self._dirty:
            self.write()


def build_workbook(history: History) -> Any:
    """The workbook of ``history`` (write-only: it can be saved once)."""
    workbook = Workbook(write_only=True)
    workbook.properties.creator = "AutoTune"
    if history.run is not None:
        workbook.properties.title = _sheets.clean_text(
            f"AutoTune run {history.run.name}"
        )

    history_sheet = _sheets.write_history(workbook, history)
    _sheets.write_progress(workbook, history, history_sheet)
    _sheets.write_summary(workbook, history)
    _sheets.write_parameters(workbook, history)
    return workbook
