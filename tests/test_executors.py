"""Executors: what each sends where, and how often."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

import autotune_core as at


class _CountsLoads:
    """An objective holding data, that notes each time it is unpickled, and where."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.data = np.linspace(0, 1, 10_000)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with self.log.open("a", encoding="utf-8") as file:
            file.write(f"{os.getpid()}\n")

    def __call__(self, params: dict[str, Any]) -> float:
        return -float(np.abs(self.data - params["x"]).min())


def test_process_executor_sends_the_objective_to_each_worker_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "loads.txt"
    log.touch()
    space = at.SearchSpace({"x": at.Float(low=0, high=1)})

    result = at.tune(
        _CountsLoads(log),
        space,
        strategy="random-search",
        executor="process",
        concurrency=2,
        max_trials=10,
        seed=0,
        run_dir=False,
    )

    loads = log.read_text(encoding="utf-8").split()
    assert result.status_counts == {"ok": 10}
    assert len(loads) == 2, "one load per worker, none per trial"
    assert len(set(loads)) == 2
    assert str(os.getpid()) not in loads
