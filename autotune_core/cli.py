"""The ``autotune`` command: ``demo``, ``run CONFIG``, ``resume RUN_FOLDER`` and
``report RUN_FOLDER``.

The library never prints and never configures logging; this module does
both, for the command line only. User errors (an invalid config file or
flag, a missing file, an unknown plugin) are reported in one paragraph on
stderr with exit status 2; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from autotune_core import __version__
from autotune_core.config import ExecutorName
from autotune_core.events import Event, RunStarted, SpaceChanged, TrialFinished
from autotune_core.exceptions import (
    AutoTuneError,
    ConfigError,
    RunFolderError,
    TooManyFailuresError,
)
from autotune_core.experiment import Experiment, describe_validation_error
from autotune_core.registry import available, create_reporter
from autotune_core.reporter import Reporter, RunControl
from autotune_core.result import TuneResult
from autotune_core.run_folder import RunFolder, read_events

__all__ = ["DEMO", "REPORT_FORMATS", "build_parser", "main"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

USER_ERRORS: tuple[type[BaseException], ...] = (
    AutoTuneError,
    ValidationError,
    FileNotFoundError,
    PermissionError,
)
"""Errors caused by the user's input: reported without a traceback."""

DEMO: dict[str, Any] = {
    "estimator": {
        "steps": [
            {"name": "scale", "class": "sklearn.preprocessing.StandardScaler"},
            {
                "name": "mlp",
                "class": "sklearn.neural_network.MLPClassifier",
                # A short training budget keeps each fit around a second; the
                # ConvergenceWarning this causes is recorded with each trial.
                "params": {"max_iter": 60, "random_state": 0},
            },
        ]
    },
    "data": {"loader": "load_digits"},
    "objective": {"cv": 3, "scoring": "accuracy"},
    "space": {
        "mlp__hidden_layer_sizes": {
            "kind": "layers",
            "min_layers": 1,
            "max_layers": 2,
            "min_units": 8,
            "max_units": 128,
            "log": True,
            # A deliberately modest start, so that the search has room to improve.
            "start": [16],
        },
        "mlp__alpha": {"kind": "float", "low": 1e-6, "high": 1e-1, "log": True},
        "mlp__learning_rate_init": {
            "kind": "float",
            "low": 1e-4,
            "high": 1e-1,
            "log": True,
            "start": 1e-3,
        },
        "mlp__activation": {"kind": "categorical", "choices": ["relu", "tanh"]},
    },
    "strategy": {"name": "random-step", "options": {"step_size": 0.2}},
    "run": {"min_improvement": 0.001},
}
"""The experiment ``autotune demo`` runs: an MLP pipeline on the digits data."""

REPORT_FORMATS: dict[str, tuple[str, str]] = {
    "xlsx": ("excel", "report.xlsx"),
    "csv": ("csv", "history.csv"),
    "png": ("plots", "plots"),
}
"""``autotune report`` formats: the reporter (by registered name) that writes
each, and where its output goes in the run folder by default."""

_DEMO_TRIALS = 80
# The demo's safety net: no trial starts after this many seconds, so that the
# whole command ends within two minutes even on a slow or loaded machine.
_DEMO_MAX_TIME_S = 60.0


