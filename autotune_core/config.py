"""Run configuration: budgets, stopping rules, concurrency and the seed."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autotune_core.exceptions import ConfigError

__all__ = ["Direction", "ExecutorName", "RunConfig", "read_config_file"]

Direction = Literal["maximize", "minimize"]
ExecutorName = Literal["auto", "process", "thread", "inline"]


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
        ``"thread"`` when ``concurrency == 1``, ``"process"`` otherwise.
    threads_per_worker
        Native threads (BLAS, OpenMP) each worker process may use, so that
        ``concurrency`` workers do not oversubscribe the cores.
    name
        Name of the run and of its run folder; by default the start time and
        the objective's name.

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

    max_trials: int | None = Field(default=None, ge=1)
    max_time_s: float | None = Field(default=None, gt=0)
    patience: int | None = Field(default=None, ge=1)
    min_improvement: float = Field(default=0.0, ge=0)
    target_score: float | None = None
    direction: Direction = "maximize"
    concurrency: int = Field(default=1, ge=1, le=1024)
    seed: int | None = Field(default=None, ge=0)
    executor: ExecutorName = "auto"
    threads_per_worker: int = Field(default=1, ge=1)
    name: str | None = Field(default=None, min_length=1, pattern=r"^[\w.@+-]+$")

    @model_validator(mode="after")
    def _finite(self) -> Self:
        for name in ("max_time_s", "min_improvement", "target_score"):
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
        return cls.model_validate(data.get("run", data))

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
