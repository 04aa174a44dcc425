"""Costs of running safely: memory over long runs, and the event log per trial.

Run from the repository root::

    python bench/reliability.py --profile quick
    python bench/reliability.py --profile full --json reliability.json

memory
    Resident memory (VmRSS) of one run with a nearly free objective, the
    inline executor, the run folder on and the streaming reporters attached
    (JSON lines, plus every other streaming reporter that is registered),
    read at 10,000 and at 100,000 trials. Each repeat is a fresh process,
    so nothing of an earlier run is counted. Target: at most 100 MB growth.
log
    Wall time per trial of the same run at 5,000 trials with the run folder
    off, with ``log_sync="batch"`` and with ``log_sync="trial"`` (an fsync
    per trial); the differences are the event log's cost.

Figures are medians over the repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GROWTH_TARGET_MB = 100.0
PROFILES = {
    "quick": {"repeats": 3, "log_trials": 5_000},
    "full": {"repeats": 5, "log_trials": 20_000},
}

_CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
import autotune_core as at

def rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")

space = at.SearchSpace({
    "a": at.Float(low=1e-5, high=1.0, log=True),
    "b": at.Float(low=0.0, high=1.0),
    "n": at.Int(low=1, high=100),
    "c": at.Categorical(choices=("x", "y", "z")),
    "h": at.Layers(max_layers=3, min_units=8, max_units=256, log=True),
})

def objective(p):
    return -abs(p["b"] - 0.3) - abs(p["n"] - 40) / 100 - len(p["h"]) / 10

class Marks(at.Reporter):
    def __init__(self, at_trials):
        self.at_trials, self.marks = set(at_trials), {}
    def on_trial_finished(self, event):
        n = event.trial.number + 1
        if n in self.at_trials:
            self.marks[n] = rss_mb()

mode, trials, marks_at = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
folder = Path(tempfile.mkdtemp())
marks = Marks(marks_at)
reporters = [marks]
if mode == "memory":
    for name in at.available("reporters"):
        if name in ("jsonl", "csv"):
            reporters.append(at.create_reporter(name, path=folder / f"stream.{name}"))
options = {"run_dir": False} if mode == "off" else {"run_dir": folder / "run",
           "log_sync": "trial" if mode == "trial" else "batch"}
began = time.perf_counter()
result = at.tune(objective, space, max_trials=trials, seed=0, executor="inline",
                 reporters=reporters, **options)
elapsed = time.perf_counter() - began
per_trial_us = elapsed / len(result.trials) * 1e6
print(json.dumps({"marks": marks.marks, "per_trial_us": per_trial_us,
                  "trials": len(result.trials)}))
"""


def _child(mode: str, trials: int, marks: list[int]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(trials), json.dumps(marks)],
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(
            f"the {mode!r} run failed (exit status {out.returncode}):\n{out.stderr}"
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def memory(repeats: int) -> dict[str, Any]:
    """RSS at 10,000 and 100,000 trials, fresh process per repeat."""
    samples = [_child("memory", 100_000, [10_000, 100_000]) for _ in range(repeats)]
    at_10k = [s["marks"]["10000"] for s in samples]
    at_100k = [s["marks"]["100000"] for s in samples]
    growth = [b - a for a, b in zip(at_10k, at_100k, strict=True)]
    return {
        "rss_10k_mb": statistics.median(at_10k),
        "rss_100k_mb": statistics.median(at_100k),
        "growth_mb": statistics.median(growth),
        "growth_samples_mb": growth,
        "target_mb": GROWTH_TARGET_MB,
        "met": statistics.median(growth) <= GROWTH_TARGET_MB,
    }


def log_cost(repeats: int, trials: int) -> dict[str, Any]:
    """Per-trial wall time with the log off, batched and synced per trial."""
    figures: dict[str, list[float]] = {"off": [], "batch": [], "trial": []}
    for _ in range(repeats):
        for mode in figures:  # interleaved, so drift hits every mode alike
            figures[mode].append(_child(mode, trials, [])["per_trial_us"])
    medians = {mode: statistics.median(values) for mode, values in figures.items()}
    return {
        "trials": trials,
        "per_trial_us": medians,
        "log_cost_batch_us": medians["batch"] - medians["off"],
        "log_cost_trial_us": medians["trial"] - medians["off"],
        "samples_us": figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--repeats", type=int, help="runs per figure")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    repeats = args.repeats or profile["repeats"]

    began = time.perf_counter()
    report = {
        "memory": memory(repeats),
        "log": log_cost(repeats, profile["log_trials"]),
        "repeats": repeats,
        "seconds": 0.0,
    }
    report["seconds"] = round(time.perf_counter() - began, 1)
    mem, log = report["memory"], report["log"]
    print(
        f"memory: RSS {mem['rss_10k_mb']:.1f} MB at 10,000 trials, "
        f"{mem['rss_100k_mb']:.1f} MB at 100,000: growth {mem['growth_mb']:.1f} MB "
        f"(target <= {GROWTH_TARGET_MB:.0f} MB: {'met' if mem['met'] else 'NOT met'})"
    )
    per = log["per_trial_us"]
    print(
        f"event log at {log['trials']} trials, per trial: off {per['off']:.1f} us, "
        f"batch {per['batch']:.1f} us, fsync per trial {per['trial']:.1f} us "
        f"-> log costs {log['log_cost_batch_us']:.1f} us batched, "
        f"{log['log_cost_trial_us']:.1f} us synced"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
