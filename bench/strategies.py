"""AutoTune's step strategies against Optuna TPE, Optuna random and FLAML's CFO.

Run from the repository root::

    python bench/strategies.py --profile quick --plots docs/img
    python bench/strategies.py --profile full --json strategies.json

(Every script in ``bench/`` drops its own folder from ``sys.path`` before
importing the project, so that this file does not hide the ``strategies``
package.)

What is compared
    Every method gets the same budget of evaluations, starts by evaluating
    the same point (the space's default), and on the scikit-learn tasks is
    scored on the same cross-validation folds: one
    :class:`~autotune_core.SklearnObjective` per task, its folds drawn once
    by a seeded splitter. Each (task, method, seed) run is one job; jobs run
    in ``--workers`` processes with native threads pinned to one each.
    AutoTune runs on the ``inline`` executor with no run folder, Optuna in
    memory with logging at WARNING, CFO through its ask/tell interface.

Tasks
    Synthetic (cheap; minimised; a new instance per seed): a rotated,
    shifted ellipsoid with condition number 1e3 over six floats (two on log
    scales), an integer and a categorical; a shifted Rastrigin function
    over five floats with an integer and a boolean; a shifted Rosenbrock
    valley over four floats with a log-scale float and a categorical. Each
    has its minimum, 0, away from the default start.
    scikit-learn (maximised, 5 folds): ``HistGradientBoostingRegressor`` on
    diabetes (r2), a scaled ``SVC`` on breast cancer (accuracy) and, in the
    full profile, on digits.

Methods
    Every strategy registered at run time (``at.available("strategies")``)
    with the default acceptance; on the scikit-learn tasks also
    ``random-step`` with its direction bias on (``bias=True``); on the
    scikit-learn tasks also ``random-step`` with racing (``Racing()``: 2
    folds at least, 95 % confidence), and with racing and
    ``time-penalized`` acceptance (``tolerance=0.002, time_weight=0.01``)
    when that policy is registered, both without and with the bias;
    Optuna's ``TPESampler`` and
    ``RandomSampler`` (defaults, seeded); FLAML's ``CFO`` (seeded).

Measures, per task
    The median best score at 25, 50 and 100 % of the budget (for AutoTune,
    the incumbent's score, which is what a run returns); win/tie/loss of each
    AutoTune method against each peer by a two-sided Wilcoxon signed-rank
    test of the final best scores paired by seed (a win or loss needs
    p < 0.05); the wall time to reach the task's target, defined as the
    median over every run of every method of the best score at half the
    budget, compared with TPE seed by seed (sign test). For racing, how
    often it stops an evaluation, the share of folds it saves, and, replayed
    on the histories of plain ``random-step`` runs, how often it would have
    stopped a candidate that was in fact accepted.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

# A script's own folder comes first on sys.path, and bench/strategies.py would
# then hide the installed ``strategies`` package: drop this folder from it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import numpy as np

import autotune_core as at

DESCRIPTION = "Step strategies against Optuna TPE, Optuna random and FLAML CFO."
ALPHA = 0.05  # significance level of every paired test
CLEARLY_FASTER = 0.75  # "clearly less wall time": at most this ratio of TPE's
FRACTIONS = (0.25, 0.5, 1.0)
# Time-aware acceptance, set before any run: of two models within 0.002 of
# each other keep the one that fits at least 10 % faster, and charge 0.01
# score units per second of extra fit time (per fold).
TIME_PENALIZED = (("tolerance", 0.002), ("time_weight", 0.01))
DEFAULT_STRATEGY = "random-step"
BIASED = "random-step(bias)"  # the default strategy with its direction bias on
# Racing with time-aware acceptance, on the default strategy and on the biased one.
TIME_AWARE = (
    "random-step+racing+time-penalized",
    "random-step(bias)+racing+time-penalized",
)
# Each racing method, and the method without racing its runs are compared with.
RACED = {
    "random-step+racing": DEFAULT_STRATEGY,
    TIME_AWARE[0]: DEFAULT_STRATEGY,
    TIME_AWARE[1]: BIASED,
}
PEERS = ("optuna-random", "optuna-tpe", "flaml-cfo")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DISTRIBUTIONS = ("autotune-core", "optuna", "flaml", "scikit-learn", "numpy", "scipy")

Kind = Literal["synthetic", "sklearn"]
Direction = Literal["maximize", "minimize"]


# -- profiles ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """How many seeds and evaluations each kind of task gets."""

    synthetic_seeds: int
    synthetic_budget: int
    sklearn_seeds: int
    sklearn_budget: int
    tasks: tuple[str, ...]


SYNTHETIC_TASKS = ("ellipsoid", "rastrigin", "rosenbrock")
# 30 seeds on the scikit-learn tasks, not 20: wall time to target varies a lot
# from seed to seed (and with the machine's load), and with 20 seeds the sign
# test against TPE came out on either side of p = 0.05 from one run to the next.
PROFILES = {
    "quick": Profile(20, 100, 30, 30, (*SYNTHETIC_TASKS, "svc-cancer", "hgb-diabetes")),
    "full": Profile(
        30,
        250,
        40,
        50,
        (*SYNTHETIC_TASKS, "svc-cancer", "hgb-diabetes", "svc-digits"),
    ),
}


# -- synthetic tasks -----------------------------------------------------------------


def _unit(value: float, low: float, high: float, log: bool = False) -> float:
    """Position of ``value`` in ``[low, high]`` as a number in [0, 1]."""
    if log:
        value, low, high = math.log10(value), math.log10(low), math.log10(high)
    return (value - low) / (high - low)


class Ellipsoid:
    """Rotated, shifted ellipsoid (condition 1e3) plus integer and categorical terms.

    Parameters
    ----------
    seed
        Draws the shift, the rotation, the integer's optimum and the best
        choice; the minimum is 0.
    """

    LINEAR = ("x0", "x1", "x2", "x3")
    LOG = ("c0", "c1")
    CHOICES = ("a", "b", "c", "d")

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([1, seed])
        dims = len(self.LINEAR) + len(self.LOG)
        self.shift = rng.uniform(0.15, 0.85, dims)
        self.rotation, _ = np.linalg.qr(rng.standard_normal((dims, dims)))
        self.weights = 10.0 ** np.linspace(0.0, 3.0, dims)
        self.n_best = int(rng.integers(3, 28))
        self.offsets = dict(
            zip(self.CHOICES, rng.permutation([0.0, 1.0, 2.0, 4.0]), strict=True)
        )

    @staticmethod
    def space() -> at.SearchSpace:
        """Four linear floats, two log-scale floats, an integer, a categorical."""
        params: dict[str, Any] = {
            n: at.Float(low=-5.0, high=5.0) for n in Ellipsoid.LINEAR
        }
        params |= {n: at.Float(low=1e-4, high=10.0, log=True) for n in Ellipsoid.LOG}
        params["n"] = at.Int(low=1, high=30)
        params["kind"] = at.Categorical(choices=Ellipsoid.CHOICES)
        return at.SearchSpace(params)

    def __call__(self, params: dict[str, Any]) -> float:
        units = [_unit(params[n], -5.0, 5.0) for n in self.LINEAR]
        units += [_unit(params[n], 1e-4, 10.0, log=True) for n in self.LOG]
        z = self.rotation @ (np.asarray(units) - self.shift)
        continuous = 100.0 * float(np.sum(self.weights * z**2))
        integer = 100.0 * ((int(params["n"]) - self.n_best) / 29.0) ** 2
        return continuous + integer + float(self.offsets[params["kind"]])


class Rastrigin:
    """Shifted Rastrigin function plus a quadratic integer and a boolean penalty.

    Parameters
    ----------
    seed
        Draws the shift, the integer's optimum and the right boolean; the
        minimum is 0.
    """

    DIMS = 5
    BOUND = 5.12

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([2, seed])
        self.shift = rng.uniform(-2.5, 2.5, self.DIMS)
        self.m_best = int(rng.integers(-7, 8))
        self.flag_best = bool(rng.integers(0, 2))

    @staticmethod
    def space() -> at.SearchSpace:
        """Five floats, an integer and a boolean."""
        bound = Rastrigin.BOUND
        params: dict[str, Any] = {
            f"x{i}": at.Float(low=-bound, high=bound) for i in range(Rastrigin.DIMS)
        }
        params["m"] = at.Int(low=-10, high=10)
        params["flag"] = at.Bool()
        return at.SearchSpace(params)

    def __call__(self, params: dict[str, Any]) -> float:
        x = np.asarray([params[f"x{i}"] for i in range(self.DIMS)])
        z = x - self.shift
        value = float(np.sum(z**2 - 10.0 * np.cos(2.0 * math.pi * z) + 10.0))
        value += float((int(params["m"]) - self.m_best) ** 2)
        return value + (0.0 if params["flag"] is self.flag_best else 5.0)


class Rosenbrock:
    """Shifted Rosenbrock valley plus a log-scale float and a categorical.

    Parameters
    ----------
    seed
        Draws the shift, the log-scale optimum and the best choice; the
        minimum is 0.
    """

    DIMS = 4
    CHOICES = ("sgd", "adam", "lbfgs")

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([3, seed])
        self.shift = rng.uniform(-1.0, 1.0, self.DIMS)
        self.log_c_best = float(rng.uniform(-2.0, 2.0))
        self.offsets = dict(
            zip(self.CHOICES, rng.permutation([0.0, 0.5, 3.0]), strict=True)
        )

    @staticmethod
    def space() -> at.SearchSpace:
        """Four floats, a log-scale float and a categorical."""
        params: dict[str, Any] = {
            f"x{i}": at.Float(low=-2.0, high=2.0) for i in range(Rosenbrock.DIMS)
        }
        params["c"] = at.Float(low=1e-3, high=1e3, log=True)
        params["solver"] = at.Categorical(choices=Rosenbrock.CHOICES)
        return at.SearchSpace(params)

    def __call__(self, params: dict[str, Any]) -> float:
        x = np.asarray([params[f"x{i}"] for i in range(self.DIMS)])
        y = x - self.shift + 1.0
        valley = 100.0 * (y[1:] - y[:-1] ** 2) ** 2 + (1.0 - y[:-1]) ** 2
        value = float(np.sum(valley)) + (math.log10(params["c"]) - self.log_c_best) ** 2
        return value + float(self.offsets[params["solver"]])


SYNTHETIC: dict[str, type[Ellipsoid] | type[Rastrigin] | type[Rosenbrock]] = {
    "ellipsoid": Ellipsoid,
    "rastrigin": Rastrigin,
    "rosenbrock": Rosenbrock,
}


# -- scikit-learn tasks --------------------------------------------------------------


def hgb_space() -> at.SearchSpace:
    """Five parameters of a gradient-boosting regressor; fits stay under 2 s."""
    return at.SearchSpace(
        {
            "learning_rate": at.Float(low=0.01, high=0.5, log=True),
            "max_iter": at.Int(low=10, high=200, log=True),
            "max_leaf_nodes": at.Int(low=4, high=64, log=True),
            "min_samples_leaf": at.Int(low=5, high=80, log=True),
            "l2_regularization": at.Float(low=1e-6, high=10.0, log=True),
        }
    )


def svc_space() -> at.SearchSpace:
    """Scaled SVC: C, gamma, kernel and class weights."""
    return at.SearchSpace(
        {
            "svc__C": at.Float(low=1e-3, high=1e3, log=True),
            "svc__gamma": at.Float(low=1e-5, high=10.0, log=True),
            "svc__kernel": at.Categorical(choices=("rbf", "sigmoid")),
            "svc__class_weight": at.Categorical(choices=(None, "balanced")),
        }
    )


@cache
def sklearn_objective(name: str, racing: bool) -> at.SklearnObjective:
    """The task's objective, built once per worker; folds fixed by a seeded splitter."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if name == "hgb-diabetes":
        X, y = load_diabetes(return_X_y=True)
        model = HistGradientBoostingRegressor(random_state=0, early_stopping=False)
        cv: Any = KFold(5, shuffle=True, random_state=0)
    else:
        loader = load_breast_cancer if name == "svc-cancer" else load_digits
        X, y = loader(return_X_y=True)
        model = make_pipeline(StandardScaler(), SVC())
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
    return at.SklearnObjective(model, X, y, cv=cv, racing=racing)


