"""Development sessions: ``nox -s tests``, ``slow``, ``lint``, ``typecheck``, ...

Sessions use the interpreter nox runs on (no pinned Python version) and
install what they need from ``pyproject.toml``: its extras for the project's
own sessions, and the ``dev`` extra's pins for the tools.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "docs"]
nox.options.reuse_venv = "yes"

PACKAGES = ("autotune_core", "strategies", "reporters")
PYPROJECT = Path(__file__).parent / "pyproject.toml"
NO_TESTS_COLLECTED = 5
_NAME = re.compile(r"[A-Za-z0-9._-]+")


def dev_requirements(*names: str) -> list[str]:
    """The ``dev`` extra's requirement strings for the tools ``names``."""
    extras = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"][
        "optional-dependencies"
    ]
    found = {}
    for requirement in extras["dev"]:
        match = _NAME.match(requirement)
        if match:
            found[match.group()] = requirement

    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"not in the dev extra of pyproject.toml: {missing!r}")

    return [found[name] for name in names]


@nox.session
def tests(session: nox.Session) -> None:
    """Fast tests: pytest with pyproject's options, which deselect ``slow``."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def slow(session: nox.Session) -> None:
    """Slow end-to-end tests only; none collected counts as success."""
    session.install("-e", ".[test]")
    session.run(
        "pytest", "-m", "slow", *session.posargs, success_codes=[0, NO_TESTS_COLLECTED]
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole repository."""
    session.install(*dev_requirements("ruff"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """``mypy --strict`` (configured in pyproject) on the three packages."""
    # The test extra brings Hypothesis, which autotune_core.testing builds on.
    session.install("-e", ".[test]", *dev_requirements("mypy", "pandas-stubs"))
    session.run("mypy", "--strict", *(f"--package={p}" for p in PACKAGES))


@nox.session
def bench(session: nox.Session) -> None:
    """The quick overhead benchmark (``bench/overhead.py --profile quick``)."""
    session.install("-e", ".[bench]")
    session.run("python", "bench/overhead.py", "--profile", "quick", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the MkDocs site with warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs)
