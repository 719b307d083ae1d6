"""`forecaster predict`'s input: recent history, then with future covariates the known future rows.

A model trained with future-known user columns (`data.future_covariates`) needs their values over
the next H steps (the trained horizon). The input carries them as rows after each series' history:
timestamps at the next H steps, the covariate columns filled, the target cells empty. `read_input`
reads the input as the model's `Schema` says (its layout and columns; the training config only
says how to read: fill, sort, outliers), splits those rows off
(`forecaster.data.covariates.split_future`), and checks them (timestamps, numbers). Calendar
features need no rows: `model_inputs` computes them for the H timestamps after the history. Used
by `ForecastPackage` for files and for the MLflow pyfunc model's request tables alike.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.config import DataConfig
from forecaster.data.columns import from_schema
from forecaster.data.covariates import calendar_rows, encode_static, future_values, split_future
from forecaster.data.io import frame_from_table, read_table, request_table
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.data.times import parse_times
from forecaster.errors import DataError


def read_input(source: str | Path | pd.DataFrame, schema: Schema, cfg: DataConfig) -> SeriesFrame:
    """The series of `source` (a CSV path or a request table) for a model of `schema`, with each
    series' known future covariates in `SeriesFrame.future` when the model has any.

    The columns, layout and time-stamp convention are the schema's; `cfg`, the config the model
    was trained with, gives the delimiter and how to read (fill, sort, outliers).

    Raises:
        DataError: as `read_frame`, and for a missing future covariate column, too few future rows,
            a future row off the next steps, or a non-numeric future cell (naming column and rows).
    """
    is_table = isinstance(source, pd.DataFrame)
    path = "request" if is_table else str(source)
    table, lines = request_table(source, path) if is_table else read_table(path, cfg.delimiter)
    if not schema.future_covariates:
        return frame_from_table(table, lines, from_schema(table, schema, path), cfg, path, tz=schema.tz)
    history, kept, rows = split_future(table, lines, schema, horizon=schema.horizon, path=path)
    if history.empty:
        raise DataError("no history rows (every row's target is empty)", file=path, fix="give the recent history")
    frame = frame_from_table(history, kept, from_schema(history, schema, path), cfg, path, tz=schema.tz)

    def parse(col: pd.Series, at: np.ndarray) -> pd.DatetimeIndex:
        return parse_times(col.reset_index(drop=True), at, path, schema.time_col, expect=frame.schema.tz)[0]

    future = []
    for sid, times in zip(frame.schema.series_ids, frame.times):
        known = rows[sid if schema.id_col else next(iter(rows))]
        future.append(future_values(known, schema, times, frame.schema.freq, parse=parse, path=path))
    return replace(frame, future=future)


def model_inputs(schema: Schema, scaler: Scaler, frame: SeriesFrame) -> list[np.ndarray]:
    """The network's inputs for the last window of every series: [x (series, L, F)] and, with
    covariates, future (series, H, n_future) or None and static (series, Z) or None, scaled."""
    L, H = schema.context_len, schema.horizon
    xs, futures = [], []
    for i, (times, values) in enumerate(zip(frame.times, frame.values)):
        x = scaler.transform(values[-L:])  # (L, columns)
        future = np.empty((H, 0))
        if schema.future_covariates:
            full = np.full((H, len(schema.columns)), np.nan)
            full[:, len(schema.columns) - len(schema.future_covariates) :] = frame.future[i]
            future = scaler.transform(full)[:, len(schema.columns) - len(schema.future_covariates) :]
        if schema.calendar:
            steps = pd.date_range(times[-1], periods=H + 1, freq=frame.schema.freq)[1:]
            x = np.concatenate([x, calendar_rows(schema, times[-L:])], axis=1)
            future = np.concatenate([future, calendar_rows(schema, steps)], axis=1)
        xs.append(x)
        futures.append(future)
    x = np.stack(xs).astype(np.float32)
    if not (schema.n_future or schema.static):
        return [x]
    static = encode_static(schema, frame)
    return [x, np.stack(futures).astype(np.float32) if schema.n_future else None, static]