SKLEARN: dict[str, Callable[[], at.SearchSpace]] = {
    "svc-cancer": svc_space,
    "hgb-diabetes": hgb_space,
    "svc-digits": svc_space,
}


def task_kind(task: str) -> Kind:
    """Whether ``task`` is synthetic or a scikit-learn model."""
    return "synthetic" if task in SYNTHETIC else "sklearn"


def task_direction(task: str) -> Direction:
    """Synthetic functions are minimised, scikit-learn scores maximised."""
    return "minimize" if task in SYNTHETIC else "maximize"


def task_space(task: str) -> at.SearchSpace:
    """The search space of ``task`` (the same for every seed)."""
    return SYNTHETIC[task].space() if task in SYNTHETIC else SKLEARN[task]()


# -- methods -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Method:
    """One contender: an AutoTune configuration or a peer."""

    name: str
    engine: Literal["autotune", "optuna-tpe", "optuna-random", "flaml-cfo"]
    strategy: str = DEFAULT_STRATEGY
    strategy_options: tuple[tuple[str, Any], ...] = ()
    racing: bool = False
    acceptance: str | None = None
    acceptance_options: tuple[tuple[str, float], ...] = ()
    sklearn_only: bool = False


def methods() -> list[Method]:
    """Every registered strategy, the racing variants, and the three peers."""
    found = [Method(name, "autotune", strategy=name) for name in strategy_names()]
    found.append(Method(BIASED, "autotune", strategy_options=(("bias", True),)))
    found.append(
        Method("random-step+racing", "autotune", racing=True, sklearn_only=True)
    )
    if "time-penalized" in at.available("acceptance"):
        found += [
            Method(
                name,
                "autotune",
                strategy_options=options,
                racing=True,
                acceptance="time-penalized",
                acceptance_options=TIME_PENALIZED,
                sklearn_only=True,
            )
            for name, options in (
                (TIME_AWARE[0], ()),
                (TIME_AWARE[1], (("bias", True),)),
            )
        ]
    found += [
        Method("optuna-tpe", "optuna-tpe"),
        Method("optuna-random", "optuna-random"),
        Method("flaml-cfo", "flaml-cfo"),
    ]
    return found


