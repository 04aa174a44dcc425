"""The reporter contract kit of ``autotune_core.testing``, and the built-ins passing it.

"Not losing" a trial means, per reporter: the CSV file has one row per
finished trial, the Excel History table one row per finished trial, and the
JSON-lines file one ``trial_finished`` event per finished trial, each in the
order the trials finished, with the trial's number, status and score.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import Phase, given, settings
from hypothesis.errors import InvalidArgument
from rich.console import Console

import autotune_core as at
from autotune_core.testing import (
    HOSTILE_TEXTS,
    ReportedTrial,
    check_reporter,
    event_stream,
    event_streams,
)
from reporters import (
    ConsoleReporter,
    CsvReporter,
    ExcelReporter,
    JsonlReporter,
    PlotReporter,
)

# -- reading the outputs back -------------------------------------------------------


def _score(text: str) -> float | None:
    return float(text) if text else None


def read_csv(folder: Path) -> list[ReportedTrial]:
    """The trials of ``folder/trials.csv``."""
    with (folder / "trials.csv").open(newline="", encoding="utf-8") as file:
        return [
            ReportedTrial(int(row["trial"]), row["status"], _score(row["score"]))
            for row in csv.DictReader(file)
        ]


def read_workbook(folder: Path) -> list[ReportedTrial]:
    """The trials of the History table of ``folder/run.xlsx``."""
    workbook = openpyxl.load_workbook(folder / "run.xlsx", read_only=True)
    rows = workbook["History"].iter_rows(values_only=True)
    header = list(next(rows))
    trial, status, score = (header.index(c) for c in ("trial", "status", "score"))
    found = [ReportedTrial(r[trial], r[status], r[score]) for r in rows]
    workbook.close()
    return found


def read_jsonl(folder: Path) -> list[ReportedTrial]:
    """The finished trials of ``folder/events.jsonl``."""
    return [
        ReportedTrial(e.trial.number, e.trial.status.value, e.trial.score)
        for e in at.read_events(folder / "events.jsonl")
        if isinstance(e, at.TrialFinished)
    ]


# -- the built-ins pass --------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "read_back", "examples", "long_run"),
    [
        pytest.param(
            lambda f: CsvReporter(path=f / "trials.csv"), read_csv, 20, 2000, id="csv"
        ),
        pytest.param(
            lambda f: ExcelReporter(path=f / "run.xlsx"),
            read_workbook,
            12,
            2000,
            id="excel",
        ),
        pytest.param(
            lambda f: JsonlReporter(path=f / "events.jsonl"),
            read_jsonl,
            15,
            2000,
            id="jsonl",
        ),
        pytest.param(
            lambda f: at.create_reporter("console", quiet=True),
            None,
            10,
            2000,
            id="console-quiet",
        ),
        pytest.param(
            lambda f: ConsoleReporter(console=Console(file=io.StringIO(), width=100)),
            None,
            10,
            2000,
            id="console-live",
        ),
        pytest.param(lambda f: PlotReporter(path=f, dpi=20), None, 2, 500, id="plots"),
    ],
)
def test_built_in_reporters_keep_the_contract(
    factory: Callable[[Path], at.Reporter],
    read_back: Callable[[Path], Sequence[ReportedTrial]] | None,
    examples: int,
    long_run: int,
) -> None:
    check_reporter(
        factory, read_back=read_back, max_examples=examples, long_run_trials=long_run
    )


# -- the kit finds what it should ----------------------------------------------------


class Forgetful(at.Reporter):
    """Keeps every finished trial but the third, in a list the read-back sees."""

    def __init__(self, seen: list[ReportedTrial]) -> None:
        self.seen = seen
        self.count = 0

    def on_trial_finished(self, event: at.TrialFinished) -> None:
        self.count += 1
        if self.count != 3:
            t = event.trial
            self.seen.append(ReportedTrial(t.number, t.status.value, t.score))


class Fragile(at.Reporter):
    def on_trial_finished(self, event: at.TrialFinished) -> None:
        if event.trial.status is at.TrialStatus.CACHED:
            raise RuntimeError("cannot show a cached trial")


class Rounding(at.Reporter):
    """Keeps every trial with its score rounded to 6 digits."""

    def __init__(self, seen: list[ReportedTrial]) -> None:
        self.seen = seen

    def on_trial_finished(self, event: at.TrialFinished) -> None:
        t = event.trial
        score = None if t.score is None else float(f"{t.score:.6g}")
        self.seen.append(ReportedTrial(t.number, t.status.value, score))


@pytest.fixture
def _no_shrinking() -> Iterator[None]:
    """Report the first failing stream without shrinking it: these tests only
    need to see that the kit fails, and shrinking takes seconds."""
    settings.register_profile(
        "no-shrinking",
        parent=settings.get_profile("autotune"),
        phases=[Phase.explicit, Phase.generate],
        database=None,
    )
    settings.load_profile("no-shrinking")
    yield
    settings.load_profile("autotune")


def _kit_with_memory(cls: type[Any], **options: Any) -> None:
    seen: list[ReportedTrial] = []

    def factory(folder: Path) -> at.Reporter:
        seen.clear()
        return cls(seen)  # type: ignore[no-any-return]

    check_reporter(factory, read_back=lambda folder: list(seen), **options)


@pytest.mark.usefixtures("_no_shrinking")
def test_a_lost_trial_is_reported() -> None:
    with pytest.raises(AssertionError, match=r"trial 2 of \d+ in|2 were read back"):
        _kit_with_memory(Forgetful, max_examples=10, long_run_trials=100)


@pytest.mark.usefixtures("_no_shrinking")
def test_a_changed_score_is_reported() -> None:
    with pytest.raises(AssertionError, match=r"trial \d+ of \d+ in the order sent"):
        _kit_with_memory(Rounding, max_examples=5, long_run_trials=300)


@pytest.mark.usefixtures("_no_shrinking")
def test_an_exception_names_the_event() -> None:
    with pytest.raises(RuntimeError, match="cached") as caught:
        check_reporter(lambda folder: Fragile(), long_run_trials=500, max_examples=1)

    assert any("trial_finished" in note for note in caught.value.__notes__)


class HandlesOnlyTrials(at.Reporter):
    """Overrides handle() for its trials and so never calls on_run_finished."""

    def __init__(self) -> None:
        self.finished: list[int] = []
        self.flushed = False

    def handle(self, event: at.Event) -> None:
        if isinstance(event, at.TrialFinished):
            self.on_trial_finished(event)

    def on_trial_finished(self, event: at.TrialFinished) -> None:
        self.finished.append(event.trial.number)

    def on_run_finished(self, event: at.RunFinished) -> None:
        self.flushed = True


class LateStart(at.Reporter):
    """Passes each run_started on only after the next event: out of order."""

    def __init__(self) -> None:
        self.held: at.Event | None = None

    def handle(self, event: at.Event) -> None:
        if isinstance(event, at.RunStarted):
            self.held = event
            return

        super().handle(event)
        if self.held is not None:
            super().handle(self.held)
            self.held = None

    def on_run_started(self, event: at.RunStarted) -> None:
        pass

    def on_trial_started(self, event: at.TrialStarted) -> None:
        pass


@pytest.mark.usefixtures("_no_shrinking")
def test_a_hook_that_never_gets_run_finished_is_reported() -> None:
    with pytest.raises(
        AssertionError, match=r"HandlesOnlyTrials: .*on_run_finished\(run_finished\)"
    ):
        check_reporter(lambda folder: HandlesOnlyTrials(), long_run_trials=50)


@pytest.mark.usefixtures("_no_shrinking")
def test_events_out_of_order_are_reported() -> None:
    with pytest.raises(
        AssertionError, match=r"LateStart: .*on_run_started\(run_started\)"
    ):
        check_reporter(lambda folder: LateStart(), long_run_trials=50)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"max_examples": 0}, "max_examples=0 must be >= 1", id="examples"),
        pytest.param({"long_run_trials": -1}, "long_run_trials=-1", id="long"),
        pytest.param({"max_trials": 1.5}, "max_trials=1.5 must be an int", id="float"),
    ],
)
def test_kit_arguments_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_reporter(lambda folder: at.Reporter(), **options)


# -- the streams are valid -----------------------------------------------------------


def _check_order(events: Sequence[at.Event]) -> None:
    """Each trial starts before it finishes; NewIncumbent follows its trial."""
    running: set[int] = set()
    finished: dict[int, at.Trial] = {}
    for index, event in enumerate(events):
        if isinstance(event, at.TrialStarted):
            running.add(event.number)
        elif isinstance(event, at.TrialFinished):
            assert event.trial.number in running
            running.discard(event.trial.number)
            finished[event.trial.number] = event.trial
        elif isinstance(event, at.NewIncumbent):
            previous = events[index - 1]
            assert isinstance(previous, at.TrialFinished)
            assert previous.trial.number == event.number and previous.trial.accepted


@settings(max_examples=40)
@given(event_streams(max_trials=25))
def test_generated_streams_are_valid(events: list[at.Event]) -> None:
    assert isinstance(events[0], at.RunStarted)
    _check_order(events)
    trials = [e.trial for e in events if isinstance(e, at.TrialFinished)]
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    for trial in trials:
        if trial.status in (at.TrialStatus.FAILED, at.TrialStatus.TIMEOUT):
            assert trial.score is None and trial.error
        else:
            assert trial.score is not None and math.isfinite(trial.score)
        assert trial.accepted <= (trial.status in ("ok", "cached"))


@settings(max_examples=20)
@given(event_streams(max_trials=25))
def test_generated_streams_survive_the_event_log(
    tmp_path_factory: pytest.TempPathFactory, events: list[at.Event]
) -> None:
    path = tmp_path_factory.mktemp("log") / "events.jsonl"
    writer = JsonlReporter(path=path)
    for event in events:
        writer.handle(event)
    writer.close()

    again = list(at.read_events(path))

    assert [e.kind for e in again] == [e.kind for e in events]
    assert read_jsonl(path.parent) == [
        ReportedTrial(e.trial.number, e.trial.status.value, e.trial.score)
        for e in events
        if isinstance(e, at.TrialFinished)
    ]


def test_long_streams_are_reproducible_and_complete() -> None:
    events = event_stream(1500, seed=4)

    assert [e.kind for e in events] == [e.kind for e in event_stream(1500, seed=4)]
    _check_order(events)
    finished = [e for e in events if isinstance(e, at.TrialFinished)]
    assert len(finished) == 1500
    statuses = {e.trial.status for e in finished}
    assert statuses == set(at.TrialStatus)
    assert sum(isinstance(e, at.RunResumed) for e in events) == 1
    assert sum(isinstance(e, at.SpaceChanged) for e in events) == 1


def test_long_streams_carry_hostile_text() -> None:
    events = event_stream(300, seed=0)
    values = {
        e.trial.params.get("@choice") for e in events if isinstance(e, at.TrialFinished)
    }

    assert {"=1+1", "@SUM(A1)", "-1.5"} & values
    assert values <= set(HOSTILE_TEXTS) | {None}
