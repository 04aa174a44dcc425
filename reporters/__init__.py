"""Built-in reporters, registered under the ``autotune.reporters`` entry points."""

from reporters.columns import History, HistoryRow
from reporters.console import ConsoleReporter
from reporters.csv_table import CsvReporter
from reporters.excel import ExcelReporter
from reporters.jsonl import JsonlReporter
from reporters.plots import PlotReporter

__all__ = [
    "ConsoleReporter",
    "CsvReporter",
    "ExcelReporter",
    "History",
    "HistoryRow",
    "JsonlReporter",
    "PlotReporter",
]
