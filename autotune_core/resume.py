"""Rebuilding a stopped run from its event log, so that it can go on."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from autotune_core.acceptance import AcceptancePolicy
from autotune_core.config import RunConfig
from autotune_core.events import (
    RunFinished,
    RunStarted,
    SpaceChanged,
    TrialFinished,
    TrialStarted,
)
from autotune_core.exceptions import ConfigError, RunFolderError, UnknownPluginError
from autotune_core.registry import create_acceptance, create_strategy
from autotune_core.run_folder import RunFolder, read_events
from autotune_core.space import SearchSpace
from autotune_core.state import SearchState
from autotune_core.strategy import StepStrategy
from autotune_core.trial import Candidate, Move, Trial, TrialStatus

__all__ = ["ResumePlan", "plan_resume", "rng_state", "set_rng_state"]

logger = logging.getLogger(__name__)


@dataclass
class ResumePlan:
    """Everything a :class:`~autotune_core.Tuner` needs to go on with a run."""

    folder: RunFolder
    name: str
    space: SearchSpace
    config: RunConfig
    strategy: StepStrategy
    acceptance: AcceptancePolicy
    rng: np.random.Generator
    state: SearchState
    next_number: int
    requeue: list[tuple[int, Candidate, bool]] = field(default_factory=list)
    starts: list[Candidate] = field(default_factory=list)
    queue: list[Candidate] = field(default_factory=list)
    space_change: SpaceChanged | None = None
    hold_best: bool = False

    @property
    def n_trials_before(self) -> int:
        """Trials finished before this resumption."""
        return self.state.n_finished


def plan_resume(
    folder: RunFolder,
    *,
    space: SearchSpace | None,
    strategy: StepStrategy | str | None,
    config: RunConfig | None,
    options: Mapping[str, Any],
) -> ResumePlan:
    """Read ``folder``'s log and work out how the run goes on.

    ``space``, ``strategy``, ``config`` and ``options`` override what the log
    recorded; ``None`` keeps it. A changed space starts again from the
    incumbent adapted to it, with a fresh strategy; otherwise the strategy
    and the random state are restored from the last checkpoint and told the
    trials that finished after it.
    """
    folder.repair_log()
    events = list(read_events(folder.events_path))
    started = _last_start(events, folder)
    old_space = SearchSpace.model_validate(_latest_space(events, started))
    new_space = space if space is not None else old_space
    resolved = _resume_config(started.config, config, options)
    changed = new_space != old_space
    plan = ResumePlan(
        folder=folder,
        name=started.name,
        space=new_space,
        config=resolved,
        strategy=_resume_strategy(started.strategy, strategy),
        acceptance=_resume_acceptance(started.acceptance),
        rng=np.random.default_rng(resolved.seed),
        state=SearchState(new_space, resolved),
        next_number=1 + max(_numbers(events), default=-1),
    )
    _replay(plan, events, restore=not changed)
    if changed:
        _change_space(plan, old_space)
    return plan


def _last_start(events: list[Any], folder: RunFolder) -> RunStarted:
    starts = [e for e in events if isinstance(e, RunStarted)]
    if not starts:
        raise RunFolderError(f"{str(folder.path)!r} has no run_started event")
    return starts[-1]


def _latest_space(events: list[Any], started: RunStarted) -> dict[str, Any]:
    changes = [e for e in events if isinstance(e, SpaceChanged)]
    return changes[-1].space if changes else started.space


def _numbers(events: list[Any]) -> list[int]:
    return [e.number for e in events if isinstance(e, TrialStarted)]


def _resume_config(
    logged: dict[str, Any], config: RunConfig | None, options: Mapping[str, Any]
) -> RunConfig:
    given = {} if config is None else config.model_dump(exclude_unset=True)
    return RunConfig.model_validate({**logged, **given, **options})


def _resume_strategy(
    logged: dict[str, Any], strategy: StepStrategy | str | None
) -> StepStrategy:
    if isinstance(strategy, StepStrategy):
        return strategy
    if isinstance(strategy, str):
        return create_strategy(strategy)
    try:
        return create_strategy(logged["name"], **logged.get("options", {}))
    except UnknownPluginError:
        raise ConfigError(
            f"the run used strategy {logged.get('class', logged['name'])!r}, which is "
            "not registered; pass it again with strategy=..."
        ) from None


def _resume_acceptance(logged: dict[str, Any]) -> AcceptancePolicy:
    try:
        return create_acceptance(logged["name"], **logged.get("options", {}))
    except UnknownPluginError:
        raise ConfigError(
            f"the run used acceptance policy {logged.get('class', logged['name'])!r}, "
            "which is not registered; pass it again with acceptance=..."
        ) from None


def _replay(plan: ResumePlan, events: list[Any], *, restore: bool) -> None:
    """Rebuild history and queues; restore the strategy from the last checkpoint."""
    last = _last_checkpoint(events)
    if restore and last is not None:
        checkpoint = events[last].checkpoint
        plan.strategy.restore(checkpoint.get("strategy", {}))
        set_rng_state(plan.rng, checkpoint["rng"])
        plan.starts = [Candidate.from_dict(c) for c in checkpoint.get("starts", ())]
        plan.queue = [Candidate.from_dict(c) for c in checkpoint.get("queue", ())]
        plan.hold_best = bool(checkpoint.get("hold_best", False))
    elif restore:
        plan.starts = (
            [] if _numbers(events) else [Candidate(plan.space.default_point())]
        )
    unfinished: dict[int, TrialStarted] = {}
    for index, event in enumerate(events):
        if isinstance(event, TrialStarted):
            unfinished[event.number] = event
        elif isinstance(event, TrialFinished):
            unfinished.pop(event.trial.number, None)
            plan.state._finish(None, event.trial)
            if restore and last is not None and index > last:
                plan.strategy.tell(event.trial, plan.state)
    if restore:
        plan.requeue = [
            (n, Candidate(e.params, e.parent, e.moves), e.batch)
            for n, e in sorted(unfinished.items())
        ]
    elif unfinished:
        logger.info("%d unfinished trials dropped: the space changed", len(unfinished))


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state as compact plain data (big integers in hex)."""
    # numpy builds a new dict on every call: it is ours to change (per trial)
    state = cast("dict[str, Any]", rng.bit_generator.state)
    if state["bit_generator"] == "PCG64":
        inner = state["state"]  # {"state": int, "inc": int}, 128 bits each
        state["state"] = {"state": f"{inner['state']:x}", "inc": f"{inner['inc']:x}"}
        state["hex"] = True
    return state


