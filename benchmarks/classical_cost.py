"""What one fit of statsforecast's AutoETS, AutoTheta and AutoARIMA costs, by context length and season.

The classical variants (`forecaster/classical/`) fit one model per window and target column, so a
comparison pays (validation + test windows) x target columns fits per variant. This measures the
seconds per fit (`forecast(y=..., h=...)`, as `forecaster.classical.networks` calls it) on windows
of ETTh1's seven columns (real hourly series) at a grid of context lengths L and seasons m (a
seasonal case only where L >= 2m, the least statsforecast needs to fit a season), one process,
one thread, after a warm-up fit of each model (the import and numba's compilation). It then fits
log(seconds) = log(c) + a log(L / 96) [+ b log(m / 24) for m > 1] per model by least squares:
`forecaster.classical.cost` holds those coefficients (a test keeps them equal to this file's).

    OMP_NUM_THREADS=1 python benchmarks/classical_cost.py --json benchmarks/results/classical_cost.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CONTEXTS = (41, 96, 192, 384)
SEASONS = (1, 7, 12, 24)
HORIZON = 24
FITS = {"ets": 8, "theta": 8, "arima": 3}  # windows per case (AutoARIMA's seasonal fits take seconds)
CASE_CAP_S = 40.0  # stop a case early once its fits have taken this long (its mean is still measured)


def models():
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    return {"ets": AutoETS, "theta": AutoTheta, "arima": AutoARIMA}


def measure(cls, series: np.ndarray, context_len: int, season: int, n: int, rng) -> list[float]:
    """Seconds of each of up to `n` fits on random windows of `series` (rows, columns)."""
    seconds = []
    for _ in range(n):
        start, column = rng.integers(0, len(series) - context_len), rng.integers(0, series.shape[1])
        y = series[start : start + context_len, column]
        began = time.perf_counter()
        with warnings.catch_warnings(), contextlib.suppress(Exception):  # a failed fit cost its time too
            warnings.simplefilter("ignore")
            cls(season_length=season).forecast(y=y, h=HORIZON)
        seconds.append(time.perf_counter() - began)
        if sum(seconds) > CASE_CAP_S:
            break
    return seconds


def power_law(rows: list[dict], *, seasonal: bool) -> dict:
    """log(s) = log(c) + a log(L/96) [+ b log(m/24)] by least squares over `rows` of one model."""
    cases = [r for r in rows if (r["season_length"] > 1) == seasonal]
    design = [
        [1.0, np.log(r["context_len"] / 96)] + ([np.log(r["season_length"] / 24)] if seasonal else []) for r in cases
    ]
    target = [np.log(r["mean_s"]) for r in cases]
    coef, *_ = np.linalg.lstsq(np.array(design), np.array(target), rcond=None)
    fitted = np.array(design) @ coef
    out = {"c": float(np.exp(coef[0])), "a": float(coef[1])}
    if seasonal:
        out["b"] = float(coef[2])
    out["worst_ratio"] = float(np.exp(np.max(np.abs(np.array(target) - fitted))))  # measured vs fitted, either way
    return out


def measure_all(series: np.ndarray) -> list[dict]:
    """A row per model and (context length, season) case: its fits and seconds per fit."""
    rng, rows = np.random.default_rng(0), []
    for name, cls in models().items():
        cls(season_length=24).forecast(y=series[:200, 0], h=HORIZON)  # warm-up: import, compilation
        for context_len in CONTEXTS:
            for season in (m for m in SEASONS if m == 1 or context_len >= 2 * m):
                seconds = measure(cls, series, context_len, season, FITS[name], rng)
                row = {"model": name, "context_len": context_len, "season_length": season, "fits": len(seconds)}
                row.update(mean_s=float(np.mean(seconds)), median_s=float(np.median(seconds)))
                row["max_s"] = float(np.max(seconds))
                rows.append(row)
                ms = row["mean_s"] * 1000
                print(f"{name:>6} L={context_len:<4} m={season:<3} {ms:9.1f} ms/fit (n={len(seconds)})")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    series = pd.read_csv(ROOT / "datasets/ETTh1.csv").iloc[:, 1:].to_numpy(float)
    rows = measure_all(series)
    laws = {}
    for name in FITS:
        own = [r for r in rows if r["model"] == name]
        laws[name] = {"nonseasonal": power_law(own, seasonal=False), "seasonal": power_law(own, seasonal=True)}
        print(name, json.dumps(laws[name]))
    if args.json:
        result = {"machine": platform.processor() or platform.machine(), "horizon": HORIZON, "rows": rows, "laws": laws}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
