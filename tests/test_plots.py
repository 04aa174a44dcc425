"""PNG plots: scores by trial and by time, and a trace of every parameter."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _reporting_runs import (
    SPACE,
    in_and_out_of_a_run_folder,
    make_run,
    replay,
    run_without_paths,
)
from PIL import Image

import autotune_core as at
from reporters import History, PlotReporter
from reporters import plots as plots_module
from reporters._files import safe_name
from reporters.plots import PARAMETER_TRACE, SCORE_BY_TIME, SCORE_BY_TRIAL

FILES = [PARAMETER_TRACE, SCORE_BY_TIME, SCORE_BY_TRIAL]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> at.TuneResult:
    return make_run(tmp_path_factory.mktemp("plots") / "run", trials=40)


@pytest.fixture(scope="module")
def history(run: at.TuneResult) -> History:
    assert run.run_dir is not None
    folded = History()
    for event in at.read_events(run.run_dir / "events.jsonl"):
        folded.add(event)
    return folded


def test_three_pngs_are_written(run: at.TuneResult, tmp_path: Path) -> None:
    assert run.run_dir is not None
    replay(run.run_dir, PlotReporter(path=tmp_path / "plots", dpi=50))

    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == FILES
    for name in FILES:
        with Image.open(tmp_path / "plots" / name) as image:
            assert image.format == "PNG"
            assert image.width >= 400
            # not a blank page: the plot drew in several colours
            colours = np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)
            assert len(colours) > 20


@in_and_out_of_a_run_folder
def test_given_no_path_it_writes_into_the_run_folder(
    tmp_path: Path, in_folder: bool
) -> None:
    folder, result = run_without_paths(tmp_path, in_folder, PlotReporter(dpi=20))

    plots = folder / f"{safe_name(result.name)}-plots"
    assert sorted(p.relative_to(plots) for p in tmp_path.rglob("*.png")) == [
        Path(name) for name in FILES
    ]


def test_score_plot_shows_every_score_and_the_best_so_far(
    history: History, run: at.TuneResult
) -> None:
    figure = plots_module.score_figure(history, by_time=False)
    axes = figure.axes[0]
    trials, accepted, failures = (c.get_offsets() for c in axes.collections)
    (best,) = axes.get_lines()
    scored = [t for t in run.trials if t.score is not None]

    assert len(trials) + len(accepted) == len(scored)
    assert sorted(accepted[:, 1]) == sorted(t.score for t in scored if t.accepted)
    assert len(failures) == sum(t.score is None for t in run.trials)
    assert best.get_ydata()[-1] == run.best_score
    assert axes.get_xlabel() == "trial"


def test_time_plot_uses_wall_time(history: History) -> None:
    axes = plots_module.score_figure(history, by_time=True).axes[0]
    (best,) = axes.get_lines()

    assert axes.get_xlabel() == "wall time since the start (s)"
    assert list(best.get_xdata()) == [r.elapsed for r in history.rows if r.best]


def test_trace_has_one_panel_per_parameter(history: History) -> None:
    figure = plots_module.trace_figure(history, list(SPACE.names))
    panels = [a for a in figure.axes if a.get_visible()]

    assert [a.get_title() for a in panels] == list(SPACE.names)
    assert panels[0].get_yscale() == "log"  # alpha is on a log scale
    labels = {t.get_text() for t in panels[2].get_yticklabels()}
    assert labels <= {"=1+1", "-1.5", "@SUM(A1)", "+cmd", "#N/A", "plain"}
    assert "plain" in labels


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param("$x$", r"\$x\$", id="mathtext"),
        pytest.param("漢字", r"\u6f22\u5b57", id="wide"),
        pytest.param("a\x00b", r"a\x00b", id="control"),
        pytest.param("é", "é", id="latin-1"),
        pytest.param("x" * 40, "x" * 23 + "…", id="long"),
    ],
)
def test_labels_are_safe_for_matplotlib(text: str, label: str) -> None:
    assert plots_module._label(text) == label


def test_matplotlib_is_an_optional_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(at.ConfigError, match=r"pip install 'autotune-core\[plots\]'"):
        PlotReporter()
    with pytest.raises(at.ConfigError, match=r"autotune-core\[plots\]"):
        at.create_reporter("plots")


def test_matplotlib_is_imported_only_to_draw_and_pyplot_never(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import reporters\n"
        "from autotune_core.testing import event_stream\n"
        "assert 'matplotlib' not in sys.modules, 'imported with the package'\n"
        f"reporter = reporters.PlotReporter(path={str(tmp_path)!r}, dpi=20)\n"
        "for event in event_stream(10): reporter.handle(event)\n"
        "reporter.close()\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

    assert sorted(p.name for p in tmp_path.iterdir()) == FILES


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"dpi": 0}, "dpi=0 must be > 0", id="dpi"),
        pytest.param({"max_params": "3"}, "max_params='3' must be an int", id="max"),
    ],
)
def test_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(at.ConfigError, match=f"PlotReporter: {message}"):
        PlotReporter(**options)
