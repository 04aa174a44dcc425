"""The strategy contract behind :func:`autotune_core.testing.check_strategy`.

Private: import :func:`check_strategy` and :class:`ContractError` from
:mod:`autotune_core.testing`. Like that module, this one needs Hypothesis.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import hypothesis
import numpy as np
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from autotune_core.acceptance import ImprovementThreshold
from autotune_core.config import RunConfig
from autotune_core.exceptions import ConfigError
from autotune_core.space import (
    Bool,
    Categorical,
    Condition,
    Float,
    Int,
    Layers,
    SearchSpace,
)
from autotune_core.state import SearchState
from autotune_core.strategy import StepStrategy
from autotune_core.trial import Batch, Candidate, Evaluation, Move, Trial, TrialStatus

__all__ = ["ContractError", "check_strategy"]


class ContractError(AssertionError):
    """A step strategy broke the contract that :func:`check_strategy` checks.

    The message names the strategy, the rule it broke and what happened. It
    is an :class:`AssertionError`, so test runners report it as a failure.

    Examples
    --------
    >>> import autotune_core as at
    >>> class Stuck(at.StepStrategy):
    ...     def propose(self, state, rng):
    ...         return at.Candidate({"no-such-parameter": 1})
    >>> try:
    ...     check_strategy(Stuck, max_examples=1)
    ... except ContractError as error:
    ...     print(str(error).split(":")[1].strip())
    proposed {'no-such-parameter'
    """


def check_strategy(
    factory: Callable[[], StepStrategy],
    /,
    *,
    max_examples: int = 25,
    steps: int = 16,
    conditional: bool = True,
    settings: hypothesis.settings | None = None,
) -> None:
    """Check a step strategy against the contract, on many spaces and histories.

    Each example draws a search space (one parameter, or several of every
    kind with conditions between them), a seed and a number of evaluations
    in flight, and runs a small engine: it asks ``factory()`` for proposals,
    scores them with a deterministic objective that also fails now and then,
    judges them with the default acceptance, and tells the strategy, the
    way :func:`~autotune_core.tune` does (batches wait for each other,
    repeated configurations are answered from the earlier trial). It checks
    that:

    - every proposal is a :class:`~autotune_core.Candidate`, a
      :class:`~autotune_core.Batch` or ``None``, and every candidate lies in
      the space: exactly its active parameters, each valid;
    - its declared moves match the actual difference from its parent (the
      trial ``Candidate.parent`` names): each one names a parameter active in
      both, with the parent's value as ``old`` and the candidate's as
      ``new``, and every parameter active in both that changed is declared;
      a candidate without a parent declares none. So a conditional parameter
      is never moved while inactive;
    - ``propose()`` and ``tell()`` leave the state they are given unchanged;
    - the same seed and the same observations give the same proposals, even
      when Python's and NumPy's global random states differ (a strategy must
      draw from the ``rng`` it is handed);
    - ``snapshot()`` is JSON-ready plain data, and a fresh strategy that
      ``restore()`` s it mid-run snapshots the same and goes on with the
      same proposals;
    - it keeps proposing, or says it is done (``None`` with nothing
      running), without raising, on spaces of one parameter and of many.

    Parameters
    ----------
    factory
        Called with no arguments, returns a new strategy: the class itself,
        or a ``lambda`` giving it options.
    max_examples
        Examples Hypothesis draws (two fixed examples, one parameter and a
        conditional space of many, always run first).
    steps
        Proposals per simulated run.
    conditional
        Whether the drawn spaces may have conditions.
    settings
        Hypothesis settings to use instead of the kit's: no deadline (a
        loaded CI machine is slow, not wrong), ``max_examples``, one failure
        reported (the first), and no health checks for slow data
        generation. Pass
        ``hypothesis.settings(derandomize=True)`` for the same examples on
        every run.

    Raises
    ------
    ContractError
        On the first broken rule (after Hypothesis has shrunk the example).
    hypothesis.errors.InvalidArgument
        If the arguments are invalid, or ``factory()`` is not a strategy.

    Notes
    -----
    Call it from a plain test function, not from inside ``@given``.

    Examples
    --------
    >>> import autotune_core as at
    >>> from autotune_core.testing import check_strategy
    >>> class Scatter(at.StepStrategy):
    ...     def propose(self, state, rng):
    ...         return at.Candidate(state.space.sample(rng))
    >>> check_strategy(Scatter, max_examples=5)
    """
    _check_factory(factory)
    _check_count("max_examples", max_examples)
    _check_count("steps", steps)
    chosen = settings or hypothesis.settings(
        deadline=None,
        max_examples=max_examples,
        report_multiple_bugs=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )

    @chosen
    @hypothesis.given(case=_cases(steps, conditional))
    @hypothesis.example(case=_ONE_PARAMETER)
    @hypothesis.example(case=_MANY_PARAMETERS)
    def check(case: _Case) -> None:
        _check_case(factory, case, steps)

    check()


# -- the strategy contract ------------------------------------------------------


@dataclass(frozen=True)
class _Case:
    """One example of :func:`check_strategy`: a space and how the run goes."""

    space: SearchSpace
    seed: int = 0
    concurrency: int = 1
    start: bool = True
    restore_at: int = 0


@st.composite
def _cases(draw: st.DrawFn, steps: int, conditional: bool) -> _Case:
    """A space of one parameter or of many, a seed, concurrency and restore point."""
    from autotune_core.testing import search_spaces  # testing imports this module

    space = draw(
        search_spaces(min_params=1, max_params=1, conditional=False)
        | search_spaces(min_params=2, max_params=6, conditional=conditional)
    )
    return _Case(
        space=space,
        seed=draw(st.integers(min_value=0, max_value=2**32 - 1)),
        concurrency=draw(st.integers(min_value=1, max_value=3)),
        start=draw(st.booleans()),
        restore_at=draw(st.integers(min_value=1, max_value=steps)),
    )


# Two fixed examples, always run first; with these seeds the start point scores.
_ONE_PARAMETER = _Case(SearchSpace({"x": Float(low=0.0, high=1.0)}), restore_at=3)
_MANY_PARAMETERS = _Case(
    SearchSpace(
        {
            "kernel": Categorical(choices=("rbf", "poly", "linear")),
            "degree": Int(low=2, high=5),
            "gamma": Float(low=1e-4, high=1.0, log=True),
            "C": Float(low=1e-2, high=1e2, log=True),
            "hidden": Layers(max_layers=3, min_units=4, max_units=64),
            "shrinking": Bool(),
        },
        conditions=(
            Condition(param="degree", parent="kernel", values=("poly",)),
            Condition(param="gamma", parent="kernel", values=("rbf", "poly")),
        ),
    ),
    seed=1,
    concurrency=2,
    restore_at=5,
)


def _check_count(name: str, value: object) -> None:
    """Raise :class:`InvalidArgument` unless ``value`` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{name}={value!r} must be an int >= 1")


