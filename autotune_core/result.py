"""The outcome of a run: :class:`TuneResult` and :func:`load_run`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotune_core.config import RunConfig
from autotune_core.events import NewIncumbent, RunFinished, RunStarted, TrialFinished
from autotune_core.exceptions import AutoTuneError, RunFolderError
from autotune_core.run_folder import EVENTS_FILE, read_events
from autotune_core.space import SearchSpace
from autotune_core.trial import Trial

if TYPE_CHECKING:  # pandas costs a quarter of a second to import: only on use
    import pandas as pd

__all__ = ["TuneResult", "load_run"]

_COLUMNS = (
    "number",
    "parent",
    "status",
    "score",
    "score_std",
    "fit_time",
    "score_time",
    "accepted",
    "moves",
    "error",
    "started_at",
    "finished_at",
)


@dataclass(frozen=True)
class TuneResult:
    """What a run found, and every trial it made on the way.

    Attributes
    ----------
    trials
        Finished trials in the order they finished.
    best_trial
        The final incumbent (``None`` if no trial produced a score).
    run_dir
        The run folder, or ``None`` if the run wrote none.
    stop_reason
        Why the run stopped (``"max_trials"``, ``"patience"``, ...).
    """

    name: str
    space: SearchSpace
    config: RunConfig
    trials: tuple[Trial, ...]
    best_trial: Trial | None
    stop_reason: str
    run_dir: Path | None = None
    strategy: dict[str, Any] = field(default_factory=dict)

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of the final incumbent."""
        return dict(self._best().params)

    @property
    def best_score(self) -> float:
        """Mean score of the final incumbent."""
        score = self._best().score
        assert score is not None
        return score

    def _best(self) -> Trial:
        if self.best_trial is None:
            errors = Counter(t.error for t in self.trials if t.error)
            common = (
                f"; most common error: {errors.most_common(1)[0][0]}" if errors else ""
            )
            raise AutoTuneError(
                f"no trial of {len(self.trials)} produced a score, so there is no "
                f"best configuration{common}"
            )
        return self.best_trial

    @property
    def status_counts(self) -> dict[str, int]:
        """How many trials ended with each status."""
        return dict(Counter(t.status.value for t in self.trials))

    @cached_property
    def history(self) -> pd.DataFrame:
        """One row per trial, one ``param_<name>`` column per parameter.

        Inactive parameters are missing values; ``moves`` is a readable
        ``"name kind: old -> new"`` text, several joined by ``"; "``.
        """
        rows = [_row(trial) for trial in self.trials]
        import pandas as pd

        frame = pd.DataFrame(
            rows, columns=[*_COLUMNS, *(f"param_{n}" for n in self.space.names)]
        )
        return frame.astype({"number": "int64", "parent": "Int64", "accepted": "bool"})

    def __repr__(self) -> str:
        best = "none" if self.best_trial is None else f"{self.best_trial.score!r}"
        return (
            f"TuneResult(name={self.name!r}, trials={len(self.trials)}, "
            f"best_score={best}, stop_reason={self.stop_reason!r})"
        )


def _row(trial: Trial) -> dict[str, Any]:
    row: dict[str, Any] = {
        "number": trial.number,
        "parent": trial.parent,
        "status": trial.status.value,
        "score": trial.score,
        "score_std": trial.score_std,
        "fit_time": trial.fit_time,
        "score_time": trial.score_time,
        "accepted": trial.accepted,
        "moves": "; ".join(str(m) for m in trial.moves),
        "error": trial.error,
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
    }
    row.update({f"param_{k}": v for k, v in trial.params.items()})
    return row


def load_run(folder: str | Path) -> TuneResult:
    """Rebuild the :class:`TuneResult` of a run from its folder's event log.

    Works on a run that is still going or was interrupted: ``stop_reason``
    is then ``"incomplete"``.

    Examples
    --------
    >>> result = load_run("autotune-runs/20261203-101500-MLP")  # doctest: +SKIP
    >>> result.history.head()  # doctest: +SKIP
    """
    folder = Path(folder)
    path = folder / EVENTS_FILE
    if not path.is_file():
        raise RunFolderError(
            f"{str(folder)!r} is not a run folder: it has no {EVENTS_FILE}"
        )
    return result_from_events(read_events(path), run_dir=folder)


def result_from_events(events: Any, *, run_dir: Path | None) -> TuneResult:
    """Fold a stream of events into a :class:`TuneResult`."""
    started: RunStarted | None = None
    trials: list[Trial] = []
    best: int | None = None
    reason = "incomplete"
    for event in events:
        if isinstance(event, RunStarted):
            started = event
        elif isinstance(event, TrialFinished):
            trials.append(event.trial)
        elif isinstance(event, NewIncumbent):
            best = event.number
        elif isinstance(event, RunFinished):
            reason = event.reason
    if started is None:
        raise RunFolderError(f"event log in {str(run_dir)!r} has no run_started event")
    by_number = {t.number: t for t in trials}
    return TuneResult(
        name=started.name,
        space=SearchSpace.model_validate(started.space),
        config=RunConfig.model_validate(started.config),
        trials=tuple(trials),
        best_trial=by_number.get(best) if best is not None else None,
        stop_reason=reason,
        run_dir=run_dir,
        strategy=started.strategy,
    )
