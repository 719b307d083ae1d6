"""`forecaster predict`'s input: recent history, then with future covariates the known future rows.

A model trained with future-known user columns (`data.future_covariates`) needs their values over
the next H steps (the trained horizon). The input carries them as rows after each series' history:
timestamps at the next H steps, the covariate columns filled, the target cells empty. `read_input`
reads the input as the model's `Schema` says (its layout and columns; the training config only
says how to read: fill, sort, outliers), splits those rows off
(`forecaster.data.covariates.split_future`), and checks them (timestamps, numbers). Calendar
features need no rows: `model_inputs` encodes each series' last `context_len` rows continued H
steps ahead with `forecaster.data.inputs.encode`, the function that encodes a training file, and
cuts the window training would cut there. Used by `ForecastPackage` for files and for the MLflow
pyfunc model's request tables alike.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from forecaster.config import DataConfig
from forecaster.data.columns import from_schema
from forecaster.data.covariates import future_values, split_future
from forecaster.data.inputs import encode
from forecaster.data.io import frame_from_table
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.data.sources import request_table
from forecaster.data.tables import read_table
from forecaster.data.times import parse_times
from forecaster.data.windows import WindowDataset
from forecaster.errors import DataError


def read_input(
    source: str | Path | pd.DataFrame, schema: Schema, cfg: DataConfig, *, fit_on_train: bool = False
) -> SeriesFrame:
    """The series of `source` (a CSV path or a request table) for a model of `schema`, with each
    series' known future covariates in `SeriesFrame.future` when the model has any.

    The columns, layout, time-stamp convention and date order are the schema's; `cfg`, the config
    the model was trained with, gives the delimiter and how to read (fill, sort, outliers);
    `fit_on_train` reads a file to score on `cfg`'s split as training read it (`forecaster.data.io.frame_from_table`).

    Raises:
        DataError: as `read_frame`, and for a missing future covariate column, too few future rows,
            a future row off the next steps, or a non-numeric future cell (naming column and rows).
    """
    if cfg.dayfirst is None:  # the order training found in its dates (a package before it: decided here)
        cfg = replace(cfg, dayfirst=schema.dayfirst)
    is_table = isinstance(source, pd.DataFrame)
    path = "request" if is_table else str(source)
    table, lines = request_table(source, path) if is_table else read_table(path, cfg.delimiter)
    if not schema.future_covariates:
        names = from_schema(table, schema, path)
        return frame_from_table(table, lines, names, cfg, path, tz=schema.tz, fit_on_train=fit_on_train)
    history, kept, rows = split_future(table, lines, schema, horizon=schema.horizon, path=path)
    if history.empty:
        raise DataError("no history rows (every row's target is empty)", file=path, fix="give the recent history")
    names = from_schema(history, schema, path)
    frame = frame_from_table(history, kept, names, cfg, path, tz=schema.tz, fit_on_train=fit_on_train)

    def parse(col: pd.Series, at: np.ndarray) -> pd.DatetimeIndex:
        col = col.reset_index(drop=True)
        return parse_times(col, at, path, schema.time_col, expect=frame.schema.tz, dayfirst=frame.schema.dayfirst)[0]

    future = []
    for sid, times in zip(frame.schema.series_ids, frame.times):
        known = rows[sid if schema.id_col else next(iter(rows))]
        future.append(future_values(known, schema, times, frame.schema.freq, parse=parse, path=path))
    return replace(frame, future=future)


def model_inputs(schema: Schema, scaler: Scaler, frame: SeriesFrame) -> list[torch.Tensor | None]:
    """The network's inputs for the forecast from the end of every series: its last `context_len`
    rows continued `horizon` steps ahead, encoded as training encodes its file (`encode`) and cut
    into the window training would cut there (`WindowDataset`): [x (series, L, F)] and, with
    covariates, future (series, H, n_future) or None and static (series, Z) or None.

    For a model without calendar features x is laid out column by column within each series: the
    values are training's, but a network's reductions round by memory layout, and predict has
    always fed such a model its window as pandas reads it, column by column (appending calendar
    features laid it out row by row, as a training batch is). That keeps the forecasts of packages
    saved before bit-identical; in the training layout they would equal a test-split evaluation of
    the same window bit for bit instead, and move in their eighth significant digit.
    """
    L = schema.context_len
    recent = replace(frame, times=[t[-L:] for t in frame.times], values=[v[-L:] for v in frame.values])
    rows = encode(recent, schema, scaler, ahead=True)  # each series: L rows, then H rows ahead
    windows = WindowDataset(
        rows.values,
        rows.offsets,
        np.ones(len(rows.offsets), dtype=np.int64),
        context_len=L,
        horizon=schema.horizon,
        n_targets=schema.n_targets,
        n_future=schema.n_future,
        static=rows.static,
    )
    x, _, *covariates = windows.__getitems__(list(range(len(windows))))  # y: the unknown targets
    if not schema.calendar:  # the memory layout predict has always fed these models (see above)
        x = x.mT.contiguous().mT
    return [x, *covariates]
