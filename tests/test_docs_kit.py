"""docs/testing-strategies.md: its strategy is written and checked as the page says.

tests/test_docs.py runs every page's code; this file also takes the page's
strategy apart from the prose and checks that the kit really vouches for it
and really rejects its sloppy variant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import autotune_core as at
from autotune_core.testing import ContractError, check_strategy

PAGE = Path(__file__).resolve().parent.parent / "docs" / "testing-strategies.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    return [body for lang, body in FENCE.findall(text) if lang == "python"]


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    """The namespace after running every python block of the page, in order."""
    namespace: dict[str, Any] = {"__name__": "docs_testing_strategies"}
    for index, block in enumerate(python_blocks()):
        exec(compile(block, f"{PAGE}[block {index}]", "exec"), namespace)
    return namespace


def test_the_page_writes_and_checks_a_strategy_in_a_few_lines() -> None:
    first = python_blocks()[0]

    assert "check_strategy(Coordinate)" in first
    assert len(first.strip().splitlines()) <= 50


def test_the_page_strategy_passes_the_kit(page: dict[str, Any]) -> None:
    check_strategy(page["Coordinate"], max_examples=15)


def test_the_page_sloppy_variant_fails_the_kit(page: dict[str, Any]) -> None:
    with pytest.raises(ContractError, match=r"same seed and observations"):
        check_strategy(page["Sloppy"], max_examples=5)


def test_the_page_strategy_tunes(page: dict[str, Any]) -> None:
    space = at.SearchSpace(
        {"x": at.Float(low=-3.0, high=3.0), "y": at.Float(low=-3.0, high=3.0)}
    )

    result = at.tune(
        lambda p: -((p["x"] - 1) ** 2) - (p["y"] + 1) ** 2,
        space,
        strategy=page["Coordinate"](),
        max_trials=80,
        seed=0,
        executor="inline",
        run_dir=False,
    )

    start = result.trials[0].score
    assert start is not None
    assert result.best_score > max(-0.5, start)  # a fixed step: not a fine search
    assert np.isclose(result.best_params["x"], 1, atol=0.5)
