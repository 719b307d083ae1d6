"""Sliding windows by index arithmetic over one contiguous tensor, and `prepare()`.

All series are encoded (`forecaster.data.inputs.encode`: scaled, calendar features appended, the
one encoding a forecast's input gets too) and concatenated into one float32 tensor of shape (rows,
features); a split is a list of (first start row, count) segments, one per series. A window index
maps to its start row with a binary search over the segments' cumulative counts, so memory grows
with rows, not with windows, and no window is ever copied until a batch is gathered. The facts
about the data (columns, targets, window sizes, period) live in one `Schema`, which
`PreparedData.schema` exposes. Cells `data.fill` made up are inputs, never targets: windows read
their targets from `PreparedData.targets`, NaN at those cells, which every loss and score leaves
out, and a window with fewer than `MIN_OBSERVED` of its target cells observed is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from forecaster.config import DataConfig
from forecaster.data import notes
from forecaster.data.covariates import with_covariates
from forecaster.data.inputs import encode
from forecaster.data.io import read_frame
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Diagnostic, Schema, SeriesFrame
from forecaster.data.split import ETT_BORDERS, SPLITS, rows_needed, split_bounds, val_starts, val_step, window_range
from forecaster.errors import DataError


class WindowDataset(Dataset):
    """Windows over `values` (rows, features): item i is (x (context_len, F), y (horizon, T)).

    With future-known or static covariates an item is (x, y, future, static): future (H, n_future)
    the horizon rows of the last `n_future` features (None without), static (Z,) the window's
    series' encoded static values (None without); networks take them as `network(x, future, static)`.

    Args:
        values: the scaled rows of every series, concatenated.
        starts: first window start row of each segment (global row index).
        counts: number of windows in each segment.
        context_len: input steps.
        horizon: target steps.
        n_targets: the first `n_targets` features are the targets.
        n_future: the last `n_future` features are known over the horizon too.
        static: (rows, Z) each row's series' encoded static values, or None.
        targets: (rows, n_targets) the targets `y` is read from, NaN where a cell was filled
            (`PreparedData.targets`), or None: the first `n_targets` features of `values`.
    """

    def __init__(
        self,
        values: torch.Tensor,
        starts: np.ndarray,
        counts: np.ndarray,
        *,
        context_len: int,
        horizon: int,
        n_targets: int,
        n_future: int = 0,
        static: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
    ):
        self.values, self.n_future, self.static = values, n_future, static
        self.targets = values[:, :n_targets] if targets is None else targets
        self.starts = torch.as_tensor(starts, dtype=torch.long)
        self.cum = torch.as_tensor(np.cumsum(counts), dtype=torch.long)
        self.context_len, self.horizon, self.n_targets = context_len, horizon, n_targets
        self._x_steps = torch.arange(context_len)
        self._y_steps = torch.arange(context_len, context_len + horizon)

    def __len__(self) -> int:
        return int(self.cum[-1]) if len(self.cum) else 0

    def start_rows(self, index: torch.Tensor) -> torch.Tensor:
        """Global start row of each window index."""
        seg = torch.searchsorted(self.cum, index, right=True)
        before = torch.where(seg > 0, self.cum[seg - 1], torch.zeros_like(seg))
        return self.starts[seg] + (index - before)

    def __getitem__(self, i: int) -> tuple:
        return tuple(None if part is None else part[0] for part in self.__getitems__([i]))

    def __getitems__(self, indices: list[int]) -> tuple:
        """A whole batch in one gather: x (B, context_len, F), y (B, horizon, n_targets), and with
        covariates future (B, H, n_future) or None and static (B, Z) or None."""
        index = torch.as_tensor(indices, dtype=torch.long)
        if len(index) and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"window index out of range [0, {len(self)})")
        rows = self.start_rows(index)[:, None]
        x = self.values[rows + self._x_steps]  # (B, C, F)
        y = self.targets[rows + self._y_steps]  # (B, H, T), NaN where filled
        if not self.n_future and self.static is None:
            return x, y
        future = self.values[rows + self._y_steps, -self.n_future :] if self.n_future else None  # (B, H, Fk)
        static = self.static[rows[:, 0]] if self.static is not None else None  # (B, Z)
        return x, y, future, static


def collate_batch(batch):
    """`WindowDataset.__getitems__` already returns a stacked batch."""
    return batch


@dataclass
class PreparedData:
    """Everything a model needs from the data, built once by `prepare()`.

    `frame.schema` is the schema with the window sizes and period; `schema` is that same record.
    """

    frame: SeriesFrame
    scaler: Scaler
    values: torch.Tensor  # (rows, F), scaled, every series concatenated
    offsets: np.ndarray  # first row of each series in `values`
    segments: dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (starts, counts)
    static: torch.Tensor | None = None  # (rows, Z): each row's series' encoded static covariates
    targets: torch.Tensor | None = None  # (rows, n_targets): scaled targets, NaN where filled; None: all observed

    @property
    def schema(self) -> Schema:
        return self.frame.schema

    def dataset(self, split: str) -> WindowDataset:
        starts, counts = self.segments[split]
        return self.windows(starts, counts)

    def windows(self, starts: np.ndarray, counts: np.ndarray) -> WindowDataset:
        """The windows of segments (`starts`, `counts`) over these rows, covariates included."""
        s = self.schema
        return WindowDataset(
            self.values,
            starts,
            counts,
            context_len=s.context_len,
            horizon=s.horizon,
            n_targets=s.n_targets,
            n_future=s.n_future,
            static=self.static,
            targets=self.targets,
        )

    def n_windows(self, split: str) -> int:
        return int(self.segments[split][1].sum())

    def every_row(self) -> PreparedData:
        """These data with every window of every series as training windows (train, validation and test
        periods): what a refit before deploying trains on. Same scaler and encoding; the held-out splits
        are kept as they were (a refit does not validate)."""
        lengths = np.diff(np.append(self.offsets, len(self.values)))
        ranges = [window_range(0, int(n), self.schema.context_len, self.schema.horizon) for n in lengths]
        train = (self.offsets + np.array([first for first, _ in ranges]), np.array([count for _, count in ranges]))
        train, _ = observed_only(train, self.targets, self.schema.context_len, self.schema.horizon)
        frame = replace(self.frame, schema=replace(self.schema, fitted_on="every row"))  # a package records it
        return replace(self, frame=frame, segments={**self.segments, "train": train})


def prepare(
    cfg: DataConfig, frame: SeriesFrame | None = None, scaler: Scaler | None = None, *, fitted: Schema | None = None
) -> PreparedData:
    """Read (unless given), split, scale on train rows (unless a fitted scaler is given), encode
    (`forecaster.data.inputs.encode`, as a forecast encodes its input), index windows.

    `fitted`: a model package's schema, whose covariates (future-known columns, calendar features,
    static categories and standardisation) are encoded, instead of the config's fitted on `frame`.
    """
    frame = check_lengths(frame if frame is not None else read_frame(cfg, fit_on_train=True), cfg)
    notes.report(frame.diagnostics)
    bounds = [split_bounds(len(t), cfg) for t in frame.times]
    if scaler is None:
        train_rows = np.concatenate([v[: b[0][1]] for v, b in zip(frame.values, bounds)])
        scaler = Scaler.fit(train_rows)
    schema = with_covariates(frame.schema, frame, cfg, fitted=fitted)
    rows = encode(frame, schema, scaler)  # as a forecast encodes its input (forecaster.data.inputs)
    _check_scaled(rows.values.numpy(), frame, rows.offsets)
    segments = {}
    for k, split in enumerate(SPLITS):
        ranges = [window_range(*b[k], cfg.context_len, cfg.horizon) for b in bounds]
        starts = np.array([first for first, _ in ranges]) + rows.offsets
        segments[split] = (starts, np.array([count for _, count in ranges]))
    if val_step(cfg) > 1:  # rolling origins `val_step` rows apart: one window per segment
        segments["val"] = _strided_val(bounds, rows.offsets, cfg, frame)
    targets = _targets(rows.values, frame)
    segments = _observed_segments(segments, targets, cfg, frame)
    schema = schema.with_windows(
        context_len=cfg.context_len, horizon=cfg.horizon, period=season_period(frame.schema.freq, cfg)
    )
    frame = replace(frame, schema=schema)
    return PreparedData(frame, scaler, rows.values, rows.offsets, segments, rows.static, targets)


MIN_OBSERVED = 0.5  # a window is trained on and scored when at least this share of its target cells was observed


def _targets(values: torch.Tensor, frame: SeriesFrame) -> torch.Tensor | None:
    """The scaled targets with NaN where `data.fill` made a cell up (`frame.observed`); None when none was."""
    if frame.observed is None:
        return None
    observed = torch.as_tensor(np.concatenate(frame.observed))  # (rows, T), the rows in `values`' order
    targets = values[:, : observed.shape[1]].clone()
    targets[~observed] = float("nan")
    return targets


def observed_only(segment: tuple, targets: torch.Tensor | None, context_len: int, horizon: int) -> tuple:
    """(the segment's windows with at least `MIN_OBSERVED` of their target cells observed, as runs of
    consecutive start rows; how many were dropped). `segment` is (starts, counts); unchanged without NaN."""
    starts, counts = segment
    if targets is None or not len(starts):
        return segment, 0
    per_row = np.concatenate([[0], np.cumsum((~torch.isnan(targets)).sum(dim=1).numpy())])
    every = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    seen = per_row[every + context_len + horizon] - per_row[every + context_len]
    kept = every[seen >= MIN_OBSERVED * horizon * targets.shape[1]]
    runs = np.split(kept, np.flatnonzero(np.diff(kept) != 1) + 1) if len(kept) else []  # consecutive starts
    firsts = np.array([run[0] for run in runs], dtype=np.int64)
    return (firsts, np.array([len(run) for run in runs], dtype=np.int64)), len(every) - len(kept)


def _observed_segments(segments: dict, targets: torch.Tensor | None, cfg: DataConfig, frame: SeriesFrame) -> dict:
    """`segments` without the windows whose targets were mostly filled (`observed_only`), with a note per split."""
    if targets is None:
        return segments
    out = {}
    for split, segment in segments.items():
        out[split], dropped = observed_only(segment, targets, cfg.context_len, cfg.horizon)
        if dropped:
            text = (
                f"skipped {dropped} of {int(segment[1].sum())} {split} windows: fewer than "
                f"{MIN_OBSERVED:.0%} of their target cells observed (the rest filled by data.fill)"
            )
            notes.report([Diagnostic("skipped_filled_windows", frame.schema.series_ids[0], text)])
    return out


def _strided_val(bounds: list, offsets: np.ndarray, cfg: DataConfig, frame: SeriesFrame) -> tuple:
    """The validation windows `val_step` rows apart (forecaster.data.split.val_starts), as one-window
    segments; a note says how many series have fewer origins than `data.val_windows`."""
    per_series = [val_starts(*b[1], cfg) for b in bounds]
    starts = np.concatenate([off + np.asarray(s, dtype=np.int64) for off, s in zip(offsets, per_series)])
    fewer = [n for n in map(len, per_series) if cfg.split == "last" and n < cfg.val_windows]
    if fewer:
        notes.report(
            [
                Diagnostic(
                    "short_validation",
                    frame.schema.series_ids[0],
                    f"{len(fewer)} series too short for {cfg.val_windows} validation origins keep as many as "
                    f"leave a training window (as few as {min(fewer)})",
                )
            ]
        )
    return starts, np.ones(len(starts), dtype=np.int64)


def _check_scaled(scaled: np.ndarray, frame: SeriesFrame, offsets: np.ndarray) -> None:
    """Refuse values that overflow float32 once scaled (a column constant on the training rows and
    huge elsewhere): they would make every loss and metric infinite. (`scaled` may hold calendar
    features after the columns: they are always finite.)"""
    bad = np.flatnonzero(~np.isfinite(scaled).all(axis=1))
    if not bad.size:
        return
    row, s = int(bad[0]), frame.schema
    k = int(np.searchsorted(offsets, row, side="right")) - 1
    column = s.columns[int(np.flatnonzero(~np.isfinite(scaled[row]))[0])]
    where = f"series '{s.series_ids[k]}' " if s.layout == "long" else ""
    raise DataError(
        f"{where}at {frame.times[k][row - offsets[k]]}: the value overflows float32 once scaled by the "
        "training rows' mean and spread (the column hardly varies on the training rows)",
        file=frame.path,
        column=column,
        fix="correct the value, or drop the column (or choose the columns with --data.targets)",
    )


def check_lengths(frame: SeriesFrame, cfg: DataConfig) -> SeriesFrame:
    """`frame` itself when every series is long enough for a window in every split; else fail, or
    with `cfg.drop_short` a new frame without the short series (and a `dropped_short` diagnostic
    for each)."""
    need = rows_needed(cfg)
    if need is None:
        raise _no_length(cfg, frame.path)
    short = [i for i, t in enumerate(frame.times) if len(t) < need]
    if not short:
        return frame
    i, ids = short[0], frame.schema.series_ids
    what = f"series '{ids[i]}' has" if frame.schema.layout == "long" else "the file has"
    if not cfg.drop_short or len(short) == len(frame.times):
        fixes = [f"give at least {need} rows per series"]  # fixed borders need `need` rows whatever the windows
        fixes.append("lower --data.context_len / --data.horizon" if cfg.split == "ratio" else "pass --data.split ratio")
        if frame.schema.layout == "long":
            fixes.append("pass --data.drop_short true to skip short series")
        raise DataError(
            f"{what} {len(frame.times[i])} rows; context_len {cfg.context_len} + horizon "
            f"{cfg.horizon} with {_split_name(cfg)} needs at least {need} rows per series"
            + (f" ({len(short)} series too short)" if len(short) > 1 else ""),
            file=frame.path,
            fix=", or ".join(fixes),
        )
    dropped = [
        Diagnostic("dropped_short", ids[i], f"dropped series '{ids[i]}' ({len(frame.times[i])} rows < {need})")
        for i in reversed(short)
    ]
    return frame.keep([i for i in range(len(ids)) if i not in short], dropped)


def _split_name(cfg: DataConfig) -> str:
    if cfg.split == "ratio":
        return f"the 'ratio' split {cfg.ratios}"
    ends = ETT_BORDERS if cfg.split == "ett" else cfg.borders
    return f"the '{cfg.split}' split (fixed borders at rows {'/'.join(map(str, ends))})"


def _no_length(cfg: DataConfig, path: str) -> DataError:
    """No series length gives a window in every split: fixed borders too close, or an empty share."""
    if cfg.split == "ratio":
        return DataError(
            f"no series length gives a window in every split of the 'ratio' split {cfg.ratios} with "
            f"context_len {cfg.context_len} + horizon {cfg.horizon}",
            file=path,
            fix="give every share of --data.ratios a positive value, or lower --data.context_len / --data.horizon",
        )
    return DataError(
        f"context_len {cfg.context_len} + horizon {cfg.horizon} leave no window in every split of "
        f"{_split_name(cfg)}, whatever the file's length",
        file=path,
        fix="pass --data.split ratio (shares of any length), or lower --data.context_len / --data.horizon",
    )


def season_period(freq: str, cfg: DataConfig) -> int:
    """The seasonal period in steps: configured, else a day (or hour, week, year) of steps."""
    if cfg.season_period:
        return cfg.season_period
    offset = pd.tseries.frequencies.to_offset(freq)
    try:
        step = pd.Timedelta(offset)
    except ValueError:  # calendar frequencies: month, quarter, year, business day
        name = offset.name.upper()
        table = {"M": 12, "Q": 4, "Y": 1, "A": 1, "B": 5, "W": 52}
        return next((p for k, p in table.items() if name.startswith(k)), 1)
    if step < pd.Timedelta(days=1):
        candidates = [pd.Timedelta(days=1) / step, pd.Timedelta(hours=1) / step]
    else:
        candidates = [pd.Timedelta(weeks=1) / step, pd.Timedelta(days=365) / step]
    fit = [int(c) for c in candidates if c >= 2 and float(c).is_integer() and c <= cfg.context_len]
    return fit[0] if fit else 1
