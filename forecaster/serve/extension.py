"""Forecasts past the trained horizon: refused with the fix, or extended recursively.

A model forecasts H steps, its trained horizon. Asked for more with `extend="recursive"`
(`forecaster predict --extend recursive`), it forecasts H steps, appends them to each series'
history as if they had been observed, and forecasts again from the new end, until the asked horizon
is covered (the last block cut to fit). Errors compound: each block after the first starts from
forecasts, not data. `benchmarks/extend_horizon.py` measures the cost on ETTh1 (a 96-step model
forecasting 192 steps against a 192-step model on the same windows).

Only a model that forecasts every column it reads can be extended: input-only columns and
future-known covariates would need values past step H that nobody gave. Intervals are calibrated
on steps 1..H only, so `level` beyond H is refused too. Each refusal names the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from forecaster.config.choices import EXTENDS
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.data.times import steps_after
from forecaster.errors import ConfigError, DataError


def checked_horizon(schema: Schema, horizon: int | None, extend: str = "none", levels=None) -> int:
    """The steps to forecast: `horizon` (default: the trained one), checked against the trained
    horizon, `extend` and what the model reads.

    Raises:
        ConfigError: an unknown `extend`, or intervals asked beyond the trained horizon.
        DataError: a horizon below 1, or beyond the trained one without a way to extend to it.
    """
    if extend not in EXTENDS:
        raise ConfigError(f"extend must be one of {', '.join(EXTENDS)}, got '{extend}'")
    trained = schema.horizon
    h = trained if horizon is None else int(horizon)
    retrain = f"train with --data.horizon {h}"
    if h < 1:
        raise DataError(f"horizon {h} is below 1", fix=f"ask for 1..{trained} steps")
    if h <= trained:
        return h
    if extend == "none":
        raise DataError(
            f"horizon {h} is beyond the trained horizon {trained}",
            fix=f"ask for at most {trained} steps, extend recursively (predict --extend recursive; Python: "
            f"extend='recursive'), which feeds forecasts back as inputs and costs accuracy, or {retrain}",
        )
    if levels:
        raise ConfigError(
            f"intervals are calibrated on steps 1..{trained} (the trained horizon), not up to {h}; "
            f"drop the levels, ask for at most {trained} steps, or {retrain}"
        )
    unknown = schema.columns[schema.n_targets :]
    if unknown:
        raise DataError(
            f"the model reads columns it does not forecast ({', '.join(unknown)}): their values past step "
            f"{trained} are unknown, so it cannot be extended recursively",
            fix=f"ask for at most {trained} steps, or {retrain}",
        )
    return h


def recursive(predict: Callable[[SeriesFrame], np.ndarray], frame: SeriesFrame, horizon: int) -> np.ndarray:
    """`horizon` steps of every series, (series, horizon, K) on the original scale, from `predict`
    (a package's forecast of its trained H steps) run block by block, each block's forecast
    appended to the history the next one reads."""
    blocks: list[np.ndarray] = []
    done = 0
    while done < horizon:
        block = predict(frame)  # (series, H, K)
        blocks.append(block[:, : horizon - done])
        done += block.shape[1]
        if done < horizon:
            frame = appended(frame, block)
    return np.concatenate(blocks, axis=1)


def appended(frame: SeriesFrame, block: np.ndarray) -> SeriesFrame:
    """`frame` with `block` (series, n, F), a forecast of every column, as each series' next n rows
    (timestamps by the frame's frequency; observed, as a fed-back forecast is read)."""
    n = block.shape[1]
    times = [t.append(steps_after(t[-1], n, frame.schema.freq)) for t in frame.times]
    values = [np.vstack([v, block[i].astype(v.dtype)]) for i, v in enumerate(frame.values)]
    observed = None
    if frame.observed is not None:
        observed = [np.vstack([m, np.ones((n, m.shape[1]), dtype=bool)]) for m in frame.observed]
    return replace(frame, times=times, values=values, observed=observed)
