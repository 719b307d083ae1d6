"""Files as tables of text (`forecaster.data.tables`): pyarrow's fast read where rows map onto lines,
Python's csv module (exact lines, precise errors) otherwise, parquet."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import long_frame, wide_frame

from forecaster.config import DataConfig
from forecaster.data.io import read_frame
from forecaster.data.tables import TEXT, read_table
from forecaster.errors import DataError


def _csv(tmp_path, text: str | bytes, name: str = "data.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_clean_file_is_read_fast_and_a_blank_line_exactly_alike(tmp_path):
    text = wide_frame(50).to_csv(index=False)
    lines = text.splitlines(keepends=True)
    clean, fast_lines = read_table(str(_csv(tmp_path, text, "clean.csv")))
    assert all(dtype == TEXT for dtype in clean.dtypes)  # pyarrow's read: not silently the slow one
    blank, exact_lines = read_table(str(_csv(tmp_path, "".join(lines[:10] + ["\n"] + lines[10:]), "blank.csv")))
    assert blank.astype(object).equals(clean.astype(object))
    assert fast_lines.tolist() == list(range(2, 52))
    assert exact_lines.tolist() == list(range(2, 11)) + list(range(12, 53))  # the blank line 11 skipped


def test_quotes_crlf_and_a_byte_order_mark_stay_on_the_fast_path(tmp_path):
    path = _csv(tmp_path, b'\xef\xbb\xbfdate ,"a, b",c\r\n2020-01-01,"1,5",x\r\n2020-01-02,2,"y"\r\n')
    table, lines = read_table(str(path))
    assert list(table.columns) == ["date", "a, b", "c"] and table["a, b"].tolist() == ["1,5", "2"]
    assert table.dtypes.iloc[0] == TEXT and lines.tolist() == [2, 3]


def test_a_ragged_row_after_a_clean_start_names_its_line(tmp_path):
    rows = wide_frame(30).to_csv(index=False).splitlines()
    rows[20] = rows[20].rsplit(",", 1)[0]  # one field short: pyarrow would not say which line
    with pytest.raises(DataError, match="3 fields but the header has 4") as info:
        read_table(str(_csv(tmp_path, "\n".join(rows) + "\n")))
    assert info.value.row == 21


def test_parquet_reads_like_the_csv(tmp_path):
    frame = long_frame()
    frame.to_csv(tmp_path / "long.csv", index=False)
    frame.to_parquet(tmp_path / "long.parquet")
    from_csv, from_parquet = (read_frame(DataConfig(path=str(tmp_path / f"long.{ext}"))) for ext in ("csv", "parquet"))
    assert from_parquet.schema == from_csv.schema.with_series(from_parquet.schema.series_ids)
    for a, b in zip(from_csv.values, from_parquet.values):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(DataError, match="not readable as parquet"):
        read_frame(DataConfig(path=str(_csv(tmp_path, "date,a\n", "bad.parquet"))))
