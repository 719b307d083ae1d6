"""Cross-validation's cutoffs, its table and its scores: index arithmetic and numpy, no fitting.

A series of n rows gets `n_windows` (W) forecast windows of `horizon` (h) rows, `step` (s) rows
apart, the newest ending at the series' last row. Window j (0 the oldest) forecasts rows
[o_j, o_j + h), with its *origin*

    o_j = n - h - (W - 1 - j) * s,

which is also the number of rows it may read: rows 0 .. o_j - 1, nothing at or after the origin
(the one exception, future-known covariates over the horizon, is the forecaster's, as in
`predict`). The table's `cutoff` is the timestamp of row o_j - 1, the last row seen, as in
neuralforecast's and statsforecast's `cross_validation` (every `ds` of a window is after its `cutoff`).

Fits follow `refit` K (neuralforecast's `refit`): with K >= 1 a network is fitted before windows
0, K, 2K, ... and forecasts its window and the K - 1 after it; with K = 0 one network, fitted on
the rows before the oldest origin, forecasts every window.

The table has a row per (series, window, step) — `unique_id, ds, cutoff, y`, then per variant its
forecast and `<variant>-lo-<level>`, `<variant>-hi-<level>` columns — in the data's own units;
a wide file's series are its target columns, named by `unique_id`. The scores pool every window
of every series: `mse`, `mae` on values scaled as each window's fit scaled them, `mse_original`,
`mae_original`, and M4's `smape` and `mase` (`forecaster.scores.m4`; the MASE scale of a window
from the rows before its origin), plus `coverage_<level>` with intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecaster.data.schema import SeriesFrame
from forecaster.data.times import localize
from forecaster.scores.intervals import label
from forecaster.scores.m4 import mase, mase_scale, smape

ID, TIME, CUTOFF, ACTUAL = "unique_id", "ds", "cutoff", "y"  # neuralforecast's names


def origins(lengths: np.ndarray, *, horizon: int, n_windows: int, step: int) -> np.ndarray:
    """(series, W) each window's origin row, oldest window first (see the module docstring)."""
    back = step * np.arange(n_windows - 1, -1, -1)  # (W,) rows between each origin and the newest
    return np.asarray(lengths, dtype=np.int64)[:, None] - horizon - back[None, :]


def fit_windows(n_windows: int, refit: int) -> list[list[int]]:
    """The windows each fit forecasts, in fit order: K = `refit` >= 1 -> [[0..K-1], [K..2K-1], ...];
    0 -> one fit for every window. A fit reads the rows before its first window's origin."""
    size = refit if refit >= 1 else n_windows
    return [list(range(j, min(j + size, n_windows))) for j in range(0, n_windows, size)]


@dataclass
class Forecasts:
    """One variant's forecasts of every window, in the data's units: `point` (W, series, h, K),
    `bands` level -> (lo, hi) of that shape, and `scale` (W, K): the scaler's spread of each
    target in the fit that forecast each window (for the scaled `mse`, `mae`)."""

    point: np.ndarray
    bands: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    scale: np.ndarray | None = None


def actuals(frame: SeriesFrame, at: np.ndarray, horizon: int) -> np.ndarray:
    """(W, series, h, K) the target values of every window, NaN where `data.fill` made the cell up
    (`SeriesFrame.observed`): a filled cell is no actual, in the table or the scores."""
    k = frame.schema.n_targets
    seen = frame.observed or [None] * len(frame.values)
    values = [v[:, :k] if m is None else np.where(m, v[:, :k], np.nan) for v, m in zip(frame.values, seen)]
    rows = [[v[o : o + horizon] for o in series_at] for v, series_at in zip(values, at)]
    return np.asarray(rows, dtype=np.float64).transpose(1, 0, 2, 3)  # (series, W, h, K) -> (W, series, h, K)


def table(frame: SeriesFrame, at: np.ndarray, horizon: int, found: dict[str, Forecasts]) -> pd.DataFrame:
    """The cross-validation table (see the module docstring), ordered by series, cutoff and ds."""
    s = frame.schema
    y = actuals(frame, at, horizon)  # (W, N, h, K)
    n_windows = at.shape[1]
    ids, times, cutoffs, index = [], [], [], []
    for i, (sid, t) in enumerate(zip(s.series_ids, frame.times)):
        for k, target in enumerate(s.targets):
            for j in range(n_windows):
                o = int(at[i, j])
                ids.append(np.full(horizon, sid if s.layout == "long" else target, dtype=object))
                times.append(t[o : o + horizon].to_numpy())
                cutoffs.append(np.repeat(t[o - 1 : o].to_numpy(), horizon))
                index.append((j, i, k))
    w, n, k = (np.array(part) for part in zip(*index))

    def cells(a: np.ndarray) -> np.ndarray:  # (W, N, h, K) -> one value per table row
        return a[w, n, :, k].reshape(-1)

    columns = {
        ID: np.concatenate(ids),
        TIME: localize(pd.DatetimeIndex(np.concatenate(times)), s.tz),
        CUTOFF: localize(pd.DatetimeIndex(np.concatenate(cutoffs)), s.tz),
        ACTUAL: cells(y),
    }
    for variant, f in found.items():
        columns[variant] = cells(f.point)
        for level, (lo, hi) in sorted(f.bands.items()):
            columns[f"{variant}-lo-{label(level)}"], columns[f"{variant}-hi-{label(level)}"] = cells(lo), cells(hi)
    return pd.DataFrame(columns)


def scores(frame: SeriesFrame, at: np.ndarray, horizon: int, found: dict[str, Forecasts], period: int) -> dict:
    """Per variant, its scores over every window of every series (see the module docstring), and
    `windows`, how many were scored (`m4_series_without_scale`: those without a MASE scale)."""
    y = actuals(frame, at, horizon)  # (W, N, h, K)
    scale = mase_scales(frame, at, period)  # (W, N, K)
    ok = np.isfinite(scale)
    out = {}
    for variant, f in found.items():
        error = y - f.point
        scaled = error / f.scale[:, None, None, :]  # each window's fit's spread of each target
        per_window = (np.moveaxis(y, 2, -1), np.moveaxis(f.point, 2, -1))  # (W, N, K, h)
        row = {
            "mse": float(np.nanmean(scaled**2)),  # NaN: a filled cell, left out
            "mae": float(np.nanmean(np.abs(scaled))),
            "mse_original": float(np.nanmean(error**2)),
            "mae_original": float(np.nanmean(np.abs(error))),
            "smape": float(smape(*per_window).mean()),
            "mase": float(mase(per_window[0][ok], per_window[1][ok], scale[ok]).mean()) if ok.any() else float("nan"),
            "windows": int(y.shape[0] * y.shape[1] * y.shape[3]),
            "m4_series_without_scale": int((~ok).sum()),
        }
        for level, (lo, hi) in sorted(f.bands.items()):
            row[f"coverage_{label(level)}"] = float(np.mean(((lo <= y) & (y <= hi))[~np.isnan(y)]))
        out[variant] = row
    return out


def mase_scales(frame: SeriesFrame, at: np.ndarray, period: int) -> np.ndarray:
    """(W, series, K) each window's MASE scale: the mean seasonal difference of the rows before its origin."""
    k = frame.schema.n_targets
    scales = [
        [[mase_scale(v[:o, c], period) for c in range(k)] for v, o in zip(frame.values, at[:, j])]
        for j in range(at.shape[1])
    ]
    return np.array(scales)
