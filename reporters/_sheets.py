"""The sheets of the Excel workbook, each written in one pass (write-only mode)."""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.axis import TextAxis
from openpyxl.chart.layout import Layout, ManualLayout
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from autotune_core import SearchSpace, TrialStatus
from reporters.columns import LEADING_COLUMNS, Cell, History, HistoryRow, display

__all__ = [
    "HISTORY",
    "PARAMETERS",
    "PROGRESS",
    "SUMMARY",
    "write_history",
    "write_parameters",
    "write_progress",
    "write_summary",
]

HISTORY = "History"
PROGRESS = "Progress"
SUMMARY = "Summary"
PARAMETERS = "Parameters"

GREEN = "C6EFCE"
"""Fill of accepted rows (Excel's "Good" colour)."""
YELLOW = "FFEB9C"
"""Fill of the parameter cells a step changed (Excel's "Neutral" colour)."""
RED = "FFC7CE"
"""Fill of failed and timed-out statuses (Excel's "Bad" colour)."""
GREY = "EDEDED"
"""Fill of cached and pruned statuses."""
BLUE = "DDEBF7"
"""Fill of section headings on the Summary sheet."""

SCORE_COLOUR = "4472C4"
BEST_COLOUR = "ED7D31"
FIT_TIME_COLOUR = "A5A5A5"

TABLE_STYLE = "TableStyleMedium2"
MAX_TEXT = 32_767
"""The longest text an Excel cell holds."""

# Characters XML 1.0 (and so a workbook) cannot hold, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STATUS_FILL = {
    TrialStatus.FAILED.value: RED,
    TrialStatus.TIMEOUT.value: RED,
    TrialStatus.CACHED.value: GREY,
    TrialStatus.PRUNED.value: GREY,
}
_FORMATS = {"fit time (s)": "0.000", "elapsed (s)": "0.0"}
_SCORE_COLUMNS = ("score", "best so far", "score std")
_DATETIME = "yyyy-mm-dd hh:mm:ss"
# Excel shows booleans as TRUE and FALSE whatever the format; other
# spreadsheets need this format not to show them as 1 and 0.
BOOLEAN = '"TRUE";"TRUE";"FALSE"'
_COLUMN = {name: index for index, name in enumerate(LEADING_COLUMNS, 1)}


# -- cells ---------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """``text`` as a workbook can hold it: no control characters, not too long.

    Line ends become ``"\\n"`` (XML would turn a lone carriage return into
    one anyway); other control characters become U+FFFD.
    """
    text = _UNSAFE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class _Styler:
    """Makes styled write-only cells, sharing one style record per look."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self._styles: dict[tuple[str | None, bool, str | None], Any] = {}

    def cell(
        self,
        value: Any,
        *,
        fill: str | None = None,
        bold: bool = False,
        number_format: str | None = None,
    ) -> Any:
        """A cell holding ``value``; text is stored as text, never as a formula."""
        if isinstance(value, str):
            cell = WriteOnlyCell(self.sheet, value=clean_text(value))
            cell.data_type = "s"
        else:
            cell = WriteOnlyCell(self.sheet, value=value)
        key = (fill, bold, number_format)
        if key != (None, False, None):
            self._style(cell, key)
        return cell

    def _style(self, cell: Any, key: tuple[str | None, bool, str | None]) -> None:
        # Setting fill, font and format looks each up in the workbook's style
        # tables; copying the resulting style record is much cheaper.
        style = self._styles.get(key)
        if style is not None:
            cell._style = copy(style)
            return

        fill, bold, number_format = key
        if fill is not None:
            cell.fill = PatternFill("solid", fgColor=fill)
        if bold:
            cell.font = Font(bold=True)
        if number_format is not None:
            cell.number_format = number_format
        self._styles[key] = copy(cell._style)

    def plain(self, value: Any) -> Any:
        """``value`` ready for ``append``: text becomes a text cell."""
        return self.cell(value) if isinstance(value, str) else value


def _set_widths(sheet: Any, widths: Iterable[float]) -> None:
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _add_table(sheet: Any, name: str, headers: Sequence[str], n_rows: int) -> None:
    """Make the block at A1 a formatted Excel table with a filter row."""
    last = f"{get_column_letter(len(headers))}{max(n_rows, 1) + 1}"
    table = Table(displayName=name, ref=f"A1:{last}")
    table.tableColumns = [
        TableColumn(id=index, name=clean_text(header))
        for index, header in enumerate(headers, 1)
    ]
    table.autoFilter = AutoFilter(ref=table.ref)
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    with warnings.catch_warnings():
        # openpyxl warns that write-only sheets need their table columns
        # given by hand, which is what the lines above do.
        warnings.filterwarnings("ignore", "In write-only mode", UserWarning)
        sheet.add_table(table)


