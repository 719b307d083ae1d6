"""Calendar features (`forecaster.data.calendar`): sin/cos pairs of each cycle, and the names refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.data import calendar
from forecaster.errors import ConfigError


def test_calendar_features_are_sin_cos_pairs_of_the_cycle():
    times = pd.date_range("2024-01-01", periods=48, freq="h")  # a Monday
    out = calendar.features(times, ["hour", "dayofweek"])
    assert out.shape == (48, 4) and out.dtype == np.float32
    assert calendar.columns(["hour"]) == ["hour_sin", "hour_cos"]
    np.testing.assert_allclose(out[:, 0] ** 2 + out[:, 1] ** 2, 1.0, rtol=1e-6)
    np.testing.assert_allclose(out[6, :2], [1.0, 0.0], atol=1e-6)  # 06:00 is a quarter of the day
    np.testing.assert_allclose(out[0, :2], out[24, :2], atol=1e-6)  # the cycle closes
    assert (out[:24, 2] == out[0, 2]).all() and out[24, 2] != out[0, 2]  # the day changes at midnight


def test_calendar_refuses_unknown_names_and_features_finer_than_the_frequency():
    with pytest.raises(ConfigError, match=r"unknown data\.calendar feature 'weekday'; valid: minute, hour"):
        calendar.check_features(["weekday"])
    with pytest.raises(ConfigError, match=r"'hour' is finer than the data's frequency 'D'.*valid.*dayofweek"):
        calendar.check_features(["hour"], "D")
    assert calendar.check_features(["month", "quarter"], "MS") == ["month", "quarter"]
    with pytest.raises(ConfigError, match="finer"):
        calendar.check_features(["dayofweek"], "MS")
