"""Built-in reporters, registered under the ``autotune.reporters`` entry points."""

from reporters.console import ConsoleReporter
from reporters.jsonl import JsonlReporter

__all__ = ["ConsoleReporter", "JsonlReporter"]
