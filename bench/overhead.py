"""AutoTune's own overhead: engine cost per trial, executors, and concurrency.

Run from the repository root::

    python bench/overhead.py --profile quick
    python bench/overhead.py --profile full --repeats 7 --json overhead.json

Everything runs in this one process, in three parts:

engine
    Wall time per trial of ``tune()`` with a nearly free objective over a
    mixed space (log and linear floats, an integer, a categorical, layer
    widths): ``executor="inline"``, ``RandomStep``, concurrency 1, run folder
    on (and off, to show the event log's share), at 1,000 and 10,000
    trials; against Optuna's ``RandomSampler`` with in-memory storage and
    logging at WARNING, on the same objective and an equivalent space.
executors
    The warm cost per trial of the ``process`` and ``thread`` executors,
    from the difference between a short and a long run, and the fixed cost
    of a run (starting and stopping the workers) separately.
concurrency
    Wall time of ``concurrency=2`` against ``1`` on CPU-bound fits: the same
    fixed start points (a scaled MLP on scikit-learn's digits, cv=3), in
    worker processes at one native thread each.

Figures are medians over ``--repeats`` runs (for the engine's shorter runs,
``--repeats`` times as many as fit in the longest: 10 x for 1,000 trials
against 10,000), each taken as wall time of a whole ``tune()`` call (or
``study.optimize``) divided by its trial count.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

# A script's own folder comes first on sys.path, and bench/strategies.py would
# then hide the installed ``strategies`` package: drop this folder from it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import numpy as np

import autotune_core as at
from strategies import RandomStep

DESCRIPTION = "AutoTune's own overhead: engine cost per trial, executors, concurrency."
SEED = 0
TARGET_RATIO = 0.2  # AutoTune's cost per trial at most a fifth of Optuna's
TARGET_GROWTH = 1.5  # cost at 10,000 trials within 1.5x of that at 1,000
TARGET_SPEEDUP = 1.8  # concurrency=2 against 1 on CPU-bound fits
BUSY_CAPACITY = 1.8  # parallel capacity below this: other work competed for cores
CHOICES = ("relu", "tanh", "logistic")
DISTRIBUTIONS = (
    "autotune-core",
    "optuna",
    "numpy",
    "scikit-learn",
    "pydantic",
    "anyio",
    "cloudpickle",
)


@dataclass(frozen=True, slots=True)
class Profile:
    """How much work each part does."""

    repeats: int
    trial_counts: tuple[int, ...] = (1_000, 10_000)
    executor_short: int = 20
    executor_long: int = 2_000
    fit_trials: int = 32
    fit_epochs: int = 100


PROFILES = {
    "quick": Profile(repeats=3),
    "full": Profile(repeats=5, executor_long=5_000, fit_epochs=200),
}


@dataclass(slots=True)
class Summary:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float
    samples: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """Summarise ``samples``."""
        values = list(samples)
        return cls(statistics.median(values), min(values), max(values), values)

    def show(self, digits: int = 3) -> str:
        """``median (low-high)``."""
        return (
            f"{self.median:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"
        )


# -- the nearly free objective -------------------------------------------------


def cheap_score(
    x: float, lr: float, n: int, activation: str, layers: Sequence[int]
) -> float:
    """A smooth, cheap function of the five parameters, minimised near the middle."""
    return (
        (x - 1.0) ** 2
        + abs(math.log10(lr) + 3.0)
        + abs(n - 42) / 10
        + (0.0 if activation == "tanh" else 0.5)
        + abs(sum(layers) - 200) / 100
    )


def cheap_objective(params: dict[str, Any]) -> float:
    """AutoTune's form of :func:`cheap_score`."""
    return cheap_score(
        params["x"], params["lr"], params["n"], params["act"], params["layers"]
    )


def mixed_space() -> at.SearchSpace:
    """Five parameters, one of each kind the engine handles differently."""
    return at.SearchSpace(
        {
            "x": at.Float(low=-5.0, high=5.0),
            "lr": at.Float(low=1e-5, high=1e-1, log=True),
            "n": at.Int(low=1, high=100),
            "act": at.Categorical(choices=CHOICES),
            "layers": at.Layers(min_layers=1, max_layers=3, min_units=8, max_units=256),
        }
    )


