"""One input path: training windows and `predict`'s inputs are encoded by the same function
(`forecaster.data.inputs.encode`), so the last window `prepare` cuts from a file is, tensor for
tensor, what a saved package builds for `predict` from the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecaster.config import load, with_variant
from forecaster.data.windows import prepare
from forecaster.errors import DataError
from forecaster.models import build_network
from forecaster.serve.package import ForecastPackage, save_package

L, H = 16, 5


def stores(n: int = 90) -> pd.DataFrame:
    """Three hourly series of different lengths and starts, with a past covariate (price), a
    future-known one (promo) and a static category (store_type), all as text."""
    rng = np.random.default_rng(3)
    parts = []
    for k, kind in enumerate(("big", "small", "big")):
        rows = n + 7 * k
        promo = rng.integers(0, 2, rows)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{k}",
                    "ds": pd.date_range(f"2024-03-0{k + 1} 0{k}:00", periods=rows, freq="h").astype(str),
                    "y": np.round(2 * promo + np.sin(np.arange(rows) / 4) + k, 4),
                    "price": np.round(rng.normal(size=rows), 3),
                    "promo": promo.astype(float),
                    "store_type": kind,
                }
            )
        )
    return pd.concat(parts, ignore_index=True).astype(str)


def package_of(tmp_path, table: pd.DataFrame, *extra: tuple[str, str]):
    """The file's prepared data and a package (saved and loaded) of an untrained linear model on it."""
    table.to_csv(tmp_path / "train.csv", index=False)
    overrides = [("data.path", str(tmp_path / "train.csv")), ("data.context_len", str(L)), ("data.horizon", str(H))]
    cfg = with_variant(load(None, [*overrides, *extra, ("tracking.enabled", "false")]), "linear")
    data = prepare(cfg.data)
    torch.manual_seed(0)
    network = build_network(cfg.model, data.schema)
    save_package(tmp_path / "pkg", cfg=cfg, network=network, scaler=data.scaler, schema=data.schema)
    return data, ForecastPackage.load(tmp_path / "pkg")


def last_windows(data):
    """The last window `prepare` cuts from each series: its targets the series' last H rows."""
    lengths = np.diff(np.append(data.offsets, len(data.values)))
    windows = data.windows(data.offsets + lengths - L - H, np.ones(len(lengths), dtype=np.int64))
    return windows.__getitems__(list(range(len(windows))))


def recent(tmp_path, table: pd.DataFrame, *, future: bool) -> str:
    """predict's input for those windows, the file's own text: each series' rows up to the window's
    origin and, for a model with future covariates, its H rows after with the targets empty."""
    from_end = table.groupby("unique_id", sort=False).cumcount(ascending=False)
    rows = [table[from_end >= H]] + ([table[from_end < H].assign(y="")] if future else [])
    pd.concat(rows).to_csv(tmp_path / "recent.csv", index=False)
    return str(tmp_path / "recent.csv")


def test_predict_builds_the_last_training_window_tensor_for_tensor(tmp_path):
    table = stores()
    covariates = [("data.static", "store_type"), ("data.future_covariates", "promo"), ("data.calendar", "hour")]
    data, package = package_of(tmp_path, table, *covariates)
    s = data.schema
    assert s.calendar == ["hour"] and s.future_covariates == ["promo"] and s.static == ["store_type"]
    x, _, future, static = last_windows(data)
    assert x.shape == (3, L, s.n_features) and future.shape == (3, H, s.n_future) and static.shape == (3, 1)

    frame = package.read(recent(tmp_path, table, future=True))
    inputs = package.inputs(frame)
    assert len(inputs) == 3
    for name, trained, predicted in zip(("x", "future", "static"), (x, future, static), inputs):
        assert predicted.dtype == trained.dtype and torch.equal(predicted, trained), name
    with torch.no_grad():  # and the forecast is the network's on the training window, bit for bit
        expected = package.network(x, future, static).numpy().astype(np.float64)
    np.testing.assert_array_equal(package.predict_array(frame), data.scaler.inverse(expected))


def test_without_covariates_predict_builds_the_last_training_window_too(tmp_path):
    table = stores().drop(columns=["promo", "store_type"])
    data, package = package_of(tmp_path, table, ("data.covariates", "price"))
    x, _ = last_windows(data)
    (predicted,) = package.inputs(package.read(recent(tmp_path, table, future=False)))
    assert torch.equal(predicted, x)


@pytest.mark.parametrize("future", [False, True], ids=["history only", "with future rows"])
def test_a_request_table_reads_an_empty_cell_as_missing_like_a_csv(tmp_path, future):
    table = stores()
    extra = [("data.future_covariates", "promo")] if future else [("data.covariates", "price,promo")]
    _, package = package_of(tmp_path, table.drop(columns="store_type"), *extra)
    request = table.drop(columns="store_type").groupby("unique_id").tail(L + (H if future else 0))
    if future:
        request = request.assign(y=request["y"].where(request.groupby("unique_id").cumcount() < L, ""))
    request = request.replace({"": np.nan}).astype(object)
    request.iloc[3, request.columns.get_loc("price")] = np.nan  # a JSON null
    with pytest.raises(DataError, match=r"request, column 'price', line 5: series 's0': 1 missing values"):
        package.read(request)
