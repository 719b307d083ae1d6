"""Probabilistic test metrics from a model's intervals (`forecaster.scores.intervals`): `mql`,
`coverage_80`, `coverage_90`, `width_80`, `width_90` and `msis`.

Each is over every test window, step and target column; "scaled" means the standardised units of
the test `mse` and `mae` (the scaler's, fitted on the training rows):

- `coverage_l`: the share of actuals inside the l % interval (l = 80, 90); nominal is l / 100.
- `width_l`: the mean width of that interval, scaled.
- `mql`: the pinball loss, scaled, averaged over the quantiles the calibrated intervals give (each
  level's lower and upper bound: 0.025, 0.05, 0.1, 0.25, 0.75, 0.9, 0.95, 0.975 for the default
  levels) and the median (the point forecast). Twice it approximates the CRPS; at the median alone
  the pinball loss is half the MAE.
- `msis`: M4's mean scaled interval score of the 95 % interval: per (window, column), the mean over
  steps of ``(hi - lo) + 40·(lo - y)⁺ + 40·(y - hi)⁺`` over the mean absolute seasonal difference
  of every row of its series before the forecast origin (M4's in-sample scale, the MASE period of
  `metrics.m4_metrics`), averaged over the pairs whose scale is not 0. Scale-free, so scaled and
  original units give the same value.
"""

from __future__ import annotations

import numpy as np
import torch

from forecaster.data.windows import PreparedData, WindowDataset
from forecaster.scores.intervals import Calibration, Forecasts, bounds, tails, window_forecasts

KEYS = ("mql", "coverage_80", "coverage_90", "width_80", "width_90", "msis")
MSIS_LEVEL = 95.0


def interval_metrics(network, data: PreparedData, calibration: Calibration, *, batch_size: int = 256) -> dict:
    """`KEYS` of `network` on the test windows of `data`, with the intervals of `calibration`."""
    test = data.dataset("test")
    if len(test) == 0:
        return {}
    f = window_forecasts(network, test, data.offsets, batch_size=batch_size)
    return score(f, calibration, data, test, tuple(network.quantiles))


def score(f: Forecasts, calibration: Calibration, data: PreparedData, dataset: WindowDataset, quantiles=()) -> dict:
    """The metrics of forecasts `f` of `dataset`'s windows (see the module docstring)."""
    b = bounds(calibration, f, data.schema.series_ids, list(calibration.levels), quantiles)
    seen = ~np.isnan(f.y)  # a filled target (NaN) is scored nowhere
    out: dict[str, float] = {}
    for level in (80.0, 90.0):
        if level in b:
            lo, hi = b[level]
            out[f"coverage_{level:g}"] = float(((lo <= f.y) & (f.y <= hi))[seen].mean())
            out[f"width_{level:g}"] = float((hi - lo)[seen].mean())
    pairs = [(0.5, f.point)] + [(q, bound) for level, (lo, hi) in b.items() for q, bound in zip(tails(level), (lo, hi))]
    out["mql"] = float(np.mean([pinball(pred, f.y, q) for q, pred in pairs]))
    if MSIS_LEVEL in b:
        out["msis"] = msis(f.y, *b[MSIS_LEVEL], insample_scale(data, dataset), level=MSIS_LEVEL)
    return out


def pinball(pred: np.ndarray, y: np.ndarray, q: float) -> float:
    """Mean pinball loss of the q-quantile forecast `pred` for actuals `y`."""
    err = y - pred  # NaN where a target was filled: left out
    return float(np.nanmean(np.maximum(q * err, (q - 1) * err)))


def msis(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: np.ndarray, *, level: float) -> float:
    """M4's MSIS. y, lo, hi: (N, H, K); scale: (N, K) in-sample seasonal MAE (NaN or 0: left out)."""
    alpha = 1 - level / 100
    penalty = (hi - lo) + 2 / alpha * (np.clip(lo - y, 0, None) + np.clip(y - hi, 0, None))  # (N, H, K)
    ok = np.isfinite(scale) & (scale > 0)
    per_window = np.nanmean(penalty, axis=1)  # NaN penalties: filled targets, left out
    return float((per_window[ok] / scale[ok]).mean()) if ok.any() else float("nan")


def insample_scale(data: PreparedData, dataset: WindowDataset) -> np.ndarray:
    """Per window and target column, the mean absolute seasonal difference of its series' rows
    before the forecast origin: (N, K), NaN with at most `period` rows."""
    from forecaster.scores.m4 import m4_frequency

    s = data.schema
    m4 = m4_frequency(s.freq)
    m = m4.period if m4 else max(s.period or 1, 1)
    values = data.values.numpy()[:, : s.n_targets].astype(np.float64)  # (rows, K)
    origins = dataset.start_rows(torch.arange(len(dataset))).numpy() + s.context_len
    series = np.searchsorted(data.offsets, origins - s.context_len, side="right") - 1
    ends = np.append(data.offsets[1:], len(values))
    out = np.full((len(origins), s.n_targets), np.nan)
    for i, (start, end) in enumerate(zip(data.offsets, ends)):
        rows = np.flatnonzero(series == i)
        if not len(rows):
            continue
        v = values[start:end]
        total = np.concatenate([np.zeros((1, v.shape[1])), np.abs(v[m:] - v[:-m]).cumsum(axis=0)])  # (n - m + 1, K)
        n_diffs = origins[rows] - start - m  # seasonal differences before each origin
        good = n_diffs > 0
        out[rows[good]] = total[n_diffs[good]] / n_diffs[good, None]
    return out
