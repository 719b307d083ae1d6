"""Test metrics against plain numpy, and the Diebold-Mariano statistic against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from forecaster.data.scaling import Scaler
from forecaster.data.windows import WindowDataset
from forecaster.scores.metrics import diebold_mariano, evaluate


class Scaled(nn.Module):
    """Forecasts 0.9 x the last input value of every target (a fixed, imperfect model)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.9 * x[:, -1:, :2].expand(-1, 3, -1)


def test_evaluate_equals_numpy_over_every_window_step_and_target():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 3)).astype(np.float32)  # two series of 20 rows, 3 features, 2 targets
    starts, counts = np.array([0, 20]), np.array([12, 10])
    dataset = WindowDataset(torch.from_numpy(values), starts, counts, context_len=5, horizon=3, n_targets=2)
    scaler = Scaler(mean=np.array([1.0, 2.0, 3.0]), scale=np.array([2.0, 0.5, 4.0]))
    got = evaluate(Scaled(), dataset, scaler, batch_size=7, keep_errors=True)

    rows = np.concatenate([s + np.arange(c) for s, c in zip(starts, counts)])
    pred = np.float32(0.9) * values[rows + 4, None, :2]  # the last input row of each window, (windows, 1, K)
    y = np.stack([values[r + 5 : r + 8, :2] for r in rows])  # (windows, H, K)
    err = (pred - y).astype(np.float64)
    assert got["n_test_windows"] == len(rows) == 22
    assert got["mse"] == pytest.approx(np.mean(err**2), rel=1e-6)
    assert got["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-6)
    assert got["mse_original"] == pytest.approx(np.mean((err * scaler.scale[:2]) ** 2), rel=1e-6)
    assert got["mae_original"] == pytest.approx(np.mean(np.abs(err * scaler.scale[:2])), rel=1e-6)
    np.testing.assert_allclose(got["window_se"], np.mean(err**2, axis=(1, 2)), rtol=1e-6)


def test_diebold_mariano_matches_a_hand_computed_example():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 2.0, 2.0])
    # d = a - b = [-1, 0, 1, 2], mean 0.5; centred [-1.5, -0.5, 0.5, 1.5]
    # gamma_0 = 5 / 4 = 1.25; gamma_1 = (0.75 - 0.25 + 0.75) / 4 = 0.3125
    # lag 0: var = 1.25, stat = 0.5 / sqrt(1.25 / 4) = 0.894427...
    # lag 1 (Bartlett weight 1/2): var = 1.25 + 2 * 0.5 * 0.3125 = 1.5625, stat = 0.5 / sqrt(1.5625 / 4) = 0.8
    stat0, p0 = diebold_mariano(a, b, lag=0)
    stat1, p1 = diebold_mariano(a, b, lag=1)
    assert stat0 == pytest.approx(0.5 / math.sqrt(1.25 / 4))
    assert stat1 == pytest.approx(0.8)
    # one-sided p of "a is better": P(Z <= stat); a is worse here, so p is large
    assert p1 == pytest.approx(0.7881446014, abs=1e-9)  # Phi(0.8)
    assert p0 == pytest.approx(0.8144533152, abs=1e-9)  # Phi(0.894427)
    assert diebold_mariano(b, a, lag=1) == (pytest.approx(-0.8), pytest.approx(0.2118553986, abs=1e-9))


def test_diebold_mariano_sign_says_which_is_better_and_equal_losses_give_p_one():
    rng = np.random.default_rng(1)
    b = rng.random(500) + 0.2
    stat, p = diebold_mariano(b - 0.1, b + 0.05 * rng.normal(size=500), lag=3)
    assert stat < 0 and p < 1e-6
    assert diebold_mariano(b, b, lag=3) == (0.0, 1.0)


def test_the_yardstick_matches_hand_computed_mase_and_smape_per_series():
    from forecaster.config import load
    from forecaster.data.windows import prepare
    from forecaster.scores.metrics import selection_metric, yardstick

    cfg = load(None, [("data.path", "datasets/demo_long.csv"), ("data.split", "last")])
    cfg.data.horizon, cfg.data.context_len, cfg.data.val_windows = 6, 12, 3
    data = prepare(cfg.data)
    val = data.dataset("val")
    x, _ = val.__getitems__(list(range(len(val))))[:2]
    repeat = x[:, -1:, :1].repeat(1, 6, 1).double().numpy()  # the last value, scaled
    starts = val.start_rows(torch.arange(len(val))).numpy()
    series = np.searchsorted(data.offsets, starts, side="right") - 1
    mase, smape = {}, {}
    for row, i in zip(starts, series):
        origin, v = row - data.offsets[i] + 12, data.frame.values[i][:, 0]
        actual, forecast = v[origin : origin + 6], np.full(6, v[origin - 1])
        mase.setdefault(i, []).append(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(np.diff(v[:origin]))))
        smape.setdefault(i, []).append(np.mean(200 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))
    per_series = lambda d: np.mean([np.mean(w) for w in d.values()])  # each series' mean, then over series
    assert yardstick("mase", repeat, data) == pytest.approx(per_series(mase), rel=1e-6)
    assert yardstick("smape", repeat, data) == pytest.approx(per_series(smape), rel=1e-6)
    y = val.__getitems__(list(range(len(val))))[1].double().numpy()
    assert yardstick("mse", repeat, data) == pytest.approx(np.mean((repeat - y) ** 2))
    assert selection_metric("auto", data) == "mase"  # several series in a long file: scale-free
    assert selection_metric("smape", data) == "smape"
