"""M4's seasonality test, classical multiplicative decomposition and the Naive2 benchmark (numpy).

The reference for every function is the M4 organisers' R code (Mcompetitions/M4-methods,
`Benchmarks and Evaluation.R`, which produced the published Naive2 scores), built on R's
`stats::acf` and `stats::decompose`:

- `acf`: R's estimator, r_k = Σ_{t<n−k} (x_t − x̄)(x_{t+k} − x̄) / Σ_t (x_t − x̄)².
- `is_seasonal`: with m > 1 and n ≥ 3m values, seasonal when |r_m| exceeds the 90 % limit
  1.645 · sqrt((1 + 2 Σ_{k<m} r_k²) / n); never for m = 1 or fewer than 3m values. R's `acf`
  stops at lag 10·log10(n), so the R code calls a series with m > 10·log10(n) (e.g. hourly,
  m = 24, with fewer than 252 values) not seasonal because r_m comes back NA; that is an
  accident of a default, not a rule, and is not reproduced (it never applies to M4's own
  hourly series, all longer than 700 values).
- `seasonal_indices`: `decompose(type = "multiplicative")`: the trend is the centred moving
  average of m values (2×m for even m: weights ½, 1, …, 1, ½ over m + 1 values), undefined at
  the ends; the ratio x / trend is averaged per position in the season (position t mod m,
  counted from the first value) and the m averages are normalised to mean 1.
- `naive2`: when seasonal, divide by the indices, repeat the last seasonally adjusted value,
  and multiply by the indices of the forecast steps; else repeat the last value.

Multiplicative decomposition needs positive values (M4's series all are): `seasonal_indices`
refuses others. `forecaster.nn.baselines.Naive2Forecaster` is the batched torch version used as
a model, tested against this one.
"""

from __future__ import annotations

import numpy as np

T_CRIT = 1.645  # one-sided 90 % normal quantile, as in M4's code


def acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelations at lags 1..max_lag of a 1-D series, R's estimator: (n,) -> (max_lag,)."""
    x = np.asarray(x, dtype=float)
    centred = x - x.mean()
    denom = centred @ centred
    if denom == 0:  # a constant series has no autocorrelation (R returns NaN)
        return np.full(max_lag, np.nan)
    return np.array([centred[k:] @ centred[: len(x) - k] for k in range(1, max_lag + 1)]) / denom


def is_seasonal(x: np.ndarray, period: int) -> bool:
    """M4's 90 % autocorrelation test for seasonality of period `period` in a 1-D series."""
    n = len(x)
    if period <= 1 or n < 3 * period:
        return False
    r = acf(x, period)
    limit = T_CRIT * np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n)
    return bool(abs(r[-1]) > limit)  # NaN (constant series) compares False, as R's NA -> FALSE


def centred_trend(x: np.ndarray, period: int) -> np.ndarray:
    """R's `decompose` trend: centred moving average over a season (2×m for even m), NaN at the ends."""
    x = np.asarray(x, dtype=float)
    weights = np.r_[0.5, np.ones(period - 1), 0.5] / period if period % 2 == 0 else np.ones(period) / period
    half = len(weights) // 2
    trend = np.full(len(x), np.nan)
    if len(x) >= len(weights):
        trend[half : len(x) - half] = np.convolve(x, weights, mode="valid")
    return trend


def seasonal_indices(x: np.ndarray, period: int) -> np.ndarray:
    """Multiplicative seasonal indices (mean 1) of a positive 1-D series: (n,) -> (period,).

    Value t belongs to index t % period. Needs at least two seasons (R's `decompose` too).

    Raises:
        ValueError: fewer than 2·period values, or a value that is not positive.
    """
    x = np.asarray(x, dtype=float)
    if len(x) < 2 * period:
        raise ValueError(f"decomposition needs at least two seasons ({2 * period} values), got {len(x)}")
    if not (x > 0).all():
        raise ValueError("multiplicative decomposition needs positive values")
    ratio = x / centred_trend(x, period)
    padded = np.r_[ratio, np.full(-len(x) % period, np.nan)].reshape(-1, period)  # (seasons, period)
    figure = np.nanmean(padded, axis=0)
    return figure / figure.mean()


def naive2(x: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """M4's Naive2 forecast of a 1-D series: (n,) -> (horizon,)."""
    x = np.asarray(x, dtype=float)
    if not is_seasonal(x, period):
        return np.full(horizon, x[-1])
    indices = seasonal_indices(x, period)
    n = len(x)
    adjusted_last = x[-1] / indices[(n - 1) % period]
    return adjusted_last * indices[(n + np.arange(horizon)) % period]
