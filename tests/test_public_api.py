"""The public surface: sorted, importable ``__all__``; plugins found by name."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import autotune_core as at
import reporters
import strategies
from autotune_core import registry
from autotune_core.registry import load_plugin
from reporters import ConsoleReporter, JsonlReporter
from strategies import RandomStep

PACKAGES = [at, strategies, reporters]


def _public_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            if not info.name.rsplit(".", 1)[1].startswith("_"):
                names.append(info.name)

    return names


def _all_sort_key(name: str) -> tuple[int, str]:
    """Constants first, then classes, then everything else (ruff's RUF022 order)."""
    if name.isupper():
        return (0, name)

    return (1, name) if name[0].isupper() else (2, name)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_package_all_is_importable_and_sorted(package: ModuleType) -> None:
    missing = [name for name in package.__all__ if not hasattr(package, name)]

    assert missing == []
    assert list(package.__all__) == sorted(package.__all__, key=_all_sort_key)
    assert len(set(package.__all__)) == len(package.__all__)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_from_package_import_star_gives_exactly_all(package: ModuleType) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package.__name__} import *", namespace)

    assert set(namespace) - {"__builtins__"} == set(package.__all__)


def test_there_are_modules_to_check() -> None:
    names = _public_modules()

    assert "autotune_core.space" in names
    assert "strategies.random_step" in names
    assert "reporters.jsonl" in names


@pytest.mark.parametrize("module_name", _public_modules())
def test_every_public_module_declares_a_sorted_all(module_name: str) -> None:
    module = importlib.import_module(module_name)

    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
    assert list(module.__all__) == sorted(module.__all__, key=_all_sort_key)


@pytest.mark.parametrize(
    ("package", "module_name"),
    [
        pytest.param(strategies, "strategies.random_step", id="strategies"),
        pytest.param(reporters, "reporters.jsonl", id="reporters"),
    ],
)
def test_packages_re_export_their_modules_public_names(
    package: ModuleType, module_name: str
) -> None:
    module = importlib.import_module(module_name)

    assert set(module.__all__) <= set(package.__all__)


def test_package_ships_py_typed_marker() -> None:
    assert (Path(at.__file__).parent / "py.typed").is_file()


def test_version_matches_installed_distribution() -> None:
    from importlib.metadata import version

    assert at.__version__ == version("autotune-core")


# -- registry and entry points -------------------------------------------------


@pytest.mark.parametrize(
    ("group", "name", "cls"),
    [
        pytest.param("strategies", "random-step", RandomStep, id="random-step"),
        pytest.param("reporters", "console", ConsoleReporter, id="console"),
        pytest.param("reporters", "jsonl", JsonlReporter, id="jsonl"),
        pytest.param(
            "acceptance", "threshold", at.ImprovementThreshold, id="threshold"
        ),
    ],
)
def test_built_ins_are_found_through_entry_points(
    group: str, name: str, cls: type
) -> None:
    assert name in at.available(group)  # type: ignore[arg-type]
    assert load_plugin(group, name) is cls  # type: ignore[arg-type]
    assert cls.name == name  # type: ignore[attr-defined]


@pytest.mark.parametrize("group", ["strategies", "reporters", "acceptance"])
def test_every_available_plugin_loads(group: str) -> None:
    names = at.available(group)  # type: ignore[arg-type]

    assert names == sorted(names)
    for name in names:
        assert isinstance(load_plugin(group, name), type)  # type: ignore[arg-type]


def test_create_by_name_passes_options(tmp_path: Path) -> None:
    strategy = at.create_strategy("random-step", step_size=0.25)
    jsonl = at.create_reporter("jsonl", path=tmp_path / "events.jsonl")
    console = at.create_reporter("console", quiet=True)

    assert isinstance(strategy, RandomStep)
    assert strategy.options() == {"step_size": 0.25, "max_tries": 20}
    assert isinstance(jsonl, JsonlReporter)
    assert jsonl.path == tmp_path / "events.jsonl"
    assert isinstance(console, ConsoleReporter)


@pytest.mark.parametrize(
    ("create", "kind", "known"),
    [
        pytest.param(at.create_strategy, "strategy", ["random-step"], id="strategy"),
        pytest.param(
            at.create_reporter, "reporter", ["console", "jsonl"], id="reporter"
        ),
        pytest.param(
            at.create_acceptance, "acceptance policy", ["threshold"], id="acceptance"
        ),
    ],
)
def test_unknown_name_is_an_error_listing_known_names(
    create: Callable[[str], object], kind: str, known: list[str]
) -> None:
    with pytest.raises(
        at.UnknownPluginError, match=f"unknown {kind} 'no-such'; known: "
    ) as info:
        create("no-such")

    listed = str(info.value).split("known: ", 1)[1].split(", ")
    assert set(known) <= set(listed)
    assert listed == sorted(listed)


def test_unknown_plugin_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        at.create_strategy("rnadom-step")


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(at.ConfigError, match="strategy 'random-step'"):
        at.create_strategy("random-step", stepsize=0.2)


def test_register_makes_a_class_available_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Registrations last for the process: give this test its own table.
    monkeypatch.setitem(registry._EXTRA, "strategies", {})

    class Fixed(at.StepStrategy):
        name = "fixed-for-test"

        def propose(self, state: at.SearchState, rng: object) -> at.Candidate | None:
            return None

    at.register("strategies", "fixed-for-test", Fixed)

    assert "fixed-for-test" in at.available("strategies")
    assert isinstance(at.create_strategy("fixed-for-test"), Fixed)


def test_register_refuses_a_class_of_the_wrong_kind() -> None:
    with pytest.raises(TypeError, match="not a subclass of StepStrategy"):
        at.register("strategies", "not-a-strategy", JsonlReporter)


def test_unknown_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        at.available("samplers")  # type: ignore[arg-type]


def test_core_imports_no_built_in_plugin() -> None:
    code = (
        "import sys, autotune_core; "
        "print(sorted(m for m in ('strategies', 'reporters') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == "[]"


# -- errors --------------------------------------------------------------------


def test_every_exported_error_derives_from_autotune_error_and_a_builtin() -> None:
    errors = [
        obj
        for name in at.__all__
        if isinstance(obj := getattr(at, name), type)
        and issubclass(obj, Exception)
        and not issubclass(obj, Warning)
    ]

    assert at.AutoTuneError in errors
    for error in errors:
        if error is not at.AutoTuneError:
            builtin_bases = [b for b in error.__mro__ if b.__module__ == "builtins"]
            assert issubclass(error, at.AutoTuneError)
            assert set(builtin_bases) - {Exception, BaseException, object}, error


def test_experimental_warning_is_an_autotune_warning() -> None:
    assert issubclass(at.ExperimentalWarning, at.AutoTuneWarning)
    assert issubclass(at.AutoTuneWarning, UserWarning)
