"""Covariates beyond the past-observed columns: future-known and static ones, in the schema and as inputs.

Three kinds of covariates reach a network (README, "Covariates"):

- *past-observed*: input-only columns (`data.covariates`), seen over the context window only;
- *future-known*: user columns (`data.future_covariates`) and calendar features (`data.calendar`,
  `forecaster.data.calendar`), seen over the context window like any column and, besides, over the
  horizon: they are the last `Schema.n_future` of the F input features, so a window's horizon rows
  of those features are its future covariates (`WindowDataset`);
- *static*: per-series constants of a long file (`data.static`), numeric (standardised over the
  training series) or categorical (embedded; the categories are stored in the schema, and a
  category the model never saw is refused at predict time).

This module records them in the `Schema` (`with_covariates`), reads the static values of a table
(`static_values`), encodes them (`encode_static`), and splits the future rows off a `predict` input
(`split_future`); `forecaster.data.inputs.encode` puts them into the network's input rows, for
training and `predict` alike. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from forecaster.config import DataConfig
from forecaster.data import calendar
from forecaster.data.schema import COVARIATE_FIELDS, Schema, SeriesFrame
from forecaster.data.times import steps_after
from forecaster.errors import ConfigError, DataError

MISSING = {"", "na", "nan", "null", "none", "n/a", "#n/a", "-"}  # as forecaster.data.io reads cells


def static_values(
    table: pd.DataFrame, lines: np.ndarray, names: list[str], *, id_col: str | None, path: str
) -> list[list[str]] | None:
    """Each series' value of every static column, as text, in the table's order of series.

    Raises:
        DataError: static columns in a wide file, a missing column or cell, or a value that
            changes within a series (naming the series and the line).
    """
    if not names:
        return None
    if id_col is None:
        raise DataError(
            f"static covariates {names} need a long file (one series per id); a wide file is one series",
            file=path,
            fix="drop --data.static, or give the data in the long layout",
        )
    out: dict[str, list[str]] = {}
    for name in names:
        if name not in table.columns:
            raise DataError(f"no static column '{name}'; columns are {list(table.columns)}", file=path, row=1)
        text = table[name].astype(str).str.strip()
        DataError.first_cell(
            np.flatnonzero(text.str.lower().isin(MISSING).to_numpy()),
            text,
            lines,
            what="a static value is missing ({count} such rows)",
            file=path,
            column=name,
            fix="give every row of a series its static value",
        )
        for sid, cells in text.groupby(table[id_col].to_numpy(), sort=False):
            first = cells.iloc[0]
            changed = np.flatnonzero((cells != first).to_numpy())
            if changed.size:
                i = cells.index[changed[0]]
                raise DataError(
                    f"series '{sid}': the static value changes from {first!r} to {cells.loc[i]!r}; a static "
                    "covariate is one value per series",
                    file=path,
                    column=name,
                    row=int(lines[i]),
                    fix="make the value constant within the series, or list the column in --data.covariates",
                )
            out.setdefault(str(sid), []).append(first)
    return [out[sid] for sid in dict.fromkeys(map(str, table[id_col].to_numpy()))]


def with_covariates(schema: Schema, frame: SeriesFrame, cfg: DataConfig, *, fitted: Schema | None = None) -> Schema:
    """`schema` recording the configured future-known and static covariates, static ones fitted on
    `frame`'s series (categories in order of appearance; numeric mean and spread); or, given
    `fitted` (a model package's schema, whose columns `frame` was read with), `fitted`'s
    covariates, never refitted.

    Raises:
        ConfigError: an unknown calendar feature, or one finer than the data's frequency.
    """
    if fitted is not None:
        return replace(schema, **{name: getattr(fitted, name) for name in COVARIATE_FIELDS})
    names = calendar.check_features(cfg.calendar, schema.freq)
    future = list(cfg.future_covariates or [])
    if schema.columns[len(schema.columns) - len(future) :] != future:
        raise ConfigError(f"data.future_covariates {future} must be value columns of the data, not targets")
    categories, mean, scale = _fit_static(schema, frame)
    return replace(
        schema,
        future_covariates=future,
        calendar=names,
        static_categories=categories,
        static_mean=mean,
        static_scale=scale,
    )


def encode_static(schema: Schema, frame: SeriesFrame) -> np.ndarray | None:
    """(series, Z) float32: numeric static values standardised, categorical ones as category codes.

    Raises:
        DataError: a category the model was not trained with, or a numeric column given text.
    """
    if not schema.static:
        return None
    out = np.empty((len(frame.times), len(schema.static)), dtype=np.float32)
    for i, (sid, row) in enumerate(zip(frame.schema.series_ids, frame.static or [])):
        for k, (name, cats) in enumerate(zip(schema.static, schema.static_categories)):
            value = row[k]
            if cats:
                if value not in cats:
                    raise DataError(
                        f"series '{sid}': static category {value!r} was not in the training data "
                        f"(known: {', '.join(cats)})",
                        file=frame.path,
                        column=name,
                        fix="use one of the known categories, or retrain the model with this category",
                    )
                out[i, k] = cats.index(value)
                continue
            number = pd.to_numeric(value, errors="coerce")
            if not np.isfinite(number):
                raise DataError(f"series '{sid}': static value {value!r} is not a number", file=frame.path, column=name)
            out[i, k] = (number - schema.static_mean[k]) / schema.static_scale[k]
    return out


def calendar_rows(schema: Schema, times: pd.DatetimeIndex) -> np.ndarray:
    """(rows, 2 * calendar features) of `times`: the columns `inputs.encode` appends after the file's."""
    return calendar.features(times, schema.calendar)


def split_future(
    table: pd.DataFrame, lines: np.ndarray, schema: Schema, *, horizon: int, path: str
) -> tuple[pd.DataFrame, np.ndarray, dict[str, pd.DataFrame]]:
    """Split a `predict` input into its history and, per series, its future rows.

    The future rows are the trailing rows of each series whose target cells are all empty (they
    carry the future covariates' values). Returns the history table and its line numbers, and per
    series id the (at least `horizon`) future rows, with a `__line` column.

    Raises:
        DataError: a missing future covariate column, too few future rows for a series (naming the
            rows needed), a future row before the history's end, or a non-numeric or empty future cell.
    """
    for name in schema.future_covariates:
        if name not in table.columns:
            raise DataError(
                f"no future covariate column '{name}'; the model needs its values over the next {horizon} steps",
                file=path,
                row=1,
                fix=f"add the column '{name}' with {horizon} future rows per series (targets left empty)",
            )
    targets = table[schema.targets].astype(str).apply(lambda c: c.str.strip().str.lower().isin(MISSING))
    empty = targets.all(axis=1).to_numpy()
    ids = table[schema.id_col].astype(str).to_numpy() if schema.id_col else np.full(len(table), "")
    future_rows, keep = {}, np.ones(len(table), dtype=bool)
    for sid in dict.fromkeys(ids):
        where = np.flatnonzero(ids == sid)
        tail = len(where) - _trailing(empty[where])
        rows = table.iloc[where[tail:]].assign(__line=lines[where[tail:]])
        _check_future(rows, schema, sid, horizon, path)
        future_rows[sid] = rows.iloc[:horizon]
        keep[where[tail:]] = False
    return table[keep].reset_index(drop=True), lines[keep], future_rows


def _trailing(flags: np.ndarray) -> int:
    """How many of the last entries of `flags` are True in a row."""
    false = np.flatnonzero(~flags)
    return len(flags) - (false[-1] + 1 if false.size else 0)


def _check_future(rows: pd.DataFrame, schema: Schema, sid: str, horizon: int, path: str) -> None:
    who = f"series '{sid}'" if schema.id_col else "the file"
    if len(rows) < horizon:
        names = ", ".join(schema.future_covariates)
        raise DataError(
            f"{who} has {len(rows)} future rows (target cells empty); the model needs the next {horizon} "
            f"steps of the future covariates ({names}) after the last observed row",
            file=path,
            column=schema.future_covariates[0],
            fix=f"append {horizon} rows per series with the future timestamps, the covariates' known values "
            "and the target cells empty",
        )
    prefix = f"series '{sid}': " if schema.id_col else ""
    for name in schema.future_covariates:
        text = rows[name].astype(str).str.strip().iloc[:horizon]
        numbers = pd.to_numeric(text.where(~text.str.lower().isin(MISSING)), errors="coerce").to_numpy(dtype=float)
        DataError.first_cell(
            np.flatnonzero(~np.isfinite(numbers)),
            text,
            rows["__line"].to_numpy(),
            what=f"{prefix}future value {{value!r}} is not a number ({{count}} such rows of the {horizon} future "
            "rows needed)",
            file=path,
            column=name,
            fix=f"give a number in '{name}' for each of the next {horizon} steps",
        )


def future_values(
    rows: pd.DataFrame, schema: Schema, times: pd.DatetimeIndex, freq: str, *, parse, path: str
) -> np.ndarray:
    """(H, len(future_covariates)) values of checked future `rows`, whose timestamps (parsed by
    `parse`) must be the H steps after `times[-1]`."""
    expected = steps_after(times[-1], len(rows), freq)
    stamps = parse(rows[schema.time_col], rows["__line"].to_numpy())
    bad = np.flatnonzero(pd.DatetimeIndex(stamps) != expected)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"future row {i + 1} is at {stamps[i]}, but the step after the history is {expected[i]}",
            file=path,
            column=schema.time_col,
            row=int(rows["__line"].iloc[i]),
            fix=f"give the {len(rows)} future rows at consecutive steps right after the last observed row",
        )
    return rows[schema.future_covariates].astype(float).to_numpy()