def acceptance(method: Method) -> at.AcceptancePolicy | None:
    """The method's acceptance policy; ``None`` for the default."""
    if method.acceptance is None:
        return None
    return at.create_acceptance(method.acceptance, **dict(method.acceptance_options))


def strategy_names() -> list[str]:
    """Registered strategies, the default first."""
    names = at.available("strategies")
    return sorted(names, key=lambda n: (n != DEFAULT_STRATEGY, n))


# -- one run -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """One run: a method on a task with a seed and a budget."""

    task: str
    method: Method
    seed: int
    budget: int


@dataclass(slots=True)
class Trace:
    """What one run did, evaluation by evaluation.

    ``best[i]`` is the best score the method would return after evaluation
    ``i`` (for AutoTune the incumbent's); ``times[i]`` the wall seconds
    from the start of the run to the end of evaluation ``i``.
    """

    task: str
    method: str
    seed: int
    scores: list[float | None] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    accepted: list[bool] = field(default_factory=list)
    folds: list[list[float]] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0
    error: str | None = None

    def add(self, score: float | None, best: float, elapsed: float) -> None:
        """Record one evaluation."""
        self.scores.append(score)
        self.best.append(best)
        self.times.append(elapsed)


def make_objective(task: str, seed: int, *, racing: bool = False) -> Any:
    """The callable every method evaluates for ``task`` and ``seed``."""
    if task in SYNTHETIC:
        return SYNTHETIC[task](seed)
    return sklearn_objective(task, racing)


def score_of(value: Any) -> float:
    """A float score from a float or an Evaluation."""
    return float(value.score) if isinstance(value, at.Evaluation) else float(value)


def run_job(job: Job) -> Trace:
    """Run one job in this (worker) process; errors are recorded, not raised."""
    trace = Trace(job.task, job.method.name, job.seed)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        RUNNERS[job.method.engine](job, trace)
    except Exception as exc:
        trace.error = f"{type(exc).__name__}: {exc}"
    trace.wall = time.perf_counter() - started
    trace.cpu = time.process_time() - cpu
    return trace


