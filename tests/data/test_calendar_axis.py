"""A calendar-true time axis: frequencies are pandas offsets, gaps are steps of the series' own calendar.
A monthly file missing a month is one step short (`--data.fill` fills it); a business-day file with a
holiday stays business days (no weekend is ever made up); a file mixing frequencies is refused naming
its series. Each through the command line and the Python API."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

import forecaster as fc
from forecaster.data.times import calendar
from forecaster.errors import DataError

TINY = ["--data.context_len", "12", "--data.horizon", "3", "--model.name", "naive", "--tracking.enabled", "false"]


def _write(tmp_path, name: str, times: pd.DatetimeIndex, **extra) -> tuple:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"date": times.strftime("%Y-%m-%d"), "y": np.round(100 + rng.normal(size=len(times)), 3)})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize(
    ("freq", "start", "missing"),
    [("MS", "2015-01-01", 1), ("ME", "2015-01-31", 1), ("QS-FEB", "2000-02-01", 1), ("B", "2024-01-01", 1),
     ("W-WED", "2020-01-01", 1), ("YS-JAN", "1950-01-01", 1), ("D", "2024-01-01", 2), ("h", "2024-01-01", 3)],
)  # fmt: skip
def test_the_calendar_of_a_series_with_gaps_is_its_own_offset(freq, start, missing):
    times = pd.date_range(start, periods=80, freq=freq)
    found, full = calendar(times.delete(list(range(20, 20 + missing))))
    assert found == freq and full.equals(times)


def test_irregular_stamps_have_no_calendar():
    times = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04 06:00", "2024-01-05"])
    assert calendar(times) is None


def test_a_monthly_file_missing_a_month_trains_with_fill_and_forecasts_month_starts(tmp_path, capsys):
    path, frame = _write(tmp_path, "monthly.csv", pd.date_range("2015-01-01", periods=72, freq="MS").delete(30))
    code, _, err = run_cli(capsys, "train", "--data", path, *TINY)
    assert code == 2 and "1 missing timestamps in 1 gaps (of the 'MS' calendar)" in err and "--data.fill ffill" in err
    code, _, err = run_cli(capsys, "train", "--data", path, *TINY, "--data.fill", "ffill", "--save", tmp_path / "m")
    assert code == 0, err
    code, out, err = run_cli(capsys, "predict", "--model", tmp_path / "m", "--data", path)
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["date"].tolist() == ["2021-01-01", "2021-02-01", "2021-03-01"]
    api = fc.fit(frame, horizon=3, context_len=12, variant="naive", fill="ffill").predict()
    assert [str(d.date()) for d in api["ds"]] == ["2021-01-01", "2021-02-01", "2021-03-01"]


def test_a_business_day_file_with_a_holiday_stays_business_days(tmp_path, capsys):
    days = pd.bdate_range("2024-01-01", periods=120)
    path, frame = _write(tmp_path, "bdays.csv", days.delete(40))  # a holiday: one business day missing
    code, out, err = run_cli(
        capsys, "data", "inspect", path, "--data.fill", "ffill", "--context-len", "12", "--horizon", "5"
    )
    assert code == 0, err
    assert "frequency:    B" in out and "inserted 1 missing 'B' timestamps" in out + err
    code, _, err = run_cli(capsys, "train", "--data", path, *TINY, "--data.fill", "ffill", "--save", tmp_path / "b")
    assert code == 0, err
    code, out, err = run_cli(capsys, "predict", "--model", tmp_path / "b", "--data", path)
    assert code == 0, err
    stamps = pd.to_datetime(pd.read_csv(io.StringIO(out))["date"])
    assert (stamps.dt.dayofweek < 5).all() and stamps.iloc[0] == days[-1] + pd.offsets.BDay(1)
    api = fc.fit(frame, horizon=3, context_len=12, variant="naive", fill="ffill").predict()
    assert (api["ds"].dt.dayofweek < 5).all()


def test_a_long_file_mixing_daily_and_monthly_series_is_refused_naming_them(tmp_path, capsys):
    daily = pd.DataFrame({"unique_id": "shop", "ds": pd.date_range("2020-01-01", periods=200, freq="D"), "y": 1.0})
    monthly = pd.DataFrame({"unique_id": "region", "ds": pd.date_range("2005-01-01", periods=200, freq="MS"), "y": 2.0})
    frame = pd.concat([daily, monthly]).assign(ds=lambda d: d["ds"].dt.strftime("%Y-%m-%d"))
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    code, _, err = run_cli(capsys, "train", "--data", path, *TINY)
    assert code == 2 and "series 'shop' is 'D', series 'region' is 'MS'" in err and "one file per frequency" in err
    with pytest.raises(DataError, match="series 'shop' is 'D', series 'region' is 'MS'"):
        fc.fit(frame, horizon=3, context_len=12, variant="naive")
