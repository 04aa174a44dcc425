"""Run configuration: budgets, stopping rules, concurrency and the seed."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from autotune_core.exceptions import ConfigError

__all__ = ["Direction", "ExecutorName", "LogSync", "RunConfig", "read_config_file"]

Direction = Literal["maximize", "minimize"]
ExecutorName = Literal["auto", "process", "thread", "inline"]
LogSync = Literal["trial", "batch"]


class RunConfig(BaseModel):
    """How long a run goes on, when it stops, and how it evaluates.

    Every budget is optional, but a run needs at least one of ``max_trials``,
    ``max_time_s``, ``patience`` or ``target_score`` unless its strategy
    runs out of candidates by itself (a grid, for example).

    Parameters
    ----------
    max_trials
        Trials to evaluate, start points included.
    max_time_s
        Wall-clock budget in seconds. No trial starts after it; trials
        already running are allowed to finish.
    patience
        Stop after this many finished trials without an accepted candidate.
    min_improvement
        How much (absolute, in score units) a candidate must beat the
        incumbent by to be accepted.
    target_score
        Stop as soon as the incumbent reaches this score.
    direction
        ``"maximize"`` or ``"minimize"``, for plain callables. A
        :class:`~autotune_core.SklearnObjective` always maximises, as
        scikit-learn's scores are greater-is-better.
    concurrency
        Evaluations in flight at once.
    seed
        Seeds all of the search's randomness (the strategy's generator). The
        estimator's own ``random_state`` is left as the user set it.
    executor
        Where evaluations run: ``"process"`` (worker processes, for CPU-bound
        fits), ``"thread"``, ``"inline"`` (in the event loop; for cheap or
        async objectives), or ``"auto"``: ``"inline"`` for async objectives,
        ``"process"`` when ``concurrency > 1`` or a ``trial_timeout_s`` is
        set, ``"thread"`` otherwise.
    threads_per_worker
        Native threads (BLAS, OpenMP) each worker process may use, so that
        ``concurrency`` workers do not oversubscribe the cores.
    name
        Name of the run and of its run folder; by default the start time and
        the objective's name.
    trial_timeout_s
        Stop an evaluation that runs longer than this and record the trial as
        ``timeout``. Enforced for real by the process executor (the worker is
        killed and replaced) and for async objectives; the thread and inline
        executors cannot stop a sync objective and refuse the option.
    max_failures
        Stop the run with an error after this many failed or timed-out
        trials in a row; ``None`` never stops.
    log_sync
        ``"trial"``: the event log is synced to disk (fsync) after every
        trial, by a helper process so that the run never waits for the
        disk, and at most every 10 ms (trials finishing closer together
        share a sync); a machine crash loses only trials in flight and any
        finished in the last 10 ms or so.
        ``"batch"``: synced at most once a second and at the end; a killed
        process still loses nothing that finished (every line is flushed to
        the operating system at once), a machine crash may lose the last
        second.
    deterministic
        Make the history independent of timing: candidates are proposed in
        rounds of ``round_size`` and told in proposal order once the whole
        round has finished, so the same seed gives the same history at any
        ``concurrency``. Costs idle workers at the end of each round.
    round_size
        Trials per round in deterministic mode; ``concurrency`` above it
        leaves workers idle.
    stop_grace_s
        After Ctrl-C or SIGTERM, how long trials in flight may run on before
        they are cancelled (a second signal cancels at once).

    Examples
    --------
    >>> RunConfig(max_trials=50, seed=0).concurrency
    1
    >>> RunConfig(max_trials=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for RunConfig
    max_trials
      Input should be greater than or equal to 1 ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_trials: StrictInt | None = Field(default=None, ge=1)
    max_time_s: float | None = Field(default=None, gt=0)
    patience: StrictInt | None = Field(default=None, ge=1)
    min_improvement: float = Field(default=0.0, ge=0)
    target_score: float | None = None
    direction: Direction = "maximize"
    concurrency: StrictInt = Field(default=1, ge=1, le=1024)
    seed: StrictInt | None = Field(default=None, ge=0)
    executor: ExecutorName = "auto"
    threads_per_worker: StrictInt = Field(default=1, ge=1)
    name: str | None = Field(default=None, min_length=1, pattern=r"^[\w.@+-]+$")
    trial_timeout_s: float | None = Field(default=None, gt=0)
    max_failures: StrictInt | None = Field(default=25, ge=1)
    log_sync: LogSync = "trial"
    deterministic: StrictBool = False
    round_size: StrictInt = Field(default=4, ge=1, le=1024)
    stop_grace_s: float = Field(default=10.0, ge=0)

    @field_validator("name")
    @classmethod
    def _not_dots(cls, name: str | None) -> str | None:
        if name is not None and set(name) == {"."}:
            raise ValueError(f"name={name!r} is not a usable folder name")
        return name

    @field_validator(
        "max_time_s",
        "min_improvement",
        "target_score",
        "trial_timeout_s",
        "stop_grace_s",
        mode="before",
    )
    @classmethod
    def _not_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError(f"must be a number, got the boolean {value!r}")
        return value

    @model_validator(mode="after")
    def _finite(self) -> Self:
        for name in (
            "max_time_s",
            "min_improvement",
            "target_score",
            "trial_timeout_s",
            "stop_grace_s",
        ):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name}={value!r} must be finite")
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> RunConfig:
        """Load from a ``.toml`` or ``.json`` file: its ``[run]`` table, or all of it.

        Raises :class:`pydantic.ValidationError` for invalid values and
        :class:`ConfigError` for an unreadable file.
        """
        data = read_config_file(path)
        table = data.get("run", data)
        if not isinstance(table, dict):
            raise ConfigError(
                f"config file {str(path)!r}: [run] must be a table of run options, "
                f"got {type(table).__name__} {table!r}"
            )
        return cls.model_validate(table)

    def to_toml_dict(self) -> dict[str, Any]:
        """The options that are set, for writing as TOML (which has no null)."""
        return self.model_dump(exclude_none=True)

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than ``b`` in this direction."""
        return a > b if self.direction == "maximize" else a < b

    def gain(self, candidate: float, incumbent: float) -> float:
        """How much better ``candidate`` is than ``incumbent`` (negative if worse)."""
        diff = candidate - incumbent
        return diff if self.direction == "maximize" else -diff


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML or JSON file into a dict, with errors that name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text: {exc}"
        ) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(
                f"config file {str(path)!r} must end in .toml or .json, "
                f"got {path.suffix!r}"
            )
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(path)!r} must hold a table/object at the top"
        )
    return data
