"""What `forecaster tune` gains over the untuned config, and what a trial costs.

    .venv/bin/python benchmarks/tune_gain.py --trials 20          # about 35 minutes on 2 cores
    .venv/bin/python benchmarks/tune_gain.py --print-only

Runs, in a fresh work folder with its own MLflow store (and the study in `optuna.db` beside it):

    forecaster train --config configs/quick.yaml --model.attention causal --tracking.log_model false
    forecaster tune  --config configs/quick.yaml --variants causal --trials N

and compares the untuned fit's best validation loss with the best trial's (both on the validation
split; the test split plays no part), and reports each trial's wall time from the study.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tune_quick.json"


def run(args) -> dict:
    import optuna

    work = Path(args.work).absolute()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
    cli = [sys.executable, str(ROOT / "cli.py")]
    config = str(ROOT / "configs" / "quick.yaml")
    train = [*cli, "train", "--config", config, "--model.attention", "causal", "--tracking.log_model", "false"]
    tune = [*cli, "tune", "--config", config, "--variants", "causal", "--trials", str(args.trials)]
    start = time.perf_counter()
    subprocess.run([*train, "--metrics-out", "untuned.json"], cwd=work, env=env, check=True)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([*tune, "--metrics-out", "tune.json", "--best-out", "best.yaml"], cwd=work, env=env, check=True)
    tune_seconds = time.perf_counter() - start
    untuned = json.loads((work / "untuned.json").read_text())
    tuned = json.loads((work / "tune.json").read_text())
    study = optuna.load_study(
        study_name=tuned["variants"]["causal"]["study"], storage=f"sqlite:///{work / 'optuna.db'}"
    )
    trials = [t for t in study.trials if t.datetime_complete is not None]
    seconds = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials]
    return {
        "commands": [" ".join(train[1:]), " ".join(tune[1:])],
        "untuned_val_loss": untuned["best_val_loss"],
        "untuned_train_seconds": train_seconds,
        "best_val_loss": tuned["best_val_loss"],
        "best_params": tuned["variants"]["causal"]["best_params"],
        "trials": len(trials),
        "pruned": sum(t.state.name == "PRUNED" for t in trials),
        "tune_seconds": tune_seconds,
        "trial_seconds_mean": statistics.mean(seconds),
        "trial_seconds_min": min(seconds),
        "trial_seconds_max": max(seconds),
    }


def table(r: dict) -> str:
    gain = 100 * (r["untuned_val_loss"] - r["best_val_loss"]) / r["untuned_val_loss"]
    return "\n".join(
        [
            "| | validation loss | wall time |",
            "|---|---:|---:|",
            f"| untuned configs/quick.yaml (causal) | {r['untuned_val_loss']:.5f} "
            f"| {r['untuned_train_seconds']:.0f} s |",
            f"| best of {r['trials']} trials ({r['pruned']} pruned) | {r['best_val_loss']:.5f} | "
            f"{r['tune_seconds']:.0f} s in all |",
            f"| gain | {gain:.1f} % | {r['trial_seconds_mean']:.0f} s a trial "
            f"({r['trial_seconds_min']:.0f}-{r['trial_seconds_max']:.0f}) |",
        ]
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--work", default=str(ROOT / "out" / "tune_gain"))
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--print-only", action="store_true")
    args = p.parse_args()
    if not args.print_only:
        Path(args.out).write_text(json.dumps(run(args), indent=2) + "\n")
    print(table(json.loads(Path(args.out).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
