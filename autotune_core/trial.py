"""Records of what a run tried: candidates, moves, evaluations and trials.

These are small frozen dataclasses rather than Pydantic models: a run makes
thousands of them and they sit on the engine's hot path. Each converts to
and from plain JSON-ready dicts for the event log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from autotune_core._records import quick_init

__all__ = [
    "Batch",
    "Candidate",
    "Evaluation",
    "Move",
    "Trial",
    "TrialContext",
    "TrialStatus",
]


class TrialStatus(StrEnum):
    """How a trial ended."""

    OK = "ok"
    """The objective returned a finite score."""
    FAILED = "failed"
    """The objective raised, returned a non-finite score, or its worker died."""
    TIMEOUT = "timeout"
    """The evaluation ran past the per-trial time limit."""
    CACHED = "cached"
    """The configuration was answered from an earlier trial of the run."""
    PRUNED = "pruned"
    """The evaluation was stopped early because it could not beat the incumbent."""


@quick_init
@dataclass(frozen=True, slots=True)
class Move:
    """One change a strategy made to the parent's configuration.

    ``kind`` names the change: ``"up"``, ``"down"``, ``"switch"``, ``"flip"``,
    ``"add_layer"``, ``"remove_layer"``, ``"resize_layer"`` or a strategy's own.
    """

    param: str
    kind: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.param} {self.kind}: {self.old!r} -> {self.new!r}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for the event log."""
        return {
            "param": self.param,
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Move:
        """Inverse of :meth:`to_dict` (lists come back as tuples)."""
        return cls(
            data["param"], data["kind"], _detuple(data["old"]), _detuple(data["new"])
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Candidate:
    """A configuration a strategy proposes, with where it came from.

    Parameters
    ----------
    params
        The full configuration (active parameters only).
    parent
        Number of the trial it was derived from (usually the incumbent), or
        ``None`` for a point chosen without a parent.
    moves
        The changes from the parent's configuration, as the strategy declares
        them.
    """

    params: dict[str, Any]
    parent: int | None = None
    moves: tuple[Move, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, for checkpoints."""
        return {
            "params": self.params,
            "parent": self.parent,
            "moves": [m.to_dict() for m in self.moves],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        """Inverse of :meth:`to_dict`."""
        return cls(
            {k: _detuple(v) for k, v in data["params"].items()},
            data.get("parent"),
            tuple(Move.from_dict(m) for m in data.get("moves", ())),
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """Candidates to be evaluated together: the engine proposes nothing more
    until every one of them has finished.

    With ``select_best=True`` the batch is judged as a whole: once every
    candidate has finished, only the best of them is put to the acceptance
    policy (against the incumbent from before the batch), and the batch's
    trials are recorded then, in proposal order.
    """

    candidates: tuple[Candidate, ...]
    select_best: bool = False

    def __post_init__(self) -> None:
        if not self.candidates:
            raise ValueError("a Batch needs at least one candidate")


@quick_init
@dataclass(frozen=True, slots=True)
class TrialContext:
    """What the engine tells an objective about the search when a trial starts.

    Objectives that declare ``accepts_context = True`` are called as
    ``objective(params, context)``; racing uses the incumbent's fold scores
    to stop a hopeless cross-validation early.
    """

    number: int
    direction: str = "maximize"
    min_improvement: float = 0.0
    incumbent_fold_scores: tuple[float, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class Evaluation:
    """What an objective reports for one configuration.

    A plain callable may return a float; richer objectives return this, with
    per-fold scores and timings. ``score`` is the mean the search optimises.
    """

    score: float
    fold_scores: tuple[float, ...] = ()
    score_std: float | None = None
    fit_time: float | None = None
    score_time: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    pruned: bool = False
    """The evaluation stopped early (racing): ``fold_scores`` holds the folds run."""

    @classmethod
    def from_folds(
        cls,
        fold_scores: Sequence[float],
        *,
        fit_times: Sequence[float] = (),
        score_times: Sequence[float] = (),
        metrics: Mapping[str, float] | None = None,
        warnings: Sequence[str] = (),
        pruned: bool = False,
    ) -> Evaluation:
        """Mean and standard deviation from per-fold scores and times."""
        folds = tuple(float(s) for s in fold_scores)
        if not folds:
            raise ValueError("from_folds needs at least one fold score")
        return cls(
            score=_mean(folds),
            fold_scores=folds,
            score_std=_std(folds),
            fit_time=_mean(fit_times) if fit_times else None,
            score_time=_mean(score_times) if score_times else None,
            metrics=dict(metrics or {}),
            warnings=tuple(warnings),
            pruned=pruned,
        )


@quick_init
@dataclass(frozen=True, slots=True)
class Trial:
    """One finished evaluation, as the run recorded it.

    ``score`` is the mean score (``None`` unless the trial produced one);
    ``accepted`` tells whether it became the incumbent; ``error`` holds
    ``"ErrorType: message"`` for failed trials; a ``cached`` trial repeats
    the outcome of trial ``cached_from`` without evaluating again.
    """

    number: int
    params: dict[str, Any]
    status: TrialStatus
    parent: int | None = None
    moves: tuple[Move, ...] = ()
    score: float | None = None
    score_std: float | None = None
    fold_scores: tuple[float, ...] = ()
    fit_time: float | None = None
    score_time: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    accepted: bool = False
    error: str | None = None
    warnings: tuple[str, ...] = ()
    started_at: float = 0.0
    finished_at: float = 0.0
    cached_from: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the trial produced a score that acceptance may judge."""
        return self.status is TrialStatus.OK

    @property
    def duration(self) -> float:
        """Wall time from start to finish, in seconds."""
        return self.finished_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for the event log (no ``None`` or empty fields)."""
        data: dict[str, Any] = {
            "number": self.number,
            "params": self.params,
            "status": self.status.value,
            "parent": self.parent,
            "accepted": self.accepted,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        # Field by field rather than by filtering a dict: this runs per trial.
        if self.moves:
            data["moves"] = [m.to_dict() for m in self.moves]
        if self.score is not None:
            data["score"] = self.score
        if self.score_std is not None:
            data["score_std"] = self.score_std
        if self.fold_scores:
            data["fold_scores"] = list(self.fold_scores)
        if self.fit_time is not None:
            data["fit_time"] = self.fit_time
        if self.score_time is not None:
            data["score_time"] = self.score_time
        if self.metrics:
            data["metrics"] = self.metrics
        if self.error is not None:
            data["error"] = self.error
        if self.warnings:
            data["warnings"] = list(self.warnings)
        if self.cached_from is not None:
            data["cached_from"] = self.cached_from
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        """Inverse of :meth:`to_dict`."""
        return cls(
            number=int(data["number"]),
            params={k: _detuple(v) for k, v in data["params"].items()},
            status=TrialStatus(data["status"]),
            parent=data.get("parent"),
            moves=tuple(Move.from_dict(m) for m in data.get("moves", ())),
            score=data.get("score"),
            score_std=data.get("score_std"),
            fold_scores=tuple(data.get("fold_scores", ())),
            fit_time=data.get("fit_time"),
            score_time=data.get("score_time"),
            metrics=dict(data.get("metrics", {})),
            accepted=bool(data.get("accepted", False)),
            error=data.get("error"),
            warnings=tuple(data.get("warnings", ())),
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            cached_from=data.get("cached_from"),
        )


def _detuple(value: Any) -> Any:
    """JSON turns tuples (layer widths) into lists; turn them back."""
    return tuple(value) if isinstance(value, list) else value


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else math.nan


def _std(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = _mean(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
