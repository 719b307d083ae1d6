"""Naive2Forecaster: the batched torch version of M4's Naive2 against the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecaster.nn.baselines import Naive2Forecaster, NaiveForecaster
from forecaster.scores.seasonality import centred_trend, is_seasonal, naive2


def seasonal_windows(b: int, length: int, k: int, period: int, *, seed: int = 0) -> torch.Tensor:
    """Positive windows (B, L, K): half strongly seasonal with a trend, half noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = np.empty((b, length, k))
    for i in range(b):
        for j in range(k):
            season = rng.uniform(0.5, 1.5, period)
            level = rng.uniform(10, 100) * (1 + rng.uniform(-0.3, 0.3) * t / length)
            noise = rng.normal(1, 0.05 if (i + j) % 2 == 0 else 0.0, length)
            out[i, :, j] = level * season[t % period] * noise if (i + j) % 2 == 0 else rng.uniform(5, 6, length)
    return torch.tensor(out, dtype=torch.float32)


def reference(x: torch.Tensor, horizon: int, period: int) -> np.ndarray:
    """seasonality.naive2 window by window and column by column: (B, H, K)."""
    v = x.double().numpy()
    return np.stack([np.stack([naive2(w[:, j], horizon, period) for j in range(v.shape[2])], 1) for w in v])


@pytest.mark.parametrize("period, length, horizon", [(4, 24, 6), (7, 30, 14), (12, 48, 18), (24, 96, 48), (3, 12, 5)])
def test_matches_the_numpy_naive2_on_positive_unscaled_windows(period, length, horizon):
    x = seasonal_windows(8, length, 3, period, seed=period)
    got = Naive2Forecaster(n_targets=2, context_len=length, horizon=horizon, period=period)(x)
    assert got.shape == (8, horizon, 2) and got.dtype == torch.float32
    decisions = [is_seasonal(w[:, j], period) for w in x.double().numpy() for j in range(2)]
    assert any(decisions) and not all(decisions)  # both branches are exercised
    np.testing.assert_allclose(got.numpy(), reference(x[..., :2], horizon, period), rtol=1e-5)


def test_set_units_decomposes_standardised_windows_in_the_data_units():
    x = seasonal_windows(6, 48, 2, 12, seed=3)
    mean, scale = torch.tensor([40.0, 7.0]), torch.tensor([20.0, 3.0])
    model = Naive2Forecaster(n_targets=2, context_len=48, horizon=18, period=12)
    model.set_units(mean, scale)
    got = model((x - mean) / scale) * scale + mean
    np.testing.assert_allclose(got.numpy(), reference(x, 18, 12), rtol=1e-4)
    assert set(model.state_dict()) == {"mean", "scale"}  # saved with the package; nothing else
    assert not list(model.parameters())


def test_non_seasonal_windows_are_exactly_the_naive_forecast():
    torch.manual_seed(0)
    x = torch.rand(12, 40, 3) + 1
    keep = [i for i, w in enumerate(x.double().numpy()) if not any(is_seasonal(w[:, j], 4) for j in range(3))]
    x = x[keep]  # noise that the test (rightly) calls not seasonal at period 4
    assert len(x) >= 5
    naive = NaiveForecaster(n_targets=3, horizon=7)(x)
    for period, length in ((4, 40), (1, 40), (20, 40)):  # not seasonal; m = 1; L < 3 m: not tested
        got = Naive2Forecaster(n_targets=3, context_len=length, horizon=7, period=period)(x)
        assert torch.equal(got, naive)


def test_windows_with_non_positive_values_use_the_additive_decomposition():
    period, length = 4, 24
    x = seasonal_windows(2, length, 1, period, seed=5)[:1]  # one seasonal window
    shifted = x - 1000  # every value negative: no multiplicative decomposition
    model = Naive2Forecaster(n_targets=1, context_len=length, horizon=6, period=period)
    got = model(shifted)[0, :, 0].double().numpy()
    w = shifted[0, :, 0].double().numpy()
    assert is_seasonal(w, period)
    detrended = w - centred_trend(w, period)
    figure = np.array([np.nanmean(detrended[p::period]) for p in range(period)])
    expected = w[-1] - figure[(length - 1) % period] + figure[(length + np.arange(6)) % period]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # additive: shifting the window shifts the forecast
    np.testing.assert_allclose(model(shifted - 50).numpy(), model(shifted).numpy() - 50, rtol=1e-5)


def test_each_window_is_forecast_on_its_own():
    x = seasonal_windows(6, 36, 2, 6, seed=7)
    model = Naive2Forecaster(n_targets=2, context_len=36, horizon=6, period=6)
    together = model(x)
    alone = torch.cat([model(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(together, alone)


def test_a_period_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        Naive2Forecaster(n_targets=1, context_len=10, horizon=2, period=0)
