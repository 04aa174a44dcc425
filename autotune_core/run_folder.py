"""Run folders: the resolved config, the space, and the event log of a run.

A run folder holds::

    run.json        name, start time, strategy, acceptance, objective, versions
    config.json     the resolved RunConfig (the seed actually used included)
    space.json      the SearchSpace
    events.jsonl    every event, one JSON object per line (the canonical record)

:func:`load_run` rebuilds a :class:`~autotune_core.TuneResult` from the log.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import orjson

from autotune_core.events import Event, event_from_dict
from autotune_core.exceptions import RunFolderError

__all__ = ["DEFAULT_RUNS_DIR", "EventLog", "RunFolder", "read_events"]

logger = logging.getLogger(__name__)

DEFAULT_RUNS_DIR = Path("autotune-runs")
"""Where run folders go when ``run_dir`` is not given (relative to the working dir)."""

EVENTS_FILE = "events.jsonl"

BATCH_SYNC_S = 1.0
"""Longest time between disk syncs of the event log with ``log_sync="batch"``."""

TRIAL_SYNC_S = 0.01
"""Shortest time between disk syncs with ``log_sync="trial"``.

A trial that takes longer than this gets a sync of its own; thousands of
nearly free trials a second share one sync per 10 ms instead of keeping the
disk's journal busy: each sync briefly holds up the run's next write, which
at a sync every 2 ms cost such trials a tenth of their time.
"""

_SYNC_HELPER_WAIT_S = 30.0  # a last sync taking longer means a stuck disk

# fdatasync skips the metadata (mtime) that reading the log back never needs.
_sync_to_disk = getattr(os, "fdatasync", os.fsync)


def json_default(value: Any) -> Any:
    """Encode numpy scalars and arrays, tuples and paths found in params or metrics."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot record {type(value).__name__} value {value!r} as JSON")


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), default=json_default, allow_nan=False
)
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_LINE_OPTIONS = _ORJSON_OPTIONS | orjson.OPT_APPEND_NEWLINE


