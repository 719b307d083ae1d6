"""What `predict --extend recursive` costs: a 96-step model forecasting 192 steps against a 192-step model.

    .venv/bin/python benchmarks/extend_horizon.py --variants linear,causal --seeds 1   # the committed run
    .venv/bin/python benchmarks/extend_horizon.py --print-only

ETTh1 under the protocol of benchmarks/PROTOCOL.md (configs/etth1.yaml: all 7 columns, `ett` split,
lookback 336, scaler fitted on the training rows). For each variant and seed, two validated fits
(`refit=False`, as the etth1.json rows) through the Python API: one with horizon 96, one with horizon
192, equal in every other setting. Both forecast every 192-step test window of the file (stride 1,
the windows of etth1.json's horizon-192 rows) through the package's forecast path: the 192-step
model directly, the 96-step model with `forecaster.serve.extension.recursive` (its first 96 steps
fed back as history for the next 96). MSE on scaled values over all windows, and for steps 1-96 and
97-192 apart; p is the one-sided Diebold-Mariano p-value of "the 192-step model forecasts better"
on the per-window MSE (lag 191). `direct_check` is the 192-step fit's own test MSE, from the fit:
the direct column must equal it. Rows of other (variant, seed) already in the results are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

RESULTS = ROOT / "benchmarks" / "results" / "extend_horizon.json"
CONFIG = ROOT / "configs" / "etth1.yaml"
SHORT, LONG = 96, 192
CHUNK = 512  # windows forecast at once


def window_frames(package, df: pd.DataFrame, starts: np.ndarray):
    """Each test window's history (its `context_len` rows from `starts[i]`) as one series of a frame."""
    frame = package.read(df)
    L = package.schema.context_len
    times, values = frame.times[0], frame.values[0]
    for at in range(0, len(starts), CHUNK):
        part = starts[at : at + CHUNK]
        ids = [f"w{s}" for s in part]
        yield replace(
            frame,
            schema=frame.schema.with_series(ids),
            times=[times[s : s + L] for s in part],
            values=[values[s : s + L] for s in part],
            observed=None,
        )


def forecasts(short, long, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled (windows, 192, K) forecasts of the 192-step model and of the 96-step one extended, and the actuals."""
    import torch

    from forecaster.serve.evaluation import windowed
    from forecaster.serve.extension import recursive

    data = windowed(long.package, df)
    test = data.dataset("test")
    starts = test.start_rows(torch.arange(len(test))).numpy()
    y = test.__getitems__(list(range(len(test))))[1]  # (windows, 192, K) scaled
    scaler = long.package.scaler
    other = short.package.scaler
    if not (np.allclose(scaler.mean, other.mean) and np.allclose(scaler.scale, other.scale)):
        raise SystemExit("the two fits' scalers differ: their splits are not the same")
    direct, extended = [], []
    for frame in window_frames(long.package, df, starts):
        direct.append(long.package.predict_array(frame))
        extended.append(recursive(short.package.predict_array, frame, LONG))
    scale = lambda parts: (np.concatenate(parts) - scaler.mean[: y.shape[2]]) / scaler.scale[: y.shape[2]]
    return scale(direct), scale(extended), y.numpy().astype(np.float64)


def measure(variant: str, seed: int, df: pd.DataFrame, threads: int) -> dict:
    import forecaster as fc
    from forecaster.scores.metrics import diebold_mariano

    settings = {"seed": seed, "trainer": {"threads": threads}, "tracking": {"enabled": False}}
    fits, seconds = {}, {}
    for horizon in (SHORT, LONG):
        start = time.perf_counter()
        fits[horizon] = fc.fit(df, horizon=horizon, variant=variant, config=CONFIG, refit=False, **settings)
        seconds[horizon] = time.perf_counter() - start
    direct, extended, y = forecasts(fits[SHORT], fits[LONG], df)
    err_direct = ((direct - y) ** 2).mean(axis=(1, 2))
    err_extended = ((extended - y) ** 2).mean(axis=(1, 2))
    _, p = diebold_mariano(err_direct, err_extended, lag=LONG - 1)
    mse = lambda pred, steps: float(((pred[:, steps] - y[:, steps]) ** 2).mean())
    first, second = slice(0, SHORT), slice(SHORT, LONG)
    return {
        "variant": variant,
        "seed": seed,
        "n_windows": len(y),
        "direct_mse": float(err_direct.mean()),
        "extended_mse": float(err_extended.mean()),
        "direct_mse_1_96": mse(direct, first),
        "extended_mse_1_96": mse(extended, first),
        "direct_mse_97_192": mse(direct, second),
        "extended_mse_97_192": mse(extended, second),
        "p_direct_better": p,
        "direct_check": fits[LONG].metrics["mse"],
        "train_seconds": {str(h): s for h, s in seconds.items()},
    }


def table(rows: list[dict]) -> str:
    from forecaster.scores.metrics import format_p

    lines = [
        "| variant | seed | 192-step model MSE | 96-step model, extended | cost "
        "| steps 97-192: direct / extended | p |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cost = 100 * (r["extended_mse"] / r["direct_mse"] - 1)
        lines.append(
            f"| {r['variant']} | {r['seed']} | {r['direct_mse']:.4f} | {r['extended_mse']:.4f} | {cost:+.1f} % | "
            f"{r['direct_mse_97_192']:.4f} / {r['extended_mse_97_192']:.4f} | {format_p(r['p_direct_better'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="linear,causal")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2021, help="the first seed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--print-only", action="store_true")
    args = parser.parse_args()
    old = json.loads(args.results.read_text()) if args.results.exists() else {"rows": []}
    if not args.print_only:
        df = pd.read_csv(ROOT / "datasets" / "ETTh1.csv")
        new = [measure(v, args.seed + k, df, args.threads) for v in args.variants.split(",") for k in range(args.seeds)]
        keys = {(r["variant"], r["seed"]) for r in new}
        rows = [r for r in old["rows"] if (r["variant"], r["seed"]) not in keys] + new
        command = "benchmarks/extend_horizon.py " + " ".join(sys.argv[1:])
        rows = sorted(rows, key=lambda r: (r["variant"], r["seed"]))
        old = {"commands": [*old.get("commands", []), command], "rows": rows}
        args.results.write_text(json.dumps(old, indent=2) + "\n")
    print(table(old["rows"]))


if __name__ == "__main__":
    main()
