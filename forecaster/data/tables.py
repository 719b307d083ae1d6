"""A data file as a table of text cells with each row's line number.

Everything after this reads text, so a file and an in-memory table (`forecaster.data.sources`) are
validated alike (`forecaster.data.io`). A CSV is read by pyarrow's parser, every column as text, when its rows
map one to one onto its lines (no blank lines, no line breaks inside quoted values, one kind of
line ending): then row i is line i + 2 and the read is fast. Anything else (a ragged row, a blank
line, text that is not UTF-8, a lone carriage return) is read again by Python's csv module, which
gives each row's exact line and the precise error. The cells are pandas' pyarrow-backed text
(pandas 3's `str`), so the checks on them run vectorised. A ``.parquet`` file is read by pyarrow
and its cells written as text like a request table's. Before any of it, the first 64 KiB tell a
binary file and the first line must end within 1 MiB, so neither is read whole.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.data import sources
from forecaster.errors import DataError

SNIFF = 64 * 2**10  # bytes read to tell a binary file
MAX_HEADER = 2**20  # bytes a header line may take
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default `str`


def as_text(col: pd.Series) -> pd.Series:
    """A column's cells as stripped text (vectorised for `TEXT` cells)."""
    return (col if isinstance(col.dtype, pd.StringDtype) else col.astype(str)).str.strip()


def as_numbers(text: pd.Series, missing: np.ndarray) -> np.ndarray | None:
    """Stripped `TEXT` cells as float64 (NaN where `missing`) by pyarrow's vectorised cast, or None
    when a cell is no number (or the cells are not pyarrow text): the caller then parses cell by
    cell, to name the first bad cell. ``1e400`` reads as inf here, and is refused as too large."""
    if text.dtype != TEXT:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), pa.array(text))
    try:
        numbers = pc.cast(cells, pa.float64())
    except pa.ArrowInvalid:
        return None
    return numbers.to_numpy(zero_copy_only=False).astype(float, copy=True)


def read_table(path: str, delimiter: str = ",") -> tuple[pd.DataFrame, np.ndarray]:
    """The file (a CSV, or ``.parquet``) as a table of text, and each row's line number (an in-memory
    table's too: `forecaster.data.sources`)."""
    held = sources.table(path)
    if held is not None:
        return held
    fix_path = "check the path, or pass --data.path FILE"
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=path, fix=fix_path)
    if not p.is_file():
        raise DataError("not a file", file=path, fix=fix_path)
    if p.suffix.lower() == ".parquet":
        return _parquet(p, path)
    _sniff(p, path)
    raw = p.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    if not raw or raw.isspace():
        raise DataError("the file is empty", file=path, fix="give a CSV with a header and data rows")
    fast = _fast(raw, delimiter)
    if fast is not None:
        header = [h.strip() for h in fast.columns]
        if len(header) > 1 and len(set(header)) == len(header):
            fast.columns = header
            return fast, np.arange(2, len(fast) + 2)
    return _exact(raw, path, delimiter)


def _fast(raw: bytes, delimiter: str) -> pd.DataFrame | None:
    """The rows by pyarrow's parser, every cell text, if they map one to one onto the lines (None: they may not)."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    lines = raw.count(b"\n") + (not raw.endswith(b"\n"))
    end = raw.find(b"\n")
    returns = raw.count(b"\r")
    if (returns and returns != raw.count(b"\r\n")) or end < 0:
        return None
    try:
        header = next(csv.reader([raw[:end].decode("utf-8").rstrip("\r")], delimiter=delimiter))
        names = [f"c{i}" for i in range(len(header))]  # the header's own names may repeat (checked later)
        invalid = []
        table = pa_csv.read_csv(
            pa.py_buffer(raw),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                invalid_row_handler=lambda row: invalid.append(row) or "skip",
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (ValueError, UnicodeDecodeError, StopIteration, pa.ArrowException):
        return None
    if invalid or table.num_rows == 0 or table.num_rows + 1 != lines:
        return None
    frame = table.to_pandas(types_mapper={pa.string(): TEXT}.get)
    frame.columns = header
    return frame


def _exact(raw: bytes, path: str, delimiter: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows by Python's csv module: each row's exact line, and the precise error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError("not UTF-8 text", file=path, row=line, fix="save the file as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return _rows(reader, path, delimiter)
    except csv.Error as exc:  # e.g. a lone carriage return inside an unquoted field
        raise DataError(
            f"not readable as CSV ({exc})",
            file=path,
            row=reader.line_num,
            fix="save the file with one kind of line ending (\\n or \\r\\n), quoting fields that hold line breaks",
        ) from None


def _parquet(p: Path, path: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A parquet file's rows as text (rows numbered as a CSV's lines would be: from 2)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        df = pq.read_table(p).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"not readable as parquet ({exc})", file=path, fix="write the file with pandas.DataFrame.to_parquet"
        ) from None
    return sources.request_table(df, path)


def _sniff(p: Path, path: str) -> None:
    """Refuse a binary file from its first 64 KiB, and a first line (the header) over 1 MiB, before
    the file is read whole: a large binary or a file without line breaks fails at once, in little memory."""
    with p.open("rb") as f:
        head = f.read(SNIFF)
        if b"\x00" in head:
            raise DataError("this is a binary file, not a CSV", file=path, fix="export the data as CSV")
        while b"\n" not in head and b"\r" not in head and len(head) < MAX_HEADER:
            chunk = f.read(SNIFF)
            if not chunk:
                return
            head += chunk
    if b"\n" not in head and b"\r" not in head:
        raise DataError(
            f"the first line is over {MAX_HEADER // 2**20} MiB long: not a CSV header",
            file=path,
            row=1,
            fix="give a CSV with a header line, then one line per row",
        )


def _rows(reader, path: str, delimiter: str) -> tuple[pd.DataFrame, np.ndarray]:
    header = next(reader)
    _check_delimiter(header, delimiter, path)
    rows, lines = [], []
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise DataError(
                f"this row has {len(row)} fields but the header has {len(header)}",
                file=path,
                row=reader.line_num,
                fix=f"make every row have one value per header column (quote values holding '{delimiter}')",
            )
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise DataError("the file has a header but no data rows", file=path, fix="add data rows")
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(f"duplicate column names {dupes}", file=path, row=1, fix="rename the columns")
    return pd.DataFrame(rows, columns=header, dtype=object), np.asarray(lines)


def _check_delimiter(header: list[str], delimiter: str, path: str) -> None:
    if len(header) > 1:
        return
    for other in (";", "\t", "|", ","):
        if other != delimiter and other in header[0]:
            shown = "\\t" if other == "\t" else other
            raise DataError(
                f"the header has one column but contains '{shown}': the file looks '{shown}'-delimited",
                file=path,
                row=1,
                fix=f"pass --data.delimiter '{shown}'",
            )
    raise DataError(
        "the file has a single column; a time column and a value column are needed",
        file=path,
        row=1,
        fix="add a time column and at least one value column",
    )
