"""Errors and warnings raised by AutoTune.

Every error AutoTune raises on purpose derives from :class:`AutoTuneError` and
also from the builtin that fits it, so ``except ValueError`` keeps working::

    AutoTuneError
    ├── ConfigError (ValueError)            bad run option, config file or CLI flag
    │   └── ParameterNameError (KeyError)   a space name the estimator does not have
    ├── UnknownPluginError (LookupError)    no strategy or reporter by that name
    ├── RunFolderError (OSError)            unreadable, foreign or newer run folder
    ├── StrategyError (RuntimeError)        a strategy broke the contract
    ├── TrialError (RuntimeError)           an evaluation failed (carries the trial)
    └── TooManyFailuresError (RuntimeError) max_failures trials in a row failed

Invalid search-space and run-config definitions raise Pydantic's
``ValidationError`` instead, which names the field and the value.

Warnings::

    AutoTuneWarning (UserWarning)
    └── ExperimentalWarning                 the feature may change without notice
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AutoTuneError",
    "AutoTuneWarning",
    "ConfigError",
    "ExperimentalWarning",
    "ParameterNameError",
    "RunFolderError",
    "StrategyError",
    "TooManyFailuresError",
    "TrialError",
    "UnknownPluginError",
]


class AutoTuneError(Exception):
    """Base class of every error AutoTune raises on purpose."""


class ConfigError(AutoTuneError, ValueError):
    """A run option, config file or command-line flag is invalid."""


class ParameterNameError(ConfigError, KeyError):
    """A search-space name does not match any parameter of the estimator."""

    def __str__(self) -> str:
        # KeyError would wrap the message in quotes.
        return str(self.args[0]) if self.args else ""


class UnknownPluginError(AutoTuneError, LookupError):
    """No plugin (strategy, reporter, acceptance policy) is registered by that name."""


class RunFolderError(AutoTuneError, OSError):
    """A run folder cannot be written or read back."""


class StrategyError(AutoTuneError, RuntimeError):
    """A step strategy proposed something outside the contract."""


class TrialError(AutoTuneError, RuntimeError):
    """An evaluation failed; carries the trial number and parameters."""

    def __init__(
        self,
        message: str,
        *,
        number: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.number = number
        self.params = dict(params) if params is not None else None


class TooManyFailuresError(AutoTuneError, RuntimeError):
    """The run stopped because too many trials in a row failed.

    ``result`` holds the run as it stood (its run folder records it too).
    """

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class AutoTuneWarning(UserWarning):
    """Base class of AutoTune's warnings."""


class ExperimentalWarning(AutoTuneWarning):
    """The feature is experimental: its interface may change without notice."""
