"""Probabilistic test metrics (`forecaster.scores.interval_metrics`) against hand computations: the
pinball loss, M4's MSIS and its in-sample seasonal scale. Calibrated coverage: test_intervals.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecaster.config import DataConfig
from forecaster.data.windows import prepare
from forecaster.scores.interval_metrics import insample_scale, msis, pinball


def test_the_pinball_loss_weighs_misses_by_the_quantile_and_is_half_the_mae_at_the_median():
    y, pred = np.array([1.0, -2.0, 3.0]), np.zeros(3)
    assert pinball(pred, y, 0.5) == pytest.approx(0.5 * np.abs(y - pred).mean())
    assert pinball(np.zeros(1), np.ones(1), 0.9) == pytest.approx(0.9)  # under the actual: q per unit
    assert pinball(np.zeros(1), -np.ones(1), 0.9) == pytest.approx(0.1)  # over it: 1 - q per unit


def test_msis_is_width_plus_40_per_unit_missed_over_the_in_sample_scale():
    y = np.array([[1.0, 3.0], [-1.0, 0.5]])[..., None]  # (N=2 windows, H=2 steps, K=1)
    lo, hi = np.zeros_like(y), np.array([[2.0, 2.0], [1.0, 1.0]])[..., None]
    # window 0: steps 2 and 2 + 40 * (3 - 2) = 42, mean 22, over its scale 2; window 1: scale 0, left out
    assert msis(y, lo, hi, np.array([[2.0], [0.0]]), level=95.0) == pytest.approx(11.0)
    assert math.isnan(msis(y, lo, hi, np.array([[np.nan], [0.0]]), level=95.0))


def test_the_in_sample_scale_is_the_mean_seasonal_difference_before_each_origin(tmp_path):
    n = 400
    times = pd.date_range("2024-01-01", periods=n, freq="h").astype(str)
    pd.DataFrame({"date": times, "y": np.arange(n, dtype=float)}).to_csv(tmp_path / "t.csv", index=False)
    data = prepare(DataConfig(path=str(tmp_path / "t.csv"), context_len=24, horizon=6))
    scale = insample_scale(data, data.dataset("test"))  # hourly: M4's period 24, a difference of 24 steps
    assert scale.shape == (len(data.dataset("test")), 1)
    np.testing.assert_allclose(scale, 24 / data.scaler.scale[0], rtol=1e-5)  # in the scaled units
