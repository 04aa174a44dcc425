"""Stream run events as JSON lines to any file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from autotune_core import Event, Reporter
from autotune_core.run_folder import encode

__all__ = ["JsonlReporter"]


class JsonlReporter(Reporter):
    """Write every event as one JSON object per line, flushed as it goes.

    The lines have the same schema as a run folder's ``events.jsonl``, so
    :func:`autotune_core.read_events` reads them back.

    Parameters
    ----------
    path
        File to write; its folder is created if needed.
    append
        Add to an existing file instead of replacing it.

    Examples
    --------
    >>> reporter = JsonlReporter(path="events.jsonl")  # doctest: +SKIP
    """

    name = "jsonl"

    def __init__(self, *, path: str | Path, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self._file: BinaryIO | None = None

    def options(self) -> dict[str, Any]:
        return {"path": str(self.path), "append": self.append}

    def handle(self, event: Event) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab" if self.append else "wb")
        self._file.write(encode(event.to_dict()) + b"\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
