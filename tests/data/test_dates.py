"""Numeric dates read as written (`forecaster.data.dates`): day-first or month-first, decided once
per column, ambiguity and mixed formats refused with the line and the fix."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, run_cli, write

from forecaster.config import DataConfig
from forecaster.data.io import read_frame
from forecaster.data.times import read_times
from forecaster.errors import DataError


def hourly(start: str, periods: int, fmt: str, freq: str = "h") -> pd.DataFrame:
    """A series whose stamps are written with `fmt`; value a is the row's position."""
    idx = pd.date_range(start, periods=periods, freq=freq)
    t = np.arange(periods)
    return pd.DataFrame({"date": idx.strftime(fmt), "a": t.astype(float), "b": np.sin(t)})


def read(stamps: list[str], dayfirst: bool | None = None):
    return read_times(pd.Series(stamps), np.arange(2, len(stamps) + 2), "f.csv", "date", dayfirst=dayfirst)


DAY_FIRST = "%d/%m/%Y %H:%M"
MONTH_FIRST = "%m/%d/%Y %H:%M"


def test_an_ambiguous_day_first_file_is_refused_with_the_fix(tmp_path, capsys):
    """Five days of January, day-first: every stamp reads both ways, so none is guessed (nor sorted)."""
    path = write(tmp_path, hourly("2020-01-01", 120, DAY_FIRST))
    code, _, err = run_cli(capsys, "data", "inspect", path, "--context-len", "12", "--horizon", "4")
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and "column 'date', line 26" in err  # 02/01/2020 00:00, the first that differs
    assert "'02/01/2020 00:00'" in err and "--data.dayfirst true" in err and "--data.dayfirst false" in err
    assert "sort" not in err


def test_the_configured_order_puts_values_on_their_dates(tmp_path, capsys):
    path = write(tmp_path, hourly("2020-01-01", 120, DAY_FIRST))
    frame = read_frame(DataConfig(path=str(path), dayfirst=True))
    expected = pd.date_range("2020-01-01", periods=120, freq="h")
    pd.testing.assert_index_equal(frame.times[0], expected, check_names=False)
    np.testing.assert_array_equal(frame.values[0][:, 0], np.arange(120))  # each value on its own hour
    assert frame.schema.dayfirst is True and frame.schema.freq == "h"
    code, out, err = run_cli(
        capsys, "data", "inspect", path, "--data.dayfirst", "true", "--context-len", "12", "--horizon", "4"
    )
    assert code == 0, err
    assert "2020-01-01 00:00:00 .. 2020-01-05 23:00:00" in out
    month_first, *_ = read(["01/01/2020", "02/01/2020"], dayfirst=False)  # the other reading, as asked
    assert month_first[1] == pd.Timestamp("2020-02-01")


@pytest.mark.parametrize(("fmt", "dayfirst"), [("%d/%m/%Y", True), ("%m/%d/%Y", False), ("%d.%m.%y", True)])
def test_a_day_above_12_decides_the_order(fmt, dayfirst, tmp_path):
    days = hourly("2020-01-01", 40, fmt, freq="D")
    frame = read_frame(DataConfig(path=str(write(tmp_path, days))))
    assert frame.schema.dayfirst is dayfirst and frame.schema.freq == "D"
    pd.testing.assert_index_equal(frame.times[0], pd.date_range("2020-01-01", periods=40), check_names=False)
    np.testing.assert_array_equal(frame.values[0][:, 0], np.arange(40))


def test_a_configured_order_the_dates_contradict_is_refused(tmp_path):
    path = write(tmp_path, hourly("2020-01-10", 120, DAY_FIRST))
    with pytest.raises(DataError) as info:
        read_frame(DataConfig(path=str(path), dayfirst=False))
    assert info.value.row == 2 + 3 * 24  # 13/01/2020 00:00
    assert "can only be read day-first (13 is no month)" in str(info.value)
    assert "--data.dayfirst true" in info.value.fix


def test_mixed_formats_are_refused_naming_the_line():
    with pytest.raises(DataError, match="another date format") as info:
        read(["2020-01-12", "2020-01-13", "14/01/2020", "15/01/2020"])
    assert info.value.row == 4 and "'2020-01-12' on line 2" in str(info.value)
    with pytest.raises(DataError, match="two orders") as info:
        read(["12/01/2020", "13/01/2020", "01/14/2020"])
    assert info.value.row == 4 and "'13/01/2020' on line 3" in str(info.value)


def test_year_first_dates_are_never_ambiguous():
    stamps = ["2020-01-02 00:00:00", "2020-01-03 00:00:00", "2020/01/04"]
    for dayfirst in (None, True, False):
        times, *_ = read(stamps, dayfirst)
        assert list(times.day) == [2, 3, 4] and list(times.month) == [1, 1, 1]


def test_times_and_offsets_are_kept_and_unreadable_dates_named():
    times, tz, dayfirst = read(["13/01/2020T05:30:00+02:00", "14/01/2020T05:30:00+02:00"])
    assert dayfirst is True and tz == "+02:00" and times[0] == pd.Timestamp("2020-01-13 03:30")
    with pytest.raises(DataError, match="cannot read '32/01/2020'") as info:
        read(["13/01/2020", "32/01/2020"])
    assert info.value.row == 3
    with pytest.raises(DataError, match="cannot read 'soon'"):
        read(["13/01/2020", "soon"])


@pytest.mark.slow
def test_predict_reads_new_files_in_the_trained_order(tmp_path, capsys):
    """Trained on day-first dates (decided from a day above 12), predict reads a history of days 1-5
    (ambiguous on its own) day-first too; the order is in schema.json."""
    train = write(tmp_path, hourly("2020-01-01", 600, DAY_FIRST), "train.csv")
    args = ["train", "--data", train, *TINY, "--trainer.max_steps", "2", "--tracking.enabled", "false"]
    code, _, err = run_cli(capsys, *args, "--save", tmp_path / "pkg")
    assert code == 0, err
    assert json.loads((tmp_path / "pkg" / "schema.json").read_text())["dayfirst"] is True
    recent = write(tmp_path, hourly("2020-03-01", 100, DAY_FIRST), "recent.csv")
    code, out, err = run_cli(capsys, "predict", "--model", tmp_path / "pkg", "--data", recent)
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["date"].iloc[0] == "2020-03-05 04:00:00"
