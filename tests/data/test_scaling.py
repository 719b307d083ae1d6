"""`Scaler.fit`: the population mean and standard deviation per column, constant columns scaled by 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import ETTH1

from forecaster.data.scaling import Scaler


def test_fit_is_the_population_mean_and_std_by_hand():
    rows = np.array([[1.0, 10.0, -2.0], [3.0, 10.0, 0.0], [5.0, 10.0, 0.0], [7.0, 10.0, 2.0]])
    scaler = Scaler.fit(rows)
    # column 0: mean 4, squared deviations 9 + 1 + 1 + 9 = 20 over 4 rows (ddof=0); column 2: (4 + 0 + 0 + 4) / 4
    np.testing.assert_array_equal(scaler.mean, [4.0, 10.0, 0.0])
    np.testing.assert_allclose(scaler.scale, [np.sqrt(5.0), 1.0, np.sqrt(2.0)], rtol=1e-15)
    assert scaler.mean.dtype == scaler.scale.dtype == np.float64


def test_constant_columns_are_centred_and_not_scaled():
    noise = np.random.default_rng(0).standard_normal(500)
    rows = np.c_[np.zeros(500), np.full(500, 3.7), 1e8 + 1e-9 * noise, 1e-3 * noise]
    scaler = Scaler.fit(rows)
    # exactly constant, or varying only within float64 rounding of its mean (1e8 ± 1e-9): scale 1.0;
    # a small but real spread (1e-3) keeps its std
    np.testing.assert_array_equal(scaler.scale[:3], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(scaler.scale[3], 1e-3 * noise.std(), rtol=1e-12)
    np.testing.assert_allclose(scaler.transform(rows)[:, :2], 0.0, atol=1e-12)  # the sum of 500 × 3.7 rounds
    assert Scaler.fit(rows[:1]).scale.tolist() == [1.0] * 4  # one row: every column is constant


def test_fit_on_etth1_equals_numpy_mean_and_std():
    rows = pd.read_csv(ETTH1).drop(columns=["date"]).to_numpy(dtype=float)[:8640]
    scaler = Scaler.fit(rows)
    np.testing.assert_allclose(scaler.mean, rows.mean(axis=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(scaler.scale, rows.std(axis=0, ddof=0), rtol=1e-12, atol=0)
    np.testing.assert_allclose(Scaler.fit(rows.astype(np.float32)).scale, scaler.scale, rtol=1e-6)
