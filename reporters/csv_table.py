"""Stream one CSV row per trial, with the History sheet's columns."""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from autotune_core import ConfigError, Event, Reporter, RunStarted
from reporters._files import default_path
from reporters.columns import Cell, History, HistoryRow

__all__ = ["CsvReporter"]

logger = logging.getLogger(__name__)

FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)
"""Text starting with one of these would be read as a formula by a spreadsheet:
the ASCII ones and their full-width forms (``＝``, ``＋``, ``－``, ``＠``)."""


class CsvReporter(Reporter):
    """Write one CSV row per finished trial, flushed as it goes.

    The columns are those of the Excel History sheet (see
    :mod:`reporters.columns`): trial, status, score, best so far, score std,
    fit time (s), accepted, moves, one column per parameter, elapsed (s)
    and error. The header is written when the run starts; each row as soon
    as its trial finishes.

    The file is safe to open in a spreadsheet: a text value that starts
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or a
    full-width ``＝ ＋ － ＠``) gets a leading apostrophe, ``'=1+1``, so
    that it shows as text instead of running as a formula. Numbers,
    negative ones included, are written as plain numbers (``-0.25``), with
    every digit Python needs to read them back exactly; booleans as
    ``TRUE`` and ``FALSE``; missing values as empty fields.

    Parameters
    ----------
    path
        The file to write; its folder is created if needed. By default
        ``<run name>.csv`` in the run folder (in the working directory for
        a run with ``run_dir=False``).
    params
        Parameter columns, in order; by default those of the run's space.
        The columns are fixed by the header: a parameter added later by a
        space change is not written (a warning names it).
    append
        Add rows to an existing file (without a second header) instead of
        replacing it.
    excel_bom
        Start the file with a UTF-8 byte-order mark, which Excel needs to
        read non-ASCII text correctly.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=-3, high=3)})
    >>> result = at.tune(lambda p: -(p["x"] - 1) ** 2, space, max_trials=20,
    ...                  executor="inline", run_dir=False,
    ...                  reporters=[CsvReporter(path="trials.csv")])
    ... # doctest: +SKIP
    """

    name = "csv"

    def __init__(
        self,
        *,
        path: str | Path | None = None,
        params: Sequence[str] | None = None,
        append: bool = False,
        excel_bom: bool = False,
    ) -> None:
        for option, value in (("append", append), ("excel_bom", excel_bom)):
            if not isinstance(value, bool):
                raise ConfigError(
                    f"CsvReporter: {option}={value!r} must be True or False, "
                    f"got {type(value).__name__}"
                )
        self.path = None if path is None else Path(path)
        self.params = None if params is None else list(params)
        self.append = append
        self.excel_bom = excel_bom
        self.history = History(self.params or (), keep_rows=False)  # rows: streamed
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._columns: list[str] | None = None
        self._warned: set[str] = set()

    def options(self) -> dict[str, Any]:
        return {
            "path": None if self.path is None else str(self.path),
            "params": self.params,
            "append": self.append,
            "excel_bom": self.excel_bom,
        }

    def handle(self, event: Event) -> None:
        row = self.history.add(event)
        if isinstance(event, RunStarted):
            self._open(event)
        if row is not None:
            self._write_row(row)
        if self._columns is not None:
            self._warn_about_new_params()

    def _open(self, event: RunStarted | None) -> None:
        """Open the file and write the header, once."""
        if self._file is not None:
            return

        if self.path is None:
            self.path = default_path(event, ".csv")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        has_rows = self.append and self.path.exists() and self.path.stat().st_size > 0
        encoding = "utf-8-sig" if self.excel_bom and not has_rows else "utf-8"
        mode = "a" if self.append else "w"
        self._file = self.path.open(mode, encoding=encoding, newline="")
        self._writer = csv.writer(self._file)
        self._columns = list(self.history.params)
        if not has_rows:
            self._writer.writerow(
                [neutralise(h) for h in self.history.headers(self._columns)]
            )
            self._file.flush()

    def _write_row(self, row: HistoryRow) -> None:
        if self._file is None:
            self._open(self.history.run)
        assert self._file is not None and self._columns is not None
        self._writer.writerow([csv_field(v) for v in row.values(self._columns)])
        self._file.flush()

    def _warn_about_new_params(self) -> None:
        assert self._columns is not None
        added = self.history.params[len(self._columns) :]
        new = [name for name in added if name not in self._warned]
        if new:
            self._warned.update(new)
            logger.warning(
                "%s: parameters %s were added after the header was written and "
                "are not in the CSV file; `autotune report RUN_FOLDER --format "
                "csv` writes every parameter",
                self.path,
                ", ".join(map(repr, new)),
            )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def neutralise(text: str) -> str:
    """``text``, with an apostrophe in front if a spreadsheet would run it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_field(value: Cell) -> str:
    """One field: exact numbers, TRUE/FALSE, neutralised text, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, int):
        return str(value)
    return neutralise(value)
