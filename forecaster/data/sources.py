"""In-memory tables read as files: a pandas DataFrame given to the Python API (`forecaster.api`) gets
a `data.path` of its own while the call runs, so every reader (training, `--auto`, inspection,
cross-validation, the tracked dataset's content hash) reads it exactly as it reads a CSV file: the
same checks, messages and notes; a message names "the DataFrame" and the row's position.

The registry holds the frame's cells as text (`request_table`, as a request payload's), under a path no
file system has (`dataframe:<name>-<8 hex of its content>`), for the duration of `in_memory`'s block only.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from forecaster.errors import IN_MEMORY, DataError

PREFIX = IN_MEMORY  # errors name such a source "the DataFrame" and its rows by position
_TABLES: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}


@contextmanager
def in_memory(df: pd.DataFrame, name: str = "df") -> Iterator[str]:
    """The `data.path` under which `df` reads as a CSV file with its columns would, inside the block."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    held = request_table(df, f"{PREFIX}{name}")
    path = f"{PREFIX}{name}-{_digest(held[0])[:8]}"  # one name for one content: runs on it show one dataset
    while path in _TABLES:  # the same frame in two calls at once
        path += f"-{uuid.uuid4().hex[:4]}"
    _TABLES[path] = held
    try:
        yield path
    finally:
        _TABLES.pop(path, None)


def table(path: str) -> tuple[pd.DataFrame, np.ndarray] | None:
    """(cells as text, line numbers) of the in-memory table at `path`, or None for any other path."""
    return _TABLES.get(str(path))


def digest(path: str) -> str | None:
    """A short content hash of the in-memory table at `path` (as `tracking.file_hash` hashes a file), or None."""
    found = table(path)
    return None if found is None else _digest(found[0])


def _digest(cells: pd.DataFrame) -> str:
    rows = pd.util.hash_pandas_object(cells, index=False).to_numpy()  # one 64-bit hash per row, vectorised
    return hashlib.sha256(",".join(cells.columns).encode() + rows.tobytes()).hexdigest()[:16]


def request_table(df: pd.DataFrame, source: str = "request") -> tuple[pd.DataFrame, np.ndarray]:
    """An in-memory table (e.g. a request payload) as `read_table` gives a file: every cell text
    (a NaN cell empty, as in a CSV), column names stripped, rows numbered from line 2."""
    if df.empty:
        raise DataError("no rows", file=source, fix="send at least context_len rows per series")
    # blank missing cells first: astype(str) writes NaN as 'nan' and None as 'None' on pandas 2, keeps NaN on 3
    table = df.astype(object).where(df.notna(), "").astype(str).reset_index(drop=True)
    table.columns = [str(c).strip() for c in table.columns]
    return table, np.arange(2, len(table) + 2)