def covariate_problems(s: Schema):
    """What makes a package schema's covariate fields unusable (messages, first problem first)."""
    future = s.future_covariates
    if future and s.columns[len(s.columns) - len(future) :] != future:
        yield f"field 'future_covariates' must be the last of 'columns', got {future}"
    if [n for n in s.calendar if n not in calendar.FEATURES] or len(set(s.calendar)) != len(s.calendar):
        yield f"field 'calendar' must name known calendar features once each ({', '.join(calendar.FEATURES)})"
    n = len(s.static)
    if not len(s.static_categories) == len(s.static_mean) == len(s.static_scale) == n:
        yield "fields 'static_categories', 'static_mean' and 'static_scale' must have one entry per static column"
    elif any(not np.isfinite(m) or not (np.isfinite(v) and v > 0) for m, v in zip(s.static_mean, s.static_scale)):
        yield "fields 'static_mean' and 'static_scale' must be finite, and the scales > 0"
    if n and s.layout != "long":
        yield "field 'static' needs the long layout"


def _fit_static(schema: Schema, frame) -> tuple[list, list, list]:
    """Per static column: its categories (categorical) or its mean and scale (numeric)."""
    categories, mean, scale = [], [], []
    for k, _ in enumerate(schema.static):
        cells = [row[k] for row in frame.static or []]
        numbers = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce").to_numpy(dtype=float)
        if np.isfinite(numbers).all():
            categories.append([])
            mean.append(float(numbers.mean()))
            scale.append(float(numbers.std()) or 1.0)
        else:
            categories.append(list(dict.fromkeys(cells)))
            mean.append(0.0)
            scale.append(1.0)
    return categories, mean, scale
