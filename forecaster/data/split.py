"""Chronological splits and the window arithmetic over them.

A window is a start row `s`: inputs are rows [s, s + context_len), targets rows
[s + context_len, s + context_len + horizon). A split owns a range of *target* rows [lo, hi); a
window belongs to it when all its targets do. Inputs may reach back across the border (the
standard long-horizon protocol), targets never, so no split sees another's targets.

The `last` split is M4's protocol for many short series: per series, the test targets are the
last `horizon + test_windows - 1` rows (`test_windows` forecast origins one step apart), and
validation is rolling-origin: `val_windows` origins `val_step` rows apart (the horizon by default),
the newest one's horizon ending where the test targets begin, so each origin is scored on the
horizon after it as the test origin is. A series too short for every validation origin and a
training window keeps as many origins as leave it one training window (at least one): it uses what
it has, and `short_validation` says how many series did. The rest is training.

The other splits validate on every window of their validation period (origins one step apart), or
on origins `val_step` rows apart when it is set.
"""

from __future__ import annotations

import math

from forecaster.config import DataConfig, check_choice
from forecaster.errors import out_of_range

SPLITS = ("train", "val", "test")
ETT_BORDERS = (8640, 11520, 14400)  # ETTh1/ETTh2: 12/4/4 months of hourly rows
MAX_ROWS = 10**15  # beyond any file; a split needing more has no practical length


def split_bounds(length: int, cfg: DataConfig) -> list[tuple[int, int]]:
    """Target-row ranges [lo, hi) of train, val and test for a series of `length` rows."""
    check_split(cfg)
    if cfg.split == "ratio":
        n_train, n_test = int(length * cfg.ratios[0]), int(length * cfg.ratios[2])
        ends = (n_train, length - n_test, length)
    elif cfg.split == "last":
        span = cfg.horizon + cfg.test_windows - 1  # target rows of test_windows windows one step apart
        val = cfg.horizon + val_step(cfg) * (val_count(length, cfg) - 1)
        ends = (max(length - span - val, 0), max(length - span, 0), length)
    else:
        ends = ETT_BORDERS if cfg.split == "ett" else tuple(cfg.borders)
    return [(0, ends[0]), (ends[0], ends[1]), (ends[1], ends[2])]


def val_step(cfg: DataConfig) -> int:
    """Rows between validation origins: `data.val_step`, else the horizon (`last`) or 1 (other splits)."""
    return cfg.val_step or (cfg.horizon if cfg.split == "last" else 1)


def val_count(length: int, cfg: DataConfig) -> int:
    """Validation origins of a series of `length` rows under the `last` split: `val_windows`, or as many
    as leave one training window (at least one)."""
    test = cfg.horizon + cfg.test_windows - 1
    room = length - test - cfg.horizon - (cfg.context_len + cfg.horizon)  # rows beyond one origin and one window
    return max(1, min(cfg.val_windows, room // val_step(cfg) + 1 if room >= 0 else 1))


def val_starts(lo: int, hi: int, cfg: DataConfig) -> list[int]:
    """Start rows of the validation windows whose targets lie in [lo, hi), `val_step(cfg)` rows apart, the
    newest one's targets ending at `hi`; oldest first."""
    step, newest = val_step(cfg), hi - cfg.horizon - cfg.context_len
    oldest = max(lo - cfg.context_len, 0)
    return list(range(newest, oldest - 1, -step))[::-1] if newest >= oldest else []


def check_split(data: DataConfig) -> None:
    """The split's settings: three shares summing to 1, or three increasing borders."""
    ratios, borders = data.ratios, data.borders
    if len(ratios) != 3 or not all(math.isfinite(r) and r >= 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        raise out_of_range("data.ratios", ratios, "three non-negative shares [train, val, test] summing to 1")
    check_choice("data.split", data.split)  # a DataConfig built in Python: its Literal's choices
    if data.split == "last" and not 1 <= data.test_windows <= 2**31 - 1:
        raise out_of_range("data.test_windows", data.test_windows, "an integer ≥ 1 (rolling test origins per series)")
    if not 1 <= data.val_windows <= 2**31 - 1:
        raise out_of_range("data.val_windows", data.val_windows, "an integer ≥ 1 (validation origins per series)")
    if not 0 <= data.val_step <= 2**31 - 1:
        raise out_of_range("data.val_step", data.val_step, "an integer ≥ 0 (rows between validation origins)")
    if data.split == "borders" and not (borders and len(borders) == 3 and 1 <= borders[0] < borders[1] < borders[2]):
        valid = "three increasing row numbers [train_end, val_end, test_end] with data.split borders"
        raise out_of_range("data.borders", borders, valid)


def window_range(lo: int, hi: int, context_len: int, horizon: int) -> tuple[int, int]:
    """(first start, count) of the windows whose targets lie in rows [lo, hi)."""
    first = max(lo - context_len, 0)
    count = hi - context_len - horizon - first + 1
    return first, max(count, 0)


def last_windows(length: int, context_len: int, horizon: int, *, count: int, step: int) -> list[int] | None:
    """Start rows of the newest `count` windows of a series of `length` rows, `step` rows apart,
    newest first (rolling forecast origins); None when they do not all fit."""
    first, n = window_range(0, length, context_len, horizon)
    newest = first + n - 1
    starts = [newest - step * k for k in range(count)]
    return starts if n and starts[-1] >= first else None


def window_counts(length: int, cfg: DataConfig) -> list[int]:
    """Number of train, val and test windows for a series of `length` rows."""
    bounds = split_bounds(length, cfg)
    if bounds[-1][1] > length:
        return [0, 0, 0]
    (a, b), val, (c, d) = bounds
    count = lambda lo, hi: window_range(lo, hi, cfg.context_len, cfg.horizon)[1]
    return [count(a, b), len(val_starts(*val, cfg)), count(c, d)]


def rows_needed(cfg: DataConfig) -> int | None:
    """The fewest rows a series needs for at least one window in every split; None when no length
    gives one (fixed borders too close together for these window sizes, or an empty share), or
    when it would take more than `MAX_ROWS` rows."""
    if cfg.split in ("ett", "borders"):
        end = split_bounds(0, cfg)[-1][1]  # fixed borders: the last one is the only length to try
        return end if min(window_counts(end, cfg)) >= 1 else None
    if cfg.split == "ratio" and min(cfg.ratios) <= 0:
        return None
    lo, hi = 1, cfg.context_len + cfg.horizon
    while min(window_counts(hi, cfg)) < 1:  # grow, then bisect: counts rise with length
        lo, hi = hi, hi * 2
        if hi > MAX_ROWS:
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if min(window_counts(mid, cfg)) < 1 else (lo, mid)
    while min(window_counts(hi, cfg)) < 1:  # ratio floors make counts not quite monotonic
        hi += 1
    return hi
