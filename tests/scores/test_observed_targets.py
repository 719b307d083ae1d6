"""Missing values as missing: a cell `data.fill` made up is an input, never a target. It counts in no
loss, validation yardstick, test metric or conformal score, and windows whose targets are mostly
filled are skipped with a note (forecaster.data.windows.PreparedData.targets)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY, run_cli, wide_frame

from forecaster.config import DataConfig
from forecaster.data.windows import MIN_OBSERVED, prepare
from forecaster.nn.baselines import NaiveForecaster
from forecaster.scores.interval_metrics import interval_metrics
from forecaster.scores.intervals import calibrate, conformal_quantile
from forecaster.scores.metrics import YARDSTICKS, evaluate, m4_metrics, observed, scorer, validation_loss


def _data(tmp_path, blank_rows: list[int], **kw):
    frame = wide_frame(n=200)
    frame.loc[blank_rows, "a"] = np.nan  # column 'a' is a target; its cells on these rows are filled
    path = tmp_path / "gappy.csv"
    frame.to_csv(path, index=False)
    cfg = DataConfig(path=str(path), fill="ffill", context_len=24, horizon=6, **kw)
    return prepare(cfg)


def test_filled_target_cells_are_nan_in_the_targets_and_observed_in_the_frame(tmp_path):
    data = _data(tmp_path, [50, 51, 199])
    assert data.frame.observed is not None and not data.frame.observed[0][[50, 51, 199], 0].any()
    assert torch.isnan(data.targets[[50, 51, 199], 0]).all() and not torch.isnan(data.targets[:50]).any()
    assert torch.isfinite(data.values).all()  # as inputs the cells are filled
    ds = data.dataset("train")
    x, y = ds[50 - 24 - 6 + 1]  # the window whose last target step is row 50
    assert torch.isnan(y[-1, 0]) and torch.isfinite(x).all()


def test_a_file_without_missing_cells_has_no_mask(tmp_path):
    data = _data(tmp_path, [])
    assert data.frame.observed is None and data.targets is None


def test_changing_a_filled_cell_changes_no_metric_loss_or_score(tmp_path):
    """The file's last row of 'a' is filled: it is a target of the last test windows and an input of
    none, so changing its filled value may change nothing; scored as observed (no mask), it would."""
    data = _data(tmp_path, [199])
    network = NaiveForecaster(horizon=6, n_targets=3)
    calibration = calibrate(network, data)

    def everything(d):
        test = d.dataset("test")
        out = {k: v for k, v in evaluate(network, test, d.scaler).items() if k != "predict_ms_per_window"}
        predictions = np.stack([network(x[None])[0].numpy() for x, _ in test])
        out |= {f"test_{m}": scorer(m, d, "test")(predictions) for m in YARDSTICKS}
        out |= {f"m4_{k}": v for k, v in m4_metrics(d, predictions).items()}
        out |= interval_metrics(network, d, calibration)
        out["val_loss"] = validation_loss(network, d.dataset("val"), "none")
        return out

    before = everything(data)
    changed = data.values.clone()
    changed[199, 0] += 50.0  # the filled cell, in scaled units
    data.frame.values[0][199, 0] += 50.0 * data.scaler.scale[0]
    after = everything(dataclasses.replace(data, values=changed))
    assert after == pytest.approx(before, rel=1e-12)
    unmasked = everything(dataclasses.replace(data, values=changed, targets=None, frame=_unmasked(data.frame)))
    assert unmasked["mse"] != pytest.approx(before["mse"])  # scored as observed, the made-up value would count


def _unmasked(frame):
    return dataclasses.replace(frame, observed=None)


def test_the_loss_leaves_out_filled_targets():
    torch.manual_seed(0)
    pred, y = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    y[0, 1, 2] = float("nan")
    loss = F.mse_loss(*observed(pred, y))
    other = pred.clone()
    other[0, 1, 2] += 100.0  # the forecast of a filled cell: no gradient, no loss
    assert float(F.mse_loss(*observed(other, y))) == pytest.approx(float(loss))
    keep = ~torch.isnan(y)
    assert float(loss) == pytest.approx(float(((pred - y)[keep] ** 2).mean()))
    quantiles = torch.randn(2, 4, 3, 5)  # a quantile head's (B, H, K, Q)
    assert observed(quantiles, y)[0].shape == (int(keep.sum()), 5)
    full = torch.randn(2, 4, 3)
    assert observed(pred, full)[1] is full  # nothing filled: unchanged


def test_conformal_quantiles_count_only_observed_scores():
    rng = np.random.default_rng(0)
    scores = rng.random((40, 3, 2))
    with_nan = scores.copy()
    with_nan[5:10, 1, 0] = np.nan
    got = conformal_quantile(with_nan, 80.0)
    assert got[0, 0] == conformal_quantile(scores, 80.0)[0, 0]
    assert got[1, 0] == conformal_quantile(np.delete(scores[:, 1, 0], range(5, 10))[:, None], 80.0)[0]


def test_windows_with_mostly_filled_targets_are_skipped_with_a_note(tmp_path, caplog):
    """One target, horizon 6, rows 120..125 filled: the windows whose targets start at rows 118..122
    hold 4 to 6 filled cells of 6, fewer than MIN_OBSERVED observed, and are skipped (5 windows)."""

    def one_column(blank):
        frame = wide_frame(n=200, columns=("a",))
        frame.loc[blank, "a"] = np.nan
        path = tmp_path / f"one{len(blank)}.csv"
        frame.to_csv(path, index=False)
        return prepare(DataConfig(path=str(path), fill="ffill", context_len=24, horizon=6))

    assert MIN_OBSERVED == 0.5
    complete = one_column([])
    gappy = one_column(list(range(120, 126)))
    assert gappy.n_windows("train") == complete.n_windows("train") - 5
    assert "skipped 5 of 111 train windows" in caplog.text
    origins = gappy.dataset("train").start_rows(torch.arange(gappy.n_windows("train"))).numpy() + 24
    assert not set(range(118, 123)) & set(origins.tolist()) and {117, 123} <= set(origins.tolist())
    for _x, y in gappy.dataset("train"):
        assert int(torch.isnan(y).sum()) <= 3
    three = _data(tmp_path, list(range(120, 126)))  # one of three targets filled: 6 of 18 cells at most
    assert three.n_windows("train") == complete.n_windows("train")


def test_train_and_predict_with_filled_cells_end_to_end(tmp_path, capsys, mlflow_uri):
    """`train --data.fill ffill` on a file with missing target cells: finite metrics, a package that
    forecasts with intervals (the calibration left the filled cells out)."""
    frame = wide_frame(n=200)
    frame.loc[[60, 61, 62, 150, 199], "a"] = np.nan
    frame.to_csv(tmp_path / "gappy.csv", index=False)
    metrics = tmp_path / "metrics.json"
    code, _, err = run_cli(
        capsys, "train", "--data", tmp_path / "gappy.csv", "--data.fill", "ffill", *TINY,
        "--tracking.plots", "false", "--save", tmp_path / "pkg", "--metrics-out", metrics,
    )  # fmt: skip
    assert code == 0, err
    assert all(np.isfinite(v) for v in json.loads(metrics.read_text()).values() if isinstance(v, float))
    code, out, err = run_cli(
        capsys, "predict", "--model", tmp_path / "pkg", "--data", tmp_path / "gappy.csv", "--level", "80"
    )
    assert code == 0, err
    assert "-lo-80" in out and "nan" not in out.lower()


def test_cross_validation_scores_leave_filled_cells_out(tmp_path):
    """The table's `y` is empty where a cell was filled (no actual), and the scores stay finite without it."""
    from forecaster.compare import cross_validation as cv
    from forecaster.config import load

    frame = wide_frame(n=200)
    frame.loc[[196, 197], "a"] = np.nan  # inside the last window's horizon
    path = tmp_path / "gappy.csv"
    frame.to_csv(path, index=False)
    settings = [("data.path", str(path)), ("data.fill", "ffill"), ("data.context_len", 24), ("data.horizon", 6)]
    settings.append(("tracking.enabled", False))
    result = cv.run(load(None, settings), variants=["naive"], n_windows=2)
    filled = result.table[result.table["ds"].astype(str).isin(frame.loc[[196, 197], "date"])]
    assert filled["y"].isna().sum() == 2  # column a's two filled cells
    assert np.isfinite(result.scores["naive"]["mse"])
