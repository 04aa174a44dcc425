"""The extension point for output: :class:`Reporter`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from autotune_core.events import (
    Event,
    NewIncumbent,
    RunFinished,
    RunStarted,
    TrialFinished,
    TrialStarted,
)

__all__ = ["Reporter", "RunControl"]

logger = logging.getLogger(__name__)


class RunControl:
    """Lets reporters (and users' callbacks) ask a running search to stop."""

    __slots__ = ("stop_reason",)

    def __init__(self) -> None:
        self.stop_reason: str | None = None

    def request_stop(self, reason: str) -> None:
        """Ask the run to stop proposing; trials in flight still finish."""
        if self.stop_reason is None:
            logger.info("stop requested: %s", reason)
            self.stop_reason = reason


class Reporter:
    """Base class of reporters: they receive every run event, in order.

    The engine calls, in this order: :meth:`bind` with the run's
    :class:`RunControl`; :meth:`on_run_started`; for each trial
    :meth:`on_trial_started`, later :meth:`on_trial_finished` and, if it was
    accepted, :meth:`on_new_incumbent`; :meth:`on_run_finished`; and
    :meth:`close` (also when the run fails). Every hook is optional and does
    nothing by default; :meth:`handle` dispatches an event to its hook.

    A reporter that raises is logged, closed and detached; the run goes on.
    Hooks run on the event loop: keep them quick, or batch slow work.

    Examples
    --------
    >>> class StopAtNine(Reporter):
    ...     name = "stop-at-nine"
    ...
    ...     def on_trial_finished(self, event):
    ...         if event.trial.number >= 9:
    ...             self.request_stop("ten trials are enough")
    """

    name: ClassVar[str] = ""
    _control: RunControl | None = None

    def bind(self, control: RunControl) -> None:
        """Receive the run's control handle (called before any event)."""
        self._control = control

    def request_stop(self, reason: str) -> None:
        """Ask the run to stop proposing new trials."""
        if self._control is None:
            raise RuntimeError(f"{type(self).__name__} is not attached to a run")
        self._control.request_stop(f"{self.name or type(self).__name__}: {reason}")

    def handle(self, event: Event) -> None:
        """Dispatch ``event`` to its hook."""
        if isinstance(event, TrialFinished):
            self.on_trial_finished(event)
        elif isinstance(event, TrialStarted):
            self.on_trial_started(event)
        elif isinstance(event, NewIncumbent):
            self.on_new_incumbent(event)
        elif isinstance(event, RunStarted):
            self.on_run_started(event)
        elif isinstance(event, RunFinished):
            self.on_run_finished(event)

    def on_run_started(self, event: RunStarted) -> None:
        """The run began."""

    def on_trial_started(self, event: TrialStarted) -> None:
        """A trial started."""

    def on_trial_finished(self, event: TrialFinished) -> None:
        """A trial finished (any status)."""

    def on_new_incumbent(self, event: NewIncumbent) -> None:
        """A trial was accepted."""

    def on_run_finished(self, event: RunFinished) -> None:
        """The run stopped."""

    def close(self) -> None:
        """Release files and displays; called once, last."""

    def options(self) -> dict[str, Any]:
        """Constructor options, recorded with the run."""
        return {}


class _Broadcaster:
    """Sends each event to every attached reporter, detaching those that fail."""

    def __init__(self, reporters: Iterable[Reporter], control: RunControl) -> None:
        self.reporters = list(reporters)
        for reporter in self.reporters:
            reporter.bind(control)

    def publish(self, event: Event) -> None:
        if not self.reporters:
            return
        for reporter in list(self.reporters):
            try:
                reporter.handle(event)
            except Exception:
                logger.exception(
                    "reporter %s failed on %s and is detached; the run goes on",
                    _label(reporter),
                    event.kind,
                )
                self._detach(reporter)

    def _detach(self, reporter: Reporter) -> None:
        self.reporters.remove(reporter)
        try:
            reporter.close()
        except Exception:
            logger.exception("reporter %s failed to close", _label(reporter))

    def close(self) -> None:
        for reporter in list(self.reporters):
            self._detach(reporter)


def _label(reporter: Reporter) -> str:
    return reporter.name or type(reporter).__name__
