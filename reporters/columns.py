"""The History layout: one row per trial, shared by the Excel and CSV reporters.

Columns, in order::

    trial  status  score  best so far  score std  fit time (s)  accepted  moves
    <one column per parameter>  elapsed (s)  error

*best so far* is the best score among the trials accepted up to and
including the row (better by the run's ``direction``); under the default
acceptance it is the incumbent's score. *fit time (s)* is the trial's mean
fit time per fold. *moves* reads ``"alpha up: 0.001 -> 0.0013"``, several
joined by ``"; "``. *elapsed (s)* is the wall time from the start of the run
(its first session, for a resumed run) to the end of the trial.

Rows come in the order trials finished, which is the order in which
acceptance judged them. A parameter a trial does not have (inactive, or
added to the space later) is an empty cell.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autotune_core import (
    Event,
    Move,
    NewIncumbent,
    RunFinished,
    RunStarted,
    SpaceChanged,
    TrialFinished,
)

__all__ = ["LEADING_COLUMNS", "TRAILING_COLUMNS", "History", "HistoryRow"]

LEADING_COLUMNS = (
    "trial",
    "status",
    "score",
    "best so far",
    "score std",
    "fit time (s)",
    "accepted",
    "moves",
)
"""Headers of the columns before the parameters."""

TRAILING_COLUMNS = ("elapsed (s)", "error")
"""Headers of the columns after the parameters."""

_RESERVED = {name.casefold() for name in (*LEADING_COLUMNS, *TRAILING_COLUMNS)}

Cell = str | int | float | bool | None
"""What a History cell holds: text, a number, a boolean, or nothing."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One finished trial, as the History table shows it.

    ``params`` holds display values (numbers, booleans, text; layer widths
    as ``"(64, 32)"``); ``moved`` names the parameters the trial's moves
    changed, the cells to highlight. ``parent``, ``duration`` and
    ``move_list`` are kept for summaries but have no column.
    """

    trial: int
    status: str
    score: float | None
    best: float | None
    score_std: float | None
    fit_time: float | None
    accepted: bool
    moves: str
    params: dict[str, Cell]
    moved: frozenset[str]
    elapsed: float | None
    error: str | None
    parent: int | None = None
    duration: float | None = None
    move_list: tuple[Move, ...] = ()

    def leading(self) -> list[Cell]:
        """Values of :data:`LEADING_COLUMNS`."""
        return [
            self.trial,
            self.status,
            self.score,
            self.best,
            self.score_std,
            self.fit_time,
            self.accepted,
            self.moves,
        ]

    def values(self, params: Sequence[str]) -> list[Cell]:
        """The whole row, with the parameter columns ``params``."""
        return [
            *self.leading(),
            *(self.params.get(name) for name in params),
            self.elapsed,
            self.error,
        ]


class History:
    """Folds run events into :class:`HistoryRow` objects, one per finished trial.

    Parameters
    ----------
    params
        Parameter columns to start with, in order. Parameters met later (in
        a run's space, a space change or a trial) are added after them.
    keep_rows
        Keep every row in :attr:`rows` (what a report written at the end
        needs). A streaming reporter that writes each row as it comes passes
        ``False``, so that its memory does not grow with the run.

    Examples
    --------
    >>> import autotune_core as at
    >>> history = History()
    >>> trial = at.Trial(number=0, params={"x": 0.5}, status=at.TrialStatus.OK,
    ...                  score=-1.5, accepted=True)
    >>> history.add(at.TrialFinished(trial)).best
    -1.5
    >>> history.headers()
    ['trial', 'status', 'score', 'best so far', 'score std', 'fit time (s)', \
'accepted', 'moves', 'x', 'elapsed (s)', 'error']
    """

    def __init__(self, params: Iterable[str] = (), *, keep_rows: bool = True) -> None:
        self.params: list[str] = []
        self.rows: list[HistoryRow] = []
        self.keep_rows = keep_rows
        self.first_run: RunStarted | None = None
        self.run: RunStarted | None = None
        self.finished: RunFinished | None = None
        self.incumbent: NewIncumbent | None = None
        self.sessions = 0
        self.direction = "maximize"
        self._best: float | None = None
        self._known: set[str] = set()
        self.add_params(params)

    def add_params(self, names: Iterable[str]) -> list[str]:
        """Add parameter columns not seen yet; return the new ones."""
        new = [name for name in names if name not in self._known]
        self._known.update(new)
        self.params.extend(new)
        return new

    def headers(self, params: Sequence[str] | None = None) -> list[str]:
        """Column headers: unique (ignoring case) and never a fixed column's name."""
        names = self.params if params is None else params
        return [*LEADING_COLUMNS, *_param_headers(names), *TRAILING_COLUMNS]

    @property
    def status_counts(self) -> Counter[str]:
        """How many rows have each status."""
        return Counter(row.status for row in self.rows)

    def add(self, event: Event) -> HistoryRow | None:
        """Take one event into account; return the new row for a finished trial."""
        if isinstance(event, TrialFinished):
            return self._add_trial(event)
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, SpaceChanged):
            self.add_params(space_params(event.space))
        elif isinstance(event, NewIncumbent):
            self.incumbent = event
        elif isinstance(event, RunFinished):
            self.finished = event
        return None

    def _start(self, event: RunStarted) -> None:
        self.first_run = self.first_run or event
        self.run = event
        self.sessions += 1
        self.finished = None
        self.direction = str(event.config.get("direction", "maximize"))
        self.add_params(space_params(event.space))

    def _add_trial(self, event: TrialFinished) -> HistoryRow:
        trial = event.trial
        self.add_params(trial.params)
        if trial.accepted and trial.score is not None and self._improves(trial.score):
            self._best = trial.score
        start = None if self.first_run is None else self.first_run.time
        row = HistoryRow(
            trial=trial.number,
            status=trial.status.value,
            score=_finite(trial.score),
            best=self._best,
            score_std=_finite(trial.score_std),
            fit_time=_finite(trial.fit_time),
            accepted=trial.accepted,
            moves=format_moves(trial.moves),
            params={name: display(value) for name, value in trial.params.items()},
            moved=frozenset(move.param for move in trial.moves),
            elapsed=None if start is None else _finite(trial.finished_at - start),
            error=trial.error,
            parent=trial.parent,
            duration=_finite(trial.duration),
            move_list=trial.moves,
        )
        if self.keep_rows:
            self.rows.append(row)
        return row

    def _improves(self, score: float) -> bool:
        if self._best is None or not math.isfinite(score):
            return math.isfinite(score)
        return (
            score < self._best if self.direction == "minimize" else score > self._best
        )


