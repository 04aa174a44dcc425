"""AutoTune: hyper-parameter tuning by small randomized steps.

Start from a configuration, change it a little, keep what improves the
cross-validated score, and keep a readable record of every step.

Examples
--------
>>> import autotune_core as at
>>> space = at.SearchSpace({"x": at.Float(low=-3, high=3)})
>>> result = at.tune(lambda p: -abs(p["x"] - 1), space, max_trials=40, seed=1,
...                  executor="inline", run_dir=False)
>>> abs(result.best_params["x"] - 1) < 0.5
True
"""

from autotune_core.acceptance import (
    AcceptancePolicy,
    ImprovementThreshold,
    NoiseAware,
    TimePenalized,
)
from autotune_core.config import RunConfig
from autotune_core.engine import tune, tune_async
from autotune_core.events import (
    SCHEMA_VERSION,
    Event,
    NewIncumbent,
    RunFinished,
    RunResumed,
    RunStarted,
    SpaceChanged,
    TrialFinished,
    TrialStarted,
)
from autotune_core.exceptions import (
    AutoTuneError,
    AutoTuneWarning,
    ConfigError,
    ExperimentalWarning,
    ParameterNameError,
    RunFolderError,
    StrategyError,
    TooManyFailuresError,
    TrialError,
    UnknownPluginError,
)
from autotune_core.executors import (
    Executor,
    InlineExecutor,
    ProcessExecutor,
    ThreadExecutor,
)
from autotune_core.experiment import Experiment
from autotune_core.objective import SklearnObjective
from autotune_core.racing import Racing
from autotune_core.registry import (
    available,
    create_acceptance,
    create_reporter,
    create_strategy,
    register,
)
from autotune_core.reporter import Reporter, RunControl
from autotune_core.result import TuneResult, load_run
from autotune_core.run_folder import read_events
from autotune_core.space import (
    Bool,
    Categorical,
    Condition,
    Float,
    Int,
    Layers,
    Param,
    Point,
    SearchSpace,
)
from autotune_core.state import SearchState
from autotune_core.strategy import StepStrategy
from autotune_core.trial import (
    Batch,
    Candidate,
    Evaluation,
    Move,
    Trial,
    TrialContext,
    TrialStatus,
)
from autotune_core.tuner import PendingTrial, Tuner

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "AcceptancePolicy",
    "AutoTuneError",
    "AutoTuneWarning",
    "Batch",
    "Bool",
    "Candidate",
    "Categorical",
    "Condition",
    "ConfigError",
    "Evaluation",
    "Event",
    "Executor",
    "Experiment",
    "ExperimentalWarning",
    "Float",
    "ImprovementThreshold",
    "InlineExecutor",
    "Int",
    "Layers",
    "Move",
    "NewIncumbent",
    "NoiseAware",
    "Param",
    "ParameterNameError",
    "PendingTrial",
    "Point",
    "ProcessExecutor",
    "Racing",
    "Reporter",
    "RunConfig",
    "RunControl",
    "RunFinished",
    "RunFolderError",
    "RunResumed",
    "RunStarted",
    "SearchSpace",
    "SearchState",
    "SklearnObjective",
    "SpaceChanged",
    "StepStrategy",
    "StrategyError",
    "ThreadExecutor",
    "TimePenalized",
    "TooManyFailuresError",
    "Trial",
    "TrialContext",
    "TrialError",
    "TrialFinished",
    "TrialStarted",
    "TrialStatus",
    "TuneResult",
    "Tuner",
    "UnknownPluginError",
    "__version__",
    "available",
    "create_acceptance",
    "create_reporter",
    "create_strategy",
    "load_run",
    "read_events",
    "register",
    "tune",
    "tune_async",
]
