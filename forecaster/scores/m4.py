"""The M4 competition's evaluation: sMAPE, MASE and OWA, seasonal periods and horizons.

Follows the M4 organisers' reference code (Mcompetitions/M4-methods, `Benchmarks and
Evaluation.R`) and paper (Makridakis, Spiliotis and Assimakopoulos, "The M4 Competition: 100,000
time series and 61 forecasting methods", IJF 36, 2020):

- sMAPE of one series = 200/H · Σ_h |y_h − ŷ_h| / (|y_h| + |ŷ_h|), in percent.
- MASE of one series = mean_h |y_h − ŷ_h| / scale, where scale = mean_t |x_t − x_{t−m}| over the
  series' *training* (in-sample) values x, m the seasonal period of the frequency.
- A dataset's sMAPE and MASE are the means of the per-series values (every series of a
  frequency has the same horizon, so this is also the mean over all forecast steps).
- OWA = ½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) from the dataset-level means, not per
  series: a method that equals Naive2 scores exactly 1.

Two conventions the reference code leaves undefined (NaN) are fixed here: a step where both the
actual and the forecast are 0 contributes 0 to sMAPE (the forecast is exact); a series whose
in-sample seasonal differences are all 0 (or that has at most m training values) has no MASE
scale, and its MASE is NaN, so a dataset mean that includes it is NaN rather than silently finite.

numpy only. Shapes: actuals and forecasts are (..., H), the forecast steps on the last axis; per
series values come back with that axis removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class M4Frequency:
    """One M4 frequency: its seasonal period m (MASE, Naive2) and forecast horizon H."""

    name: str
    period: int
    horizon: int


FREQUENCIES: dict[str, M4Frequency] = {
    f.name: f
    for f in (
        M4Frequency("yearly", 1, 6),
        M4Frequency("quarterly", 4, 8),
        M4Frequency("monthly", 12, 18),
        M4Frequency("weekly", 1, 13),  # M4 uses m = 1 for weekly data (52.18 weeks a year is not whole)
        M4Frequency("daily", 1, 14),
        M4Frequency("hourly", 24, 48),
    )
}

# pandas offset names (before any `-ANCHOR`), case-sensitive: `ms` is milliseconds, `MS` month start
_OFFSET_NAMES = {
    "hourly": ("h", "H", "bh", "BH", "cbh", "CBH"),
    "daily": ("D", "B", "C"),
    "weekly": ("W",),
    "monthly": ("M", "ME", "MS", "BM", "BME", "BMS", "CBM", "CBME", "CBMS"),
    "quarterly": ("Q", "QE", "QS", "BQ", "BQE", "BQS"),
    "yearly": ("Y", "YE", "YS", "A", "AS", "BY", "BYE", "BYS", "BA", "BAS"),
}


def m4_frequency(freq: str) -> M4Frequency | None:
    """The M4 frequency of a pandas frequency string (`h`, `D`, `W-SUN`, `MS`, `QE-DEC`, `YS-JAN`, ...).

    Only single steps of those frequencies map: None for `2h`, `15min`, `s`, ...
    """
    base = freq.strip().split("-")[0]  # `W-SUN` -> `W`, `QE-DEC` -> `QE`
    base = base[1:] if base[:1] == "1" and not base[1:2].isdigit() else base  # `1h` is `h`
    return next((FREQUENCIES[name] for name, names in _OFFSET_NAMES.items() if base in names), None)


def smape(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """sMAPE of each series in percent: (..., H) -> (...)."""
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    error = np.abs(actual - forecast)
    denom = np.abs(actual) + np.abs(forecast)
    # 0/0 (both zero) is an exact forecast: 0, not M4 code's NaN
    terms = np.divide(error, denom, out=np.zeros_like(error), where=denom > 0)
    terms[np.isnan(error)] = np.nan  # a missing actual (a filled target) is left out of its series' mean
    return 200.0 * np.nanmean(terms, axis=-1)


def mase_scale(insample: np.ndarray, period: int) -> float:
    """The MASE denominator of one series: mean |x_t − x_{t−m}| over its training values x (1-D).

    NaN when there are no seasonal differences (at most `period` values) or all of them are 0.
    """
    x = np.asarray(insample, dtype=float)
    if period < 1:
        raise ValueError(f"seasonal period must be at least 1, got {period}")
    if x.ndim != 1:
        raise ValueError(f"insample must be one series (1-D), got shape {x.shape}")
    if len(x) <= period:
        return float("nan")
    scale = float(np.abs(x[period:] - x[:-period]).mean())
    return scale if scale > 0 else float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """MASE of each series: (..., H) -> (...); `scale` (from `mase_scale`) broadcasts to (...)."""
    error = np.nanmean(np.abs(np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float)), axis=-1)
    return error / np.asarray(scale, dtype=float)


def owa(smape_mean: float, mase_mean: float, *, smape_naive2: float, mase_naive2: float) -> float:
    """M4's overall weighted average from dataset-level means; Naive2 itself scores 1."""
    return 0.5 * (smape_mean / smape_naive2 + mase_mean / mase_naive2)


def scores(
    actual: np.ndarray,
    forecast: np.ndarray,
    scale: np.ndarray,
    *,
    naive2: np.ndarray | None = None,
) -> dict[str, float]:
    """Dataset-level `smape`, `mase` and, when Naive2's forecasts are given, `owa`.

    Args:
        actual: (N, H) the test values of N series (or (..., H)).
        forecast: (N, H) the method's forecasts.
        scale: (N,) each series' `mase_scale` over its training values.
        naive2: (N, H) Naive2's forecasts of the same series, for OWA.
    """
    out = {"smape": float(smape(actual, forecast).mean()), "mase": float(mase(actual, forecast, scale).mean())}
    if naive2 is not None:
        base_smape = float(smape(actual, naive2).mean())
        base_mase = float(mase(actual, naive2, scale).mean())
        out["owa"] = owa(out["smape"], out["mase"], smape_naive2=base_smape, mase_naive2=base_mase)
    return out
