"""Read and validate a CSV of series into a `SeriesFrame`.

Two layouts are understood. *Wide*: one time column and one column per variable (ETTh1). *Long*:
``unique_id, ds, y`` plus optional covariate columns, many series of different lengths. The layout
and the columns are detected or named by the config, or are a model's (`forecaster.data.columns`);
the frequency is detected.

Every check fails with a `DataError` naming the file, the column, the line and the fix. Lenient
choices (sorting rows, filling gaps and missing values, dropping short series) are opt-in and
reported as typed `Diagnostic`s in `SeriesFrame.diagnostics`, never silent. Line numbers count the
header as line 1. What the file holds (layout, columns, frequency, series ids) is one `Schema`.
Timestamps (UTC offsets, their convention, steps and gaps) are read by `forecaster.data.times`,
numeric day/month dates in one order per column by `forecaster.data.dates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.config import DataConfig
from forecaster.data import outliers
from forecaster.data.columns import Columns, from_config
from forecaster.data.covariates import static_values
from forecaster.data.schema import Diagnostic, Schema, SeriesFrame
from forecaster.data.split import split_bounds
from forecaster.data.tables import as_numbers, as_text, read_table
from forecaster.data.times import common_freq, infer_freq, read_times, regularise
from forecaster.errors import DataError

MISSING = {"", "na", "nan", "null", "none", "n/a", "#n/a", "-"}
FLOAT32_MAX = float(np.finfo(np.float32).max)
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def read_frame(
    cfg: DataConfig, path: str | Path | None = None, *, tz: str | None = None, fit_on_train: bool = False
) -> SeriesFrame:
    """Read `path` (default `cfg.path`) and validate it as configured by `cfg`.

    `tz`, if given, is the time-stamp convention the file must follow (see `forecaster.data.times`).
    `fit_on_train`: the file is read to train on with `cfg`'s split, so the outlier screen's spread
    is measured on each series' training rows only and missing values are filled without a later
    validation or test value (see `frame_from_table`).
    """
    path = str(path if path is not None else cfg.path)
    table, lines = read_table(path, cfg.delimiter)
    return frame_from_table(table, lines, from_config(table, cfg, path), cfg, path, tz=tz, fit_on_train=fit_on_train)


def frame_from_table(
    table: pd.DataFrame,
    lines: np.ndarray,
    names: Columns,
    cfg: DataConfig,
    path: str,
    *,
    tz: str | None = None,
    fit_on_train: bool = False,
) -> SeriesFrame:
    """Validate the `names` columns of a table of strings whose row i came from line `lines[i]` of
    `path`, read as `cfg` says (fill, sort, outliers); `tz`, if given, is the time-stamp convention
    the stamps must follow.

    Each series is ordered and made regular first, then the outliers are screened
    (`forecaster.data.outliers`), then missing values are filled. With `fit_on_train` (a file read
    to train on with `cfg`'s split) nothing a series holds after its training rows shapes what
    is kept before it: the outliers' spread is measured on the training rows, and `interpolate`
    fills only gaps inside the training rows; the rest (a gap running into the validation rows,
    every missing value of the validation and test periods) is forward-filled, from the past only,
    as a forecaster would have seen it then, and the note says so. Interpolating there would fill
    a window's last inputs from its own targets. Without it (predict's recent history, all of it
    past) the whole series is used.
    """
    layout, time_col, id_col = names.layout, names.time_col, names.id_col
    columns = names.targets + names.covariates
    times, found_tz, dayfirst = read_times(table[time_col], lines, path, time_col, expect=tz, dayfirst=cfg.dayfirst)
    numbers = np.column_stack([_parse_numbers(table[c], lines, path, c) for c in columns])  # (rows, F)
    ids = table[id_col].to_numpy() if id_col else np.full(len(table), Path(path).stem, dtype=object)
    codes, sids = pd.factorize(ids, use_na_sentinel=False)  # the series in order of first appearance
    parts, stamps = [], times.to_numpy()  # numpy's indexing: pandas' costs more than the series' checks
    for code, rows in enumerate(np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1])):
        sid = str(sids[code])
        where = _Where(path, time_col, sid, f"series '{sid}': " if layout == "long" else "", found_tz)
        parts.append(_one_series(pd.DatetimeIndex(stamps[rows]), numbers[rows], lines[rows], cfg, where))
    n_train = [min(split_bounds(len(p.times), cfg)[0][1], len(p.times)) for p in parts] if fit_on_train else None
    ids, values = [p.where.sid for p in parts], [p.values for p in parts]
    clipped = outliers.screen(
        values, [p.lines for p in parts], ids, columns, policy=cfg.outliers, path=path, fit_rows=n_train
    )
    diagnostics, n_targets = [], len(names.targets)
    observed = [~np.isnan(v[:, :n_targets]) for v in values]  # before filling: the cells the file gave
    for k, p in enumerate(parts):
        values[k], filled = _fill_missing(p.values, p.lines, cfg, p.where, columns, n_train[k] if n_train else None)
        diagnostics += p.found + ([filled] if filled else [])
    static = static_values(table, lines, names.static, id_col=id_col, path=path)
    schema = _schema(names, layout, [p.freq for p in parts], ids, found_tz, path, dayfirst)
    times, notes = [p.times for p in parts], diagnostics + clipped
    observed = None if all(m.all() for m in observed) else observed
    return SeriesFrame(schema, path, list(table.columns), times, values, notes, static, observed=observed)


def _schema(
    names: Columns, layout: str, freqs: list[str], ids: list[str], tz: str, path: str, dayfirst: bool | None
) -> Schema:
    freq = common_freq(freqs)
    if freq is None:  # windows are positional: one model across series of different steps would mix them
        first = {}
        for sid, f in zip(ids, freqs):
            first.setdefault(f, sid)
        named = ", ".join(f"series '{sid}' is '{f}'" for f, sid in first.items())
        raise DataError(
            f"series have different frequencies: {named}",
            file=path,
            column=names.time_col,
            fix="put series of one frequency in a file (one file per frequency), or resample them to one first",
        )
    return Schema(
        layout=layout,
        time_col=names.time_col,
        id_col=names.id_col,
        columns=names.targets + names.covariates,
        n_targets=len(names.targets),
        freq=freq,
        series_ids=ids,
        tz=tz,
        dayfirst=dayfirst,
        static=list(names.static),
    )


@dataclass
class _Series:
    """One series ordered and made regular, before its missing values are filled."""

    where: _Where
    times: pd.DatetimeIndex
    values: np.ndarray  # (rows, F), NaN where missing
    lines: np.ndarray  # each row's line (0 for a row inserted to fill a gap)
    freq: str
    found: list[Diagnostic]


@dataclass(frozen=True)
class _Where:
    """The series being validated, for messages: its file, time column, id and message prefix."""

    path: str
    time_col: str
    sid: str
    label: str  # "series 'x': " in a long file, "" in a wide one
    tz: str  # the stamps' convention (forecaster.data.times)


def _parse_numbers(col: pd.Series, lines: np.ndarray, path: str, name: str) -> np.ndarray:
    text = as_text(col)
    missing = text.str.lower().isin(MISSING).to_numpy()
    if missing.all():
        raise DataError(
            "the column is empty (no values at all)",
            file=path,
            column=name,
            fix="drop the column, or choose the columns with --data.targets",
        )
    numbers = as_numbers(text, missing)
    if numbers is None:  # not all numbers, or not pyarrow text: pandas, cell by cell
        numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float, copy=True)
        _overflowed(numbers, text, missing)
    cell = {"file": path, "column": name}
    DataError.first_cell(
        np.flatnonzero(np.isnan(numbers) & ~missing),
        text,
        lines,
        what="{value!r} is not a number ({count} such rows)",
        fix="write plain decimal numbers",
        **cell,
    )
    DataError.first_cell(
        np.flatnonzero(~np.isnan(numbers) & ~(np.abs(numbers) <= FLOAT32_MAX)),
        text,
        lines,
        what="{value!r} is infinite or too large for float32",
        fix="remove or rescale the value (|x| must be below 3.4e38)",
        **cell,
    )
    return numbers


def _overflowed(numbers: np.ndarray, text: pd.Series, missing: np.ndarray) -> None:
    """Set decimal numbers beyond float64 (``1e400``) to +-inf in place, so they are reported as too
    large rather than as not numbers: pandas 3 reads them as inf, pandas 2 refuses them (NaN)."""
    for i in np.flatnonzero(np.isnan(numbers) & ~missing):
        if DECIMAL.fullmatch(text.iloc[i]):
            numbers[i] = float(text.iloc[i])


def _one_series(
    times: pd.DatetimeIndex, values: np.ndarray, lines: np.ndarray, cfg: DataConfig, where: _Where
) -> _Series:
    """Order and regularise one series: its stamps, (rows, F) values and lines (missing values not yet filled)."""
    path, label, time_col, found = where.path, where.label, where.time_col, []
    if not times.is_monotonic_increasing:
        first = int(np.flatnonzero(np.diff(times.asi8) < 0)[0]) + 1
        if not cfg.sort:
            raise DataError(
                f"{label}rows are out of time order ({times[first]} comes after {times[first - 1]})",
                file=path,
                column=time_col,
                row=int(lines[first]),
                fix="sort the file by time, or pass --data.sort true",
            )
        order = np.argsort(times.asi8, kind="stable")
        values, times, lines = values[order], times[order], lines[order]
        found.append(Diagnostic("sorted", where.sid, f"{label}sorted {len(times)} rows by time"))
    dup = np.flatnonzero(times.duplicated())
    if dup.size:
        i = dup[0]
        raise DataError(
            f"{label}duplicate timestamp {times[i]} ({dup.size} duplicates)",
            file=path,
            column=time_col,
            row=int(lines[i]),
            fix="keep one row per timestamp (aggregate or drop duplicates)",
        )
    if len(times) < 3:
        raise DataError(
            f"{label}only {len(times)} rows; a frequency needs at least 3",
            file=path,
            column=time_col,
            fix="give more rows",
        )
    freq, given = infer_freq(times), times
    if freq is None:
        times, values, freq, gaps = regularise(times, values, lines, cfg.fill, where)
        found.append(gaps)
    return _Series(where, times, values, _lines_for(times, given, lines), freq, found)


def _lines_for(times: pd.DatetimeIndex, given: pd.DatetimeIndex, lines: np.ndarray) -> np.ndarray:
    """Line numbers aligned with `times` (0 for timestamps inserted to fill gaps); `given` are the file's stamps."""
    if len(times) == len(lines):
        return lines
    return pd.Series(lines, index=given).reindex(times).fillna(0).to_numpy(dtype=int)


