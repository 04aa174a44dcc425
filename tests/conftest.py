"""Shared fixtures and Hypothesis settings for the test suite."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import autotune_core as at

# No wall-clock deadlines and no "too slow" health checks: CI machines are
# shared and loaded, and a slow example is not a failing one.
settings.register_profile(
    "autotune",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough", parent=settings.get_profile("autotune"), max_examples=500
)
settings.load_profile("autotune")


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default run folders (./autotune-runs) land in a per-test temporary folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def quadratic_space() -> at.SearchSpace:
    """A small mixed space with an optimum at x=1, n=3, kind='b', flag=True."""
    return at.SearchSpace(
        {
            "x": at.Float(low=-4.0, high=4.0),
            "n": at.Int(low=1, high=9),
            "kind": at.Categorical(choices=("a", "b", "c")),
            "flag": at.Bool(),
        }
    )


def quadratic(params: dict[str, object]) -> float:
    """Negative distance to the optimum of :func:`quadratic_space` (maximise)."""
    x = float(params["x"])  # type: ignore[arg-type]
    n = int(params["n"])  # type: ignore[call-overload]
    penalty = (0.0 if params["kind"] == "b" else 1.0) + (0.0 if params["flag"] else 0.5)
    return -((x - 1.0) ** 2) - (n - 3) ** 2 - penalty


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` capturing INFO and above from autotune loggers."""
    caplog.set_level(logging.INFO, logger="autotune_core")
    return caplog
