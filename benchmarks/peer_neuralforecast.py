"""neuralforecast's PatchTST, DLinear and LSTM against our causal and linear fits, on ETTh1 and one machine.

The ETTh1 protocol of benchmarks/PROTOCOL.md: datasets/ETTh1.csv, all 7 columns channel-independent, the
`ett` split (training targets in rows [0, 8640), validation [8640, 11520), test [11520, 14400)), one
standardisation per column fitted on the training rows, lookback 336, horizon 96, MSE/MAE on scaled values
over every test window (stride 1: 2,785 windows), every step and every column.

Runs in its own environment (`make peer-env` creates .venv-peer from benchmarks/requirements-peer.txt;
never needed by the package or its tests). Our fits run as `forecaster train` subprocesses with our own
environment (`--ours-python`, default .venv/bin/python), interleaved with neuralforecast's fits seed by
seed, so every training time in the results file comes from one run on one machine and the speed ratios
compare like with like. Both sides get `--threads` torch threads, set before torch starts.

    .venv-peer/bin/python benchmarks/peer_neuralforecast.py --seeds 3
    .venv-peer/bin/python benchmarks/peer_neuralforecast.py --print-only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "peer_neuralforecast.json"
DATA = ROOT / "datasets" / "ETTh1.csv"
TRAIN_END, VAL_END, TEST_END = 8640, 11520, 14400  # the `ett` split borders (rows)
LOOKBACK, HORIZON = 336, 96
N_TEST_WINDOWS = TEST_END - VAL_END - HORIZON + 1  # 2,785: every window whose targets lie in the test rows
OUR_BASELINES = {"linear", "lstm", "naive", "seasonal_naive", "naive2"}  # `--model.name`; others are attentions

# Every peer model: lookback 336, horizon 96, scaler_type left at neuralforecast's default (the data are
# standardised before, as the protocol says), validation loss every 100 steps on the validation windows,
# early stopping after 10 checks without improvement (ours, not published; neuralforecast keeps the last
# weights, it does not restore the best ones).
COMMON = {"input_size": LOOKBACK, "h": HORIZON, "val_check_steps": 100, "early_stop_patience_steps": 10}
PEER_SETTINGS = {
    # PatchTST's published ETTh1 settings: PatchTST_supervised/scripts/PatchTST/etth1.sh and run_longExp.py's
    # defaults in the paper's repository (yuqinie98/PatchTST): 3 layers, 4 heads, d_model 16, d_ff 128,
    # dropout 0.3, fc_dropout 0.3, head_dropout 0, patch 16 / stride 8, RevIN without affine or
    # subtract-last, MSE loss, lr 1e-4, batch 128. neuralforecast's PatchTST always uses the paper's
    # post-norm BatchNorm (its `batch_normalization=True` would switch to pre-norm). Its batches are
    # windows (`windows_batch_size`); the paper's 100 epochs (about 45,000 steps of 128) are out of a CPU's
    # reach, so max_steps is neuralforecast's default, 5,000 (about 11 epochs).
    "patchtst": {
        "encoder_layers": 3,
        "n_heads": 4,
        "hidden_size": 16,
        "linear_hidden_size": 128,
        "dropout": 0.3,
        "fc_dropout": 0.3,
        "head_dropout": 0.0,
        "patch_len": 16,
        "stride": 8,
        "revin": True,
        "revin_affine": False,
        "revin_subtract_last": False,
        "loss": "MSE",
        "learning_rate": 1e-4,
        "windows_batch_size": 128,
        "max_steps": 5000,
    },
    # DLinear's published ETTh1 settings: scripts/EXP-LongForecasting/DLinear/etth1.sh and run_longExp.py's
    # defaults (cure-lab/LTSF-Linear): moving average 25, MSE loss, lr 1e-4, batch 8 multivariate windows
    # (= 56 channel windows); max_steps neuralforecast's default.
    "dlinear": {
        "moving_avg_window": 25,
        "loss": "MSE",
        "learning_rate": 1e-4,
        "windows_batch_size": 56,
        "max_steps": 5000,
    },
    # LSTM: no published ETTh1 setting; neuralforecast's defaults (2 x 128 encoder, MLP decoder, MAE loss,
    # lr 1e-3, robust scaler, 1,000 steps of 128 windows) with the protocol's lookback.
    "lstm": {},
}
PEER_CLASSES = {"patchtst": "PatchTST", "dlinear": "DLinear", "lstm": "LSTM"}


def set_threads(threads: int) -> None:
    """Limit this process's torch to `threads` (before torch is imported: the pools read these at start)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


