"""Find strategies, reporters and acceptance policies by name.

Plugins register through entry points, the built-ins included::

    [project.entry-points."autotune.strategies"]
    my-step = "my_package.module:MyStep"

Groups: ``autotune.strategies``, ``autotune.reporters`` and
``autotune.acceptance``. :func:`register` adds one at run time (tests,
notebooks) without packaging.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Literal, TypeAlias

from autotune_core.acceptance import AcceptancePolicy
from autotune_core.exceptions import AutoTuneError, ConfigError, UnknownPluginError
from autotune_core.reporter import Reporter
from autotune_core.strategy import StepStrategy

__all__ = [
    "available",
    "create_acceptance",
    "create_reporter",
    "create_strategy",
    "load_plugin",
    "register",
]

logger = logging.getLogger(__name__)

Group: TypeAlias = Literal["strategies", "reporters", "acceptance"]

_BASES: dict[str, type] = {
    "strategies": StepStrategy,
    "reporters": Reporter,
    "acceptance": AcceptancePolicy,
}
_KIND = {
    "strategies": "strategy",
    "reporters": "reporter",
    "acceptance": "acceptance policy",
}
_EXTRA: dict[str, dict[str, type]] = {group: {} for group in _BASES}


@cache
def _entry_points(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=f"autotune.{group}")}


def available(group: Group) -> list[str]:
    """Sorted names of every plugin known in ``group``."""
    _check_group(group)
    names = set(_entry_points(group)) | set(_EXTRA[group])
    return sorted(names)


def register(group: Group, name: str, cls: type) -> None:
    """Make ``cls`` available under ``name`` in ``group`` for this process."""
    _check_group(group)
    if not isinstance(cls, type) or not issubclass(cls, _BASES[group]):
        raise TypeError(f"{cls!r} is not a subclass of {_BASES[group].__name__}")
    _EXTRA[group][name] = cls


def load_plugin(group: Group, name: str) -> type:
    """The class registered as ``name``; an unknown name lists the known ones."""
    _check_group(group)
    if name in _EXTRA[group]:
        return _EXTRA[group][name]
    entry = _entry_points(group).get(name)
    if entry is None:
        known = ", ".join(available(group)) or "(none installed)"
        raise UnknownPluginError(f"unknown {_KIND[group]} {name!r}; known: {known}")
    cls = entry.load()
    if not isinstance(cls, type) or not issubclass(cls, _BASES[group]):
        raise UnknownPluginError(
            f"entry point autotune.{group}:{name} = {entry.value!r} is not a "
            f"{_BASES[group].__name__}"
        )
    return cls


def create_strategy(name: str, /, **options: Any) -> StepStrategy:
    """Build the strategy registered as ``name`` with ``options``."""
    return _create("strategies", name, options)  # type: ignore[no-any-return]


def create_reporter(name: str, /, **options: Any) -> Reporter:
    """Build the reporter registered as ``name`` with ``options``."""
    return _create("reporters", name, options)  # type: ignore[no-any-return]


def create_acceptance(name: str, /, **options: Any) -> AcceptancePolicy:
    """Build the acceptance policy registered as ``name`` with ``options``."""
    return _create("acceptance", name, options)  # type: ignore[no-any-return]


def _create(group: Group, name: str, options: dict[str, Any]) -> Any:
    cls = load_plugin(group, name)
    try:
        return cls(**options)
    except AutoTuneError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_KIND[group]} {name!r}: {exc}") from None


def _check_group(group: str) -> None:
    if group not in _BASES:
        raise ValueError(f"group must be one of {sorted(_BASES)!r}, got {group!r}")
