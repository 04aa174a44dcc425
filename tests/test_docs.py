"""The docs and the README say what the code does: their examples run.

Every ``python`` code block of a page runs, in order, in one namespace per
page. The worked strategy of ``docs/writing-a-strategy.md`` is then put
through its paces: it must really sweep, really shrink its step, snapshot
and restore, and keep the strategy contract on any space.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from autotune_core import registry
from autotune_core.testing import points, search_spaces

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(ROOT) for p in DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def code_blocks(path: Path, language: str = "python") -> list[str]:
    """The fenced code blocks of ``path`` in ``language``, in order."""
    text = path.read_text(encoding="utf-8")
    return [body for lang, body in FENCE.findall(text) if lang == language]


def run_blocks(path: Path) -> dict[str, Any]:
    """Run every python block of ``path`` in one namespace, and return it."""
    namespace: dict[str, Any] = {"__name__": f"docs_{path.stem.replace('-', '_')}"}
    for index, block in enumerate(code_blocks(path)):
        code = compile(block, f"{path}[block {index}]", "exec")
        exec(code, namespace)

    return namespace


# -- every example runs -------------------------------------------------------------


@pytest.mark.parametrize(
    "page", [p for p in [Path("README.md"), *PAGES] if code_blocks(ROOT / p)], ids=str
)
def test_python_examples_run(page: Path) -> None:
    run_blocks(ROOT / page)


def test_the_strategy_page_has_examples() -> None:
    assert len(code_blocks(DOCS / "writing-a-strategy.md")) >= 2


# -- README and CI agree -----------------------------------------------------------


def test_readme_starts_with_the_two_set_up_commands() -> None:
    first = FENCE.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert first is not None

    install_demo, install_test = first.group(2).strip().splitlines()
    assert first.group(1) == "bash"
    assert install_demo.startswith("python3 -m venv .venv && ")
    assert install_demo.endswith("autotune demo")
    assert install_test.startswith("python3 -m venv .venv && ")
    assert '".[test]"' in install_test
    assert install_test.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pattern = re.search(r"grep -m1 -E '([^']+)' README\.md", ci)
    assert pattern is not None

    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    matches = [line for line in readme if re.search(pattern.group(1), line)]
    assert matches[0].endswith("python -m pytest")
    assert "nox -s slow" in ci


@pytest.mark.parametrize("page", [Path("README.md"), *PAGES], ids=str)
def test_relative_links_point_at_existing_files(page: Path) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)

    missing = [
        t for t in targets if "://" not in t and not ((ROOT / page).parent / t).exists()
    ]
    assert missing == []


def test_every_page_is_in_the_navigation() -> None:
    nav = set(
        re.findall(r":\s*([\w/-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    )

    assert {str(p.relative_to("docs")) for p in PAGES} <= nav


# -- the worked example of docs/writing-a-strategy.md -------------------------------


@pytest.fixture(scope="module")
def sweep_module() -> dict[str, Any]:
    """The namespace of the page's first block: the strategy, as a user writes it."""
    namespace: dict[str, Any] = {"__name__": "coordinate_sweep"}
    exec(code_blocks(DOCS / "writing-a-strategy.md")[0], namespace)
    return namespace


@pytest.fixture(scope="module")
def sweep_cls(sweep_module: dict[str, Any]) -> type[at.StepStrategy]:
    cls = sweep_module["CoordinateSweep"]
    assert issubclass(cls, at.StepStrategy)
    return cls  # type: ignore[no-any-return]


@pytest.fixture
def bowl() -> at.SearchSpace:
    """The space of the page's example."""
    return at.SearchSpace(
        {
            "x": at.Float(low=-5.0, high=5.0),
            "n": at.Int(low=0, high=40),
            "scale": at.Float(low=1e-3, high=1e3, log=True),
        }
    )


def bowl_loss(params: dict[str, Any]) -> float:
    """The page's objective: minimum 0 at x=1.2, n=31, scale=2."""
    x, n, scale = params["x"], params["n"], params["scale"]
    return float((x - 1.2) ** 2 + (n - 31) ** 2 / 100 + abs(scale - 2))


def sweep(
    sweep_cls: type[at.StepStrategy], space: at.SearchSpace, **options: Any
) -> tuple[at.StepStrategy, at.TuneResult]:
    strategy = sweep_cls(**options)
    result = at.tune(
        bowl_loss,
        space,
        strategy=strategy,
        direction="minimize",
        max_trials=120,
        seed=0,
        executor="inline",
        run_dir=False,
    )
    return strategy, result


def test_sweep_finds_the_bottom_of_the_bowl(
    sweep_cls: type[at.StepStrategy], bowl: at.SearchSpace
) -> None:
    _, result = sweep(sweep_cls, bowl)

    assert result.best_score < 1e-3
    assert result.best_params["n"] == 31
    assert result.best_params["x"] == pytest.approx(1.2, abs=0.02)
    assert result.best_params["scale"] == pytest.approx(2.0, abs=0.01)


