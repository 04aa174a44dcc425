"""Frozen, slotted dataclasses that are cheap to build.

The engine builds several frozen records per trial (the trial itself, its
events, the candidate and its moves). The ``__init__`` that
:mod:`dataclasses` writes for ``frozen=True`` assigns each field through
``object.__setattr__``, which costs about four times a plain attribute
store; with a dozen fields that is microseconds a trial, a tenth of the
engine's own cost. :func:`quick_init` gives such a class an ``__init__``
that stores through the slots' descriptors instead, at about half the
cost. Nothing else changes: the instances stay frozen, and the signature,
defaults and default factories are the ones the dataclass declares.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

__all__ = ["quick_init"]

T = TypeVar("T")


class _Factory:
    """An argument whose default comes from a factory (shown as dataclasses do)."""

    def __repr__(self) -> str:
        return "<factory>"


_NO_VALUE = _Factory()


def quick_init(cls: type[T]) -> type[T]:
    """Replace the ``__init__`` of the frozen, slotted dataclass ``cls``.

    Examples
    --------
    >>> @quick_init
    ... @dataclasses.dataclass(frozen=True, slots=True)
    ... class Point:
    ...     x: float
    ...     tags: list[str] = dataclasses.field(default_factory=list)
    >>> Point(1.0)
    Point(x=1.0, tags=[])
    >>> Point(1.0).x = 2.0
    Traceback (most recent call last):
    ...
    dataclasses.FrozenInstanceError: cannot assign to field 'x'
    """
    _check_buildable(cls)
    source, names = _init_source(cls)
    exec(source, names)  # the source is made of field names only
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(getattr(cls.__init__, "__annotations__", {}))
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _check_buildable(cls: type) -> None:
    """Refuse what :func:`quick_init` would build wrongly."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")

    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__: keep its own __init__")

    for f in dataclasses.fields(cast("Any", cls)):
        if not f.init or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields are handled")


def _init_source(cls: type) -> tuple[str, dict[str, Any]]:
    """The ``__init__``'s source, and the names it uses (defaults, setters)."""
    names: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    arguments, body = [], []
    for f in dataclasses.fields(cast("Any", cls)):
        value = f.name
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            arguments.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            arguments.append(f"{f.name}=_NO_VALUE")
            value = f"_factory_{f.name}() if {f.name} is _NO_VALUE else {f.name}"
        else:
            arguments.append(f.name)
        names[f"_set_{f.name}"] = _slot(cls, f.name).__set__
        body.append(f"    _set_{f.name}(self, {value})")

    lines = "\n".join(body) or "    pass"
    return f"def __init__(self, {', '.join(arguments)}):\n{lines}\n", names


def _slot(cls: type, name: str) -> Any:
    """The descriptor of slot ``name``, defined on ``cls`` or a base."""
    for klass in cls.__mro__:
        if name in klass.__dict__.get("__slots__", ()):
            return klass.__dict__[name]
    raise TypeError(f"{cls.__name__}.{name} is not a slot")