def _check_factory(factory: object) -> None:
    """Raise :class:`InvalidArgument` unless ``factory()`` gives new strategies."""
    if not callable(factory):
        raise InvalidArgument(f"factory={factory!r} must be callable")

    first, second = factory(), factory()
    if not isinstance(first, StepStrategy):
        raise InvalidArgument(
            f"factory() must return a StepStrategy, got {type(first).__name__}"
        )
    if first is second:
        raise InvalidArgument(
            f"factory={factory!r} must return a new strategy on every call"
        )


def _check_case(factory: Callable[[], StepStrategy], case: _Case, steps: int) -> None:
    """Run the case three ways: plain, under another global seed, and restored."""
    with _global_random(1):
        plain = _Simulation(factory, case, steps).run()
    with _global_random(2):
        again = _Simulation(factory, case, steps).run()
    _compare(
        plain,
        again,
        factory,
        "the same seed and observations gave different proposals (does it draw "
        "from a random source other than the rng it is handed?)",
    )
    with _global_random(1):
        restored = _Simulation(factory, case, steps, restore_at=case.restore_at).run()
    _compare(
        plain,
        restored,
        factory,
        f"after snapshot() and restore() at proposal {case.restore_at}, the "
        "proposals differ (does snapshot() hold everything it learned?)",
    )


def _compare(
    expected: list[Any],
    actual: list[Any],
    factory: Callable[[], StepStrategy],
    message: str,
) -> None:
    """Raise :class:`ContractError` at the first differing proposal."""
    if expected == actual:
        return

    index = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    first = expected[index] if index < len(expected) else "(no proposal)"
    second = actual[index] if index < len(actual) else "(no proposal)"
    raise ContractError(
        f"{factory()!r}: {message}; call {index} of propose() gave {first!r} "
        f"the first time and {second!r} the second"
    )