# -- argument parsing ----------------------------------------------------------


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``-v`` and ``--debug``, accepted before and after the subcommand."""
    # On subcommands the defaults are suppressed so that they do not undo
    # a flag given before the subcommand.
    default: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="log progress: -v for INFO, -vv for DEBUG (default: WARNING only)",
        **({"default": 0} if top else default),
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of errors",
        **default,
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=_non_negative_int, help="seed of the search's randomness"
    )
    parser.add_argument(
        "--concurrency", type=_positive_int, help="evaluations running at once"
    )
    parser.add_argument(
        "--executor",
        choices=get_args(ExecutorName),
        help="where evaluations run (default: process workers when concurrency > 1)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="folder for the run's record (default: a new one under ./autotune-runs)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no live progress, only the summary"
    )
    _add_reporter_option(parser)


def _add_reporter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reporter",
        action="append",
        default=[],
        dest="reporters",
        metavar="NAME",
        help=(
            "also report with the reporter registered as NAME, with its default "
            f"options ({', '.join(available('reporters'))}); the files of csv, "
            "excel and plots go in the run folder; repeatable"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``autotune`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="autotune",
        description="Hyper-parameter tuning by small randomized steps.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    _add_common(parser, top=True)
    commands = parser.add_subparsers(title="commands", dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="tune a small neural network on the bundled digits data"
    )
    demo.add_argument(
        "--trials",
        type=_positive_int,
        default=_DEMO_TRIALS,
        help=f"trials to run (default: {_DEMO_TRIALS})",
    )
    _add_run_options(demo)
    demo.set_defaults(concurrency=2, handler=_demo)
    _add_common(demo, top=False)

    run = commands.add_parser("run", help="run the experiment in a TOML or JSON file")
    run.add_argument("config", type=Path, help="the experiment file")
    run.add_argument("--max-trials", type=_positive_int, help="override run.max_trials")
    _add_run_options(run)
    run.set_defaults(handler=_run)
    _add_common(run, top=False)

    resume = commands.add_parser(
        "resume", help="go on with a stopped run (or extend a finished one)"
    )
    resume.add_argument("folder", type=Path, help="the run folder")
    resume.add_argument(
        "--max-trials", type=_positive_int, help="new total budget of trials"
    )
    resume.add_argument(
        "--max-time-s", type=float, help="wall-clock budget for this session"
    )
    resume.add_argument(
        "--concurrency", type=_positive_int, help="evaluations running at once"
    )
    resume.add_argument(
        "--executor", choices=get_args(ExecutorName), help="where evaluations run"
    )
    resume.add_argument(
        "--quiet", action="store_true", help="no live progress, only the summary"
    )
    _add_reporter_option(resume)
    resume.set_defaults(handler=_resume)
    _add_common(resume, top=False)
    _add_report(commands)
    return parser


def _add_report(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write an Excel workbook, a CSV file or plots from a run folder",
        description=(
            "Replay a run folder's event log into a reporter: the run may be "
            "finished, stopped or still going."
        ),
    )
    report.add_argument("folder", type=Path, help="the run folder")
    report.add_argument(
        "--format",
        choices=list(REPORT_FORMATS),
        default="xlsx",
        help="xlsx: Excel workbook (default); csv: one row per trial; png: plots",
    )
    report.add_argument(
        "--output",
        type=Path,
        help=(
            "file to write, or folder for png (default: report.xlsx, "
            "history.csv or plots/ in the run folder)"
        ),
    )
    report.set_defaults(handler=_report)
    _add_common(report, top=False)


# -- commands ------------------------------------------------------------------


def _demo(args: argparse.Namespace, out: Console, err: Console) -> int:
    experiment = Experiment.model_validate(DEMO)
    result = experiment.run(
        reporters=_cli_reporters(experiment, args, err),
        run_dir=args.run_dir,
        max_trials=args.trials,
        max_time_s=_DEMO_MAX_TIME_S,
        concurrency=args.concurrency,
        **_given(seed=args.seed, executor=args.executor),
    )
    return _summarise(result, out)


def _run(args: argparse.Namespace, out: Console, err: Console) -> int:
    experiment = Experiment.from_file(args.config)
    overrides = _given(
        max_trials=args.max_trials,
        seed=args.seed,
        concurrency=args.concurrency,
        executor=args.executor,
    )
    reporters = _cli_reporters(experiment, args, err)
    result = experiment.run(reporters=reporters, run_dir=args.run_dir, **overrides)
    return _summarise(result, out)


def _resume(args: argparse.Namespace, out: Console, err: Console) -> int:
    overrides = _given(
        max_trials=args.max_trials,
        max_time_s=args.max_time_s,
        concurrency=args.concurrency,
        executor=args.executor,
    )
    reporters = _cli_reporters(Experiment.from_run_folder(args.folder), args, err)
    result = Experiment.resume(args.folder, reporters=reporters, **overrides)
    return _summarise(result, out)


def _report(args: argparse.Namespace, out: Console, err: Console) -> int:
    folder = RunFolder.existing(args.folder)
    events = list(read_events(folder.events_path))
    if not any(isinstance(event, RunStarted) for event in events):
        raise RunFolderError(
            f"event log in {str(folder.path)!r} has no run_started event"
        )

    name, default = REPORT_FORMATS[args.format]
    output: Path = args.output if args.output is not None else folder.path / default
    _check_output(output, folder=args.format == "png", example=default)
    reporter = create_reporter(name, path=output, params=_parameter_names(events))
    _replay(events, reporter)
    written = sorted(p.name for p in output.glob("*.png")) if output.is_dir() else []
    files = f" ({', '.join(written)})" if written else ""
    out.print(f"wrote {escape(str(output))}{escape(files)}", soft_wrap=True)
    return EXIT_OK


def _check_output(output: Path, *, folder: bool, example: str) -> None:
    """A file where a folder is needed, or the other way round, is a user error."""
    if folder and output.exists() and not output.is_dir():
        raise ConfigError(
            f"--output {str(output)!r} is a file; png plots need a folder"
        )
    if not folder and output.is_dir():
        raise ConfigError(
            f"--output {str(output)!r} is a folder; give a file name such as "
            f"{str(output / example)!r}"
        )


def _parameter_names(events: Sequence[Event]) -> list[str]:
    """Every parameter of the run, in order of appearance: spaces, then trials."""
    names: dict[str, None] = {}
    for event in events:
        if isinstance(event, RunStarted | SpaceChanged):
            names.update(dict.fromkeys(event.space.get("params", {})))
        elif isinstance(event, TrialFinished):
            names.update(dict.fromkeys(event.trial.params))
    return list(names)


def _replay(events: Sequence[Event], reporter: Reporter) -> None:
    """Send ``events`` to ``reporter`` as a run would, then close it."""
    reporter.bind(RunControl())
    try:
        for event in events:
            reporter.handle(event)
    finally:
        reporter.close()
    logger.info("replayed %d events into %s", len(events), reporter.name)


def _given(**options: Any) -> dict[str, Any]:
    """The options that were given on the command line."""
    return {name: value for name, value in options.items() if value is not None}


def _cli_reporters(
    experiment: Experiment, args: argparse.Namespace, err: Console
) -> list[Reporter]:
    """The console reporter, unless the experiment lists its own, and those
    added with ``--reporter`` (each name once; the console is already there)."""
    has_console = any(spec.name == "console" for spec in experiment.reporters)
    reporters = [] if has_console else [_console_reporter(args, err)]
    for name in dict.fromkeys(args.reporters):
        if name != "console":
            reporters.append(create_reporter(name))

    return reporters


def _console_reporter(args: argparse.Namespace, err: Console) -> Reporter:
    return create_reporter("console", quiet=args.quiet, console=err)


def _summarise(result: TuneResult, out: Console) -> int:
    """Print the best configuration and where the run's record is."""
    if result.best_trial is None:
        out.print(f"[bold red]No trial produced a score[/] ({len(result.trials)} run).")
        _print_run_dir(result, out)
        return EXIT_FAILED

    table = Table(title="Best configuration", show_header=False)
    table.add_row("score", f"{result.best_score:.6g}")
    table.add_row("trial", str(result.best_trial.number))
    for name, value in result.best_params.items():
        table.add_row(escape(name), escape(repr(value)))
    out.print(table)
    out.print(
        f"seed {result.config.seed}: repeat the search with --seed {result.config.seed}"
    )
    _print_run_dir(result, out)
    # A run stopped by Ctrl-C or SIGTERM still reports what it found.
    return EXIT_INTERRUPTED if result.stop_reason.startswith("interrupted") else EXIT_OK