def _fit_to_width(sheet: Any, *, landscape: bool, one_page: bool = False) -> None:
    """Print the sheet one page wide (and one page tall if ``one_page``).

    Write-only sheets write their properties with the first row: call this
    before appending any.
    """
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 1 if one_page else 0


# -- History -------------------------------------------------------------------------


def write_history(workbook: Any, history: History) -> Any:
    """The History sheet: one row per trial, as an Excel table."""
    sheet = workbook.create_sheet(HISTORY)
    headers = history.headers()
    _set_widths(sheet, _history_widths(headers))
    sheet.freeze_panes = "B2"
    sheet.print_title_rows = "1:1"
    _fit_to_width(sheet, landscape=True)
    styler = _Styler(sheet)
    sheet.append([styler.cell(header, bold=True) for header in headers])
    score_format = score_number_format(history)
    formats = [
        score_format if header in _SCORE_COLUMNS else _FORMATS.get(header)
        for header in headers
    ]
    first_param = len(LEADING_COLUMNS)
    for row in history.rows:
        moved = {
            first_param + i for i, n in enumerate(history.params) if n in row.moved
        }
        sheet.append(_history_cells(styler, row, history.params, moved, formats))

    _add_table(sheet, HISTORY, headers, len(history.rows))
    return sheet


def score_number_format(history: History) -> str:
    """Enough decimals to tell the run's scores apart: ``"0.0000"`` for
    accuracies, fewer for large losses. The cells keep every digit."""
    scores = [row.score for row in history.rows if row.score is not None]
    span = max(scores) - min(scores) if scores else 0.0
    if span <= 0 or not math.isfinite(span):
        return "General"
    decimals = min(max(3 - math.floor(math.log10(span)), 2), 8)
    return "0." + "0" * decimals


def _history_widths(headers: Sequence[str]) -> list[float]:
    fixed = {"trial": 8, "status": 10, "accepted": 11, "moves": 40, "error": 40}
    return [fixed.get(h, min(max(len(h) + 4, 12), 32)) for h in headers]


def _history_cells(
    styler: _Styler,
    row: HistoryRow,
    params: Sequence[str],
    moved: set[int],
    formats: Sequence[str | None],
) -> list[Any]:
    """The cells of one row: styled where the row or the cell stands out."""
    row_fill = GREEN if row.accepted else None
    cells: list[Any] = []
    for index, value in enumerate(row.values(params)):
        fill, bold = row_fill, False
        if index in moved:
            fill, bold = YELLOW, True
        elif index == 1:
            fill = _STATUS_FILL.get(row.status, row_fill)
        number_format = BOOLEAN if isinstance(value, bool) else formats[index]
        if value is None:
            number_format = None
        if fill is None and number_format is None and not isinstance(value, str):
            cells.append(value)
        else:
            cells.append(
                styler.cell(value, fill=fill, bold=bold, number_format=number_format)
            )

    return cells


# -- Progress ------------------------------------------------------------------------


def write_progress(workbook: Any, history: History, history_sheet: Any) -> None:
    """The Progress sheet: a line chart of the History columns."""
    sheet = workbook.create_sheet(PROGRESS)
    chart = progress_chart(history, history_sheet)
    sheet.add_chart(chart, "A1")
    _fit_to_width(sheet, landscape=True, one_page=True)
    styler = _Styler(sheet)
    for _ in range(31):
        sheet.append([])
    for line in _PROGRESS_NOTES:
        sheet.append([styler.cell(line)])


_PROGRESS_NOTES = (
    "score: each trial's mean cross-validated score (no dot: the trial failed).",
    "best so far: the best score among the trials accepted so far.",
    "fit time (s), right axis: each trial's mean fit time per fold.",
    "The chart reads the History table: filter or extend it there.",
)


def progress_chart(history: History, history_sheet: Any) -> Any:
    """Score (dots) and best so far (line) by trial; fit time on a second axis."""
    last = len(history.rows) + 1
    chart = LineChart()
    chart.title = "Score by trial"
    chart.height, chart.width = 14.5, 30.0
    chart.display_blanks = "gap"
    chart.legend.position = "b"
    for column in ("score", "best so far"):
        data = Reference(
            history_sheet, min_col=_COLUMN[column], min_row=1, max_row=last
        )
        chart.add_data(data, titles_from_data=True)
    _style_score(chart.series[0])
    _style_line(chart.series[1], BEST_COLOUR, width_pt=2.25)
    trials = Reference(history_sheet, min_col=_COLUMN["trial"], min_row=2, max_row=last)
    chart.set_categories(trials)
    _axes(chart, history)
    chart += _fit_time_chart(history, history_sheet)
    return chart