def optuna_objective(trial: Any) -> float:
    """Optuna's form of :func:`cheap_score`; layers as a count and per-layer units."""
    n_layers = trial.suggest_int("n_layers", 1, 3)
    return cheap_score(
        trial.suggest_float("x", -5.0, 5.0),
        trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        trial.suggest_int("n", 1, 100),
        trial.suggest_categorical("act", CHOICES),
        [trial.suggest_int(f"units_{i}", 8, 256) for i in range(n_layers)],
    )


# -- timing ------------------------------------------------------------------------


def timed(run: Callable[[], object]) -> float:
    """Wall seconds of ``run()``, after a garbage collection."""
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def time_autotune(
    trials: int,
    *,
    folder: bool,
    log_sync: str = "trial",
    executor: str = "inline",
    concurrency: int = 1,
) -> float:
    """Wall seconds of one ``tune()`` of the cheap objective."""
    space = mixed_space()
    with tempfile.TemporaryDirectory(prefix="autotune-bench-") as tmp:
        run_dir: Path | Literal[False] = Path(tmp) / "run" if folder else False
        return timed(
            lambda: at.tune(
                cheap_objective,
                space,
                strategy=RandomStep(),
                run_dir=run_dir,
                max_trials=trials,
                seed=SEED,
                executor=executor,
                concurrency=concurrency,
                direction="minimize",
                log_sync=log_sync,
            )
        )