def set_rng_state(rng: np.random.Generator, data: Mapping[str, Any]) -> None:
    """Restore a generator from the plain data a checkpoint holds."""
    state = dict(data)
    if state.pop("hex", False):
        state["state"] = {k: int(v, 16) for k, v in state["state"].items()}
    rng.bit_generator.state = state


def _last_checkpoint(events: list[Any]) -> int | None:
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, TrialStarted) and event.checkpoint is not None:
            return index
    return None


def _change_space(plan: ResumePlan, old: SearchSpace) -> None:
    """Go on from the incumbent adapted to the new space, as a start point."""
    new = plan.space
    added = tuple(n for n in new.names if n not in old)
    removed = tuple(n for n in old.names if n not in new)
    changed = tuple(n for n in new.names if n in old and new[n] != old[n])
    plan.space_change = SpaceChanged(
        added, removed, changed, new.model_dump(mode="json")
    )
    incumbent = plan.state.incumbent
    base = incumbent.params if incumbent is not None else new.default_point()
    point = new.adapt(base)
    moves = tuple(
        Move(name, "space_change", base.get(name), point.get(name))
        for name in sorted(set(base) | set(point))
        if base.get(name) != point.get(name)
    )
    parent = None if incumbent is None else incumbent.number
    plan.starts = [Candidate(point, parent, moves)]
    plan.state._forget_incumbent()
    logger.info(
        "space changed (added %s, removed %s, changed %s); going on from %s",
        list(added),
        list(removed),
        list(changed),
        point,
    )


def count_evaluations(history: list[Trial]) -> int:
    """Trials that were really evaluated (cached ones cost nothing)."""
    return sum(t.status is not TrialStatus.CACHED for t in history)


def is_finished(events: list[Any]) -> bool:
    """Whether the log ends with a ``run_finished`` event."""
    return bool(events) and isinstance(events[-1], RunFinished)