def _fit_time_chart(history: History, history_sheet: Any) -> Any:
    """The fit-time line, on a value axis at the right of the chart.

    The axis goes to twice the longest fit time, so that the line keeps to
    the lower half of the chart, clear of the scores as they improve.
    """
    last = len(history.rows) + 1
    chart = LineChart()
    column = _COLUMN["fit time (s)"]
    data = Reference(history_sheet, min_col=column, min_row=1, max_row=last)
    chart.add_data(data, titles_from_data=True)
    _style_line(chart.series[0], FIT_TIME_COLOUR, width_pt=1.0)
    # Excel's own layout for a secondary axis: a hidden second category
    # axis, and the second value axis crossing it at its maximum (the right).
    chart.x_axis = TextAxis(axId=500, crossAx=200, delete=True, axPos="b")
    chart.y_axis.axId = 200
    chart.y_axis.crossAx = 500
    chart.y_axis.axPos = "r"
    chart.y_axis.title = "fit time (s)"
    chart.y_axis.crosses = "max"
    chart.y_axis.majorGridlines = None
    chart.y_axis.delete = False
    chart.y_axis.scaling.min = 0
    fits = [row.fit_time for row in history.rows if row.fit_time is not None]
    if fits and max(fits) > 0:
        step = nice_step(max(fits) * 2 / 5)
        chart.y_axis.scaling.max = _round12(step * 5)
        chart.y_axis.majorUnit = step
    return chart


def _style_score(series: Any) -> None:
    series.marker.symbol = "circle"
    series.marker.size = 4
    series.marker.graphicalProperties.solidFill = SCORE_COLOUR
    series.marker.graphicalProperties.line.solidFill = SCORE_COLOUR
    series.graphicalProperties.line.noFill = True
    series.smooth = False


def _style_line(series: Any, colour: str, *, width_pt: float, dash: str = "") -> None:
    series.marker.symbol = "none"
    series.graphicalProperties.line.solidFill = colour
    series.graphicalProperties.line.width = round(width_pt * 12_700)  # EMU
    if dash:
        series.graphicalProperties.line.dashStyle = dash
    series.smooth = False


def _axes(chart: Any, history: History) -> None:
    """Titled axes, visible, with bounds that fit the scores (not from zero)."""
    chart.x_axis.title = "trial"
    chart.y_axis.title = "score"
    chart.x_axis.axPos = "b"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    skip = nice_skip(len(history.rows))
    chart.x_axis.tickLblSkip = skip
    chart.x_axis.tickMarkSkip = skip
    scores = [v for r in history.rows for v in (r.score, r.best) if v is not None]
    bounds = axis_bounds(scores)
    if bounds is not None:
        low, high, step = bounds
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = low, high
        chart.y_axis.majorUnit = step
        decimals = max(0, -math.floor(math.log10(step)))
        chart.y_axis.number_format = "0." + "0" * decimals if decimals else "0"
    chart.layout = Layout(ManualLayout(x=0.06, y=0.1, w=0.84, h=0.72))