def _param_headers(names: Sequence[str]) -> list[str]:
    """Headers for parameter columns, renamed where they would clash."""
    taken = set(_RESERVED)
    headers = []
    for name in names:
        header = f"param {name}" if name.casefold() in _RESERVED else name
        base, suffix = header, 2
        while header.casefold() in taken:
            header, suffix = f"{base} ({suffix})", suffix + 1
        taken.add(header.casefold())
        headers.append(header)

    return headers


def display(value: Any) -> Cell:
    """A parameter value as a cell: numbers and booleans stay, the rest is text."""
    if value is None:
        return "None"
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    return repr(value)


def format_value(value: Any) -> str:
    """A short readable form of a parameter value, for the moves text."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def format_moves(moves: Sequence[Move]) -> str:
    """``"alpha up: 0.001 -> 0.0013; activation switch: 'relu' -> 'tanh'"``."""
    return "; ".join(
        f"{m.param} {m.kind}: {format_value(m.old)} -> {format_value(m.new)}"
        for m in moves
    )


def _finite(value: float | None) -> float | None:
    """``value``, or ``None`` if it is missing or not a finite number."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def space_params(space: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter definitions of a space's JSON form."""
    params = space.get("params", {})
    return dict(params) if isinstance(params, Mapping) else {}
