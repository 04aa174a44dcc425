"""The read-only view of a search that strategies and acceptance policies see."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from autotune_core.config import RunConfig
from autotune_core.space import SearchSpace
from autotune_core.trial import Candidate, Trial

__all__ = ["SearchState"]


class _ReadOnlyList(Sequence[Any]):
    """A live, read-only window on a list the engine keeps appending to."""

    __slots__ = ("_items",)

    def __init__(self, items: list[Any]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"<read-only {len(self._items)} items>"


class SearchState:
    """What a strategy may look at when it proposes: space, incumbent, history.

    The engine keeps one state per run and updates it as trials finish;
    strategies receive it read-only and must not keep references to
    mutable parts of it across calls.

    Parameters
    ----------
    space
        The search space.
    config
        The run configuration (direction, ``min_improvement``, budgets).
    history
        Finished trials in the order they finished.
    incumbent
        The accepted trial every step starts from, or ``None`` before the
        first acceptance.
    pending
        Candidates being evaluated right now.

    Examples
    --------
    >>> from autotune_core import Float
    >>> state = SearchState(SearchSpace({"x": Float(low=0, high=1)}), RunConfig())
    >>> state.incumbent is None, len(state.history)
    (True, 0)
    """

    __slots__ = (
        "_history",
        "_pending",
        "_seen",
        "config",
        "incumbent",
        "space",
        "trials_since_acceptance",
    )

    def __init__(
        self,
        space: SearchSpace,
        config: RunConfig,
        *,
        history: Sequence[Trial] = (),
        incumbent: Trial | None = None,
        pending: Sequence[Candidate] = (),
    ) -> None:
        self.space = space
        self.config = config
        self.incumbent = incumbent
        self._history: list[Trial] = list(history)
        self._pending: list[Candidate] = list(pending)
        # hash of a configuration's key -> the first trial that evaluated it;
        # hashes keep this small, and every hit is checked for equality.
        self._seen: dict[int, Trial] = {}
        for trial in self._history:
            self._seen.setdefault(hash(space.key(trial.params)), trial)
        self.trials_since_acceptance = self._count_since_acceptance()

    def _count_since_acceptance(self) -> int:
        count = 0
        for trial in reversed(self._history):
            if trial.accepted:
                break
            count += 1
        return count

    @property
    def history(self) -> Sequence[Trial]:
        """Finished trials, in the order they finished."""
        return _ReadOnlyList(self._history)

    @property
    def pending(self) -> Sequence[Candidate]:
        """Candidates being evaluated now, in the order they started."""
        return _ReadOnlyList(self._pending)

    @property
    def n_finished(self) -> int:
        """How many trials have finished."""
        return len(self._history)

    def has_seen(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` was already evaluated or is being evaluated."""
        key = self.space.key(params)
        if self._earlier(key) is not None:
            return True
        return bool(self._pending) and any(
            self.space.key(c.params) == key for c in self._pending
        )

    def earlier_trial(self, params: Mapping[str, Any]) -> Trial | None:
        """The first finished trial that evaluated ``params``, if any."""
        return self._earlier(self.space.key(params))

    def _earlier(self, key: tuple[object, ...]) -> Trial | None:
        trial = self._seen.get(hash(key))
        if trial is None:
            return None
        if self.space.key(trial.params) == key:
            return trial
        # a hash collision: rare enough to afford a scan
        return next((t for t in self._history if self.space.key(t.params) == key), None)

    # -- updates, for the engine only ----------------------------------------

    def _add_pending(self, candidate: Candidate) -> None:
        self._pending.append(candidate)

    def _finish(
        self,
        candidate: Candidate | None,
        trial: Trial,
        key: tuple[object, ...] | None = None,
    ) -> None:
        """Record ``trial``; ``key``, if the caller has it, is its params' key."""
        if candidate is not None:
            self._pending.remove(candidate)
        self._history.append(trial)
        if key is None:
            key = self.space.key(trial.params)
        self._seen.setdefault(hash(key), trial)
        if trial.accepted:
            self.incumbent = trial
            self.trials_since_acceptance = 0
        else:
            self.trials_since_acceptance += 1

    def _forget_incumbent(self) -> None:
        """Start over from no incumbent, history kept (after a space change)."""
        self.incumbent = None
        self.trials_since_acceptance = 0