def quiet() -> None:
    """Keep the log to one line per fit: Lightning's banners and two known, harmless warnings go."""
    import pytorch_lightning  # noqa: F401  (sets its loggers' levels on import; ours must come after)

    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*(LeafSpec|removed from hparams).*")


def load_frame():
    """ETTh1's first 14,400 rows, scaled on the training rows, in neuralforecast's long layout (ds = row)."""
    import pandas as pd

    wide = pd.read_csv(DATA).drop(columns="date").iloc[:TEST_END]
    train = wide.iloc[:TRAIN_END]
    scaled = (wide - train.mean()) / train.std(ddof=0)  # the population std (ddof=0), as forecaster's Scaler
    scaled["ds"] = range(TEST_END)
    long = scaled.melt(id_vars="ds", var_name="unique_id", value_name="y")
    return long[["unique_id", "ds", "y"]]


def build_model(name: str, seed: int, max_steps: int | None, timer):
    """One neuralforecast model with `PEER_SETTINGS[name]`; `max_steps` overrides (tiny runs)."""
    import neuralforecast.losses.pytorch as losses
    import neuralforecast.models as models

    settings = {**COMMON, **PEER_SETTINGS[name]}
    if "loss" in settings:
        settings["loss"] = getattr(losses, settings["loss"])()
    if max_steps is not None:
        settings["max_steps"] = max_steps
        settings["val_check_steps"] = min(settings["val_check_steps"], max_steps)
    trainer = {"accelerator": "cpu", "logger": False, "enable_progress_bar": False, "enable_model_summary": False}
    return getattr(models, PEER_CLASSES[name])(random_seed=seed, callbacks=[timer], **settings, **trainer)


def fit_timer():
    """A Lightning callback that times `fit` (training with its validation checks, as our train_seconds) and
    the checks within it, and keeps the validation losses."""
    import pytorch_lightning as pl

    class FitTimer(pl.Callback):
        def __init__(self):
            self.seconds, self.val_seconds, self.steps, self.val_losses = 0.0, 0.0, 0, []
            self._start = self._val_start = 0.0

        def on_fit_start(self, trainer, module):
            self._start = time.perf_counter()

        def on_fit_end(self, trainer, module):
            self.seconds += time.perf_counter() - self._start
            self.steps = trainer.global_step

        def on_validation_start(self, trainer, module):
            self._val_start = time.perf_counter()

        def on_validation_end(self, trainer, module):
            self.val_seconds += time.perf_counter() - self._val_start
            loss = trainer.callback_metrics.get("ptl/val_loss")
            if loss is not None and not trainer.sanity_checking:
                self.val_losses.append(float(loss))

    return FitTimer()


def fit_peer(name: str, seed: int, frame, max_steps: int | None) -> dict:
    """Fit neuralforecast's `name` on the training windows (early stopping on the validation ones) and
    score it on every test window through `cross_validation` without refitting."""
    from neuralforecast import NeuralForecast

    timer = fit_timer()
    model = build_model(name, seed, max_steps, timer)
    nf = NeuralForecast(models=[model], freq=1)
    start = time.perf_counter()
    # test_size = the test rows: n_windows = (2880 - 96) / 1 + 1 = 2,785 windows, cutoffs 11519 ... 14303;
    # val_size = the validation rows: training targets stop at row 8640, validation windows' targets lie
    # in [8640, 11520) (neuralforecast cuts val_size + test_size off the end for training).
    cv = nf.cross_validation(
        frame, val_size=VAL_END - TRAIN_END, test_size=TEST_END - VAL_END, n_windows=None, step_size=1, refit=False
    )
    seconds = time.perf_counter() - start
    fitted = nf.models[0]  # NeuralForecast fits deep copies of the models (and of their callbacks)
    timer = next(cb for cb in fitted.trainer_kwargs["callbacks"] if type(cb).__name__ == "FitTimer")
    n_params = sum(p.numel() for p in fitted.parameters())
    row = {"library": "neuralforecast", "model": name, "seed": seed, **score(cv, PEER_CLASSES[name])}
    best = min(timer.val_losses) if timer.val_losses else None
    return row | {
        "train_seconds": timer.seconds,
        "val_seconds": timer.val_seconds,  # within train_seconds: a pass over every validation window per check
        "cv_seconds": seconds,
        "steps": timer.steps,
        "n_params": n_params,
        "best_val_loss": best,
        "val_checks": len(timer.val_losses),
    }