@contextmanager
def _global_random(seed: int) -> Iterator[None]:
    """Seed Python's and NumPy's global generators; put them back afterwards."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class _Simulation:
    """A small engine: queue, batches, cached repeats, acceptance, tell."""

    def __init__(
        self,
        factory: Callable[[], StepStrategy],
        case: _Case,
        steps: int,
        *,
        restore_at: int | None = None,
    ) -> None:
        self.factory = factory
        self.strategy = factory()
        self.case = case
        self.steps = steps
        self.restore_at = restore_at
        self.space = case.space
        self.space_copy = copy.deepcopy(case.space)
        self.state = SearchState(case.space, RunConfig())
        self.rng = np.random.default_rng(case.seed)
        self.finish_order = np.random.default_rng(case.seed + 1)
        self.acceptance = ImprovementThreshold()
        self.queue: deque[tuple[Candidate, bool]] = deque()
        self.running: list[tuple[int, Candidate, bool]] = []
        self.calls: list[Any] = []
        self.proposed = 0
        self.next_number = 0
        if case.start:
            self.queue.append((Candidate(case.space.default_point()), False))

    def run(self) -> list[Any]:
        """What every ``propose()`` call returned, in order."""
        for _ in range(8 * self.steps):
            self._fill()
            if not self.running:
                break  # nothing running and nothing proposed: done

            self._finish_one()

        return self.calls

    # -- asking ----------------------------------------------------------------

    def _fill(self) -> None:
        while len(self.running) < self.case.concurrency:
            item = self._next_item()
            if item is None:
                return

            candidate, batch = item
            earlier = self.state.earlier_trial(candidate.params)
            if earlier is None:
                self.state._add_pending(candidate)
                self.running.append((self._number(), candidate, batch))
            else:
                self._conclude(None, _cached(earlier, candidate, self._number()))

    def _next_item(self) -> tuple[Candidate, bool] | None:
        barrier = any(batch for _, _, batch in self.running)
        if not self.queue and not barrier and self.proposed < self.steps:
            self._propose()
        if self.queue and (self.queue[0][1] or not barrier):
            return self.queue.popleft()
        return None

    def _number(self) -> int:
        self.next_number += 1
        return self.next_number - 1

    def _propose(self) -> None:
        before = _fingerprint(self.state)
        proposal = self.strategy.propose(self.state, self.rng)
        self._check_unchanged(before, "propose()")
        self.calls.append(proposal)
        if proposal is None:
            return

        candidates = self._candidates(proposal)
        for candidate in candidates:
            self._check_candidate(candidate)
        self.queue.extend((c, isinstance(proposal, Batch)) for c in candidates)
        self.proposed += 1
        if self.proposed == self.restore_at:
            self._restore()

    def _candidates(self, proposal: object) -> tuple[Candidate, ...]:
        if isinstance(proposal, Batch):
            return proposal.candidates
        if isinstance(proposal, Candidate):
            return (proposal,)
        self._fail(
            "propose() must return a Candidate, a Batch or None, "
            f"got {type(proposal).__name__}"
        )

    # -- finishing ---------------------------------------------------------------

    def _finish_one(self) -> None:
        index = int(self.finish_order.integers(0, len(self.running)))
        number, candidate, _ = self.running.pop(index)
        self._conclude(
            candidate, _evaluate(self.space, candidate, number, self.case.seed)
        )

    def _conclude(self, candidate: Candidate | None, trial: Trial) -> None:
        """Judge, record and tell, as the engine does."""
        if trial.score is not None and trial.status in _JUDGED:
            accepted = self.acceptance.accept(trial, self.state.incumbent, self.state)
            trial = replace(trial, accepted=accepted)
        self.state._finish(candidate, trial)
        before = _fingerprint(self.state)
        self.strategy.tell(trial, self.state)
        self._check_unchanged(before, "tell()")

    # -- checks --------------------------------------------------------------------

    def _fail(self, message: str) -> NoReturn:
        raise ContractError(f"{self.strategy!r}: {message}")

    def _check_unchanged(self, before: tuple[Any, ...], call: str) -> None:
        if self.state.space != self.space_copy:
            self._fail(f"{call} changed the search space it was given")
        if _fingerprint(self.state) != before:
            self._fail(
                f"{call} mutated the state it was given (incumbent, history or "
                "pending candidates); a strategy must treat it as read-only"
            )

    def _check_candidate(self, candidate: object) -> None:
        if not isinstance(candidate, Candidate):
            self._fail(f"a proposal holds {candidate!r}, which is not a Candidate")
        params = candidate.params
        try:
            valid = self.space.validate_point(params)
        except ConfigError as exc:
            self._fail(f"proposed {params!r}, which is not in the space: {exc}")
        if valid.keys() != params.keys():
            missing = [name for name in valid if name not in params]
            self._fail(
                f"proposed {params!r}, which is not in the space: it leaves out "
                f"the active parameter(s) {missing!r}"
            )
        self._check_moves(candidate)

    def _check_moves(self, candidate: Candidate) -> None:
        if candidate.parent is None:
            if candidate.moves:
                self._fail(
                    f"a candidate without a parent declares moves {candidate.moves!r}"
                )
            return

        parent = self._finished(candidate.parent)
        declared = self._declared(candidate, parent.params)
        old, new = parent.params, candidate.params
        changed = {n for n in old.keys() & new.keys() if not _same(old[n], new[n])}
        if changed != declared:
            self._fail(
                f"the declared moves do not match the actual difference from "
                f"parent {parent.number}: parameter(s) {sorted(changed)!r} "
                f"changed, {sorted(declared)!r} declared "
                f"(parent {old!r}, candidate {new!r})"
            )

    def _finished(self, number: int) -> Trial:
        for trial in self.state.history:
            if trial.number == number:
                return trial
        self._fail(
            f"a candidate names parent {number!r}, which is not a finished trial"
        )

    def _declared(self, candidate: Candidate, old: Mapping[str, Any]) -> set[str]:
        """Names of the declared moves, each checked against parent and candidate."""
        names: set[str] = set()
        for move in candidate.moves:
            if not isinstance(move, Move) or move.param in names:
                self._fail(f"moves must be distinct Move objects, got {move!r}")
            names.add(move.param)
            self._check_move(move, old, candidate.params)
        return names

    def _check_move(
        self, move: Move, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        name = move.param
        if name not in old:
            self._fail(f"declares {move}, but {name!r} is inactive in the parent")
        if name not in new:
            self._fail(f"declares {move}, but {name!r} is inactive in the candidate")
        if _same(move.old, move.new):
            self._fail(f"declares {move}, a move that changes nothing")
        if not _same(move.old, old[name]):
            self._fail(f"declares {move}, but the parent has {name}={old[name]!r}")
        if not _same(move.new, new[name]):
            self._fail(
                f"declares {move}, a move that did not happen: the candidate has "
                f"{name}={new[name]!r}"
            )

    def _restore(self) -> None:
        """Go on with a fresh strategy restored from this one's snapshot."""
        data = self._plain(self.strategy.snapshot(), "snapshot()")
        fresh = self.factory()
        fresh.restore(copy.deepcopy(data))
        again = self._plain(fresh.snapshot(), "snapshot() after restore()")
        if again != data:
            self._fail(
                f"a fresh strategy restored from snapshot {data!r} snapshots {again!r}"
            )
        self.strategy = fresh

    def _plain(self, snapshot: object, call: str) -> Any:
        """``snapshot`` through JSON, or a failure if it is not JSON-ready."""
        if not isinstance(snapshot, dict):
            self._fail(f"{call} must return a dict, got {type(snapshot).__name__}")
        try:
            return json.loads(json.dumps(snapshot, allow_nan=False))
        except (TypeError, ValueError) as exc:
            self._fail(f"{call} is not JSON-ready plain data: {exc}")


