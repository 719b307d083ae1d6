"""The `last` split (M4's protocol): test = the last horizon, validation the horizon before, N origins."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.config import DataConfig, load
from forecaster.data.split import SPLITS, rows_needed, split_bounds, window_counts, window_range
from forecaster.data.windows import prepare
from forecaster.errors import ConfigError


def last(**kw) -> DataConfig:
    return DataConfig(split="last", **kw)


def test_last_split_of_a_hand_worked_series():
    # 100 rows, horizon 13, one origin: test targets 87..99, validation 74..86, the rest training
    assert split_bounds(100, last(horizon=13, context_len=20)) == [(0, 74), (74, 87), (87, 100)]
    # three origins one step apart: 13 + 2 target rows each for test and validation
    assert split_bounds(100, last(horizon=13, test_windows=3)) == [(0, 70), (70, 85), (85, 100)]
    assert window_counts(100, last(horizon=13, context_len=20, test_windows=3)) == [38, 3, 3]


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
    assert need == context + horizon + 2 * (horizon + test_windows - 1)  # one training window, two spans
    if length >= need:
        counts = window_counts(length, cfg)
        assert counts[1:] == [test_windows, test_windows] and counts[0] >= 1
        test_first, _ = window_range(*bounds[2], context, horizon)
        newest = length - context - horizon  # the newest complete window is the last test window
        assert test_first + test_windows - 1 == newest


def test_prepare_with_the_last_split_on_series_of_different_lengths(long_csv):
    cfg = DataConfig(path=str(long_csv), split="last", context_len=14, horizon=7, test_windows=2)
    data = prepare(cfg)
    lengths = [len(t) for t in data.frame.times]
    assert [data.n_windows(s) for s in ("val", "test")] == [2 * len(lengths), 2 * len(lengths)]
    ends = data.offsets + np.array(lengths)
    ds = data.dataset("test")
    starts = ds.start_rows(torch.arange(len(ds))).numpy()
    expected = np.concatenate([[end - 21 - 1, end - 21] for end in ends])  # the two newest windows
    np.testing.assert_array_equal(starts, expected)
    train_rows = np.concatenate([v[: n - 2 * 8] for v, n in zip(data.frame.values, lengths)])
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
