"""Scoring a package on a CSV (`forecaster.serve.evaluation`): the test split as training split it, and a
rolling-origin backtest of the newest origins, checked by hand with a naive package."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.config import load, with_variant
from forecaster.data.windows import prepare
from forecaster.errors import DataError
from forecaster.models import build_network
from forecaster.scores.metrics import evaluate
from forecaster.serve.evaluation import evaluate_package
from forecaster.serve.package import ForecastPackage


def test_the_backtest_scores_the_newest_origins_step_apart_and_the_test_split_as_training(wide_csv):
    cfg = with_variant(
        load(None, [("data.path", str(wide_csv)), ("data.context_len", 24), ("data.horizon", 6)]), "naive"
    )
    data = prepare(cfg.data)
    package = ForecastPackage(cfg, data.schema, data.scaler, build_network(cfg.model, data.schema).eval(), None)
    metrics = evaluate_package(package, str(wide_csv), backtest_windows=3, step=2)
    trained = evaluate(package.network, data.dataset("test"), data.scaler)
    assert all(metrics[k] == pytest.approx(trained[k]) for k in ("mse", "mae", "n_test_windows"))
    raw = pd.read_csv(wide_csv).iloc[:, 1:].to_numpy()  # 300 rows of a, b, c
    starts = [300 - 24 - 6 - 2 * k for k in range(3)]  # the newest window ends at the last row
    error = np.stack([raw[s + 24 : s + 30] - raw[s + 23] for s in starts])  # naive: the last value repeated
    assert metrics["backtest_windows"] == 3
    assert metrics["backtest_mse_original"] == pytest.approx(np.mean(error**2), rel=1e-5)
    assert metrics["backtest_mae"] == pytest.approx(np.mean(np.abs(error / data.scaler.scale)), rel=1e-5)
    with pytest.raises(DataError, match="--step must be at least 1, got 0"):
        evaluate_package(package, str(wide_csv), backtest_windows=3, step=0)
    with pytest.raises(DataError, match=r"200 origins 2 steps apart need 428 rows per series"):
        evaluate_package(package, str(wide_csv), backtest_windows=200, step=2)


def test_the_test_split_is_read_as_training_read_it_holes_filled_from_the_past(wide_csv, tmp_path):
    frame = pd.read_csv(wide_csv)
    frame.loc[[250, 280], "a"] = np.nan  # two test rows (ratio split: the last 60 of 300)
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    given = [("data.path", str(path)), ("data.context_len", 24), ("data.horizon", 6), ("data.fill", "interpolate")]
    cfg = with_variant(load(None, given), "naive")
    data = prepare(cfg.data)  # training's reading: forward-filled in the test rows
    package = ForecastPackage(cfg, data.schema, data.scaler, build_network(cfg.model, data.schema).eval(), None)
    trained = evaluate(package.network, data.dataset("test"), data.scaler)
    metrics = evaluate_package(package, str(path))
    assert all(metrics[k] == pytest.approx(trained[k], rel=1e-12) for k in ("mse", "mae", "n_test_windows"))
    assert data.frame.values[0][250, 0] == data.frame.values[0][249, 0]
