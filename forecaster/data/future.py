"""`forecaster predict`'s input with covariates: history rows, then the known future rows.

A model trained with future-known user columns (`data.future_covariates`) needs their values over
the next H steps (the trained horizon). The input carries them as rows after each series' history:
timestamps at the next H steps, the covariate columns filled, the target cells empty. `read_input`
splits those rows off (`forecaster.data.covariates.split_future`), validates the history exactly
as training read its file, and checks the future rows (timestamps, numbers). Calendar features
need no rows: `model_inputs` computes them for the H timestamps after the history. Used by
`ForecastPackage` for files and for the MLflow pyfunc model's request tables alike.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.config import DataConfig
from forecaster.data.covariates import calendar_rows, encode_static, future_values, split_future
from forecaster.data.io import _read_table, frame_from_dataframe, frame_from_table, read_frame
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.data.times import parse_times
from forecaster.errors import DataError


def read_input(cfg: DataConfig, source: str | Path | pd.DataFrame, schema: Schema) -> SeriesFrame:
    """The series of `source` (a CSV path or a request table) for a model of `schema`, with each
    series' known future covariates in `SeriesFrame.future` when the model has any.

    Raises:
        DataError: as `read_frame`, and for a missing future covariate column, too few future rows,
            a future row off the next steps, or a non-numeric future cell (naming column and rows).
    """
    is_table = isinstance(source, pd.DataFrame)
    if not schema.future_covariates:
        if is_table:
            return frame_from_dataframe(source, cfg, source="request", tz=schema.tz)
        return read_frame(cfg, source, tz=schema.tz)
    path = "request" if is_table else str(source)
    if is_table:
        if source.empty:
            raise DataError("no rows", file=path, fix="send at least context_len rows per series")
        table = source.astype(str).fillna("").reset_index(drop=True)  # pandas keeps NaN through astype(str)
        table.columns = [str(c).strip() for c in table.columns]
        lines = np.arange(2, len(table) + 2)
    else:
        table, lines = _read_table(path, cfg.delimiter)
    history, kept, rows = split_future(table, lines, schema, horizon=schema.horizon, path=path)
    if history.empty:
        raise DataError("no history rows (every row's target is empty)", file=path, fix="give the recent history")
    frame = frame_from_table(history, kept, cfg, path, tz=schema.tz)

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
