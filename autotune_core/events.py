"""Run events: what the engine publishes to reporters and writes to ``events.jsonl``.

Each event is one JSON object per line with ``"event"`` (its kind) and
``"v"`` (the schema version, :data:`SCHEMA_VERSION`). A reader refuses a
log whose version is newer than the one it knows.

Order within a run: one :class:`RunStarted`; per trial a
:class:`TrialStarted`, later its :class:`TrialFinished`, then a
:class:`NewIncumbent` if it was accepted; one :class:`RunFinished` at the end.
Trials running concurrently interleave. A resumed run appends a
:class:`RunResumed` (and a :class:`SpaceChanged` if the space changed) and
goes on; a trial that was running when the run stopped is started again
under the same number.

Every :class:`TrialStarted` carries a *checkpoint*: the strategy's snapshot
and the random state right after the candidate was proposed, which is what
resuming restores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from autotune_core._records import quick_init
from autotune_core.exceptions import RunFolderError
from autotune_core.trial import Move, Trial, _detuple

__all__ = [
    "SCHEMA_VERSION",
    "Event",
    "NewIncumbent",
    "RunFinished",
    "RunResumed",
    "RunStarted",
    "SpaceChanged",
    "TrialFinished",
    "TrialStarted",
    "event_from_dict",
]

SCHEMA_VERSION = 1
"""Version of the event-log schema this library writes and reads."""


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of run events."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``event`` and ``v`` keys first."""
        return {"event": self.kind, "v": SCHEMA_VERSION, **self._payload()}

    def _payload(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """A run began; carries everything needed to read the rest of the log.

    ``run_dir`` is the run folder, or ``None`` for a run without one. Only
    live reporters see it: it is not written to the log (the folder may be
    moved), so an event read back from a log has ``None``.
    """

    kind: ClassVar[str] = "run_started"
    name: str
    time: float
    config: dict[str, Any]
    space: dict[str, Any]
    strategy: dict[str, Any]
    acceptance: dict[str, Any]
    objective: str
    versions: dict[str, str] = field(default_factory=dict)
    run_dir: Path | None = field(default=None, compare=False)

    def _payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "time": self.time,
            "config": self.config,
            "space": self.space,
            "strategy": self.strategy,
            "acceptance": self.acceptance,
            "objective": self.objective,
            "versions": self.versions,
        }


@dataclass(frozen=True, slots=True)
class RunResumed(RunStarted):
    """A stopped run goes on; ``config`` and ``space`` are the ones now in force."""

    kind: ClassVar[str] = "run_resumed"
    n_trials_before: int = 0

    def _payload(self) -> dict[str, Any]:
        return {
            **RunStarted._payload(self),
            "n_trials_before": self.n_trials_before,
        }


@dataclass(frozen=True, slots=True)
class SpaceChanged(Event):
    """A resumed run uses a different search space."""

    kind: ClassVar[str] = "space_changed"
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    space: dict[str, Any]

    def _payload(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
            "space": self.space,
        }


@quick_init
@dataclass(frozen=True, slots=True)
class TrialStarted(Event):
    """A candidate was handed to the executor (or answered from the cache)."""

    kind: ClassVar[str] = "trial_started"
    number: int
    params: dict[str, Any]
    parent: int | None
    moves: tuple[Move, ...]
    time: float
    batch: bool = False
    checkpoint: dict[str, Any] | None = None

    def _payload(self) -> dict[str, Any]:
        data = {
            "number": self.number,
            "params": self.params,
            "parent": self.parent,
            "moves": [m.to_dict() for m in self.moves],
            "time": self.time,
        }
        if self.batch:
            data["batch"] = True
        if self.checkpoint is not None:
            data["checkpoint"] = self.checkpoint
        return data


@quick_init
@dataclass(frozen=True, slots=True)
class TrialFinished(Event):
    """A trial finished (whatever its status), acceptance decided."""

    kind: ClassVar[str] = "trial_finished"
    trial: Trial

    def _payload(self) -> dict[str, Any]:
        return {"trial": self.trial.to_dict()}


@quick_init
@dataclass(frozen=True, slots=True)
class NewIncumbent(Event):
    """A trial was accepted and is now the incumbent."""

    kind: ClassVar[str] = "new_incumbent"
    number: int
    score: float
    previous: int | None
    params: dict[str, Any]

    def _payload(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "score": self.score,
            "previous": self.previous,
            "params": self.params,
        }


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """The run stopped; ``reason`` says why."""

    kind: ClassVar[str] = "run_finished"
    reason: str
    time: float
    n_trials: int
    best_number: int | None
    best_score: float | None
    status_counts: dict[str, int] = field(default_factory=dict)

    def _payload(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "time": self.time,
            "n_trials": self.n_trials,
            "best_number": self.best_number,
            "best_score": self.best_score,
            "status_counts": self.status_counts,
        }


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from its JSON form.

    Raises :class:`RunFolderError` for a newer schema version or an unknown kind.
    """
    version = data.get("v")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or version > SCHEMA_VERSION
    ):
        raise RunFolderError(
            f"event-log schema version v={version!r} is not supported by this "
            f"version of autotune-core (it reads v<={SCHEMA_VERSION}); upgrade it"
        )
    kind = data.get("event")
    body = {k: v for k, v in data.items() if k not in ("event", "v")}
    try:
        return _build(kind, body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunFolderError(
            f"malformed {kind!r} event in the event log: {type(exc).__name__}: {exc}"
        ) from None


def _build(kind: object, body: dict[str, Any]) -> Event:
    if kind == RunStarted.kind:
        return RunStarted(**body)
    if kind == RunResumed.kind:
        return RunResumed(**body)
    if kind == SpaceChanged.kind:
        return SpaceChanged(
            added=tuple(body["added"]),
            removed=tuple(body["removed"]),
            changed=tuple(body["changed"]),
            space=body["space"],
        )
    if kind == TrialStarted.kind:
        return TrialStarted(
            number=body["number"],
            params={k: _detuple(v) for k, v in body["params"].items()},
            parent=body.get("parent"),
            moves=tuple(Move.from_dict(m) for m in body.get("moves", ())),
            time=body["time"],
            batch=bool(body.get("batch", False)),
            checkpoint=body.get("checkpoint"),
        )
    if kind == TrialFinished.kind:
        return TrialFinished(Trial.from_dict(body["trial"]))
    if kind == NewIncumbent.kind:
        params = {k: _detuple(v) for k, v in body["params"].items()}
        return NewIncumbent(body["number"], body["score"], body.get("previous"), params)
    if kind == RunFinished.kind:
        return RunFinished(**body)
    raise RunFolderError(f"unknown event kind {kind!r} in the event log")