def run_autotune(job: Job, trace: Trace) -> None:
    """``at.tune`` with the method's strategy, racing and acceptance."""
    method = job.method
    objective = make_objective(job.task, job.seed, racing=method.racing)
    started = time.time()
    result = at.tune(
        objective,
        task_space(job.task),
        strategy=at.create_strategy(method.strategy, **dict(method.strategy_options)),
        acceptance=acceptance(method),
        max_trials=job.budget,
        seed=job.seed,
        direction=task_direction(job.task),
        executor="inline",
        run_dir=False,
        handle_signals=False,
    )
    incumbent = math.nan
    for trial in result.trials:
        if trial.status is at.TrialStatus.CACHED:
            continue  # answered from an earlier trial: not an evaluation
        if trial.accepted and trial.score is not None:
            incumbent = trial.score
        score = trial.score if trial.status is at.TrialStatus.OK else None
        trace.add(score, incumbent, trial.finished_at - started)
        trace.statuses.append(trial.status.value)
        trace.accepted.append(trial.accepted)
        trace.folds.append(list(trial.fold_scores))


def run_optuna(job: Job, trace: Trace) -> None:
    """An in-memory Optuna study with TPE or random sampling, seeded."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = task_space(job.task)
    objective = make_objective(job.task, job.seed)
    sign = _sign(job.task)
    started = time.perf_counter()
    best = -math.inf

    def evaluate(trial: optuna.Trial) -> float:
        nonlocal best
        score = score_of(objective(optuna_params(trial, space)))
        best = max(best, sign * score)
        trace.add(score, sign * best, time.perf_counter() - started)
        return score

    sampler: optuna.samplers.BaseSampler = (
        optuna.samplers.TPESampler(seed=job.seed)
        if job.method.engine == "optuna-tpe"
        else optuna.samplers.RandomSampler(seed=job.seed)
    )
    study = optuna.create_study(direction=task_direction(job.task), sampler=sampler)
    study.enqueue_trial(space.default_point())
    study.optimize(evaluate, n_trials=job.budget)


def optuna_params(trial: Any, space: at.SearchSpace) -> dict[str, Any]:
    """Draw every parameter of ``space`` from an Optuna trial."""
    params: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, at.Float):
            params[name] = trial.suggest_float(
                name, param.low, param.high, log=param.log
            )
        elif isinstance(param, at.Int):
            params[name] = trial.suggest_int(name, param.low, param.high, log=param.log)
        elif isinstance(param, at.Categorical):
            params[name] = trial.suggest_categorical(name, list(param.choices))
        elif isinstance(param, at.Bool):
            params[name] = trial.suggest_categorical(name, [False, True])
        else:
            raise TypeError(f"no Optuna form for {name}: {param!r}")
    return params


def run_cfo(job: Job, trace: Trace) -> None:
    """FLAML's CFO through ask/tell, seeded, starting from the default point."""
    from flaml.tune.searcher.blendsearch import CFO

    logging.getLogger("flaml").setLevel(logging.WARNING)
    space = task_space(job.task)
    objective = make_objective(job.task, job.seed)
    sign = _sign(job.task)
    searcher = CFO(
        space=flaml_space(space),
        metric="score",
        mode="max" if sign > 0 else "min",
        points_to_evaluate=[space.default_point()],
        seed=job.seed,
    )
    started = time.perf_counter()
    best, asked, idle = -math.inf, 0, 0
    while len(trace.scores) < job.budget and idle < 1_000:
        config = searcher.suggest(str(asked))
        asked += 1
        if config is None:
            idle += 1  # CFO restarting or converged: ask again
            continue
        params = from_flaml(config, space)
        began = time.perf_counter()
        score = score_of(objective(params))
        best = max(best, sign * score)
        trace.add(score, sign * best, time.perf_counter() - started)
        result = {
            "score": score,
            "config": config,
            "time_total_s": time.perf_counter() - began,
        }
        searcher.on_trial_complete(str(asked - 1), result)


def flaml_space(space: at.SearchSpace) -> dict[str, Any]:
    """``space`` in FLAML's terms (its integer upper bounds are exclusive)."""
    import flaml.tune.sample as tune

    domains: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, at.Float):
            sample = tune.loguniform if param.log else tune.uniform
            domains[name] = sample(param.low, param.high)
        elif isinstance(param, at.Int):
            draw = tune.lograndint if param.log else tune.randint
            domains[name] = draw(param.low, param.high + 1)
        elif isinstance(param, at.Categorical):
            domains[name] = tune.choice(list(param.choices))
        elif isinstance(param, at.Bool):
            domains[name] = tune.choice([False, True])
        else:
            raise TypeError(f"no FLAML form for {name}: {param!r}")
    return domains


def from_flaml(config: dict[str, Any], space: at.SearchSpace) -> dict[str, Any]:
    """Plain Python values (FLAML hands out numpy scalars)."""
    params: dict[str, Any] = {}
    for name, param in space.items():
        value = config[name]
        if isinstance(param, at.Float):
            value = float(value)
        elif isinstance(param, at.Int):
            value = int(value)
        params[name] = value
    return params


RUNNERS: dict[str, Callable[[Job, Trace], None]] = {
    "autotune": run_autotune,
    "optuna-tpe": run_optuna,
    "optuna-random": run_optuna,
    "flaml-cfo": run_cfo,
}


def _sign(task: str) -> float:
    """+1 where higher scores are better, -1 where lower are."""
    return 1.0 if task_direction(task) == "maximize" else -1.0


# -- running every job ---------------------------------------------------------------


def pin_threads() -> None:
    """One native thread per process: workers must not oversubscribe the cores."""
    for var in THREAD_ENV:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    warnings.filterwarnings("ignore", message="flaml.automl is not available")
    logging.getLogger("flaml").setLevel(logging.WARNING)


def init_worker(tasks: Sequence[str]) -> None:
    """Pin threads, then pay every import and first fit before any run is timed."""
    pin_threads()
    import flaml.tune.searcher.blendsearch  # noqa: F401
    import optuna  # noqa: F401

    for task in tasks:
        if task in SKLEARN:
            sklearn_objective(task, racing=True)
            sklearn_objective(task, racing=False)(task_space(task).default_point())