def _print_run_dir(result: TuneResult, out: Console) -> None:
    if result.run_dir is None:
        return
    out.print(f"run folder: {escape(str(result.run_dir))}", soft_wrap=True)
    if result.stop_reason.startswith("interrupted"):
        command = f"autotune resume {shlex.quote(str(result.run_dir))}"
        out.print(f"to go on: {escape(command)}", soft_wrap=True)


# -- main ----------------------------------------------------------------------


@contextmanager
def _logging(verbosity: int, console: Console) -> Iterator[None]:
    """Send log records to stderr for the duration of one command."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = RichHandler(console=console, show_path=False, show_time=False)
    handler.setLevel(level)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    # Lower the root level if needed, never raise it: other handlers keep theirs.
    root.setLevel(min(level, previous))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return f"invalid {exc.title}: {describe_validation_error(exc)}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {str(exc.filename)!r}"
    return str(exc)


def _report_user_error(exc: BaseException, err: Console, *, debug: bool) -> int:
    if debug:
        err.print(escape(traceback.format_exc()), end="", highlight=False)
    err.print(
        f"[bold red]autotune: error:[/] {escape(_describe(exc))}",
        soft_wrap=True,
        highlight=False,
    )
    return EXIT_USAGE


def _report_failures(exc: TooManyFailuresError, out: Console, err: Console) -> int:
    err.print(
        f"[bold red]autotune: run stopped:[/] {escape(str(exc))}",
        soft_wrap=True,
        highlight=False,
    )
    if isinstance(exc.result, TuneResult):
        _print_run_dir(exc.result, out)
    return EXIT_FAILED


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return EXIT_OK
    return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``autotune`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns the exit status: 0 on success, 1 when no trial produced a score
    or too many failed in a row, 2 for a user error, 130 when interrupted.

    Examples
    --------
    >>> main(["--version"])  # doctest: +SKIP
    autotune 0.1.0
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return _exit_code(exc)

    out, err = Console(), Console(stderr=True)
    handler: Callable[[argparse.Namespace, Console, Console], int] = args.handler
    with _logging(args.verbose, err):
        try:
            return handler(args, out, err)
        except TooManyFailuresError as exc:
            return _report_failures(exc, out, err)
        except USER_ERRORS as exc:
            return _report_user_error(exc, err, debug=args.debug)
        except KeyboardInterrupt:
            err.print("[bold red]autotune: interrupted[/]")
            return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
