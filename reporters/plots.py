"""PNG plots of a run with matplotlib (the optional ``plots`` extra)."""

from __future__ import annotations

import importlib.util
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune_core import ConfigError, Event, Reporter, RunFinished, RunStarted
from reporters._files import check_positive, default_path, write_atomically
from reporters.columns import Cell, History, HistoryRow

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PlotReporter"]

logger = logging.getLogger(__name__)

SCORE_BY_TRIAL = "score-by-trial.png"
SCORE_BY_TIME = "score-by-time.png"
PARAMETER_TRACE = "parameter-trace.png"

SCORE_COLOUR = "#4472C4"
ACCEPTED_COLOUR = "#2E7D32"
BEST_COLOUR = "#ED7D31"
FAILED_COLOUR = "#C00000"
MOVED_COLOUR = "#ED7D31"
OTHER_COLOUR = "#A5A5A5"

_MAX_TICK_LABELS = 12
_LABEL_LENGTH = 24
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f]")


def require_matplotlib() -> None:
    """Raise :class:`ConfigError` naming the extra if matplotlib is missing."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ConfigError(
            "PlotReporter needs matplotlib, which is not installed; install "
            "the plots extra: pip install 'autotune-core[plots]'"
        )


class PlotReporter(Reporter):
    """Write PNG plots of the run when it finishes.

    Three files go in the folder ``path``:

    - ``score-by-trial.png``: each trial's score (dots; accepted trials as
      green diamonds), the best score so far (a step line), and failed
      trials as red crosses along the bottom, against the trial number;
    - ``score-by-time.png``: the same against wall time since the start;
    - ``parameter-trace.png``: one panel per parameter with the value each
      trial tried (orange where the trial's step moved that parameter) and
      the incumbent's value (a green step line). Categorical values, layer
      lists included, are placed on a list of their values.

    The plots are drawn with matplotlib's object-oriented API and its Agg
    renderer, without pyplot: the reporter changes no global matplotlib
    state, so it is safe inside a notebook. Each file is written atomically.

    matplotlib is an optional dependency: install it with
    ``pip install 'autotune-core[plots]'``.

    Parameters
    ----------
    path
        Folder for the PNG files, created if needed. By default
        ``<run name>-plots`` in the run folder (in the working directory
        for a run with ``run_dir=False``).
    params
        Parameters to trace, in order; by default every parameter of the run.
    max_params
        Trace at most this many parameters (the first ones).
    dpi
        Resolution of the PNG files.

    Raises
    ------
    ConfigError
        If matplotlib is not installed.

    Examples
    --------
    >>> import autotune_core as at
    >>> space = at.SearchSpace({"x": at.Float(low=-3, high=3)})
    >>> result = at.tune(lambda p: -(p["x"] - 1) ** 2, space, max_trials=20,
    ...                  executor="inline", run_dir=False,
    ...                  reporters=[PlotReporter(path="plots")])
    ... # doctest: +SKIP
    """

    name = "plots"

    def __init__(
        self,
        *,
        path: str | Path | None = None,
        params: Sequence[str] | None = None,
        max_params: int = 12,
        dpi: int = 120,
    ) -> None:
        require_matplotlib()
        check_positive("PlotReporter", "max_params", max_params, int)
        check_positive("PlotReporter", "dpi", dpi, int)
        self.path = None if path is None else Path(path)
        self.params = None if params is None else list(params)
        self.max_params = max_params
        self.dpi = dpi
        self.history = History(self.params or ())
        self._dirty = False

    def options(self) -> dict[str, Any]:
        return {
            "path": None if self.path is None else str(self.path),
            "params": self.params,
            "max_params": self.max_params,
            "dpi": self.dpi,
        }

    def handle(self, event: Event) -> None:
        self.history.add(event)
        self._dirty = True
        if isinstance(event, RunStarted) and self.path is None:
            self.path = default_path(event, "-plots")
        elif isinstance(event, RunFinished):
            self.write()

    def write(self) -> list[Path]:
        """Draw and write the PNG files now; return their paths."""
        folder = self.path or default_path(self.history.run, "-plots")
        self.path = folder
        names = (self.params or self.history.params)[: self.max_params]
        figures = {
            SCORE_BY_TRIAL: score_figure(self.history, by_time=False),
            SCORE_BY_TIME: score_figure(self.history, by_time=True),
            PARAMETER_TRACE: trace_figure(self.history, names),
        }
        paths = []
        for filename, figure in figures.items():
            path = folder / filename
            write_atomically(path, partial(_save, figure, dpi=self.dpi))
            paths.append(path)

        self._dirty = False
        logger.debug("wrote %d plots to %s", len(paths), folder)
        return paths

    def close(self) -> None:
        if self._dirty:
            self.write()


def _save(figure: Figure, path: Path, *, dpi: int) -> None:
    figure.savefig(path, dpi=dpi, format="png")


def _label(text: str, *, length: int = _LABEL_LENGTH) -> str:
    """``text`` safe for a plot: no mathtext, no glyphs the font may lack."""
    text = text.encode("latin-1", "backslashreplace").decode("latin-1")
    text = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if len(text) > length:
        text = text[: length - 1] + "…"
    return text.replace("$", r"\$")


def _title(history: History, what: str) -> str:
    name = history.run.name if history.run is not None else "AutoTune run"
    return f"{_label(name, length=60)}: {what}"


# -- scores --------------------------------------------------------------------------


def score_figure(history: History, *, by_time: bool) -> Figure:
    """Trial scores, accepted trials and the best so far against trial or time."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.8), layout="constrained")
    axes = figure.add_subplot()
    rows = history.rows
    _scores(axes, rows, by_time)
    _best(axes, rows, by_time)
    _failures(axes, rows, by_time)
    axes.set_xlabel("wall time since the start (s)" if by_time else "trial")
    axes.set_ylabel(f"score ({history.direction})")
    axes.set_title(_title(history, "score by " + ("time" if by_time else "trial")))
    axes.grid(alpha=0.3)
    if rows:
        axes.legend(loc="best", fontsize="small")
    return figure


def _xy(
    rows: Sequence[HistoryRow],
    by_time: bool,
    value: Callable[[HistoryRow], float | None],
) -> tuple[list[float], list[float]]:
    """x and y of the rows that have a ``value`` (and a time, ``by_time``)."""
    xs, ys = [], []
    for row in rows:
        x, y = _x(row, by_time), value(row)
        if y is not None and not math.isnan(x):
            xs.append(x)
            ys.append(y)

    return xs, ys


def _x(row: HistoryRow, by_time: bool) -> float:
    """Where ``row`` goes along the x axis (NaN when its time is unknown)."""
    if not by_time:
        return float(row.trial)
    return math.nan if row.elapsed is None else row.elapsed


def _scores(axes: Axes, rows: Sequence[HistoryRow], by_time: bool) -> None:
    for accepted in (False, True):
        chosen = [r for r in rows if r.accepted is accepted]
        xs, ys = _xy(chosen, by_time, lambda r: r.score)
        axes.scatter(
            xs,
            ys,
            s=30 if accepted else 12,
            marker="D" if accepted else "o",
            color=ACCEPTED_COLOUR if accepted else SCORE_COLOUR,
            alpha=1.0 if accepted else 0.55,
            label="accepted trial" if accepted else "trial score",
            zorder=3 if accepted else 2,
        )


def _best(axes: Axes, rows: Sequence[HistoryRow], by_time: bool) -> None:
    xs, ys = _xy(rows, by_time, lambda r: r.best)
    axes.step(xs, ys, where="post", color=BEST_COLOUR, linewidth=2, label="best so far")


def _failures(axes: Axes, rows: Sequence[HistoryRow], by_time: bool) -> None:
    failed = [r for r in rows if r.score is None]
    xs, _ = _xy(failed, by_time, lambda r: 0.0)
    if xs:
        axes.scatter(
            xs,
            [0.02] * len(xs),
            transform=axes.get_xaxis_transform(),
            marker="x",
            s=18,
            color=FAILED_COLOUR,
            label="no score (failed, timed out)",
            zorder=3,
        )


# -- parameters ----------------------------------------------------------------------


def trace_figure(history: History, names: Sequence[str]) -> Figure:
    """One panel per parameter: values tried, moves, and the incumbent's value."""
    from matplotlib.figure import Figure

    columns = 2 if len(names) > 1 else 1
    lines = max(1, math.ceil(len(names) / columns))
    figure = Figure(figsize=(5.5 * columns, 2.3 * lines + 0.8), layout="constrained")
    grid = figure.subplots(lines, columns, squeeze=False, sharex=True)
    panels = list(grid.flat)
    specs = _space_specs(history)
    for axes, name in zip(panels, names, strict=False):
        _trace(axes, history.rows, name, specs.get(name, {}))
    for axes in panels[len(names) :]:
        axes.set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel("trial")
    figure.suptitle(_title(history, "parameter trace"))
    if names:
        panels[0].legend(loc="best", fontsize="x-small")
    if not names:
        panels[0].set_visible(True)
        panels[0].text(0.5, 0.5, "no parameters", ha="center", va="center")
    return figure


def _space_specs(history: History) -> dict[str, Mapping[str, Any]]:
    specs: dict[str, Mapping[str, Any]] = {}
    for run in (history.first_run, history.run):
        params = {} if run is None else run.space.get("params", {})
        specs.update({n: s for n, s in params.items() if isinstance(s, Mapping)})
    return specs


def _trace(
    axes: Axes, rows: Sequence[HistoryRow], name: str, spec: Mapping[str, Any]
) -> None:
    present = [r for r in rows if name in r.params]
    values = [r.params[name] for r in present]
    to_y, labels = _scale(values)
    moved_trials = _moved_trials(present, name)
    moved = [r.trial in moved_trials for r in present]
    for is_moved in (False, True):
        chosen = [
            (r, v)
            for r, v, m in zip(present, values, moved, strict=True)
            if m is is_moved
        ]
        axes.scatter(
            [r.trial for r, _ in chosen],
            [to_y(v) for _, v in chosen],
            s=14 if is_moved else 8,
            color=MOVED_COLOUR if is_moved else OTHER_COLOUR,
            label="this parameter moved" if is_moved else "other trials",
            zorder=3 if is_moved else 2,
        )
    _incumbent_line(axes, rows, name, to_y)
    positive = bool(values) and all(
        isinstance(v, int | float) and v > 0 for v in values
    )
    _value_axis(axes, labels, log=bool(spec.get("log")) and labels is None and positive)
    axes.set_title(_label(name), fontsize="medium")
    axes.grid(alpha=0.3)


def _moved_trials(rows: Sequence[HistoryRow], name: str) -> set[int]:
    return {r.trial for r in rows if name in r.moved}


def _scale(values: Sequence[Cell]) -> tuple[Any, list[str] | None]:
    """Map values to y: numbers as they are, anything else to a list position."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return float, None

    labels: dict[str, int] = {}
    for value in values:
        labels.setdefault(_label(str(value)), len(labels))
    return (lambda v: labels[_label(str(v))]), list(labels)


def _incumbent_line(
    axes: Axes, rows: Sequence[HistoryRow], name: str, to_y: Any
) -> None:
    """The incumbent's value of ``name``, from each accepted trial on."""
    x, y = [], []
    for row in rows:
        if row.accepted and name in row.params:
            x.append(row.trial)
            y.append(to_y(row.params[name]))
    if x:
        x.append(max(row.trial for row in rows))
        y.append(y[-1])
    axes.step(
        x, y, where="post", color=ACCEPTED_COLOUR, linewidth=1.8, label="incumbent"
    )


def _value_axis(axes: Axes, labels: list[str] | None, *, log: bool) -> None:
    if labels is not None:
        step = max(1, math.ceil(len(labels) / _MAX_TICK_LABELS))
        positions = range(0, len(labels), step)
        axes.set_yticks(list(positions), [labels[i] for i in positions])
    elif log:
        axes.set_yscale("log")