def encode(data: Any) -> bytes:
    """Compact JSON as UTF-8 bytes, non-finite floats written as ``null``.

    orjson does the work; values it refuses (integers beyond 64 bits) go
    through the standard library instead.
    """
    try:
        return orjson.dumps(data, default=json_default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        return dumps_stdlib(data).encode()


def _encode_line(data: Any) -> bytes:
    """:func:`encode` with the newline a JSON-lines file needs."""
    try:
        return orjson.dumps(data, default=json_default, option=_LINE_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        return dumps_stdlib(data).encode() + b"\n"


def dumps(data: Any) -> str:
    """:func:`encode` as text."""
    return encode(data).decode()


def dumps_stdlib(data: Any) -> str:
    """Compact JSON by the standard library, non-finite floats as ``null``."""
    try:
        return _ENCODER.encode(data)
    except ValueError:
        return _ENCODER.encode(_finite(data))


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


class EventLog:
    """Appends events to a JSON-lines file.

    :meth:`commit`, called once a trial is recorded, flushes what was
    written to the operating system at once, so a killed process loses no
    finished trial. Syncing to disk (fsync), which only a machine crash
    needs, never holds up the run: a small helper process (see
    :class:`_SyncProcess`) syncs the file when told, with ``sync="trial"``
    after every trial, as soon as the disk allows and at most once every
    :data:`TRIAL_SYNC_S` (trials that finish meanwhile share the next
    sync); with ``sync="batch"`` at most once every :data:`BATCH_SYNC_S`
    seconds. :meth:`close` syncs whatever is left.
    """

    def __init__(self, path: Path, *, sync: str = "trial") -> None:
        self.path = path
        self.sync = sync
        self._file: BinaryIO | None = path.open("ab")
        interval = BATCH_SYNC_S if sync == "batch" else TRIAL_SYNC_S
        self._syncer = _start_syncer(self._file.fileno(), interval)

    def write(self, event: Event) -> None:
        """Append one event (buffered until :meth:`commit`)."""
        if self._file is None:
            raise RunFolderError(f"event log {str(self.path)!r} is closed")
        self._file.write(_encode_line(event.to_dict()))

    def commit(self) -> None:
        """Hand what was written to the operating system; schedule a disk sync."""
        if self._file is None:
            return
        self._file.flush()
        self._syncer.request()

    def close(self) -> None:
        """Flush, sync to disk and close.

        The helper's last sync may end a few milliseconds after this
        returns (an exiting interpreter waits for it); what was written is
        with the operating system already, so only a machine crash in those
        milliseconds could lose it.
        """
        if self._file is not None:
            self._file.flush()
            if not self._syncer.stop():
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


class _Syncer(Protocol):
    def request(self) -> None: ...

    def stop(self) -> bool:
        """Stop; whether everything written before was synced."""
        ...


def _start_syncer(fd: int, interval: float) -> _Syncer:
    try:
        return _SyncProcess(fd, interval)
    except (OSError, ValueError) as exc:  # no interpreter, or no pass_fds here
        logger.debug("event log syncs from a thread: %s", exc)
        return _SyncThread(fd, interval)


# The helper. Woken by a byte on its pipe, it syncs, then waits out the
# interval and syncs again if the file grew meanwhile (the run sends at most
# a byte per interval, so a trial may come without one), until a wait ends
# with nothing new: then it waits for the next byte. The end of the log (an
# END byte, the pipe closed, or the run gone, killed included) ends any wait
# at once, with a last sync.
_END = b"\x01"
_SYNC_HELPER = """\
import os, select, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
fd, wake, interval = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
END = bytes([int(sys.argv[4])])
sync = getattr(os, "fdatasync", os.fsync)
parent = os.getppid()

def ended():  # read what the run sent: the end, or only wake-ups
    data = os.read(wake, 1 << 16)
    return not data or END in data

def next_request():  # False once the log ended or the run is gone
    while not select.select([wake], [], [], 1.0)[0]:
        if os.getppid() != parent:
            return False
    return not ended()

def waited_out(interval):  # False if the log ended during the wait
    deadline = time.monotonic() + interval
    while (left := deadline - time.monotonic()) > 0:
        if select.select([wake], [], [], left)[0] and ended():
            return False
    return True

def synced_size():
    size = os.fstat(fd).st_size
    sync(fd)
    return size

try:
    running = next_request()
    while running:
        size = synced_size()
        while (running := waited_out(interval)) and os.fstat(fd).st_size != size:
            size = synced_size()
        running = running and next_request()
    sync(fd)
except OSError:
    sys.exit(3)
"""


class _SyncProcess:
    """Syncs a file from a helper process that shares its descriptor.

    A thread in this process would do the same work, but every time it woke
    it would take the interpreter lock from the run, which cost a nearly
    free trial a third of its time; the helper costs the run one byte
    written to a pipe per sync interval at most. Told of the end by an END
    byte or by the pipe closing, it syncs what the run had written (a killed
    run included) and exits.
    """

    def __init__(self, fd: int, interval: float) -> None:
        _reap_helpers()
        wake_read, self._wake = os.pipe()
        try:
            self._process = subprocess.Popen(
                [
                    *(_python(), "-I", "-S", "-c", _SYNC_HELPER),
                    *(str(fd), str(wake_read), repr(interval), str(_END[0])),
                ],
                pass_fds=(fd, wake_read),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal is the run's
            )
        except BaseException:
            os.close(self._wake)
            raise
        finally:
            os.close(wake_read)
        os.set_blocking(self._wake, False)
        self._open = True
        self._interval = interval
        self._woken = -math.inf

    def request(self) -> None:
        # At most a byte per interval: a wake-up costs the writer a few
        # microseconds, and what comes between is synced when the helper's
        # wait is over and it finds the file grown.
        now = time.monotonic()
        if not self._open or now - self._woken < self._interval:
            return
        self._woken = now
        try:
            os.write(self._wake, b"\0")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups not yet read: one is enough
        except OSError as exc:  # the helper is gone: the log is still flushed
            logger.warning("cannot sync the event log to disk: %s", exc)
            self._open = False

    def stop(self) -> bool:
        """Tell the helper to make its last sync, and let it finish on its own.

        The run does not wait the few milliseconds a last sync takes: the
        helper is reaped later, and an exiting interpreter waits for it.
        """
        synced = self._open and self._process.poll() is None
        self._open = False
        # The end byte tells the helper even if a forked child holds the pipe
        # open too; if the pipe is full or the helper gone, closing must do.
        with contextlib.suppress(OSError):
            os.write(self._wake, _END)
        with contextlib.suppress(OSError):
            os.close(self._wake)
        if synced:
            _finishing.append(self._process)
        return synced


def _python() -> str:
    """The interpreter for helpers: where Python embedded in another program
    set one with ``multiprocessing.set_executable``, that one."""
    from multiprocessing import spawn

    return os.fsdecode(spawn.get_executable() or sys.executable)


_finishing: list[subprocess.Popen[bytes]] = []  # helpers making their last sync


def _reap_helpers(*, wait: bool = False) -> None:
    """Forget helpers that have exited; with ``wait``, wait for them first."""
    for process in list(_finishing):
        try:
            code = process.wait(_SYNC_HELPER_WAIT_S) if wait else process.poll()
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if code is None:
            continue
        _finishing.remove(process)
        if code:
            logger.warning("the event log's sync helper exited with status %s", code)


atexit.register(_reap_helpers, wait=True)


class _SyncThread:
    """A thread that fsyncs a file when asked, at most once per ``interval``."""

    def __init__(self, fd: int, interval: float) -> None:
        self._fd = fd
        self._interval = interval
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="autotune-fsync", daemon=True
        )
        self._thread.start()

    def request(self) -> None:
        # A request already waiting is served by a sync that has not begun:
        # setting the event again would only cost the caller a lock.
        if not self._wanted.is_set():
            self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._stopping.is_set():
                return
            self._wanted.clear()
            try:
                _sync_to_disk(self._fd)
            except OSError as exc:  # the log is still flushed; say so once
                logger.warning("cannot sync the event log to disk: %s", exc)
                return
            if self._interval and self._stopping.wait(self._interval):
                return

    def stop(self) -> bool:
        self._stopping.set()
        self._wanted.set()
        self._thread.join()
        return False  # what came after its last sync is the closer's to sync


class RunFolder:
    """A run's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: str | Path | None, *, name: str) -> RunFolder:
        """Create ``path``, or a folder named ``name`` under :data:`DEFAULT_RUNS_DIR`.

        An explicit ``path`` must not already hold a run; a default one gets
        a numeric suffix if the name is taken.
        """
        if path is None:
            return cls(_unique(DEFAULT_RUNS_DIR / name))
        folder = Path(path)
        if (folder / EVENTS_FILE).exists():
            raise RunFolderError(
                f"run folder {str(folder)!r} already holds a run; choose another folder"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(
                f"cannot create run folder {str(folder)!r}: {exc}"
            ) from None
        return cls(folder)

    @property
    def events_path(self) -> Path:
        """Path of ``events.jsonl``."""
        return self.path / EVENTS_FILE

    def write_json(self, filename: str, data: Any) -> None:
        """Write ``data`` as indented JSON, atomically (temporary file, then rename)."""
        target = self.path / filename
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=json_default) + "\n", "utf-8")
        tmp.replace(target)

    def open_log(self, *, sync: str = "trial") -> EventLog:
        """The event log, opened for appending."""
        return EventLog(self.events_path, sync=sync)

    @classmethod
    def existing(cls, path: str | Path) -> RunFolder:
        """An existing run folder, to resume; :class:`RunFolderError` if not one."""
        folder = cls(Path(path))
        if not folder.events_path.is_file():
            raise RunFolderError(
                f"{str(folder.path)!r} is not a run folder: it has no {EVENTS_FILE}"
            )
        return folder

    def repair_log(self) -> None:
        """Make the log safe to append to after a crash.

        A damaged last line (see :func:`read_events`) is cut off; a last
        event that is whole but lost its newline gets one back.
        """
        path = self.events_path
        data = _read_log(path)
        start, end = _last_line(data)
        whole = _is_event(data[start:end])
        if start == end or (whole and data.endswith(b"\n")):
            return

        with path.open("rb+") as log:
            if whole:
                log.seek(0, os.SEEK_END)
                log.write(b"\n")
                return

            logger.warning(
                "%s: dropped an unfinished last line (%d bytes) before resuming",
                path,
                len(data) - start,
            )
            log.truncate(start)


def default_run_name(objective_name: str) -> str:
    """``YYYYMMDD-HHMMSS-<objective>``, safe as a folder name."""
    stamp = datetime.now(UTC).astimezone().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^\w.-]+", "-", objective_name).strip("-")[:40] or "run"
    return f"{stamp}-{safe}"


def _unique(path: Path) -> Path:
    for attempt in range(1, 1000):
        candidate = path if attempt == 1 else path.with_name(f"{path.name}-{attempt}")
        try:
            candidate.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunFolderError(
                f"cannot create run folder {str(candidate)!r}: {exc}"
            ) from None
        return candidate
    raise RunFolderError(f"no free run-folder name next to {str(path)!r}")


def read_events(path: str | Path) -> Iterator[Event]:
    """Events from an ``events.jsonl`` file, in order.

    A last line that is not a JSON event (cut off mid-write by a crash, even
    inside a character, or garbage a disk left) is skipped with a warning; a
    line elsewhere that is not UTF-8 text or not a JSON event is a
    :class:`RunFolderError` naming the file and the line's number.
    """
    path = Path(path)
    data = _read_log(path)
    lines = data.split(b"\n")
    last = _last_line_index(lines)
    for index, line in enumerate(lines[: last + 1]):
        if not line.strip():
            continue

        try:
            event = event_from_dict(_parse_line(line))
        except _BrokenLine as exc:
            if index == last:
                logger.warning("%s: last line is incomplete and was skipped", path)
                return
            raise RunFolderError(f"{path}:{index + 1}: {exc}") from None
        except RunFolderError as exc:
            raise RunFolderError(f"{path}:{index + 1}: {exc}") from None
        yield event


class _BrokenLine(Exception):
    """A line of the log that is not UTF-8 text, or not a JSON object."""


def _read_log(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RunFolderError(
            f"cannot read event log {str(path)!r}: {exc.strerror}"
        ) from None


def _parse_line(line: bytes) -> dict[str, Any]:
    """The JSON object on ``line``; :class:`_BrokenLine` if there is none."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BrokenLine(f"not UTF-8 text (byte {exc.start + 1})") from None

    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise _BrokenLine("not a JSON event")
    return data


def _is_event(line: bytes) -> bool:
    """Whether ``line`` holds a JSON object."""
    try:
        _parse_line(line)
    except _BrokenLine:
        return False
    return True


def _last_line_index(lines: list[bytes]) -> int:
    """Index of the last line that is not blank (``-1`` if there is none)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].strip():
            return index
    return -1


def _last_line(data: bytes) -> tuple[int, int]:
    """Where the last line of ``data`` that is not blank starts and ends."""
    end = len(data.rstrip())
    return data.rfind(b"\n", 0, end) + 1, end
