"""Timestamps as people export them: offsets across daylight saving, one fixed offset, naive, mixed.

Files are written the way pandas and Excel export a zone-aware index (``2021-03-28 03:00:00+02:00``);
every case goes through the CLI: exit 0, or exit 2 with one message and no traceback.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, run_cli, wide_frame, write

from forecaster.config import DataConfig
from forecaster.data.io import read_frame
from forecaster.data.times import (
    NAIVE,
    VARYING,
    common_freq,
    format_offset,
    localize,
    parse_times,
    same_freq,
    step_freq,
)
from forecaster.errors import DataError


def zoned(start: str, end: str, zone: str, columns=("a", "b")) -> pd.DataFrame:
    """An hourly series in `zone`, its stamps written with offsets as pandas exports them."""
    idx = pd.date_range(start, end, freq="h", tz=zone)
    t = np.arange(len(idx))
    data = {"date": idx.astype(str)}
    for k, c in enumerate(columns):
        data[c] = np.round(10 * k + np.sin(2 * np.pi * t / 24 + k), 4)
    return pd.DataFrame(data)


def parse(stamps: list[str], expect: str | None = None):
    return parse_times(pd.Series(stamps), np.arange(2, len(stamps) + 2), "f.csv", "date", expect=expect)


# --- reading stamps -------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_a_dst_zone_with_offsets_is_regular_in_utc(zone, tmp_path, capsys):
    frame = zoned("2021-03-01", "2021-11-30", zone)  # both the spring and the autumn change
    offsets = frame["date"].str[-6:].unique()
    assert len(offsets) == 2  # the file really changes offset
    path = write(tmp_path, frame)
    read = read_frame(DataConfig(path=str(path)))
    assert read.schema.freq == "h" and read.schema.tz == VARYING
    assert len(read.times[0]) == len(frame)  # nothing inserted, nothing dropped
    expected = pd.DatetimeIndex(pd.to_datetime(frame["date"], utc=True)).tz_localize(None)
    assert (read.times[0] == expected).all()
    code, out, err = run_cli(capsys, "data", "inspect", path, "--context-len", "48", "--horizon", "24")
    assert code == 0, err
    assert "frequency:    h" in out and "gaps:         none" in out and "UTC offsets vary" in out


def test_berlin_changes_read_as_instants():
    spring = ["2021-03-28 01:00:00+01:00", "2021-03-28 03:00:00+02:00", "2021-03-28 04:00:00+02:00"]
    times, tz = parse(spring)
    assert tz == VARYING and list(np.diff(times.asi8)) == [3_600_000_000_000] * 2  # 02:00 never existed
    autumn = ["2021-10-31 02:00:00+02:00", "2021-10-31 02:00:00+01:00", "2021-10-31 03:00:00+01:00"]
    times, tz = parse(autumn)
    assert str(times[0]) == "2021-10-31 00:00:00" and times.is_unique  # 02:00 twice: two instants


@pytest.mark.parametrize(
    "stamps, tz",
    [
        (["2021-01-01 00:00:00", "2021-01-01 01:00:00"], NAIVE),
        (["2021-01-01T00:00:00Z", "2021-01-01T01:00:00Z"], "+00:00"),
        (["2021-01-01 00:00+05:30", "2021-01-01 01:00+05:30"], "+05:30"),
        (["2021-01-01 00:00-03:00", "2021-01-01 01:00-0300"], "-03:00"),
    ],
)
def test_the_convention_is_recorded(stamps, tz):
    times, found = parse(stamps)
    assert found == tz
    if tz == NAIVE:
        assert list(times) == list(pd.to_datetime(stamps))  # naive stamps are kept as they are


def test_offsets_are_formatted_like_exports():
    assert format_offset(pd.Timedelta(hours=-3, minutes=-30)) == "-03:30"
    assert format_offset(pd.Timedelta(minutes=53, seconds=28)) == "+00:53:28"


@pytest.mark.parametrize("first_naive", [True, False])
def test_naive_mixed_with_aware_names_the_first_offending_line(first_naive, tmp_path, capsys):
    frame = zoned("2021-03-20", "2021-04-20", "Europe/Berlin")
    if first_naive:
        frame["date"] = frame["date"].str[:19]
    frame.loc[40, "date"] = (
        str(pd.Timestamp(frame.loc[40, "date"]).tz_localize("Europe/Berlin"))
        if first_naive
        else frame.loc[40, "date"][:19]
    )
    path = write(tmp_path, frame)
    code, _, err = run_cli(capsys, "data", "inspect", path)
    assert code == 2 and "Traceback" not in err and err.count("error:") == 1
    assert str(path) in err and "column 'date'" in err and "line 42" in err
    assert "with and without UTC offsets are mixed" in err and "or none" in err


def test_an_unreadable_offset_keeps_the_unreadable_timestamp_error(tmp_path, capsys):
    frame = zoned("2021-03-20", "2021-04-20", "Europe/Berlin")
    frame.loc[7, "date"] = "2021-03-20 07:00:00+25:00"
    code, _, err = run_cli(capsys, "data", "inspect", write(tmp_path, frame))
    assert code == 2 and "Traceback" not in err
    assert "cannot read '2021-03-20 07:00:00+25:00' as a timestamp" in err and "line 9" in err


def test_daily_stamps_with_changing_offsets_get_a_fix_that_works(tmp_path, capsys):
    days = pd.date_range("2021-03-01", "2021-05-01", freq="D", tz="Europe/Berlin")
    path = write(tmp_path, pd.DataFrame({"date": days.astype(str), "a": np.arange(len(days))}))
    code, _, err = run_cli(capsys, "data", "inspect", path)
    assert code == 2 and "Traceback" not in err and "line 30" in err and "dates without times or offsets" in err
    dates = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "a": np.arange(len(days))})  # the fix
    code, out, err = run_cli(capsys, "data", "inspect", write(tmp_path, dates), "--context-len", "7", "--horizon", "2")
    assert code == 0, err
    assert "frequency:    D" in out


def test_a_first_column_of_varying_offsets_is_found_as_the_time_column(tmp_path, capsys):
    frame = zoned("2021-03-27", "2021-04-10", "Europe/Berlin").rename(columns={"date": "when"})
    code, out, err = run_cli(capsys, "data", "inspect", write(tmp_path, frame), "--context-len", "24", "--horizon", "6")
    assert code == 0, err
    assert "time column:  when (UTC offsets vary" in out


@pytest.mark.parametrize("expect, phrase", [("+01:00", "has no UTC offset"), (NAIVE, "has a UTC offset")])
def test_history_must_follow_the_trained_convention(expect, phrase):
    stamps = ["2021-01-01 00:00:00", "2021-01-01 01:00:00"]
    if expect == NAIVE:
        stamps = [s + "+01:00" for s in stamps]
    with pytest.raises(DataError) as info:
        parse(stamps, expect=expect)
    assert phrase in str(info.value) and info.value.row == 2 and info.value.column == "date"
    parse(["2021-07-01 00:00+02:00", "2021-07-01 01:00+02:00"], expect=VARYING)  # other offsets: same instants
    parse(stamps, expect=None)  # unrecorded (an old package): not checked


def test_localize_writes_the_convention():
    utc = pd.date_range("2021-10-30 23:00", periods=3, freq="h")
    assert localize(utc, NAIVE) is utc and localize(utc, None) is utc
    assert str(localize(utc, "+05:30")[0]) == "2021-10-31 04:30:00+05:30"
    assert str(localize(utc, "-03:30")[0]) == "2021-10-30 19:30:00-03:30"
    assert [str(t)[-6:] for t in localize(utc, VARYING)] == ["+00:00"] * 3


# --- frequencies compared as steps ---------------------------------------------------------------


def test_frequencies_are_compared_as_steps():
    assert step_freq(pd.Timedelta(days=1)) == "D" and step_freq(pd.Timedelta(days=2)) == "2D"
    assert step_freq(pd.Timedelta(hours=1)) == "h" and step_freq(pd.Timedelta(minutes=90)) == "90min"
    assert same_freq("D", "24h") and same_freq("W-SUN", "7D") and not same_freq("h", "D")
    assert not same_freq("MS", "ME") and same_freq("MS", "MS")
    assert common_freq(["D", "24h", "D"]) == "D" and common_freq(["W-SUN", "7D"]) == "7D"
    assert common_freq(["h", "h"]) == "h" and common_freq(["h", "D"]) is None


def test_daily_series_with_and_without_filled_gaps_share_one_frequency(tmp_path, capsys):
    days = pd.date_range("2021-01-01", periods=60, freq="D")
    full = pd.DataFrame({"unique_id": "a", "ds": days.astype(str), "y": np.arange(60.0)})
    gappy = full.assign(unique_id="b").drop(index=[10, 11, 30])
    path = write(tmp_path, pd.concat([full, gappy]))
    code, out, err = run_cli(
        capsys, "data", "inspect", path, "--data.fill", "ffill", "--context-len", "14", "--horizon", "7"
    )
    assert code == 0, err
    assert "frequency:    D" in out and "inserted 3 missing 'D' timestamps" in out
    only_gappy = read_frame(DataConfig(path=str(write(tmp_path, gappy, "b.csv")), fill="ffill"))
    assert only_gappy.schema.freq == "D"  # not "24h"


# --- train and predict ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def berlin(tmp_path_factory):
    """A tiny package trained on Berlin hourly data across the spring change (tracking off)."""
    import cli

    root = tmp_path_factory.mktemp("berlin")
    data = root / "train.csv"
    zoned("2021-03-10", "2021-04-05", "Europe/Berlin").to_csv(data, index=False)
    args = ["train", "--data", str(data), *TINY, "--trainer.max_steps", "3", "--tracking.enabled", "false"]
    assert cli.main([*args, "--save", str(root / "pkg")]) == 0
    return root / "pkg"


def _predict(capsys, package, history):
    code, out, err = run_cli(capsys, "predict", "--model", package, "--data", history)
    return code, pd.read_csv(io.StringIO(out)) if code == 0 else None, err


@pytest.mark.slow
def test_forecasts_are_written_in_the_input_convention(berlin, tmp_path, capsys):
    assert json.loads((berlin / "schema.json").read_text())["tz"] == VARYING
    across = write(tmp_path, zoned("2021-10-29 12:00", "2021-10-31 05:00", "Europe/Berlin"), "across.csv")
    code, out, err = _predict(capsys, berlin, across)
    assert code == 0, err
    assert (out["date"].str[-6:] == "+00:00").all()  # offsets vary: UTC (see forecaster.data.times)
    assert out["date"].iloc[0] == "2021-10-31 05:00:00+00:00"  # 05:00+01:00 is 04:00 UTC; one hour on
    fixed = write(tmp_path, zoned("2021-07-01", "2021-07-03", "Europe/Berlin"), "summer.csv")
    code, out, err = _predict(capsys, berlin, fixed)
    assert code == 0, err
    assert list(out["date"][:2]) == ["2021-07-03 01:00:00+02:00", "2021-07-03 02:00:00+02:00"]


@pytest.mark.slow
def test_predict_and_the_pyfunc_answer_alike(berlin, tmp_path, capsys):
    from forecaster.serve.package import ForecastPackage
    from forecaster.serve.pyfunc import forecast_table

    history = zoned("2021-03-26", "2021-03-29", "Europe/Berlin")
    code, out, err = _predict(capsys, berlin, write(tmp_path, history))
    assert code == 0, err
    served = forecast_table(ForecastPackage.load(berlin), history)
    pd.testing.assert_frame_equal(served[["date"]], out[["date"]])
    np.testing.assert_allclose(served[["a", "b"]].to_numpy(), out[["a", "b"]].to_numpy(), rtol=1e-6)


@pytest.mark.slow
def test_a_naive_history_for_an_aware_model_is_refused(berlin, tmp_path, capsys):
    history = zoned("2021-03-26", "2021-03-29", "Europe/Berlin")
    history["date"] = history["date"].str[:19]
    code, _, err = _predict(capsys, berlin, write(tmp_path, history))
    assert code == 2 and "Traceback" not in err
    assert "column 'date', line 2" in err and "trained on timestamps with offsets" in err


@pytest.mark.slow
def test_an_old_package_without_a_convention_still_serves(berlin, tmp_path, capsys):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(berlin, old)
    schema = json.loads((old / "schema.json").read_text())
    del schema["tz"]
    (old / "schema.json").write_text(json.dumps(schema))
    history = zoned("2021-03-26", "2021-03-29", "Europe/Berlin")
    code, out, err = _predict(capsys, old, write(tmp_path, history))
    assert code == 0, err
    assert out["date"].str.endswith("+00:00").all()


@pytest.mark.slow
def test_a_naive_model_refuses_aware_history(tmp_path, capsys):
    import cli

    data = write(tmp_path, wide_frame(200), "naive.csv")
    args = ["train", "--data", str(data), *TINY, "--trainer.max_steps", "2", "--tracking.enabled", "false"]
    assert cli.main([*args, "--save", str(tmp_path / "pkg")]) == 0
    capsys.readouterr()
    aware = zoned("2020-01-01", "2020-01-03", "UTC", columns=("a", "b", "c"))
    code, _, err = _predict(capsys, tmp_path / "pkg", write(tmp_path, aware, "aware.csv"))
    assert code == 2 and "Traceback" not in err and "trained on naive timestamps" in err


@pytest.mark.slow
def test_the_logged_mlflow_model_answers_like_predict(mlflow_uri, tmp_path, capsys):
    """The input example is logged with offsets, and the model from its URI forecasts like the package."""
    data = write(tmp_path, zoned("2021-03-10", "2021-04-05", "America/New_York"), "train.csv")
    args = [*TINY, "--trainer.max_steps", "2", "--tracking.plots", "false", "--save", tmp_path / "pkg"]
    code, out, err = run_cli(capsys, "train", "--data", data, *args)
    assert code == 0, err
    uri = next(line.split(": ", 1)[1] for line in out.splitlines() if line.strip().startswith("model:"))
    history = write(tmp_path, zoned("2021-11-05", "2021-11-08", "America/New_York"), "recent.csv")
    code, local, err = _predict(capsys, tmp_path / "pkg", history)
    assert code == 0, err
    code, served, err = _predict(capsys, uri, history)
    assert code == 0, err
    pd.testing.assert_frame_equal(local, served)
    assert local["date"].iloc[0] == "2021-11-08 06:00:00+00:00"  # 00:00-05:00 is 05:00 UTC; one hour on
