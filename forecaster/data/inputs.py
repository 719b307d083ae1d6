"""The network's inputs, built one way for training and for forecasting: `encode`.

`encode` turns the rows of a `SeriesFrame` into what a network of a `Schema` reads: the file's
columns scaled by the training rows' `Scaler`, then the calendar features of each row's timestamp
(so the last `Schema.n_future` input features are the future-known ones: the future covariate
columns, then the calendar), and each row's series' encoded static covariates. A window of those
rows is then cut by `forecaster.data.windows.WindowDataset`: x its first `context_len` rows, its
future covariates the last `n_future` features of its `horizon` rows, its static values its
series'.

Training (`forecaster.data.windows.prepare`) encodes the whole file. A forecast
(`forecaster.data.future.model_inputs`) encodes each series' last `context_len` rows continued
`horizon` steps ahead (`ahead=True`): those steps' timestamps give their calendar features, the
input's future rows (`SeriesFrame.future`) their future covariates, and the other columns are
unknown there. Both cut the same window, so a new kind of covariate is added here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from forecaster.data.covariates import calendar_rows, encode_static
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.data.times import steps_after


@dataclass(frozen=True)
class Rows:
    """Encoded rows: every series' rows concatenated, as `WindowDataset` reads them."""

    values: torch.Tensor  # (rows, F) float32: the columns scaled, then the calendar features
    offsets: np.ndarray  # first row of each series in `values`
    static: torch.Tensor | None  # (rows, Z): each row's series' encoded static covariates, or None


def encode(frame: SeriesFrame, schema: Schema, scaler: Scaler, *, ahead: bool = False) -> Rows:
    """The network's input rows of `frame`'s series, for a model of `schema` scaled by `scaler`.

    Args:
        frame: the series; its values are `schema.columns`, its static values `schema.static`.
        schema: the covariates to encode (future-known columns, calendar features, static
            categories and standardisation); with `ahead`, its `horizon`.
        scaler: the per-column standardisation fitted on the training rows.
        ahead: continue each series `schema.horizon` steps past its last row, the steps a
            forecast covers: their calendar features and their known future covariates
            (`frame.future`) are set, every other column is NaN (unknown).

    Raises:
        DataError: a static category the model was not trained with, or a numeric static value
            that is not a number (`encode_static`).
    """
    times, values = list(frame.times), list(frame.values)
    if ahead:
        for i in range(len(times)):
            known = None if frame.future is None else frame.future[i]
            times[i], values[i] = _continued(times[i], values[i], known, schema, frame.schema.freq)
    parts = []
    for t, v in zip(times, values):
        part = scaler.transform(v).astype(np.float32)
        if schema.calendar:  # after scaling: the features are already in [-1, 1]
            part = np.concatenate([part, calendar_rows(schema, t)], axis=1)
        parts.append(part)
    lengths = np.array([len(t) for t in times])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    static = encode_static(schema, frame)
    if static is not None:
        static = torch.from_numpy(np.repeat(static, lengths, axis=0))  # (rows, Z)
    return Rows(torch.from_numpy(np.concatenate(parts)), offsets, static)


def _continued(
    times: pd.DatetimeIndex, values: np.ndarray, known: np.ndarray | None, schema: Schema, freq: str
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """One series' rows continued `schema.horizon` steps: the future covariate columns `known`
    ((H, len(future_covariates)), None without), every other column NaN."""
    steps = steps_after(times[-1], schema.horizon, freq)
    future = np.full((schema.horizon, len(schema.columns)), np.nan)
    if schema.future_covariates:
        future[:, len(schema.columns) - len(schema.future_covariates) :] = known
    return times.append(steps), np.concatenate([values, future])
