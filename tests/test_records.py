"""quick_init: frozen records built through their slots, behaving as dataclasses do."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autotune_core._records import quick_init
from autotune_core.events import NewIncumbent, TrialFinished, TrialStarted
from autotune_core.trial import (
    Candidate,
    Evaluation,
    Move,
    Trial,
    TrialContext,
    TrialStatus,
)
from autotune_core.tuner import PendingTrial


def _pair() -> tuple[type, type]:
    """One record twice: with dataclasses' own ``__init__`` and with quick_init."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Record:
        name: str
        size: int = 3
        tags: list[str] = dataclasses.field(default_factory=list)

    @quick_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Quick:
        name: str
        size: int = 3
        tags: list[str] = dataclasses.field(default_factory=list)

    return Record, Quick


@given(
    name=st.text(max_size=5),
    size=st.none() | st.integers(),
    tags=st.none() | st.lists(st.text(max_size=3), max_size=3),
)
def test_same_fields_as_the_dataclass_init(
    name: str, size: int | None, tags: list[str] | None
) -> None:
    record, quick = _pair()
    kwargs: dict[str, Any] = {"name": name}
    if size is not None:
        kwargs["size"] = size
    if tags is not None:
        kwargs["tags"] = tags
    expected, got = record(**kwargs), quick(**kwargs)
    assert dataclasses.astuple(got) == dataclasses.astuple(expected)
    assert repr(got).replace("Quick", "Record") == repr(expected)


def test_signature_and_errors_match_the_dataclass_init() -> None:
    record, quick = _pair()
    ours, theirs = inspect.signature(quick), inspect.signature(record)
    assert [(p.name, p.kind, repr(p.default)) for p in ours.parameters.values()] == [
        (p.name, p.kind, repr(p.default)) for p in theirs.parameters.values()
    ]
    assert str(ours) == str(theirs)
    assert quick("a", 5, ["x"]) == quick(name="a", size=5, tags=["x"])
    with pytest.raises(TypeError, match="name"):
        quick()
    with pytest.raises(TypeError, match="colour"):
        quick("a", colour="red")
    with pytest.raises(TypeError):
        quick("a", 1, [], "extra")


def _error_setting(item: object, name: str) -> type[BaseException] | None:
    try:
        setattr(item, name, 1)
    except Exception as exc:
        return type(exc)
    return None


def test_stays_frozen_and_copies_as_a_dataclass() -> None:
    record, quick = _pair()
    item = quick("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "b"
    # A name that is no field fails as it does with dataclasses' own __init__
    # (Python 3.11 raises TypeError there for a frozen, slotted local class).
    assert _error_setting(item, "other") is not None
    assert _error_setting(item, "other") is _error_setting(record("a"), "other")
    assert quick("a").tags is not quick("a").tags  # a fresh default each time
    assert dataclasses.replace(item, size=9) == quick("a", 9)
    assert copy.deepcopy(item) == item


@pytest.mark.parametrize(
    "record",
    [
        Trial(1, {"x": 1.0}, TrialStatus.OK, parent=0, moves=(Move("x", "up", 0, 1),)),
        Evaluation(0.5, fold_scores=(0.4, 0.6), metrics={"f1": 0.3}),
        Candidate({"x": 1.0}, 0, (Move("x", "up", 0.5, 1.0),)),
        TrialContext(3, "minimize", 0.1, (0.2, 0.3)),
        PendingTrial(4, Candidate({"x": 1.0}), 12.5),
        TrialStarted(2, {"x": 1.0}, 1, (), 3.0, True, {"rng": {}}),
        TrialFinished(Trial(1, {"x": 1.0}, TrialStatus.FAILED, error="E: boom")),
        NewIncumbent(2, 0.9, 1, {"x": 1.0}),
    ],
    ids=lambda r: type(r).__name__,
)
def test_engine_records_pickle_compare_and_refuse_changes(record: Any) -> None:
    assert pickle.loads(pickle.dumps(record)) == record
    first = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, first, None)


def test_refuses_classes_it_cannot_build() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            raise ValueError("checked")

    for cls in (Mutable, NoSlots):
        with pytest.raises(TypeError, match="frozen, slotted"):
            quick_init(cls)
    with pytest.raises(TypeError, match="__post_init__"):
        quick_init(Checked)
