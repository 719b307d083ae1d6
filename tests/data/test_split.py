"""The `last` split (M4's protocol): test = the last horizon, validation the horizon before, N origins."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.config import DataConfig, load
from forecaster.data.split import SPLITS, rows_needed, split_bounds, val_count, val_starts, window_counts, window_range
from forecaster.data.windows import prepare
from forecaster.errors import ConfigError


def last(**kw) -> DataConfig:
    return DataConfig(split="last", **kw)


def test_last_split_of_a_hand_worked_series():
    # 100 rows, horizon 13, one origin: test targets 87..99, validation 74..86, the rest training
    assert split_bounds(100, last(horizon=13, context_len=20)) == [(0, 74), (74, 87), (87, 100)]
    # three test origins one step apart: 13 + 2 test target rows; validation keeps its one origin
    assert split_bounds(100, last(horizon=13, test_windows=3)) == [(0, 72), (72, 85), (85, 100)]
    assert window_counts(100, last(horizon=13, context_len=20, test_windows=3)) == [40, 1, 3]


def test_rolling_origin_validation_of_a_hand_worked_series():
    # 100 rows, horizon 13, 3 validation origins a horizon apart: validation targets 48..86, windows
    # starting at 28, 41 and 54 (context 20), each scored on the 13 rows after its origin
    cfg = last(horizon=13, context_len=20, val_windows=3)
    assert split_bounds(100, cfg) == [(0, 48), (48, 87), (87, 100)]
    assert val_starts(48, 87, cfg) == [28, 41, 54]
    assert window_counts(100, cfg) == [16, 3, 1]
    # every 5 rows instead of every horizon
    assert val_starts(
        *split_bounds(100, last(horizon=13, context_len=20, val_windows=3, val_step=5))[1],
        last(horizon=13, context_len=20, val_windows=3, val_step=5),
    ) == [44, 49, 54]


def test_a_short_series_keeps_the_validation_origins_that_leave_it_a_training_window():
    # 80 rows, context 41, horizon 13 (M4 Weekly's shortest): no room beyond one origin and one window
    cfg = last(horizon=13, context_len=41, val_windows=5)
    assert val_count(80, cfg) == 1 and window_counts(80, cfg) == [1, 1, 1]
    assert val_count(80 + 2 * 13, cfg) == 3 and val_count(1000, cfg) == 5
    assert rows_needed(cfg) == 80  # a series needs no more rows than with one origin


def test_prepare_strides_the_validation_windows_and_notes_short_series(caplog):
    frame_cfg = load(None, [("data.path", "datasets/demo_long.csv"), ("data.split", "last")])
    cfg = replace(frame_cfg.data, horizon=6, context_len=12, val_windows=4)
    data = prepare(cfg)
    val = data.dataset("val")
    starts = val.start_rows(torch.arange(len(val))).numpy()
    assert len(val) == 4 * len(data.offsets)
    assert set(np.diff(starts.reshape(len(data.offsets), 4), axis=1).ravel()) == {6}
    last_val_target = starts.reshape(len(data.offsets), 4)[:, -1] + 12 + 6  # end of the newest origin's horizon
    test_first = data.dataset("test").start_rows(torch.arange(len(data.offsets))).numpy() + 12
    assert (last_val_target == test_first).all()  # the validation origins end where the test targets begin


@settings(max_examples=80, deadline=None)
@given(
    length=st.integers(1, 300),
    context=st.integers(1, 60),
    horizon=st.integers(1, 30),
    test_windows=st.integers(1, 6),
)
def test_targets_never_cross_borders_and_each_series_yields_test_windows(length, context, horizon, test_windows):
    cfg = last(context_len=context, horizon=horizon, test_windows=test_windows)
    bounds = split_bounds(length, cfg)
    assert bounds[-1][1] == length and all(lo <= hi for lo, hi in bounds)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # contiguous: every row in one split
    for (lo, hi), count in zip(bounds, window_counts(length, cfg)):
        brute = [s for s in range(length) if lo <= s + context and s + context + horizon <= hi]
        first, n = window_range(lo, hi, context, horizon)
        assert list(range(first, first + n)) == brute and count == n
    need = rows_needed(cfg)
    assert need == context + horizon + horizon + (horizon + test_windows - 1)  # a training window, val, test spans
    if length >= need:
        counts = window_counts(length, cfg)
        assert counts[1:] == [1, test_windows] and counts[0] >= 1
        test_first, _ = window_range(*bounds[2], context, horizon)
        newest = length - context - horizon  # the newest complete window is the last test window
        assert test_first + test_windows - 1 == newest


def test_prepare_with_the_last_split_on_series_of_different_lengths(long_csv):
    cfg = DataConfig(path=str(long_csv), split="last", context_len=14, horizon=7, test_windows=2)
    data = prepare(cfg)
    lengths = [len(t) for t in data.frame.times]
    assert [data.n_windows(s) for s in ("val", "test")] == [len(lengths), 2 * len(lengths)]
    ends = data.offsets + np.array(lengths)
    ds = data.dataset("test")
    starts = ds.start_rows(torch.arange(len(ds))).numpy()
    expected = np.concatenate([[end - 21 - 1, end - 21] for end in ends])  # the two newest windows
    np.testing.assert_array_equal(starts, expected)
    train_rows = np.concatenate([v[: n - 8 - 7] for v, n in zip(data.frame.values, lengths)])  # test 7+1, val 7 rows
    np.testing.assert_allclose(data.scaler.mean, train_rows.mean(axis=0))  # fitted on training rows only


def test_bad_last_settings_are_config_errors():
    with pytest.raises(ConfigError, match=r"'data\.test_windows' must be an integer ≥ 1 .*got 0"):
        split_bounds(100, last(test_windows=0))
    with pytest.raises(ConfigError, match="one of ratio, ett, borders, last"):
        split_bounds(100, DataConfig(split="final"))


def test_the_last_split_is_configured_by_dotted_overrides():
    cfg = load(None, [("data.split", "last"), ("data.test_windows", "4")])
    assert (cfg.data.split, cfg.data.test_windows) == ("last", 4)
    assert SPLITS == ("train", "val", "test")
