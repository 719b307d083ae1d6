"""M4 metrics on hand-worked examples, the frequency tables, and Naive2 on the real M4 Weekly files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from forecaster.scores.m4 import FREQUENCIES, m4_frequency, mase, mase_scale, owa, scores, smape
from forecaster.scores.seasonality import naive2


def test_smape_of_a_hand_worked_series():
    # 200/2 * (|8-7|/(8+7) + |10-7|/(10+7))
    assert smape([8.0, 10.0], [7.0, 7.0]) == pytest.approx(100 * (1 / 15 + 3 / 17))
    assert smape([5.0, -5.0], [5.0, 5.0]) == pytest.approx(100.0)  # |y| in the denominator: 200/2 * (0 + 1)
    assert smape([0.0, 2.0], [0.0, 2.0]) == 0.0  # 0/0 is an exact forecast, not NaN
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)  # the upper bound


def test_smape_is_per_series_over_the_last_axis():
    actual = np.array([[8.0, 10.0], [1.0, 1.0]])
    forecast = np.array([[7.0, 7.0], [1.0, 3.0]])
    np.testing.assert_allclose(smape(actual, forecast), [100 * (1 / 15 + 3 / 17), 100 * (2 / 4)])


def test_mase_scales_by_the_in_sample_seasonal_differences():
    assert mase_scale(np.array([1.0, 2.0, 4.0, 7.0]), 1) == pytest.approx(2.0)  # mean of 1, 2, 3
    assert mase_scale(np.array([1.0, 5.0, 2.0, 7.0, 4.0]), 2) == pytest.approx(5 / 3)  # |2-1|, |7-5|, |4-2|
    assert mase([8.0, 10.0], [7.0, 7.0], 2.0) == pytest.approx(1.0)  # mean error 2 over scale 2
    np.testing.assert_allclose(mase(np.ones((2, 3)), np.zeros((2, 3)), np.array([0.5, 2.0])), [2.0, 0.5])


def test_mase_scale_is_nan_where_m4_leaves_it_undefined():
    assert np.isnan(mase_scale(np.array([3.0, 3.0, 3.0]), 1))  # no change in sample
    assert np.isnan(mase_scale(np.array([1.0, 2.0]), 2))  # no seasonal difference at all
    with pytest.raises(ValueError, match="period"):
        mase_scale(np.array([1.0, 2.0]), 0)


def test_owa_is_computed_from_dataset_means_and_naive2_scores_one():
    assert owa(10.0, 3.0, smape_naive2=20.0, mase_naive2=2.0) == pytest.approx(0.5 * (0.5 + 1.5))
    rng = np.random.default_rng(0)
    actual, naive = rng.uniform(1, 2, (5, 4)), rng.uniform(1, 2, (5, 4))
    scale = rng.uniform(0.5, 1, 5)
    assert scores(actual, naive, scale, naive2=naive)["owa"] == pytest.approx(1.0)
    # from the dataset means: the method halves the error on one of two series
    actual, naive, method = np.ones((2, 1)), np.array([[1.1], [1.3]]), np.array([[1.1], [1.15]])
    got = scores(actual, method, np.ones(2), naive2=naive)
    assert got["owa"] == pytest.approx(0.5 * (got["smape"] / smape(actual, naive).mean() + 0.25 / 0.4))
    per_series = 0.5 * (smape(actual, method) / smape(actual, naive) + np.array([1.0, 0.5]))
    assert got["owa"] != pytest.approx(per_series.mean())  # not the mean of per-series ratios
    assert set(scores(actual, method, np.ones(2))) == {"smape", "mase"}


def test_frequency_tables_are_m4s():
    assert {n: (f.period, f.horizon) for n, f in FREQUENCIES.items()} == {
        "yearly": (1, 6),
        "quarterly": (4, 8),
        "monthly": (12, 18),
        "weekly": (1, 13),
        "daily": (1, 14),
        "hourly": (24, 48),
    }


@pytest.mark.parametrize(
    "freq, name",
    [
        ("h", "hourly"),
        ("H", "hourly"),
        ("1h", "hourly"),
        ("D", "daily"),
        ("B", "daily"),
        ("W-SUN", "weekly"),
        ("W", "weekly"),
        ("MS", "monthly"),
        ("ME", "monthly"),
        ("M", "monthly"),
        ("QE-DEC", "quarterly"),
        ("QS-OCT", "quarterly"),
        ("YS-JAN", "yearly"),
        ("YE-DEC", "yearly"),
        ("A-DEC", "yearly"),
        ("2h", None),
        ("15min", None),
        ("ms", None),  # milliseconds, not month start
        ("s", None),
        ("12h", None),
    ],
)
def test_pandas_frequencies_map_to_m4s(freq, name):
    found = m4_frequency(freq)
    assert (found.name if found else None) == name


DATA = next(
    (d for d in (ROOT.parent / "shared" / "data", Path("/work/shared/data")) if (d / "m4_weekly_test.csv").is_file()),
    None,
)


@pytest.mark.skipif(DATA is None, reason="the M4 Weekly files (../shared/data/m4_weekly_*.csv) are not present")
def test_naive2_on_m4_weekly_reproduces_the_published_scores():
    """Published (M4 'Evaluation and Ranks'): Naive2 on Weekly sMAPE 9.161, MASE 2.777, OWA 1.000."""
    import pandas as pd

    train = pd.read_csv(DATA / "m4_weekly_train.csv")
    test = pd.read_csv(DATA / "m4_weekly_test.csv")
    weekly = FREQUENCIES["weekly"]
    ids = train["unique_id"].unique()
    history = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id", sort=False)}
    future = {k: g["y"].to_numpy() for k, g in test.groupby("unique_id", sort=False)}
    assert len(ids) == 359 and all(len(future[k]) == weekly.horizon for k in ids)
    actual = np.stack([future[k] for k in ids])
    forecast = np.stack([naive2(history[k], weekly.horizon, weekly.period) for k in ids])
    scale = np.array([mase_scale(history[k], weekly.period) for k in ids])
    got = scores(actual, forecast, scale, naive2=forecast)
    assert round(got["smape"], 3) == 9.161 and round(got["mase"], 3) == 2.777 and got["owa"] == 1.0