def _fill_missing(
    values: np.ndarray, lines: np.ndarray, cfg: DataConfig, where: _Where, columns: list[str], n_train: int | None
) -> tuple[np.ndarray, Diagnostic | None]:
    """Fill missing values as `cfg.fill` says; with `n_train` (the series' training rows) only from
    the past after them (see `frame_from_table`)."""
    nan = np.isnan(values)
    if not nan.any():
        return values, None
    label = where.label
    if cfg.fill == "error":
        r, c = np.argwhere(nan)[0]
        raise DataError(
            f"{label}{int(nan.sum())} missing values; the first is here",
            file=where.path,
            column=columns[c],
            row=int(lines[r]) or None,
            fix="fill them in the file, or pass --data.fill ffill (or interpolate)",
        )
    if cfg.fill not in ("ffill", "interpolate"):
        raise DataError(
            f"unknown fill policy '{cfg.fill}'", file=where.path, fix="use --data.fill error|ffill|interpolate"
        )
    table = pd.DataFrame(values, columns=columns)
    if cfg.fill == "ffill":
        table = table.ffill()
    elif n_train is None:
        table = table.interpolate(limit_direction="both")
    else:  # inside the training rows only; after them from the past only
        table = pd.concat([table.iloc[:n_train].interpolate(limit_area="inside"), table.iloc[n_train:]]).ffill()
    table = table.bfill()  # leading cells: the first value
    counts = ", ".join(f"{c}: {n}" for c, n in zip(columns, nan.sum(axis=0)) if n)
    message = f"{label}filled {int(nan.sum())} missing values by {cfg.fill} ({counts})"
    late = int(nan[n_train:].sum()) if n_train is not None and cfg.fill == "interpolate" else 0
    if late:
        message += (
            f"; interpolated inside the training rows only: the {late} in the validation and test rows "
            "forward-filled, from the past only"
        )
    return table.to_numpy(), Diagnostic("filled_missing", where.sid, message)
