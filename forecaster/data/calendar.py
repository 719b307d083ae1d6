"""Calendar features: future-known covariates computed from the timestamps (`data.calendar`).

Each feature is a position in a cycle (hour of the day, day of the week, ...) encoded as the pair
(sin, cos) of its angle, so the last hour of a day sits next to the first (as in Informer's time
features, but cyclic rather than a ramp). The timestamps are used as held: local time for naive
stamps and for one fixed UTC offset, UTC for zones with daylight saving (`forecaster.data.times`).

A feature finer than the data's frequency (``hour`` on daily data) would be constant, so it is
refused, as is an unknown name; both errors list the valid choices. The features are appended after
the file's columns (`forecaster.data.inputs.encode`, for training and `forecaster predict` alike);
a forecast computes them for the future timestamps it extends, so a calendar-only model needs no
future rows in its input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from forecaster.errors import ConfigError

Phase = Callable[[pd.DatetimeIndex], np.ndarray]  # the position in the cycle, in [0, 1)


def _days_in_month(t: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(t.days_in_month, dtype=float)


def _days_in_year(t: pd.DatetimeIndex) -> np.ndarray:
    return np.where(t.is_leap_year, 366.0, 365.0)


# name -> (phase in [0, 1), the finest step the feature varies over)
FEATURES: dict[str, tuple[Phase, pd.Timedelta]] = {
    "minute": (lambda t: np.asarray(t.minute, dtype=float) / 60, pd.Timedelta(minutes=1)),
    "hour": (lambda t: np.asarray(t.hour, dtype=float) / 24, pd.Timedelta(hours=1)),
    "dayofweek": (lambda t: np.asarray(t.day_of_week, dtype=float) / 7, pd.Timedelta(days=1)),
    "dayofmonth": (lambda t: (np.asarray(t.day, dtype=float) - 1) / _days_in_month(t), pd.Timedelta(days=1)),
    "dayofyear": (lambda t: (np.asarray(t.day_of_year, dtype=float) - 1) / _days_in_year(t), pd.Timedelta(days=1)),
    "weekofyear": (
        lambda t: (np.asarray(t.isocalendar().week, dtype=float) - 1) / 53,
        pd.Timedelta(weeks=1),
    ),
    "month": (lambda t: (np.asarray(t.month, dtype=float) - 1) / 12, pd.Timedelta(days=31)),
    "quarter": (lambda t: (np.asarray(t.quarter, dtype=float) - 1) / 4, pd.Timedelta(days=92)),
}


def step_of(freq: str) -> pd.Timedelta:
    """The length of one step of `freq`, for calendar frequencies (month, quarter) their longest."""
    stamps = pd.date_range("2001-01-31", periods=13, freq=freq)
    return pd.Series(stamps).diff().max()


def check_features(names: list[str] | None, freq: str | None = None) -> list[str]:
    """`names` (none: []) if each is a known feature that varies at frequency `freq` (when given).

    Raises:
        ConfigError: an unknown or repeated name, or one finer than the data's frequency; it lists
            the valid names (for that frequency).
    """
    names = list(names or [])
    for name in names:
        if name not in FEATURES:
            raise ConfigError(f"unknown data.calendar feature '{name}'; valid: {', '.join(FEATURES)}")
        if names.count(name) > 1:
            raise ConfigError(f"data.calendar names '{name}' twice")
    if freq is None:
        return names
    step = step_of(freq)
    fit = [n for n, (_, finest) in FEATURES.items() if step <= finest]
    for name in names:
        if name not in fit:
            raise ConfigError(
                f"data.calendar feature '{name}' is finer than the data's frequency '{freq}' (it would be "
                f"constant); valid for this frequency: {', '.join(fit) or 'none'}"
            )
    return names


def columns(names: list[str]) -> list[str]:
    """The feature columns' names: `<name>_sin`, `<name>_cos` per feature."""
    return [f"{n}_{part}" for n in names for part in ("sin", "cos")]


def features(times: pd.DatetimeIndex, names: list[str]) -> np.ndarray:
    """(rows, 2 * len(names)) float32: sin and cos of each feature's angle, in `columns` order."""
    out = np.empty((len(times), 2 * len(names)), dtype=np.float32)
    for k, name in enumerate(names):
        angle = 2 * np.pi * FEATURES[name][0](times)
        out[:, 2 * k], out[:, 2 * k + 1] = np.sin(angle), np.cos(angle)
    return out
