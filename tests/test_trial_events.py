"""Trial records and run events: plain-data forms, JSON round trips, versions."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autotune_core as at
from autotune_core import events
from autotune_core.events import SCHEMA_VERSION, Event, event_from_dict
from autotune_core.testing import search_spaces, trial_histories
from autotune_core.trial import Candidate, Evaluation, Move, Trial, TrialStatus

FOLD_SCORES = st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1)


def _through_json(data: Mapping[str, Any]) -> Any:
    """``data`` as the event log holds it: dumped to JSON text and parsed back."""
    return json.loads(json.dumps(data))


def _typed(params: Mapping[str, Any]) -> list[tuple[str, str, object]]:
    """Parameters with their types, so that ``1``, ``1.0`` and ``True`` differ."""
    return [(name, type(value).__name__, value) for name, value in params.items()]


def _full_trial() -> Trial:
    """A trial with every field set, layer widths included."""
    return Trial(
        number=7,
        params={"alpha": 1e-3, "hidden": (64, 32), "act": "relu", "early": True},
        status=TrialStatus.OK,
        parent=3,
        moves=(Move("hidden", "add_layer", (64,), (64, 32)),),
        score=0.91,
        score_std=0.02,
        fold_scores=(0.9, 0.92, 0.91),
        fit_time=1.5,
        score_time=0.1,
        metrics={"accuracy": 0.91, "f1": 0.88},
        accepted=True,
        warnings=("ConvergenceWarning: did not converge",),
        started_at=100.0,
        finished_at=101.75,
    )


def _space() -> at.SearchSpace:
    return at.SearchSpace(
        {
            "alpha": at.Float(low=1e-5, high=1e-1, log=True),
            "hidden": at.Layers(max_units=128),
            "act": at.Categorical(choices=("relu", "tanh", None)),
        }
    )


def _examples() -> list[Event]:
    """One event of each kind, with JSON-ready contents as the engine makes them."""
    trial = _full_trial()
    started = {
        "name": "mlp-digits",
        "time": 1.7e9,
        "config": at.RunConfig(max_trials=50, seed=0).model_dump(mode="json"),
        "space": _space().model_dump(mode="json"),
        "strategy": {"name": "random-step", "options": {"step_size": 0.2}},
        "acceptance": {"name": "threshold", "options": {}},
        "objective": "SklearnObjective(MLPClassifier)",
        "versions": {"autotune-core": at.__version__, "python": "3.11"},
    }
    return [
        events.RunStarted(**started),
        events.RunResumed(**started, n_trials_before=12),
        events.SpaceChanged(
            added=("act",),
            removed=("beta",),
            changed=("alpha",),
            space=_space().model_dump(mode="json"),
        ),
        events.TrialStarted(
            trial.number,
            trial.params,
            trial.parent,
            trial.moves,
            time=100.0,
            batch=True,
            checkpoint={"strategy": {"step_size": 0.2}, "rng": [1, 2, 3]},
        ),
        events.TrialFinished(trial),
        events.NewIncumbent(trial.number, 0.91, 3, trial.params),
        events.RunFinished(
            reason="max_trials",
            time=1.7e9 + 60,
            n_trials=50,
            best_number=7,
            best_score=0.91,
            status_counts={"ok": 48, "failed": 2},
        ),
    ]


def _event_kinds() -> set[type[Event]]:
    """Every event class the events module exports."""
    exported = [getattr(events, name) for name in events.__all__]
    return {
        cls
        for cls in exported
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
    }


# -- moves, candidates, trials ------------------------------------------------


@pytest.mark.parametrize(
    "move",
    [
        pytest.param(Move("alpha", "up", 1e-3, 2e-3), id="float"),
        pytest.param(Move("depth", "down", 5, 4), id="int"),
        pytest.param(Move("act", "switch", "relu", None), id="to-none"),
        pytest.param(Move("early", "flip", False, True), id="bool"),
        pytest.param(Move("hidden", "add_layer", (64,), (64, 32)), id="add-layer"),
        pytest.param(Move("hidden", "resize_layer", (64, 32), (64, 16)), id="resize"),
    ],
)
def test_move_round_trips_through_json(move: Move) -> None:
    restored = Move.from_dict(_through_json(move.to_dict()))

    assert restored == move
    assert type(restored.old) is type(move.old)
    assert type(restored.new) is type(move.new)


def test_move_reads_as_parameter_kind_and_values() -> None:
    move = Move("hidden", "add_layer", (64,), (64, 32))

    assert str(move) == "hidden add_layer: (64,) -> (64, 32)"


def test_candidate_round_trips_through_json() -> None:
    candidate = Candidate(
        {"hidden": (8, 8), "act": None}, 2, (Move("hidden", "add_layer", (8,), (8, 8)),)
    )

    assert Candidate.from_dict(_through_json(candidate.to_dict())) == candidate


def test_full_trial_round_trips_through_json() -> None:
    trial = _full_trial()

    restored = Trial.from_dict(_through_json(trial.to_dict()))

    assert restored == trial
    assert _typed(restored.params) == _typed(trial.params)


@pytest.mark.parametrize(
    "trial",
    [
        pytest.param(
            Trial(0, {"x": 1}, TrialStatus.FAILED, error="ValueError: boom"),
            id="failed",
        ),
        pytest.param(
            Trial(1, {"x": 2}, TrialStatus.TIMEOUT, parent=0, error="timed out"),
            id="timeout",
        ),
        pytest.param(
            Trial(2, {"x": 2}, TrialStatus.CACHED, parent=1, score=0.5, cached_from=1),
            id="cached",
        ),
        pytest.param(
            Trial(3, {"x": 3}, TrialStatus.PRUNED, parent=0, fold_scores=(0.1, 0.2)),
            id="pruned",
        ),
    ],
)
def test_trial_of_every_status_round_trips_through_json(trial: Trial) -> None:
    assert Trial.from_dict(_through_json(trial.to_dict())) == trial


def test_trial_dict_leaves_out_empty_fields_but_keeps_zeros() -> None:
    trial = Trial(0, {"x": 0.0}, TrialStatus.OK, score=0.0, fit_time=0.0)

    data = trial.to_dict()

    assert (data["score"], data["fit_time"]) == (0.0, 0.0)
    assert not {"moves", "fold_scores", "metrics", "error", "warnings"} & set(data)
    assert Trial.from_dict(data) == trial


@given(st.data())
def test_trial_histories_round_trip_through_json(data: st.DataObject) -> None:
    space = data.draw(search_spaces(max_params=4))
    history = data.draw(trial_histories(space, max_trials=5))

    for trial in history:
        restored = Trial.from_dict(_through_json(trial.to_dict()))
        assert restored == trial
        assert _typed(restored.params) == _typed(trial.params)


# -- evaluations ----------------------------------------------------------------


def test_evaluation_from_folds_gives_mean_std_and_mean_times() -> None:
    evaluation = Evaluation.from_folds(
        [0.8, 0.9, 1.0],
        fit_times=[1.0, 3.0, 2.0],
        metrics={"f1": 0.7},
        warnings=["ConvergenceWarning"],
    )

    assert evaluation.score == pytest.approx(0.9)
    assert evaluation.score_std == pytest.approx(math.sqrt(0.02 / 3))
    assert evaluation.fold_scores == (0.8, 0.9, 1.0)
    assert (evaluation.fit_time, evaluation.score_time) == (2.0, None)
    assert (evaluation.metrics, evaluation.warnings) == (
        {"f1": 0.7},
        ("ConvergenceWarning",),
    )


def test_evaluation_from_one_fold_has_no_std() -> None:
    evaluation = Evaluation.from_folds([1])

    assert (evaluation.score, evaluation.score_std) == (1.0, None)
    assert type(evaluation.score) is float


@given(FOLD_SCORES)
def test_evaluation_from_folds_agrees_with_numpy(folds: list[float]) -> None:
    evaluation = Evaluation.from_folds(folds)

    assert evaluation.fold_scores == tuple(folds)
    assert evaluation.score == pytest.approx(np.mean(folds), rel=1e-9, abs=1e-6)
    if len(folds) > 1:
        assert evaluation.score_std == pytest.approx(np.std(folds), rel=1e-6, abs=1e-6)


# -- events ---------------------------------------------------------------------


def test_every_event_kind_has_an_example() -> None:
    assert {type(event) for event in _examples()} == _event_kinds()


@pytest.mark.parametrize("event", _examples(), ids=lambda event: event.kind)
def test_event_round_trips_through_json(event: Event) -> None:
    data = event.to_dict()

    restored = event_from_dict(_through_json(data))

    assert list(data)[:2] == ["event", "v"]
    assert (data["event"], data["v"]) == (event.kind, SCHEMA_VERSION)
    assert restored == event
    assert type(restored) is type(event)


@given(st.data())
def test_events_of_trial_histories_round_trip_through_json(data: st.DataObject) -> None:
    space = data.draw(search_spaces(max_params=4))
    history = data.draw(trial_histories(space, min_trials=1, max_trials=4))

    for trial in history:
        for event in (
            events.TrialStarted(
                trial.number, trial.params, trial.parent, trial.moves, trial.started_at
            ),
            events.TrialFinished(trial),
            events.NewIncumbent(trial.number, 1.0, trial.parent, trial.params),
        ):
            assert event_from_dict(_through_json(event.to_dict())) == event


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        pytest.param(SCHEMA_VERSION + 1, f"v={SCHEMA_VERSION + 1}", id="newer"),
        pytest.param(None, "v=None", id="missing"),
        pytest.param("1", "v='1'", id="text"),
        pytest.param(1.0, "v=1.0", id="float"),
        pytest.param(
            True,
            "v=True",
            id="bool",
        ),
    ],
)
def test_event_of_unknown_schema_version_is_refused(
    version: object, shown: str
) -> None:
    data = _examples()[-1].to_dict()
    data["v"] = version
    if version is None:
        del data["v"]

    with pytest.raises(at.RunFolderError, match=rf"{shown} is not supported.*upgrade"):
        event_from_dict(data)


def test_event_of_unknown_kind_is_refused() -> None:
    data = {"event": "trial_paused", "v": SCHEMA_VERSION, "number": 1}

    with pytest.raises(at.RunFolderError, match=r"unknown event kind 'trial_paused'"):
        event_from_dict(data)


def test_event_with_missing_fields_is_refused() -> None:
    data = {"event": "new_incumbent", "v": SCHEMA_VERSION, "number": 1}

    with pytest.raises(at.RunFolderError, match=r"new_incumbent"):
        event_from_dict(data)
