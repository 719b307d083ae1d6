"""Future-known and static covariates in the data (`forecaster.data.covariates`): schema, windows, static
encoding and checks. Calendar features: tests/data/test_calendar.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.config import DataConfig
from forecaster.data.schema import Schema
from forecaster.data.windows import prepare
from forecaster.errors import DataError


def promo_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    promo = rng.integers(0, 2, n).astype(float)
    return pd.DataFrame(
        {
            "date": pd.date_range("2022-01-01", periods=n, freq="h").astype(str),
            "y": np.round(3 * promo + 0.05 * rng.normal(size=n), 4),
            "price": np.round(rng.normal(size=n), 3),
            "promo": promo,
        }
    )


def test_future_covariates_are_the_last_features_and_windows_carry_their_horizon(tmp_path):
    promo_frame().to_csv(tmp_path / "p.csv", index=False)
    cfg = DataConfig(
        path=str(tmp_path / "p.csv"), targets=["y"], covariates=["price"], future_covariates=["promo"],
        calendar=["hour"], context_len=12, horizon=4,
    )  # fmt: skip
    data = prepare(cfg)
    s = data.schema
    assert s.columns == ["y", "price", "promo"] and s.future_covariates == ["promo"] and s.calendar == ["hour"]
    assert (s.n_features, s.n_future) == (5, 3) and data.values.shape[1] == 5
    x, y, future, static = data.dataset("train").__getitems__([0, 3])
    assert x.shape == (2, 12, 5) and y.shape == (2, 4, 1) and future.shape == (2, 4, 3) and static is None
    np.testing.assert_array_equal(future[0], data.values[12:16, 2:])  # the horizon rows of promo and hour
    assert Schema.from_json(s.to_json()) == s


def test_without_covariates_a_window_is_still_x_and_y(tmp_path):
    promo_frame().to_csv(tmp_path / "p.csv", index=False)
    data = prepare(DataConfig(path=str(tmp_path / "p.csv"), context_len=12, horizon=4))
    assert len(data.dataset("train").__getitems__([0])) == 2
    assert "future_covariates" not in data.schema.to_json()  # schema.json as before


def long_with_static(store_types=("big", "small", "big")) -> pd.DataFrame:
    parts = []
    for k, kind in enumerate(store_types):
        t = np.arange(80)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{k}",
                    "ds": pd.date_range("2021-03-01", periods=80, freq="D").astype(str),
                    "y": np.round(np.sin(t / 3) + k, 4),
                    "store_type": kind,
                    "size": 100 * (k + 1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_static_covariates_are_encoded_per_series(tmp_path):
    long_with_static().to_csv(tmp_path / "s.csv", index=False)
    data = prepare(DataConfig(path=str(tmp_path / "s.csv"), static=["store_type", "size"], context_len=14, horizon=7))
    s = data.schema
    assert s.columns == ["y"] and s.static == ["store_type", "size"]  # not input columns
    assert s.static_categories == [["big", "small"], []] and s.static_cardinalities == [2, 0]
    assert s.static_mean[1] == pytest.approx(200.0)
    *_, static = data.dataset("train").__getitems__([0])
    assert static.shape == (1, 2) and static[0, 0] == 0
    np.testing.assert_array_equal(data.static[data.offsets, 0].numpy(), [0, 1, 0])


def test_a_static_value_that_changes_within_a_series_is_refused(tmp_path):
    table = long_with_static()
    table.loc[90, "store_type"] = "huge"
    table.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match="column 'store_type', line 92: series 's1': the static value changes"):
        prepare(DataConfig(path=str(tmp_path / "s.csv"), static=["store_type"], context_len=14, horizon=7))