def plan_jobs(profile: Profile, seeds: int | None) -> list[Job]:
    """Every (task, method, seed) run; expensive tasks first for load balance."""
    jobs = []
    for task in sorted(profile.tasks, key=lambda t: task_kind(t) == "synthetic"):
        synthetic = task_kind(task) == "synthetic"
        n_seeds = seeds or (
            profile.synthetic_seeds if synthetic else profile.sklearn_seeds
        )
        budget = profile.synthetic_budget if synthetic else profile.sklearn_budget
        for seed in range(n_seeds):
            for method in methods():
                if not (synthetic and method.sklearn_only):
                    jobs.append(Job(task, method, seed, budget))
    return jobs


def run_all(jobs: Sequence[Job], workers: int) -> list[Trace]:
    """Run ``jobs`` in ``workers`` processes; report progress on stderr."""
    pin_threads()
    traces: list[Trace] = []
    tasks = sorted({job.task for job in jobs})
    with ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=init_worker,
        initargs=(tasks,),
    ) as pool:
        futures = [pool.submit(run_job, job) for job in jobs]
        for done, future in enumerate(as_completed(futures), 1):
            traces.append(future.result())
            if done % 25 == 0 or done == len(futures):
                print(f"  {done}/{len(futures)} runs", file=sys.stderr, flush=True)
    return sorted(traces, key=lambda t: (t.task, t.method, t.seed))


# -- analysis ------------------------------------------------------------------------


@dataclass(slots=True)
class Versus:
    """An AutoTune method against a peer on one task, paired by seed."""

    verdict: Literal["W", "T", "L"]
    p_value: float
    better: int
    equal: int
    worse: int

    def show(self) -> str:
        """``W 14/3/3 p=0.012``: verdict, seeds better/equal/worse, p-value."""
        counts = f"{self.better}/{self.equal}/{self.worse}"
        return f"{self.verdict} {counts} p={self.p_value:.2g}"


@dataclass(slots=True)
class Timing:
    """Wall time to reach the task's target, over seeds."""

    median_s: float
    reached: int
    runs: int
    times: list[float]


@dataclass(slots=True)
class TaskSummary:
    """Everything reported for one task."""

    task: str
    direction: str
    budget: int
    seeds: int
    target: float
    best_at: dict[str, dict[str, float]]
    versus: dict[str, dict[str, Versus]]
    timing: dict[str, Timing]
    faster_than_tpe: dict[str, Versus]
    racing: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def best_at(trace: Trace, fraction: float, budget: int) -> float:
    """Best score after ``fraction`` of the budget (the last if the run stopped)."""
    if not trace.best:
        return math.nan
    index = min(math.ceil(fraction * budget), len(trace.best)) - 1
    return trace.best[index]


def time_to(trace: Trace, target: float, sign: float) -> float:
    """Wall seconds until the best score reached ``target``; inf if never."""
    for best, elapsed in zip(trace.best, trace.times, strict=True):
        if not math.isnan(best) and sign * (best - target) >= 0:
            return elapsed
    return math.inf


def paired(ours: Sequence[float], theirs: Sequence[float]) -> Versus:
    """Two-sided Wilcoxon signed-rank test of ``ours - theirs`` (higher is better)."""
    from scipy.stats import wilcoxon

    diffs = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    diffs = np.where(np.abs(diffs) <= 1e-12 * (1 + np.abs(theirs)), 0.0, diffs)
    better, worse = int(np.sum(diffs > 0)), int(np.sum(diffs < 0))
    equal = len(diffs) - better - worse
    if better + worse == 0:
        return Versus("T", 1.0, better, equal, worse)
    p_value = float(wilcoxon(diffs, zero_method="zsplit").pvalue)
    lead = float(np.median(diffs)) or float(np.mean(diffs))
    verdict: Literal["W", "T", "L"] = "T"
    if p_value < ALPHA:
        verdict = "W" if lead > 0 else "L"
    return Versus(verdict, p_value, better, equal, worse)


def faster(ours: Sequence[float], theirs: Sequence[float]) -> Versus:
    """Sign test, paired by seed: who reached the target sooner (inf: never)."""
    from scipy.stats import binomtest

    better = sum(1 for a, b in zip(ours, theirs, strict=True) if a < b)
    worse = sum(1 for a, b in zip(ours, theirs, strict=True) if a > b)
    equal = len(ours) - better - worse
    if better + worse == 0:
        return Versus("T", 1.0, better, equal, worse)
    p_value = float(binomtest(better, better + worse).pvalue)
    verdict: Literal["W", "T", "L"] = "T"
    if p_value < ALPHA:
        verdict = "W" if better > worse else "L"
    return Versus(verdict, p_value, better, equal, worse)