def score(cv, column: str) -> dict:
    """MSE/MAE over every (window, step, column) of `cv`, after checking it holds exactly the protocol's
    test windows: 2,785 cutoffs per column, each with 96 targets, all in the test rows."""
    import numpy as np

    windows = cv.groupby(["unique_id", "cutoff"]).size()
    per_column = windows.groupby(level="unique_id").size()
    if not ((per_column == N_TEST_WINDOWS).all() and (windows == HORIZON).all() and len(per_column) == 7):
        raise SystemExit(f"expected {N_TEST_WINDOWS} windows of {HORIZON} steps per column, got {per_column.to_dict()}")
    if cv["ds"].min() != VAL_END or cv["ds"].max() != TEST_END - 1 or cv["cutoff"].min() != VAL_END - 1:
        raise SystemExit(f"test targets span rows {cv['ds'].min()}..{cv['ds'].max()}, not {VAL_END}..{TEST_END - 1}")
    error = cv[column].to_numpy(np.float64) - cv["y"].to_numpy(np.float64)
    if not np.isfinite(error).all():
        raise SystemExit(f"{column} forecast non-finite values")
    return {"mse": float(np.mean(error**2)), "mae": float(np.mean(np.abs(error))), "n_test_windows": N_TEST_WINDOWS}


def our_command(python: str, variant: str, seed: int, args, metrics: Path) -> list[str]:
    """`forecaster train` of `variant` under the protocol's config, untracked, with `args.threads` threads."""
    model = ["--model.name", variant] if variant in OUR_BASELINES else ["--model.attention", variant]
    command = [python, str(ROOT / "cli.py"), "train", "--config", str(ROOT / args.config), *model]
    command += ["--data.path", str(DATA), "--seed", str(seed), "--trainer.threads", str(args.threads)]
    command += ["--tracking.enabled", "false", "--metrics-out", str(metrics)]
    if args.ours_epochs is not None:
        command += ["--trainer.max_epochs", str(args.ours_epochs)]
    return command


def fit_ours(variant: str, seed: int, args) -> dict:
    """One of our fits in a fresh process with our environment (in a scratch folder: nothing left behind)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        **{k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    with tempfile.TemporaryDirectory(prefix="peer-ours-") as scratch:
        metrics = Path(scratch) / "metrics.json"
        start = time.perf_counter()
        done = subprocess.run(
            our_command(args.ours_python, variant, seed, args, metrics),
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(
                f"forecaster train {variant} seed {seed} failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        got = json.loads(metrics.read_text())
    keep = ("mse", "mae", "n_test_windows", "train_seconds", "epochs", "n_params", "best_val_loss")
    return {
        "library": "forecaster",
        "model": variant,
        "seed": seed,
        **{k: got.get(k) for k in keep},
        "wall_seconds": wall,
    }


def environment(args) -> dict:
    """The machine and both environments' versions, for the results file."""
    import neuralforecast
    import pytorch_lightning
    import torch

    probe = "import json, lightning, numpy, torch; print(json.dumps({'torch': torch.__version__, 'lightning': lightning.__version__, 'numpy': numpy.__version__, 'threads': torch.get_num_threads()}))"  # noqa: E501
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    ours = subprocess.run([args.ours_python, "-c", probe], capture_output=True, text=True, env=env, check=True)
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), platform.processor()
    )
    return {
        "machine": {"cpu": cpu, "cpu_count": os.cpu_count(), "threads": args.threads, "platform": platform.platform()},
        "versions": {
            "neuralforecast": {
                "neuralforecast": neuralforecast.__version__,
                "torch": torch.__version__,
                "pytorch_lightning": pytorch_lightning.__version__,
                "python": platform.python_version(),
                "threads": torch.get_num_threads(),
            },
            "forecaster": json.loads(ours.stdout),
        },
    }


