"""M4's seasonality test, classical multiplicative decomposition and Naive2, on hand-worked series."""

from __future__ import annotations

import numpy as np
import pytest

from forecaster.scores.seasonality import acf, centred_trend, is_seasonal, naive2, seasonal_indices


def test_acf_is_rs_estimator():
    # R: acf(1:4)$acf = 1.00, 0.25, -0.30, -0.45 (centred [-1.5, -.5, .5, 1.5], sum of squares 5)
    np.testing.assert_allclose(acf(np.array([1.0, 2.0, 3.0, 4.0]), 3), [0.25, -0.3, -0.45])
    assert np.isnan(acf(np.ones(5), 2)).all()


def test_seasonality_test_against_the_hand_worked_90_percent_limit():
    # [1, 5] * 10: centred +-2, r1 = 19 * -4 / 80 = -0.95, r2 = 18 * 4 / 80 = 0.9,
    # limit = 1.645 * sqrt((1 + 2 * 0.95^2) / 20) = 0.616 < 0.9: seasonal
    assert is_seasonal(np.array([1.0, 5.0] * 10), 2)
    # [1, 5] * 3: r1 = -5/6, r2 = 2/3, limit = 1.645 * sqrt((1 + 2 * 25/36) / 6) = 1.038 > 2/3: not
    assert not is_seasonal(np.array([1.0, 5.0] * 3), 2)


def test_seasonality_test_is_applied_only_with_a_season_and_three_of_them():
    seasonal = np.tile([1.0, 2.0, 3.0, 10.0], 5)
    assert is_seasonal(seasonal, 4)
    assert not is_seasonal(seasonal[:11], 4)  # fewer than 3 m values
    assert not is_seasonal(seasonal, 1)  # m = 1 is never seasonal
    assert not is_seasonal(np.full(20, 3.0), 4)  # constant: no autocorrelation


def test_trend_is_the_centred_moving_average_and_2xm_for_even_periods():
    x = np.array([1.0, 3.0, 2.0, 6.0, 3.0, 9.0])
    np.testing.assert_allclose(centred_trend(x, 2), [np.nan, 9 / 4, 13 / 4, 17 / 4, 21 / 4, np.nan])
    np.testing.assert_allclose(centred_trend(x, 3), [np.nan, 2, 11 / 3, 11 / 3, 6, np.nan])


def test_seasonal_indices_of_hand_worked_series():
    # odd m = 3: trend 2, 2, 2, 3 at t = 1..4; ratios 1, 1.5, 0.5, 2/3 at positions 1, 2, 0, 1;
    # figure [1/2, 5/6, 3/2], mean 17/18
    np.testing.assert_allclose(
        seasonal_indices(np.array([1.0, 2.0, 3.0, 1.0, 2.0, 6.0]), 3), [9 / 17, 15 / 17, 27 / 17]
    )
    # even m = 2: ratios 4/3, 8/13, 24/17, 4/7 at t = 1..4; figure [(8/13 + 4/7)/2, (4/3 + 24/17)/2]
    figure = np.array([(8 / 13 + 4 / 7) / 2, (4 / 3 + 24 / 17) / 2])
    np.testing.assert_allclose(seasonal_indices(np.array([1.0, 3.0, 2.0, 6.0, 3.0, 9.0]), 2), figure / figure.mean())


@pytest.mark.parametrize("period", [2, 3, 4, 7, 12])
def test_a_purely_seasonal_series_gives_back_its_season(period):
    season = np.r_[0.5, np.random.default_rng(period).uniform(1.0, 2.0, period - 1)]
    x = 10 * np.tile(season, 8)[: 8 * period - 1]  # an incomplete last season, too
    assert is_seasonal(x, period)
    np.testing.assert_allclose(seasonal_indices(x, period), season / season.mean())
    forecast = naive2(x, 2 * period, period)
    np.testing.assert_allclose(forecast, 10 * season[(len(x) + np.arange(2 * period)) % period])


def test_decomposition_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="positive"):
        seasonal_indices(np.array([1.0, -2.0, 3.0, 4.0]), 2)
    with pytest.raises(ValueError, match="two seasons"):
        seasonal_indices(np.array([1.0, 2.0, 3.0]), 2)


def test_naive2_repeats_the_last_value_without_seasonality():
    x = np.random.default_rng(0).uniform(1, 2, 40)
    assert not is_seasonal(x, 4)
    np.testing.assert_array_equal(naive2(x, 5, 4), np.full(5, x[-1]))
    np.testing.assert_array_equal(naive2(x, 3, 1), np.full(3, x[-1]))


def test_naive2_reseasonalises_the_last_adjusted_value():
    rng = np.random.default_rng(1)
    x = np.tile([1.0, 2.0, 3.0, 10.0], 6) * np.linspace(1, 2, 24) + rng.uniform(0, 0.1, 24)
    indices = seasonal_indices(x, 4)
    level = x[-1] / indices[23 % 4]
    np.testing.assert_allclose(naive2(x, 6, 4), level * indices[[0, 1, 2, 3, 0, 1]])
