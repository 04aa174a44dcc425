"""File helpers shared by the reporters that write files."""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autotune_core import ConfigError, RunStarted

__all__ = ["check_positive", "default_path", "safe_name", "write_atomically"]

FALLBACK_NAME = "autotune-run"
"""Base name of a file written before any ``run_started`` event was seen."""


def default_path(event: RunStarted | None, suffix: str) -> Path:
    """Where a reporter given no ``path`` writes: ``<run name><suffix>``.

    The file goes in the run folder when the event names one, otherwise
    (``run_dir=False``, or events read back from a log) in the working
    directory.
    """
    if event is None:
        return Path(f"{FALLBACK_NAME}{suffix}")

    folder = event.run_dir or Path()
    return folder / f"{safe_name(event.name)}{suffix}"


def safe_name(name: str) -> str:
    """``name`` with anything but letters, digits, ``.``, ``_`` and ``-``
    replaced, safe as a file name on every system."""
    return re.sub(r"[^\w.-]+", "-", name, flags=re.ASCII).strip("-.") or FALLBACK_NAME


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file next to ``path``, then rename it.

    A reader never sees a half-written file: it finds the previous version
    or the new one. The temporary file is removed if ``write`` fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_positive(
    owner: str, name: str, value: Any, kind: type[int] | type[float]
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is ``None`` or a positive number.

    ``kind=int`` accepts integers only; ``kind=float`` integers and floats.
    """
    if value is None:
        return

    allowed, expected = (
        ((int,), "an int") if kind is int else ((int, float), "a number")
    )
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise ConfigError(
            f"{owner}: {name}={value!r} must be {expected}, got {type(value).__name__}"
        )

    if not 0 < value < math.inf:
        raise ConfigError(f"{owner}: {name}={value!r} must be > 0 and finite")