def _cpuinfo() -> list[str]:
    """The lines of /proc/cpuinfo (Linux only; its `model name` is the CPU's marketing name); none elsewhere or
    when unreadable, and `environment` falls back to platform.processor()."""
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def run(args) -> dict:
    """Every fit, seed by seed, ours and neuralforecast's alternating; the results file is rewritten after
    each fit so a long run that stops keeps what it finished."""
    set_threads(args.threads)
    quiet()
    frame = load_frame()
    result = {"command": " ".join([Path(sys.executable).name, *sys.argv]), **environment(args)}
    result |= {
        "protocol": "benchmarks/PROTOCOL.md (ETTh1, lookback 336, horizon 96)",
        "settings": {"common": COMMON, **PEER_SETTINGS},
    }
    result["overrides"] = {"max_steps": args.max_steps, "ours_epochs": args.ours_epochs}
    result["rows"] = []
    ours = [("forecaster", v) for v in args.ours.split(",") if v]
    peers = [("neuralforecast", m) for m in args.models.split(",") if m]
    order = [fit for pair in zip_longest(ours, peers) for fit in pair if fit is not None]
    for seed in range(args.seed, args.seed + args.seeds):
        for library, name in order:
            row = fit_ours(name, seed, args) if library == "forecaster" else fit_peer(name, seed, frame, args.max_steps)
            print(
                f"{library:>14} {name:<9} seed {seed}: MSE {row['mse']:.4f} MAE {row['mae']:.4f} "
                f"windows {row['n_test_windows']} train {row['train_seconds']:.1f} s",
                flush=True,
            )
            result["rows"].append(row)
            write(result, Path(args.out))
    return result


def write(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(result, indent=2))
    part.replace(path)


def table(result: dict) -> str:
    """Markdown: one row per (library, model), mean ± std over seeds, train time against our causal's."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in result["rows"]:
        groups.setdefault((row["library"], row["model"]), []).append(row)
    mean = lambda rows, k: statistics.mean(r[k] for r in rows)
    sd = lambda rows, k: statistics.stdev(r[k] for r in rows) if len(rows) > 1 else 0.0
    causal = groups.get(("forecaster", "causal"))
    lines = [
        "| library | model | MSE (mean ± std) | MAE (mean ± std) | seeds | params | steps / epochs | train s | of which val s | x causal's time |",  # noqa: E501
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (library, model), rows in sorted(groups.items(), key=lambda kv: mean(kv[1], "mse")):
        done = f"{mean(rows, 'steps'):,.0f} steps" if "steps" in rows[0] else f"{mean(rows, 'epochs'):.1f} epochs"
        val = f"{mean(rows, 'val_seconds'):.0f}" if "val_seconds" in rows[0] else "-"
        ratio = f"{mean(rows, 'train_seconds') / mean(causal, 'train_seconds'):.2f}" if causal else "-"
        lines.append(
            f"| {library} | {model} | {mean(rows, 'mse'):.4f} ± {sd(rows, 'mse'):.4f} | {mean(rows, 'mae'):.4f} ± "
            f"{sd(rows, 'mae'):.4f} | {len(rows)} | {int(mean(rows, 'n_params')):,} | {done} | "
            f"{mean(rows, 'train_seconds'):.0f} | {val} | {ratio} |"
        )
    machine = result["machine"]
    lines.append(
        f"\n{machine['cpu']}, {machine['cpu_count']} CPUs, {machine['threads']} threads per fit; every test "
        f"window ({N_TEST_WINDOWS}) scored. Command: `{result['command']}`"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="patchtst,dlinear,lstm", help="neuralforecast models (comma-separated)")
    parser.add_argument("--ours", default="causal,linear", help="our variants, interleaved with the models")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2021, help="first seed (both libraries)")
    parser.add_argument("--max-steps", type=int, default=None, help="override every model's max_steps (tiny runs)")
    parser.add_argument("--ours-epochs", type=int, default=None, help="override our fits' max_epochs (tiny runs)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of every fit, both libraries")
    parser.add_argument("--config", default="configs/etth1.yaml", help="our config (relative to the repository)")
    parser.add_argument(
        "--ours-python", default=str(ROOT / ".venv" / "bin" / "python"), help="our environment's python"
    )
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--print-only", action="store_true", help="print the table of the results file")
    args = parser.parse_args()
    unknown = set(args.models.split(",")) - set(PEER_CLASSES) - {""}
    if unknown:
        parser.error(f"unknown --models {sorted(unknown)}; choose from {sorted(PEER_CLASSES)}")
    if not args.print_only and not Path(args.ours_python).exists():
        parser.error(f"--ours-python {args.ours_python} does not exist (run `make install`, or pass our venv's python)")
    result = json.loads(Path(args.out).read_text()) if args.print_only else run(args)
    print(table(result))


if __name__ == "__main__":
    main()