def test_sweep_visits_parameters_in_turn_up_then_down(
    sweep_cls: type[at.StepStrategy], bowl: at.SearchSpace
) -> None:
    _, result = sweep(sweep_cls, bowl)

    steps = [
        (t.moves[0].param, t.moves[0].kind, t.accepted) for t in result.trials[1:8]
    ]
    assert steps == [
        ("x", "up", False),  # 0 -> 2.5 overshoots 1.2
        ("x", "down", False),
        ("n", "up", True),  # 20 -> 30: better, so keep going up
        ("n", "up", False),  # 30 -> 40 overshoots 31
        ("n", "down", False),
        ("scale", "up", False),
        ("scale", "down", False),
    ]


def test_every_sweep_step_moves_one_declared_parameter(
    sweep_cls: type[at.StepStrategy], bowl: at.SearchSpace
) -> None:
    _, result = sweep(sweep_cls, bowl)
    by_number = {t.number: t for t in result.trials}

    for trial in result.trials[1:]:
        parent = by_number[trial.parent]  # type: ignore[index]
        (move,) = trial.moves
        changed = {k for k in trial.params if trial.params[k] != parent.params[k]}
        assert changed == {move.param}
        assert (move.old, move.new) == (
            parent.params[move.param],
            trial.params[move.param],
        )


def test_sweep_halves_its_step_after_a_sweep_without_progress(
    sweep_cls: type[at.StepStrategy], bowl: at.SearchSpace
) -> None:
    strategy, result = sweep(sweep_cls, bowl, step_size=0.25)

    assert strategy.options() == {"step_size": 0.25, "shrink": 0.5}
    halvings = np.log2(0.25 / strategy.snapshot()["step"])
    assert halvings >= 3
    assert halvings == round(halvings)
    x_moves = [
        abs(m.new - m.old) for t in result.trials for m in t.moves if m.param == "x"
    ]
    assert x_moves[0] == pytest.approx(2.5)
    assert x_moves[-1] < x_moves[0] / 4


def test_sweep_snapshot_restores_a_fresh_instance(
    sweep_cls: type[at.StepStrategy], bowl: at.SearchSpace
) -> None:
    strategy, result = sweep(sweep_cls, bowl)
    state = at.SearchState(
        bowl, result.config, history=result.trials, incumbent=result.best_trial
    )

    snapshot = json.loads(json.dumps(strategy.snapshot()))
    fresh = sweep_cls()
    fresh.restore(snapshot)

    assert fresh.snapshot() == strategy.snapshot()
    assert fresh.propose(state, np.random.default_rng(0)) == strategy.propose(
        state, np.random.default_rng(0)
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"step_size": 0}, r"step_size must be in \(0, 1\]", id="step"),
        pytest.param({"shrink": 1}, r"shrink must be in \(0, 1\)", id="shrink"),
    ],
)
def test_sweep_validates_its_options(
    sweep_cls: type[at.StepStrategy], options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sweep_cls(**options)


def test_sweep_registered_by_name_runs_and_is_recorded(
    sweep_cls: type[at.StepStrategy],
    bowl: at.SearchSpace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(registry._EXTRA, "strategies", {})
    at.register("strategies", "coordinate-sweep", sweep_cls)

    result = at.tune(
        bowl_loss,
        bowl,
        strategy="coordinate-sweep",
        direction="minimize",
        max_trials=10,
        seed=0,
        executor="inline",
    )

    assert result.strategy["name"] == "coordinate-sweep"
    assert at.load_run(result.run_dir).strategy["options"] == {  # type: ignore[arg-type]
        "step_size": 0.25,
        "shrink": 0.5,
    }


@given(data=st.data(), space=search_spaces())
def test_sweep_proposals_stay_in_any_space(
    sweep_cls: type[at.StepStrategy], data: st.DataObject, space: at.SearchSpace
) -> None:
    point = data.draw(points(space))
    incumbent = at.Trial(
        number=0, params=point, status=at.TrialStatus.OK, score=0.0, accepted=True
    )
    state = at.SearchState(
        space, at.RunConfig(), history=[incumbent], incumbent=incumbent
    )

    candidate = sweep_cls().propose(state, np.random.default_rng(0))

    if candidate is None:  # nothing numeric to move, or all at a bound
        return
    assert space.contains(candidate.params)
    (move,) = candidate.moves
    assert move.old == point[move.param]
    assert move.new == candidate.params[move.param]
    assert move.kind in ("up", "down")


def test_resumed_sweep_goes_on_as_if_never_stopped(
    sweep_cls: type[at.StepStrategy], bowl: at.SearchSpace, tmp_path: Path
) -> None:
    def run(max_trials: int, **options: Any) -> at.TuneResult:
        return at.tune(
            bowl_loss,
            bowl if "resume" not in options else None,
            strategy=sweep_cls(),
            direction="minimize",
            max_trials=max_trials,
            seed=0,
            executor="inline",
            **options,
        )

    whole = run(60, run_dir=tmp_path / "whole")
    run(25, run_dir=tmp_path / "split")
    resumed = run(60, resume=tmp_path / "split")

    def path(result: at.TuneResult) -> list[tuple[Any, ...]]:
        return [(t.params, t.score, t.accepted, t.moves) for t in result.trials]

    assert path(resumed) == path(whole)
