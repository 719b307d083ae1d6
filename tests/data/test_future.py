"""predict's input (`forecaster.data.future`): each series' future rows split off its history, their
timestamps checked. That the inputs built from it equal training's last window: tests/data/test_inputs.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_inputs import H, package_of, recent, stores

from forecaster.data.future import read_input
from forecaster.errors import DataError


def test_read_input_splits_each_series_future_rows_off_its_history(tmp_path):
    table = stores().drop(columns="store_type")
    data, package = package_of(tmp_path, table, ("data.future_covariates", "promo"))
    path = recent(tmp_path, table, future=True)
    frame = read_input(path, data.schema, package.cfg.data)
    lengths = table.groupby("unique_id", sort=False).size().tolist()
    assert [len(t) for t in frame.times] == [n - H for n in lengths]  # the last H rows: the future
    given = pd.read_csv(path, dtype=str)
    for sid, times, future in zip(frame.schema.series_ids, frame.times, frame.future):
        rows = given[given["unique_id"] == sid].tail(H)
        assert future.shape == (H, 1)
        np.testing.assert_array_equal(future[:, 0], rows["promo"].astype(float).to_numpy())
        assert pd.Timestamp(rows["ds"].iloc[0]) == times[-1] + pd.Timedelta(hours=1)
    late = given.copy()
    late.loc[late.index[-H], "ds"] = "2030-01-01 00:00:00"  # the last series' first future row, off its step
    with pytest.raises(DataError, match=r"column 'ds', line \d+: future row 1 is at 2030-01-01"):
        read_input(late, data.schema, package.cfg.data)
    with pytest.raises(DataError, match="no history rows"):
        read_input(given.assign(y=""), data.schema, package.cfg.data)