def summarise(task: str, traces: Sequence[Trace], budget: int) -> TaskSummary:
    """Best-at-budget, paired verdicts, time to target and racing figures."""
    sign = _sign(task)
    by_method: dict[str, dict[int, Trace]] = defaultdict(dict)
    errors = []
    for trace in traces:
        if trace.error:
            errors.append(f"{trace.method} seed {trace.seed}: {trace.error}")
            continue
        by_method[trace.method][trace.seed] = trace
    seeds = sorted(set.intersection(*(set(runs) for runs in by_method.values())))
    target = statistics.median(
        best_at(runs[s], 0.5, budget) for runs in by_method.values() for s in seeds
    )
    summary = TaskSummary(
        task,
        task_direction(task),
        budget,
        len(seeds),
        target,
        best_at={
            m: {
                f"{f:.0%}": statistics.median(best_at(r[s], f, budget) for s in seeds)
                for f in FRACTIONS
            }
            for m, r in by_method.items()
        },
        versus={},
        timing={},
        faster_than_tpe={},
        errors=errors,
    )
    final = {
        m: [sign * best_at(r[s], 1.0, budget) for s in seeds]
        for m, r in by_method.items()
    }
    times = {
        m: [time_to(r[s], target, sign) for s in seeds] for m, r in by_method.items()
    }
    for method in by_method:
        summary.timing[method] = _timing(times[method])
        if method in PEERS:
            continue
        summary.versus[method] = {
            peer: paired(final[method], final[peer]) for peer in PEERS if peer in final
        }
        if "optuna-tpe" in times:
            summary.faster_than_tpe[method] = faster(times[method], times["optuna-tpe"])
    summary.racing = racing_figures(by_method, seeds)
    return summary


def _timing(times: Sequence[float]) -> Timing:
    reached = [t for t in times if math.isfinite(t)]
    return Timing(statistics.median(times), len(reached), len(times), list(times))


REPLAYED = {
    "Racing() (95 %)": at.Racing(),
    "Racing(confidence=0.99)": at.Racing(confidence=0.99),
}


def racing_figures(
    by_method: dict[str, dict[int, Trace]], seeds: Sequence[int]
) -> dict[str, dict[str, float]]:
    """What racing saved, and what it would have got wrong, on this task."""
    figures: dict[str, dict[str, float]] = {}
    plain = by_method.get(DEFAULT_STRATEGY, {})
    if not plain or not any(plain[s].folds and plain[s].folds[0] for s in seeds):
        return figures

    for label, racing in REPLAYED.items():
        figures[f"replay, {label}"] = replay_racing([plain[s] for s in seeds], racing)
    for method, base in RACED.items():
        runs, without = by_method.get(method), by_method.get(base)
        if runs and without:
            figures[method] = racing_runs(
                [runs[s] for s in seeds], [without[s] for s in seeds]
            )
    return figures


def replay_racing(traces: Sequence[Trace], racing: at.Racing) -> dict[str, float]:
    """Racing's decisions replayed on full histories (no racing) of the same runs.

    Each candidate is raced against the incumbent it was judged against; a
    stop of a candidate that was accepted is an acceptance racing loses.
    """
    candidates = stopped = accepted = lost = 0
    folds_total = folds_saved = 0
    largest_lost = 0.0
    for trace in traces:
        incumbent: list[float] = []
        for folds, was_accepted in zip(trace.folds, trace.accepted, strict=True):
            folds_total += len(folds)
            if incumbent:
                candidates += 1
                accepted += was_accepted
                stop = _stop_fold(racing, folds, incumbent)
                if stop is not None:
                    stopped += 1
                    folds_saved += len(folds) - stop
                if stop is not None and was_accepted:
                    lost += 1
                    gain = statistics.fmean(folds) - statistics.fmean(incumbent)
                    largest_lost = max(largest_lost, abs(gain))
            if was_accepted:
                incumbent = folds
    return {
        "candidates": candidates,
        "stopped": stopped / max(candidates, 1),
        "folds saved": folds_saved / max(folds_total, 1),
        "accepted": accepted,
        "accepted but stopped": lost,
        "largest gain lost": largest_lost,
    }


def _stop_fold(
    racing: at.Racing, folds: Sequence[float], incumbent: Sequence[float]
) -> int | None:
    """After how many folds racing stops this candidate, or None."""
    if len(folds) != len(incumbent):
        return None
    for k in range(racing.min_folds, len(folds)):
        if racing.should_stop(folds[:k], incumbent):
            return k
    return None


def racing_runs(runs: Sequence[Trace], plain: Sequence[Trace]) -> dict[str, float]:
    """Pruned share, folds run, and wall time against plain runs of the same seeds."""
    statuses = [s for trace in runs for s in trace.statuses]
    folds_run = sum(len(f) for trace in runs for f in trace.folds)
    folds_full = sum(len(trace.folds[0]) * len(trace.folds) for trace in runs)
    pairs = list(zip(runs, plain, strict=True))
    return {
        "pruned": statuses.count("pruned") / len(statuses),
        "folds run": folds_run / folds_full,
        "wall time ratio": statistics.median(r.wall / p.wall for r, p in pairs),
        "CPU time ratio": statistics.median(r.cpu / p.cpu for r, p in pairs),
    }


# -- report --------------------------------------------------------------------------


def fmt(value: float, digits: int = 4) -> str:
    """A score for a table: 4 significant digits, or scientific when tiny."""
    if math.isnan(value):
        return "–"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def seconds(value: float) -> str:
    """Seconds, or milliseconds below a tenth of a second."""
    return f"{value * 1e3:.1f} ms" if value < 0.1 else f"{value:.2f} s"


def fmt_time(timing: Timing) -> str:
    """Median seconds to target, with how many runs got there."""
    median = "never" if math.isinf(timing.median_s) else seconds(timing.median_s)
    return f"{median} ({timing.reached}/{timing.runs})"