def time_optuna(trials: int) -> float:
    """Wall seconds of one in-memory Optuna study with ``RandomSampler``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def run() -> None:
        study = optuna.create_study(
            direction="minimize", sampler=optuna.samplers.RandomSampler(seed=SEED)
        )
        study.optimize(optuna_objective, n_trials=trials)

    return timed(run)


# -- part a: the engine against Optuna -----------------------------------------


ENGINE_RUNS: dict[str, Callable[[int], float]] = {
    "autotune": lambda n: time_autotune(n, folder=True),
    "autotune_batch_sync": lambda n: time_autotune(n, folder=True, log_sync="batch"),
    "autotune_no_folder": lambda n: time_autotune(n, folder=False),
    "optuna": time_optuna,
}


def bench_engine(profile: Profile) -> dict[str, Any]:
    """Milliseconds per trial for each engine and trial count, interleaved."""
    for run in ENGINE_RUNS.values():
        run(100)  # warm-up: imports, entry points, caches

    samples: dict[int, dict[str, list[float]]] = {
        n: {name: [] for name in ENGINE_RUNS} for n in profile.trial_counts
    }
    rounds = engine_rounds(profile)
    for round_ in range(max(rounds.values())):
        for n in profile.trial_counts:
            if round_ >= rounds[n]:
                continue
            for name, run in ENGINE_RUNS.items():
                samples[n][name].append(run(n) / n * 1e3)

    return {
        str(n): {**_engine_figures(by_name), "runs": rounds[n]}
        for n, by_name in samples.items()
    }


def engine_rounds(profile: Profile) -> dict[int, int]:
    """Runs per trial count: shorter runs more often, for as much time in each.

    A run of 1,000 trials takes about 40 ms, and a hiccup of the machine of
    a few milliseconds moves its figure by a tenth; repeating the shorter
    runs ``longest / n`` times as often (``--repeats`` times for the
    longest) gives each figure about the same measured time.
    """
    longest = max(profile.trial_counts)
    return {n: profile.repeats * max(1, longest // n) for n in profile.trial_counts}


def _engine_figures(by_name: dict[str, list[float]]) -> dict[str, Any]:
    figures: dict[str, Any] = {k: Summary.of(v) for k, v in by_name.items()}
    optuna, no_folder = figures["optuna"].median, figures["autotune_no_folder"].median
    for name, suffix in (("autotune", ""), ("autotune_batch_sync", "_batch_sync")):
        cost = figures[name].median
        figures[f"ratio_to_optuna{suffix}"] = cost / optuna
        figures[f"event_log_share{suffix}"] = 1 - no_folder / cost
    return figures


# -- part b: executors ------------------------------------------------------------


EXECUTORS = (("inline", 1), ("thread", 1), ("thread", 2), ("process", 2))


def bench_executors(profile: Profile) -> dict[str, Any]:
    """Warm ms per trial and fixed seconds per run, for each executor.

    The event log is synced in batches here, so that the figures show the
    executors rather than the disk.
    """
    short, long = profile.executor_short, profile.executor_long
    for executor, concurrency in EXECUTORS:
        _time_executor(short, executor, concurrency)

    warm: dict[str, list[float]] = {_label(*e): [] for e in EXECUTORS}
    fixed: dict[str, list[float]] = {_label(*e): [] for e in EXECUTORS}
    for _ in range(profile.repeats):
        for executor, concurrency in EXECUTORS:
            t_short = _time_executor(short, executor, concurrency)
            t_long = _time_executor(long, executor, concurrency)
            per_trial = (t_long - t_short) / (long - short)
            warm[_label(executor, concurrency)].append(per_trial * 1e3)
            fixed[_label(executor, concurrency)].append(t_short - short * per_trial)

    return {
        label: {"warm_ms": Summary.of(warm[label]), "fixed_s": Summary.of(fixed[label])}
        for label in warm
    }


def _time_executor(trials: int, executor: str, concurrency: int) -> float:
    return time_autotune(
        trials,
        folder=True,
        log_sync="batch",
        executor=executor,
        concurrency=concurrency,
    )


def _label(executor: str, concurrency: int) -> str:
    return f"{executor} x{concurrency}"


# -- part c: concurrency on CPU-bound fits ----------------------------------------


def fit_objective(epochs: int) -> at.SklearnObjective:
    """A scaled MLP on digits, trained for exactly ``epochs`` epochs per fold.

    A fixed epoch count (no early stop) keeps fit times alike across
    configurations, so that two workers share the work evenly.
    """
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    mlp = MLPClassifier(
        (64,), max_iter=epochs, n_iter_no_change=epochs, random_state=SEED
    )
    return at.SklearnObjective(make_pipeline(StandardScaler(), mlp), X, y, cv=3)


def fit_space() -> at.SearchSpace:
    """Regularisation, learning rate and activation of the MLP."""
    return at.SearchSpace(
        {
            "mlpclassifier__alpha": at.Float(low=1e-6, high=1e-1, log=True),
            "mlpclassifier__learning_rate_init": at.Float(
                low=1e-4, high=1e-1, log=True
            ),
            "mlpclassifier__activation": at.Categorical(choices=("relu", "tanh")),
        }
    )


def run_fits(
    objective: at.SklearnObjective, starts: list[dict[str, Any]], concurrency: int
) -> dict[str, float]:
    """Wall seconds of one run over ``starts``, and what its trials tell."""
    holder: list[at.TuneResult] = []
    with tempfile.TemporaryDirectory(prefix="autotune-bench-") as tmp:
        wall = timed(
            lambda: holder.append(
                at.tune(
                    objective,
                    fit_space(),
                    start=starts,
                    max_trials=len(starts),
                    seed=SEED,
                    executor="process",
                    concurrency=concurrency,
                    run_dir=Path(tmp) / "run",
                )
            )
        )
    trials = sorted(holder[0].trials, key=lambda t: t.number)
    return {"wall_s": wall, **_fit_figures(trials, concurrency)}


def _fit_figures(trials: Sequence[at.Trial], concurrency: int) -> dict[str, float]:
    """Worker start-up (first trials' extra duration) and mean time per fold."""
    durations = [t.duration for t in trials]
    steady = statistics.fmean(durations[concurrency:])
    startup = statistics.fmean(durations[:concurrency]) - steady
    fold = statistics.fmean((t.fit_time or 0.0) + (t.score_time or 0.0) for t in trials)
    failed = sum(not t.ok for t in trials)
    return {"startup_s": startup, "fold_s": fold, "failed": float(failed)}


def bench_concurrency(profile: Profile) -> dict[str, Any]:
    """Wall time of concurrency 1 and 2 on the same fits, and the speed-up."""
    objective = fit_objective(profile.fit_epochs)
    rng = np.random.default_rng(SEED)
    starts = [fit_space().sample(rng) for _ in range(profile.fit_trials)]

    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    capacity = []
    for _ in range(profile.repeats):
        capacity.append(parallel_capacity())
        for concurrency in runs:
            runs[concurrency].append(run_fits(objective, starts, concurrency))

    figures: dict[str, Any] = {
        f"c{c}_{key}": Summary.of([r[key] for r in results])
        for c, results in runs.items()
        for key in ("wall_s", "startup_s", "fold_s", "failed")
    }
    figures["speedup"] = figures["c1_wall_s"].median / figures["c2_wall_s"].median
    net = [_net(runs[1][i], runs[2][i]) for i in range(profile.repeats)]
    figures["speedup_net_of_startup"] = statistics.median(net)
    figures["parallel_capacity"] = Summary.of(capacity)
    return figures


def _net(one: dict[str, float], two: dict[str, float]) -> float:
    return (one["wall_s"] - one["startup_s"]) / (two["wall_s"] - two["startup_s"])


# -- machine -------------------------------------------------------------------------

_BUSY_LOOP = "s = 0\nfor i in range(4_000_000):\n    s += i\n"


def parallel_capacity() -> float:
    """Cores two busy processes get together: 2.0 on a quiet 2-core machine.

    Other work on the machine lowers it, and with it any speed-up from
    ``concurrency=2``; it is measured next to the concurrency figures. The
    best of three tries each, as single runs vary by 15 % even when idle.
    """
    solo, pair = [], []
    for _ in range(3):
        solo.append(timed(lambda: _busy(1)))
        pair.append(timed(lambda: _busy(2)))
    return 2 * min(solo) / min(pair)


def _busy(processes: int) -> None:
    command = [sys.executable, "-c", _BUSY_LOOP]
    running = [subprocess.Popen(command) for _ in range(processes)]
    for process in running:
        process.wait()


def machine() -> dict[str, Any]:
    """Cores, load, Python and the versions of the packages measured."""
    versions = {}
    for dist in DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"

    return {
        "cores": os.cpu_count(),
        "load_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


# -- report ---------------------------------------------------------------------------


def verdicts(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of the parts that ran, the figure measured, and whether it is met."""
    checks = _engine_checks(results["engine"]) if "engine" in results else {}
    if "concurrency" in results:
        speedup = results["concurrency"]["speedup"]
        checks["speedup_concurrency_2"] = (speedup, ">=", TARGET_SPEEDUP)

    return {
        name: {
            "value": value,
            "target": f"{op} {target}",
            "met": value <= target if op == "<=" else value >= target,
        }
        for name, (value, op, target) in checks.items()
    }


def _engine_checks(engine: dict[str, Any]) -> dict[str, tuple[float, str, float]]:
    first, last = sorted(engine, key=int)[0], sorted(engine, key=int)[-1]
    checks: dict[str, tuple[float, str, float]] = {}
    for name, suffix in (("autotune", ""), ("autotune_batch_sync", "_batch_sync")):
        for n in (first, last):
            ratio = engine[n][f"ratio_to_optuna{suffix}"]
            checks[f"ratio_to_optuna{suffix}_at_{n}"] = (ratio, "<=", TARGET_RATIO)
        growth = engine[last][name].median / engine[first][name].median
        checks[f"growth{suffix}_{first}_to_{last}"] = (growth, "<=", TARGET_GROWTH)
    return checks


def print_report(results: dict[str, Any], profile_name: str) -> None:
    """The figures as readable tables."""
    print(f"\nAutoTune overhead benchmark, profile {profile_name!r}")
    info = results["machine"]
    print(f"{info['cores']} cores, Python {info['python']}, {info['platform']}")
    load = f"{info['load_1min']:.2f} at start, {results['load_1min_end']:.2f} at end"
    print(f"load average (1 min): {load}")
    print(", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print("Figures: median (min-max) over the repeats.\n")
    for part, show in PRINTERS.items():
        if part in results:
            show(results[part])
    _print_verdicts(results["verdicts"])


ENGINE_ROWS = (
    ("autotune", "AutoTune, run folder on (log_sync='trial')"),
    ("autotune_batch_sync", "AutoTune, run folder on (log_sync='batch')"),
    ("autotune_no_folder", "AutoTune, run folder off"),
    ("optuna", "Optuna RandomSampler, in memory"),
)


def _print_engine(engine: dict[str, Any]) -> None:
    print("engine: inline, concurrency 1                   ms per trial")
    for n, figures in engine.items():
        print(f"  {int(n):,} trials ({figures['runs']} runs of each)")
        for key, label in ENGINE_ROWS:
            print(f"    {label:<44} {figures[key].show()}")
        for suffix, sync in (("", "trial"), ("_batch_sync", "batch")):
            ratio = figures[f"ratio_to_optuna{suffix}"]
            share = figures[f"event_log_share{suffix}"]
            print(
                f"    AutoTune / Optuna, log_sync={sync!r:<8}       {ratio:.3f}"
                f"   (event log {share:.0%} of AutoTune's cost)"
            )
    print()


def _print_executors(executors: dict[str, Any]) -> None:
    print("executors: run folder on, log_sync='batch'")
    print("                            warm ms per trial      fixed s per run")
    for label, figures in executors.items():
        warm, fixed = figures["warm_ms"].show(), figures["fixed_s"].show(2)
        print(f"  {label:<24}  {warm:<21}  {fixed}")
    print()


def _print_concurrency(figures: dict[str, Any]) -> None:
    print("concurrency on CPU-bound fits (process executor, 1 thread per worker)")
    for key, label in (
        ("wall_s", "wall s"),
        ("startup_s", "worker start-up s"),
        ("fold_s", "fit + score s per fold"),
    ):
        one, two = figures[f"c1_{key}"].show(2), figures[f"c2_{key}"].show(2)
        print(f"  {label:<24} c=1 {one:<20} c=2 {two}")
    print(f"  speed-up (wall)          {figures['speedup']:.2f}x")
    net = figures["speedup_net_of_startup"]
    print(f"  speed-up net of start-up {net:.2f}x")
    capacity = figures["parallel_capacity"]
    print(f"  parallel capacity        {capacity.show(2)} cores (2.00 when idle)")
    if capacity.median < BUSY_CAPACITY:
        print("  the machine was busy: two free cores would give more speed-up")
    print()


def _print_verdicts(checks: dict[str, dict[str, Any]]) -> None:
    print("targets")
    for name, check in checks.items():
        verdict = "met" if check["met"] else "NOT met"
        value, target = check["value"], check["target"]
        print(f"  {name:<38} {value:.3f} (target {target}) {verdict}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Summary):
        return asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# -- command line ---------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument(
        "--repeats", type=int, help="runs per figure (default: 3 quick, 5 full)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write figures here")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default: {','.join(PARTS)})",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats!r}")
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown or not args.parts:
        parser.error(f"--parts must name some of {', '.join(PARTS)}, got {unknown!r}")
    return args


PARTS: dict[str, Callable[[Profile], dict[str, Any]]] = {
    "engine": bench_engine,
    "executors": bench_executors,
    "concurrency": bench_concurrency,
}
PRINTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "engine": _print_engine,
    "executors": _print_executors,
    "concurrency": _print_concurrency,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three parts, print the tables, optionally write JSON."""
    args = parse_args(argv)
    profile = PROFILES[args.profile]
    if args.repeats is not None:
        profile = replace(profile, repeats=args.repeats)

    started = time.perf_counter()
    results: dict[str, Any] = {"profile": args.profile, "settings": asdict(profile)}
    results["machine"] = machine()
    for part in args.parts:
        results[part] = PARTS[part](profile)
    results["verdicts"] = verdicts(results)
    results["total_s"] = time.perf_counter() - started
    results["load_1min_end"] = os.getloadavg()[0]

    print_report(results, args.profile)
    print(f"\ntotal {results['total_s']:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(_jsonable(results), indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
