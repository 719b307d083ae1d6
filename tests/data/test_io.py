"""Reading and validating CSVs: both layouts, and one clear error (exit 2) for each bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import ETTH1, long_frame, run_cli, wide_frame

from forecaster.config import DataConfig
from forecaster.data.io import read_frame
from forecaster.data.sources import request_table
from forecaster.data.windows import prepare
from forecaster.errors import DataError


def test_etth1_is_read_as_wide_hourly():
    frame = read_frame(DataConfig(path=str(ETTH1)))
    s = frame.schema
    assert s.layout == "wide" and s.time_col == "date" and s.freq == "h"
    assert s.columns == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert frame.n_rows == 17420 and frame.values[0].shape == (17420, 7)
    raw = pd.read_csv(ETTH1)
    np.testing.assert_allclose(frame.values[0], raw.iloc[:, 1:].to_numpy())


def test_long_file_keeps_series_apart(long_csv):
    frame = read_frame(DataConfig(path=str(long_csv)))
    s = frame.schema
    assert s.layout == "long" and s.id_col == "unique_id" and s.freq == "D"
    assert s.series_ids == ["s0", "s1", "s2"] and [len(t) for t in frame.times] == [200, 150, 260]
    assert s.columns == ["y"] and s.n_targets == 1


def _write(tmp_path, text: str | bytes, name="bad.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


class _Lazy:
    """File content written only when its case runs (the cases share one folder)."""

    def __init__(self, content):
        self.content = content


def _rows(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


def _bad_cases(tmp_path):
    """name -> (file, extra CLI args, phrases the message must contain)."""
    w = wide_frame(60)
    out_of_order = w.copy()
    out_of_order.iloc[[10, 11]] = out_of_order.iloc[[11, 10]].to_numpy()
    dup = w.copy()
    dup.loc[20, "date"] = dup.loc[19, "date"]
    gap = w.drop(index=[30, 31]).reset_index(drop=True)
    irregular = w.copy()
    irregular.loc[40, "date"] = str(pd.Timestamp(irregular.loc[40, "date"]) + pd.Timedelta(minutes=30))
    bad_time = w.copy()
    bad_time.loc[5, "date"] = "yesterday-ish"
    text_value = w.copy().astype({"b": object})
    text_value.loc[7, "b"] = "abc"
    huge = w.copy().astype({"a": object})
    huge.loc[8, "a"] = "1e400"
    infinite = w.copy().astype({"c": object})
    infinite.loc[9, "c"] = "inf"
    empty_col = w.copy()
    empty_col["d"] = ""
    missing = w.copy().astype({"a": object})
    missing.loc[12, "a"] = ""
    ragged = _rows(w).splitlines()
    ragged[4] += ",99"
    long_no_value = long_frame().rename(columns={"y": "amount"})
    short_series = long_frame(lengths=(200, 20, 260))
    return {
        "missing file": (tmp_path / "nope.csv", [], ["file not found"]),
        "empty file": (_Lazy(""), [], ["empty"]),
        "header only": (_Lazy("date,a,b\n"), [], ["no data rows"]),
        "unparseable timestamp": (_Lazy(_rows(bad_time)), [], ["'yesterday-ish'", "timestamp", "line 7"]),
        "duplicate timestamps": (_Lazy(_rows(dup)), [], ["duplicate timestamp", "line 22"]),
        "rows out of order": (_Lazy(_rows(out_of_order)), [], ["out of time order", "--data.sort"]),
        "missing timestamps": (_Lazy(_rows(gap)), [], ["2 missing timestamps", "--data.fill"]),
        "irregular spacing": (_Lazy(_rows(irregular)), [], ["irregular spacing", "line 42"]),
        "non-numeric value": (_Lazy(_rows(text_value)), [], ["'abc' is not a number", "column 'b'", "line 9"]),
        "overflowing value": (_Lazy(_rows(huge)), [], ["'1e400'", "too large", "column 'a'", "line 10"]),
        "infinite value": (_Lazy(_rows(infinite)), [], ["'inf'", "infinite", "line 11"]),
        "all-empty column": (_Lazy(_rows(empty_col)), [], ["column 'd'", "empty"]),
        "missing value": (_Lazy(_rows(missing)), [], ["missing values", "column 'a'", "line 14", "--data.fill"]),
        "wrong delimiter": (_Lazy(_rows(w).replace(",", ";")), [], ["';'-delimited", "--data.delimiter"]),
        "binary file": (_Lazy(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10), [], ["binary"]),
        "ragged row": (_Lazy("\n".join(ragged) + "\n"), [], ["5 fields but the header has 4", "line 5"]),
        "too few rows": (
            _Lazy(_rows(wide_frame(30))),
            ["--context-len", "24", "--horizon", "6"],
            ["30 rows", "needs at least"],
        ),
        "long without id": (_Lazy(_rows(w)), ["--data.format", "long"], ["series id column", "--data.id_col"]),
        "long without value": (_Lazy(_rows(long_no_value)), [], ["value column", "--data.value_col"]),
        "short series": (
            _Lazy(_rows(short_series)),
            ["--context-len", "14", "--horizon", "7"],
            ["series 's1'", "20 rows", "--data.drop_short"],
        ),
    }


CASES = [
    "missing file",
    "empty file",
    "header only",
    "unparseable timestamp",
    "duplicate timestamps",
    "rows out of order",
    "missing timestamps",
    "irregular spacing",
    "non-numeric value",
    "overflowing value",
    "infinite value",
    "all-empty column",
    "missing value",
    "wrong delimiter",
    "binary file",
    "ragged row",
    "too few rows",
    "long without id",
    "long without value",
    "short series",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_clear_error(case, tmp_path, capsys):
    path, extra, phrases = _bad_cases(tmp_path)[case]
    if isinstance(path, _Lazy):
        path = _write(tmp_path, path.content)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _out, err = run_cli(capsys, "data", "inspect", path, *extra)
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(path) in err
    for phrase in phrases:
        assert phrase in err, f"{phrase!r} not in {err!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_lenient_choices_are_opt_in_and_reported(tmp_path, capsys):
    w = wide_frame(80)
    gap = w.drop(index=[30, 31]).reset_index(drop=True)
    gap.loc[5, "a"] = np.nan
    shuffled = pd.concat([gap.iloc[40:], gap.iloc[:40]])
    path = _write(tmp_path, _rows(shuffled))
    code, out, err = run_cli(
        capsys,
        "data",
        "inspect",
        path,
        "--data.sort",
        "true",
        "--data.fill",
        "interpolate",
        "--context-len",
        "12",
        "--horizon",
        "4",
    )
    assert code == 0, err
    assert "sorted 78 rows" in out and "inserted 2 missing 'h' timestamps" in out
    assert "filled 7 missing values by interpolate" in out  # 2 inserted rows x 3 columns + 1 cell
    frame = read_frame(DataConfig(path=str(path), sort=True, fill="ffill"))
    assert len(frame.times[0]) == 80 and not np.isnan(frame.values[0]).any()
    assert frame.values[0][30, 0] == frame.values[0][29, 0]  # forward filled


def test_short_series_can_be_dropped_with_a_note(tmp_path, capsys):
    path = _write(tmp_path, _rows(long_frame(lengths=(200, 20, 260))))
    code, out, err = run_cli(
        capsys, "data", "inspect", path, "--context-len", "14", "--horizon", "7", "--data.drop_short", "true"
    )
    assert code == 0, err
    assert "dropped series 's1' (20 rows" in out


def test_data_error_carries_its_parts(tmp_path):
    path = _write(tmp_path, _rows(wide_frame(40)).replace("\n2020-01-01 05:00:00,", "\n2020-01-01 05:00:00,x"))
    with pytest.raises(DataError) as info:
        read_frame(DataConfig(path=str(path)))
    assert info.value.column == "a" and info.value.row == 7 and info.value.fix


def test_a_lone_carriage_return_in_a_field_is_a_clear_error(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(b"date,a\n\r,1\n")
    with pytest.raises(DataError, match="not readable as CSV") as info:
        read_frame(DataConfig(path=str(path)))
    assert "line 2" in str(info.value) and "line ending" in str(info.value)


def test_a_request_table_has_empty_cells_where_values_are_missing():
    """Missing cells read as in a CSV (empty), not as the text 'nan' or 'None' (pandas 2's astype(str))."""
    df = pd.DataFrame({"ds": ["2020-01-01", None], "y": [1.5, np.nan], "id": ["a", np.nan]})
    table, lines = request_table(df)
    assert table.to_numpy().tolist() == [["2020-01-01", "1.5", "a"], ["", "", ""]]
    assert lines.tolist() == [2, 3]


def _with_holes(tmp_path, name: str, later: float | None = None):
    """100 hourly rows (ratio split: training rows 0-69, validation 70-79, test 80-99) with column a
    missing on a training row (30), the last training row (69) and a test row (85); `later`, if
    given, replaces the test row after the hole (86)."""
    w = wide_frame(100)
    w.loc[[30, 69, 85], "a"] = np.nan
    if later is not None:
        w.loc[86, "a"] = later
    return _write(tmp_path, _rows(w), f"{name}.csv")


def test_interpolation_reads_no_later_value_of_the_validation_or_test_rows(tmp_path):
    cfg = DataConfig(fill="interpolate", context_len=8, horizon=4)
    plain, moved = _with_holes(tmp_path, "plain"), _with_holes(tmp_path, "moved", later=1e3)
    frames = [read_frame(cfg, p, fit_on_train=True) for p in (plain, moved)]
    a = frames[0].values[0][:, 0]
    assert a[30] == pytest.approx((a[29] + a[31]) / 2)  # inside the training rows: interpolated
    assert a[69] == a[68]  # the last training row is not filled from the first validation row
    assert a[85] == a[84]  # a test row from the past only: forward-filled
    np.testing.assert_array_equal(frames[0].values[0][:86], frames[1].values[0][:86])  # row 86 moves nothing before it
    (note,) = [d.message for d in frames[0].diagnostics if d.kind == "filled_missing"]
    assert "filled 3 missing values by interpolate" in note and "the 1 in the validation and test rows" in note
    whole = read_frame(cfg, plain).values[0][:, 0]  # predict's history, all of it past: interpolated throughout
    assert whole[85] == pytest.approx((whole[84] + whole[86]) / 2)
    prepared = prepare(replace(cfg, path=str(moved)))  # training reads it so
    np.testing.assert_array_equal(prepared.frame.values[0][:86], frames[1].values[0][:86])


def test_a_large_binary_file_is_refused_from_its_first_kilobytes(tmp_path):
    """200 MB of zeros (a sparse file: no disk used) is refused at once, without reading it whole."""
    import time
    import tracemalloc

    path = tmp_path / "zeros.csv"
    with path.open("wb") as f:
        f.truncate(200 * 2**20)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(DataError, match="binary file"):
        read_frame(DataConfig(path=str(path)))
    seconds, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 0.5 and peak < 2**22, (seconds, peak)


def test_a_single_huge_line_is_refused_in_little_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "one_line.csv"
    path.write_bytes(b"date,a" * (50 * 2**20 // 6))  # 50 MB, no line break
    tracemalloc.start()
    with pytest.raises(DataError, match="first line is over 1 MiB") as info:
        read_frame(DataConfig(path=str(path)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**23 and info.value.row == 1 and info.value.fix