def task_table(summary: TaskSummary) -> list[str]:
    """The markdown table of one task."""
    peers = [p for p in PEERS if p in summary.best_at]
    head = [
        "method",
        *(f"best @{f:.0%}" for f in FRACTIONS),
        *(f"vs {p}" for p in peers),
        "time to target",
        "vs TPE (time)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, bests in summary.best_at.items():
        versus = summary.versus.get(method, {})
        cells = [f"`{method}`", *(fmt(v) for v in bests.values())]
        cells += [versus[p].show() if p in versus else "" for p in peers]
        cells.append(fmt_time(summary.timing[method]))
        tpe = summary.faster_than_tpe.get(method)
        cells.append(tpe.show() if tpe and method != "optuna-tpe" else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def racing_lines(figures: dict[str, dict[str, float]]) -> list[str]:
    """Racing's replayed decisions as a table, and its real runs as bullets."""
    replays = {k: v for k, v in figures.items() if k.startswith("replay")}
    if not replays:
        return []
    columns = list(next(iter(replays.values())))
    lines = [
        "| racing replayed on the `random-step` runs | " + " | ".join(columns) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for label, row in replays.items():
        cells = [
            f"{v:.0%}" if k in ("stopped", "folds saved") else fmt(v, 3)
            for k, v in row.items()
        ]
        lines.append(
            f"| {label.removeprefix('replay, ')} | " + " | ".join(cells) + " |"
        )
    lines.append("")
    for method, row in figures.items():
        if method in replays:
            continue
        lines.append(
            f"- `{method}`: {row['pruned']:.0%} of trials pruned, "
            f"{row['folds run']:.0%} of folds run; for the whole budget, "
            f"{row['wall time ratio']:.2f}x the wall time and "
            f"{row['CPU time ratio']:.2f}x the CPU time of `{RACED[method]}` "
            "(medians over seeds)"
        )
    return lines


def verdicts(summaries: Sequence[TaskSummary]) -> list[str]:
    """The issue's targets, checked."""
    lines = []
    default = [s.versus.get(DEFAULT_STRATEGY, {}) for s in summaries]
    for peer, need in (
        ("optuna-random", "every"),
        ("optuna-tpe", "most"),
        ("flaml-cfo", "most"),
    ):
        ok = [
            s.task
            for s, v in zip(summaries, default, strict=True)
            if peer in v and v[peer].verdict != "L"
        ]
        lost = [
            s.task
            for s, v in zip(summaries, default, strict=True)
            if peer in v and v[peer].verdict == "L"
        ]
        met = len(lost) == 0 if need == "every" else len(ok) > len(summaries) / 2
        lines.append(
            f"- `{DEFAULT_STRATEGY}` wins or ties against `{peer}` on {len(ok)} of "
            f"{len(summaries)} tasks (target: {need}): {'met' if met else 'NOT met'}"
            + (f"; loses on {', '.join(lost)}" if lost else "")
        )
    lines += _time_verdicts(summaries)
    return lines


def _time_verdicts(summaries: Sequence[TaskSummary]) -> list[str]:
    """Racing with time-aware acceptance against TPE, in wall time to target.

    Each configuration in :data:`TIME_AWARE` is checked on every task it
    ran on, then said to meet the target only if it is clearly faster on
    all of them; every configuration is reported, whether it met it or not.
    """
    lines = []
    for method in TIME_AWARE:
        tasks = [
            s for s in summaries if method in s.timing and "optuna-tpe" in s.timing
        ]
        clear = []
        for s in tasks:
            ours, tpe = s.timing[method], s.timing["optuna-tpe"]
            ratio = (
                ours.median_s / tpe.median_s
                if 0 < tpe.median_s < math.inf
                else math.nan
            )
            sign = s.faster_than_tpe[method]
            only_ours = math.isinf(tpe.median_s) and math.isfinite(ours.median_s)
            clearly = sign.verdict == "W" and (ratio <= CLEARLY_FASTER or only_ours)
            clear += [s.task] if clearly else []
            lines.append(
                f"- {s.task}: `{method}` reaches the target in {fmt_time(ours)} "
                f"against TPE's {fmt_time(tpe)} (ratio {fmt(ratio, 2)}; faster in "
                f"{sign.better} of {s.seeds} seeds, sign test p={sign.p_value:.2g}): "
                + (
                    "clearly less wall time"
                    if clearly
                    else "NOT clearly less wall time"
                )
            )
        if tasks:
            met = len(clear) == len(tasks)
            lines.append(
                f"- `{method}` is clearly faster than TPE on {len(clear)} of "
                f"{len(tasks)} tasks (target: every): {'met' if met else 'NOT met'}"
            )
    return lines


def machine() -> dict[str, Any]:
    """Where and with what the figures were taken."""
    versions = {}
    for dist in DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_1min": os.getloadavg()[0],
        "versions": versions,
    }


def report(summaries: Sequence[TaskSummary], info: dict[str, Any], command: str) -> str:
    """The whole report as markdown."""
    lines = [f"Command: `{command}`", ""]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    lines += [
        f"Machine: {info['cores']} cores, Python {info['python']}, {versions}; "
        f"load average {info['load_1min']:.1f} at the start, "
        f"{info['load_1min_end']:.1f} at the end; {info['wall_s']:.0f} s in all.",
        "",
    ]
    for s in summaries:
        arrow = "higher" if s.direction == "maximize" else "lower"
        lines += [
            f"#### {s.task}",
            "",
            f"{s.seeds} seeds, {s.budget} evaluations, {arrow} is better; "
            f"target {fmt(s.target)}.",
            "",
            *task_table(s),
            "",
        ]
        lines += racing_lines(s.racing)
        lines += [f"- error: {e}" for e in s.errors[:5]]
        lines.append("")
    lines += ["#### Verdicts", "", *verdicts(summaries), ""]
    return "\n".join(lines)


# -- plots ---------------------------------------------------------------------------


def plot(task: str, traces: Sequence[Trace], budget: int, folder: Path) -> Path:
    """Median best-so-far (band: quartiles) by evaluation, and by wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic = task_kind(task) == "synthetic"
    panels = 1 if synthetic else 2
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    by_method = _group(traces)
    for method, runs in by_method.items():
        curves = np.asarray([_padded(t.best, budget) for t in runs])
        _band(axes[0][0], np.arange(1, budget + 1), curves, method)
        if not synthetic:
            grid, timed = _on_time_grid(runs)
            _band(axes[0][1], grid, timed, method)
    axes[0][0].set_xlabel("evaluations")
    axes[0][0].set_ylabel("best score so far (median, quartiles)")
    if synthetic:
        axes[0][0].set_yscale("log")
    else:
        axes[0][1].set_xlabel("wall seconds")
        axes[0][1].set_xscale("log")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{task}: best so far over {len(runs)} seeds")
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"strategies-{task}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _group(traces: Iterable[Trace]) -> dict[str, list[Trace]]:
    groups: dict[str, list[Trace]] = defaultdict(list)
    for trace in traces:
        if not trace.error and trace.best:
            groups[trace.method].append(trace)
    return groups


def _padded(values: Sequence[float], length: int) -> list[float]:
    """``values`` cut or extended (with its last value) to ``length``."""
    values = list(values[:length])
    return values + [values[-1]] * (length - len(values))


def _on_time_grid(runs: Sequence[Trace]) -> tuple[np.ndarray, np.ndarray]:
    """Best so far of each run at common wall times (nan before its first result)."""
    end = max(t.times[-1] for t in runs)
    start = min(t.times[0] for t in runs)
    grid = np.geomspace(max(start, 1e-3), end, 200)
    curves = []
    for t in runs:
        index = np.searchsorted(np.asarray(t.times), grid, side="right") - 1
        best = np.asarray(t.best, dtype=float)
        curves.append(np.where(index >= 0, best[np.clip(index, 0, None)], np.nan))
    return grid, np.asarray(curves)


def _band(axis: Any, x: np.ndarray, curves: np.ndarray, label: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan columns early on
        low, mid, high = np.nanpercentile(curves, [25, 50, 75], axis=0)
    color, style = PEER_STYLES.get(label, (_color(label), "-"))
    axis.plot(x, mid, style, color=color, label=label, linewidth=1.4)
    axis.fill_between(x, low, high, color=color, alpha=0.1)


PEER_STYLES = {
    "optuna-tpe": ("black", "--"),
    "optuna-random": ("grey", "--"),
    "flaml-cfo": ("saddlebrown", ":"),
}


def _color(method: str) -> str:
    """A stable colour per AutoTune method, none of the peers' colours."""
    palette = [f"C{i}" for i in (0, 1, 2, 3, 4, 6, 8, 9)] + ["navy", "olive", "teal"]
    ours = [*strategy_names(), BIASED, *RACED]
    index = ours.index(method) if method in ours else len(ours)
    return palette[index % len(palette)]


# -- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--seeds", type=int, metavar="N", help="seeds for every task")
    parser.add_argument(
        "--tasks", nargs="+", choices=[*SYNTHETIC, *SKLEARN], help="only these tasks"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument(
        "--json", type=Path, metavar="OUT", help="write every run and figure here"
    )
    parser.add_argument(
        "--plots", type=Path, metavar="DIR", help="write best-so-far plots here"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="IN",
        help="report and plot the runs of an earlier --json instead of running",
    )
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison (or reload one) and print the report."""
    args = parse_args(argv)
    if args.from_json:
        data = json.loads(args.from_json.read_text())
        traces = [_trace(run) for run in data["runs"]]
        info, budgets, command = data["machine"], data["budgets"], data["command"]
    else:
        traces, info, budgets = run_profile(args)
        words = sys.argv[1:] if argv is None else argv
        command = "python bench/strategies.py " + " ".join(words)
    summaries = [
        summarise(task, [t for t in traces if t.task == task], budget)
        for task, budget in budgets.items()
    ]
    print(report(summaries, info, command.strip()))
    if args.plots:
        for task, budget in budgets.items():
            runs = [t for t in traces if t.task == task]
            print(f"plot: {plot(task, runs, budget, args.plots)}", file=sys.stderr)
    if args.json:
        data = {
            "command": command.strip(),
            "machine": info,
            "budgets": budgets,
            "summaries": [asdict(s) for s in summaries],
            "runs": [asdict(t) for t in traces],
        }
        text = json.dumps(_finite(data), default=_json_default, indent=1)
        args.json.write_text(text + "\n")
    return 0


def run_profile(
    args: argparse.Namespace,
) -> tuple[list[Trace], dict[str, Any], dict[str, int]]:
    """Run every job of the chosen profile: traces, machine facts, budgets."""
    profile = PROFILES[args.profile]
    if args.tasks:
        profile = Profile(**{**asdict(profile), "tasks": tuple(args.tasks)})
    jobs = plan_jobs(profile, args.seeds)
    info = machine()
    n_methods = len({j.method for j in jobs})
    print(
        f"{len(jobs)} runs of {n_methods} methods on {len(profile.tasks)} tasks",
        file=sys.stderr,
    )
    started = time.perf_counter()
    traces = run_all(jobs, args.workers)
    info["wall_s"] = time.perf_counter() - started
    info["load_1min_end"] = os.getloadavg()[0]
    print(f"total wall time {info['wall_s']:.0f} s", file=sys.stderr)
    budgets = {j.task: j.budget for j in jobs}
    return traces, info, {task: budgets[task] for task in profile.tasks}


def _trace(run: dict[str, Any]) -> Trace:
    """A Trace read back from JSON, where NaN was written as null."""
    run = dict(run)
    run["best"] = [math.nan if b is None else b for b in run["best"]]
    return Trace(**run)


def _finite(value: Any) -> Any:
    """``value`` with infinities and NaN as ``None``, for strict JSON readers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


if __name__ == "__main__":
    sys.exit(main())