_JUDGED = (TrialStatus.OK, TrialStatus.CACHED)


def _same(a: object, b: object) -> bool:
    """Equal as typed values: ``1``, ``1.0`` and ``True`` differ."""
    return type(a) is type(b) and a == b


def _fingerprint(state: SearchState) -> tuple[Any, ...]:
    """What a strategy could change in ``state``, cheap to take and compare.

    Trials and candidates are frozen except for their dicts, whose items are
    copied; everything else is compared by identity.
    """

    def items(record: Trial | Candidate | None) -> tuple[Any, ...]:
        if record is None:
            return ()
        extra = tuple(record.metrics.items()) if isinstance(record, Trial) else ()
        return (id(record), tuple(record.params.items()), extra)

    return (
        state.config,
        items(state.incumbent),
        tuple(items(trial) for trial in state.history),
        tuple(items(candidate) for candidate in state.pending),
        state.trials_since_acceptance,
    )


def _digest(space: SearchSpace, params: Mapping[str, Any], salt: int) -> int:
    """A stable 64-bit hash of a configuration: the objective's landscape."""
    text = repr((salt, space.key(params))).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _evaluate(
    space: SearchSpace, candidate: Candidate, number: int, salt: int
) -> Trial:
    """A deterministic evaluation: three fold scores, a fit time, one failure in 8.

    ``salt`` (the case's seed) gives every case its own landscape.
    """
    digest = _digest(space, candidate.params, salt)
    common: dict[str, Any] = {
        "number": number,
        "params": candidate.params,
        "parent": candidate.parent,
        "moves": candidate.moves,
    }
    if digest % 8 == 0:
        return Trial(status=TrialStatus.FAILED, error="ValueError: bad luck", **common)

    folds = [((digest >> (8 * i)) & 0xFF) / 255 for i in range(1, 4)]
    evaluation = Evaluation.from_folds(folds, fit_times=[(digest >> 40) % 100 / 10])
    return Trial(
        status=TrialStatus.OK,
        score=evaluation.score,
        score_std=evaluation.score_std,
        fold_scores=evaluation.fold_scores,
        fit_time=evaluation.fit_time,
        **common,
    )


def _cached(source: Trial, candidate: Candidate, number: int) -> Trial:
    """A repeat of ``source``, answered without evaluating, as the engine does."""
    return replace(
        source,
        number=number,
        params=candidate.params,
        status=TrialStatus.CACHED,
        parent=candidate.parent,
        moves=candidate.moves,
        accepted=False,
        cached_from=source.number,
    )