def nice_step(span: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest above ``span``."""
    power = 10.0 ** math.floor(math.log10(span))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= span * (1 - 1e-9))


def nice_skip(n: int) -> int:
    """Label every trial up to 20, then about ten labels along the axis."""
    return 1 if n <= 20 else int(nice_step(n / 10))


def axis_bounds(values: Sequence[float]) -> tuple[float, float, float] | None:
    """Round axis bounds around ``values``, and the step between gridlines."""
    if not values:
        return None

    low, high = min(values), max(values)
    span = high - low or abs(high) or 1.0
    step = nice_step(span / 8)
    bottom = math.floor((low - span * 0.02) / step) * step
    top = math.ceil((high + span * 0.02) / step) * step
    return _round12(bottom), _round12(top), _round12(step)


def _round12(value: float) -> float:
    """``value`` to 12 significant digits, which drops binary noise."""
    if value == 0:
        return 0.0
    return round(value, 11 - math.floor(math.log10(abs(value))))


# -- Summary -------------------------------------------------------------------------


@dataclass
class _Section:
    """Rows of a Summary section: label and value."""

    title: str
    rows: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, label: str, value: Any) -> None:
        self.rows.append((label, value))


def write_summary(workbook: Any, history: History) -> None:
    """The Summary sheet: what the run found, and how it was set up."""
    sheet = workbook.create_sheet(SUMMARY)
    _set_widths(sheet, (34, 64))
    _fit_to_width(sheet, landscape=False)
    styler = _Styler(sheet)
    for section in summary_sections(history):
        sheet.append(
            [
                styler.cell(section.title, fill=BLUE, bold=True),
                styler.cell("", fill=BLUE),
            ]
        )
        for label, value in section.rows:
            sheet.append([styler.cell(label), _summary_value(styler, value)])
        sheet.append([])


def _summary_value(styler: _Styler, value: Any) -> Any:
    """A value cell, left-aligned whatever its type, long text wrapped."""
    if isinstance(value, Mapping | list | tuple):
        value = json.dumps(value, default=repr, ensure_ascii=False)
    number_format = _DATETIME if isinstance(value, datetime) else None
    if isinstance(value, bool):
        number_format = BOOLEAN
    cell = styler.cell(value, number_format=number_format)
    wrap = isinstance(value, str) and len(value) > 60
    cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=wrap)
    return cell


def summary_sections(history: History) -> list[_Section]:
    """The Summary sheet's content, section by section."""
    sections = [
        _run_section(history),
        _best_section(history),
        _status_section(history),
        _timing_section(history),
    ]
    run = history.run
    if run is not None:
        sections += [
            _mapping_section("Run configuration", run.config),
            _space_section(run.space),
            _plugin_section("Strategy", run.strategy),
            _plugin_section("Acceptance", run.acceptance),
            _mapping_section("Versions", run.versions),
        ]
    sections.append(_legend_section())
    return sections


def _run_section(history: History) -> _Section:
    section = _Section("Run")
    first, run, finished = history.first_run, history.run, history.finished
    if run is not None:
        section.add("name", run.name)
        section.add("objective", run.objective)
    section.add("direction", history.direction)
    section.add("stopped because", finished.reason if finished else "not finished")
    if first is not None:
        end = _end_time(history)
        section.add("started", datetime.fromtimestamp(first.time))
        section.add("ended", datetime.fromtimestamp(end))
        section.add("wall time (s)", round(end - first.time, 3))
        minutes = (end - first.time) / 60
        if minutes > 0:
            section.add("trials per minute", round(len(history.rows) / minutes, 2))
    section.add("sessions", history.sessions)
    section.add("trials", len(history.rows))
    return section


def _end_time(history: History) -> float:
    """When the run ended: its last event with a time."""
    if history.finished is not None:
        return history.finished.time
    assert history.first_run is not None
    elapsed = [row.elapsed for row in history.rows if row.elapsed is not None]
    return history.first_run.time + max(elapsed, default=0.0)


def _best_section(history: History) -> _Section:
    section = _Section("Best configuration")
    incumbent, finished = history.incumbent, history.finished
    if incumbent is None and (finished is None or finished.best_number is None):
        section.add("best score", "no trial was accepted")
        return section

    if finished is not None and finished.best_number is not None:
        section.add("best score", finished.best_score)
        section.add("best trial", finished.best_number)
    else:
        assert incumbent is not None
        section.add("best score", incumbent.score)
        section.add("best trial", incumbent.number)
    if incumbent is not None:
        for name, value in incumbent.params.items():
            section.add(name, display(value))
    return section


def _status_section(history: History) -> _Section:
    section = _Section("Trials by status")
    counts = history.status_counts
    for status in TrialStatus:
        section.add(status.value, counts.get(status.value, 0))
    for other in sorted(set(counts) - {s.value for s in TrialStatus}):
        section.add(other, counts[other])
    section.add("accepted", sum(row.accepted for row in history.rows))
    return section


def _timing_section(history: History) -> _Section:
    section = _Section("Timings (s)")
    fits = [row.fit_time for row in history.rows if row.fit_time is not None]
    durations = [row.duration for row in history.rows if row.duration is not None]
    section.add("mean fit time per fold", _mean(fits))
    section.add("longest fit time per fold", max(fits, default=None))
    section.add("mean trial duration", _mean(durations))
    section.add("longest trial duration", max(durations, default=None))
    return section


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _mapping_section(title: str, mapping: Mapping[str, Any]) -> _Section:
    section = _Section(title)
    for key, value in mapping.items():
        section.add(str(key), "not set" if value is None else value)
    return section


def _plugin_section(title: str, described: Mapping[str, Any]) -> _Section:
    section = _Section(title)
    section.add("name", described.get("name", ""))
    if described.get("class"):
        section.add("class", described["class"])
    for key, value in dict(described.get("options") or {}).items():
        section.add(f"option {key}", "not set" if value is None else value)
    return section


def _space_section(space: Mapping[str, Any]) -> _Section:
    section = _Section("Search space")
    try:
        parsed = SearchSpace.model_validate(space)
    except ValueError:
        section.add("space", dict(space))
        return section

    for name, param in parsed.items():
        start = f"; start {param.start!r}" if param.start is not None else ""
        section.add(name, f"{param.describe()}{start}")
    for condition in parsed.conditions:
        values = ", ".join(map(repr, condition.values))
        section.add("condition", f"{condition.param} if {condition.parent} in {values}")
    return section


def _legend_section() -> _Section:
    section = _Section("Reading the History sheet")
    section.add("green row", "the trial was accepted: it became the incumbent")
    section.add("yellow bold cell", "a parameter the trial's step changed")
    section.add("red status", "the trial failed or timed out")
    section.add("grey status", "cached (repeats an earlier trial) or pruned")
    section.add("best so far", "the best score among the trials accepted so far")
    return section


# -- Parameters ----------------------------------------------------------------------

PARAMETER_COLUMNS = (
    "parameter",
    "kind",
    "moves",
    "accepted",
    "acceptance rate",
    "moves up",
    "mean change up",
    "moves down",
    "mean change down",
    "other moves",
    "mean change other",
    "no score",
)


@dataclass
class _ParamStats:
    moves: int = 0
    accepted: int = 0
    no_score: int = 0
    changes: dict[str, list[float]] = field(
        default_factory=lambda: {"up": [], "down": [], "other": []}
    )
    counts: dict[str, int] = field(
        default_factory=lambda: {"up": 0, "down": 0, "other": 0}
    )

    def row(self, name: str, kind: str) -> list[Cell]:
        rate = self.accepted / self.moves if self.moves else None
        cells: list[Cell] = [name, kind, self.moves, self.accepted, rate]
        for group in ("up", "down", "other"):
            cells += [self.counts[group], _mean(self.changes[group])]
        return [*cells, self.no_score]


def parameter_stats(history: History) -> list[list[Cell]]:
    """One row of :data:`PARAMETER_COLUMNS` per parameter."""
    scores = _judged_scores(history.rows)
    stats = {name: _ParamStats() for name in history.params}
    for row in history.rows:
        change = _score_change(row, scores)
        for move in row.move_list:
            entry = stats.setdefault(move.param, _ParamStats())
            group = move.kind if move.kind in ("up", "down") else "other"
            entry.moves += 1
            entry.accepted += row.accepted
            entry.no_score += row.score is None
            entry.counts[group] += 1
            if change is not None:
                entry.changes[group].append(change)

    kinds = _param_kinds(history)
    return [entry.row(name, kinds.get(name, "")) for name, entry in stats.items()]


def _judged_scores(rows: Iterable[HistoryRow]) -> dict[int, float]:
    """Scores acceptance may judge (pruned trials' partial scores left out)."""
    judged = (TrialStatus.OK.value, TrialStatus.CACHED.value)
    return {
        row.trial: row.score
        for row in rows
        if row.score is not None and row.status in judged
    }


def _score_change(row: HistoryRow, scores: Mapping[int, float]) -> float | None:
    if row.parent is None or row.trial not in scores or row.parent not in scores:
        return None
    return scores[row.trial] - scores[row.parent]


def _param_kinds(history: History) -> dict[str, str]:
    if history.run is None:
        return {}
    params = history.run.space.get("params", {})
    return {
        name: str(spec.get("kind", "")) if isinstance(spec, Mapping) else ""
        for name, spec in params.items()
    }


def write_parameters(workbook: Any, history: History) -> None:
    """The Parameters sheet: how each parameter's moves fared."""
    sheet = workbook.create_sheet(PARAMETERS)
    _set_widths(sheet, (28, *(len(h) + 6 for h in PARAMETER_COLUMNS[1:])))
    sheet.freeze_panes = "B2"
    _fit_to_width(sheet, landscape=True)
    styler = _Styler(sheet)
    sheet.append([styler.cell(h, bold=True) for h in PARAMETER_COLUMNS])
    rows = parameter_stats(history)
    for values in rows:
        cells = [styler.plain(v) for v in values]
        cells[4] = styler.cell(values[4], number_format="0%")
        sheet.append(cells)

    _add_table(sheet, PARAMETERS, PARAMETER_COLUMNS, len(rows))
    sheet.append([])
    sheet.append([styler.cell(_change_note(history.direction))])


def _change_note(direction: str) -> str:
    better = "lower" if direction == "minimize" else "higher"
    return (
        "mean change: the trial's score minus its parent's, over the trials "
        f"with both scores (direction {direction}: {better} is better). A trial "
        "whose step moved several parameters counts for each of them."
    )
