"""Splits, scaling and windows: counts, contents, no leakage, the `ett` preset. Every window scored by
the loaders: tests/data/test_module.py."""

from __future__ import annotations

import numpy as np
import torch
from conftest import ETTH1
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.config import DataConfig
from forecaster.data.split import SPLITS, last_windows, rows_needed, split_bounds, window_counts, window_range
from forecaster.data.windows import prepare


def ett_config(**kw) -> DataConfig:
    return DataConfig(path=str(ETTH1), split="ett", context_len=336, horizon=96, **kw)


def test_ett_preset_borders_and_window_counts():
    assert split_bounds(17420, ett_config()) == [(0, 8640), (8640, 11520), (11520, 14400)]
    data = prepare(ett_config())
    assert [data.n_windows(s) for s in SPLITS] == [8209, 2785, 2785]
    s = data.schema
    assert s.n_features == 7 and s.n_targets == 7 and s.period == 24 and (s.context_len, s.horizon) == (336, 96)


def test_windows_equal_a_direct_slice_of_the_scaled_rows():
    data = prepare(ett_config())
    raw = data.frame.values[0]
    scaled = (raw - data.scaler.mean) / data.scaler.scale
    for split in SPLITS:
        ds = data.dataset(split)
        first, _ = window_range(
            *split_bounds(len(raw), data_cfg := ett_config())[SPLITS.index(split)],
            data_cfg.context_len,
            data_cfg.horizon,
        )
        for i in (0, 1, len(ds) // 2, len(ds) - 1):
            x, y = ds[i]
            s = first + i
            np.testing.assert_allclose(x.numpy(), scaled[s : s + 336], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(y.numpy(), scaled[s + 336 : s + 432], rtol=1e-5, atol=1e-5)


def test_targets_never_cross_a_split_border_and_inputs_may():
    data = prepare(ett_config())
    bounds = split_bounds(17420, ett_config())
    for k, split in enumerate(SPLITS):
        ds = data.dataset(split)
        starts = ds.start_rows(torch.arange(len(ds))).numpy()
        lo, hi = bounds[k]
        assert (starts + 336 >= lo).all() and (starts + 336 + 96 <= hi).all()
    val_starts = data.dataset("val").start_rows(torch.tensor([0])).item()
    assert val_starts < 8640  # the first validation input reaches back into the training rows


def test_scaler_is_fitted_on_training_rows_only():
    data = prepare(ett_config())
    train_rows = data.frame.values[0][:8640]
    np.testing.assert_allclose(data.scaler.mean, train_rows.mean(axis=0))
    np.testing.assert_allclose(data.scaler.scale, train_rows.std(axis=0))
    restored = type(data.scaler).from_dict(data.scaler.to_dict())
    np.testing.assert_array_equal(restored.mean, data.scaler.mean)


def test_long_windows_stay_inside_their_series(long_csv):
    cfg = DataConfig(path=str(long_csv), context_len=14, horizon=7)
    data = prepare(cfg)
    ends = np.append(data.offsets[1:], len(data.values))
    for split in SPLITS:
        ds = data.dataset(split)
        starts = ds.start_rows(torch.arange(len(ds))).numpy()
        series = np.searchsorted(data.offsets, starts, side="right") - 1
        assert (starts + 21 <= ends[series]).all()
        assert len(ds) == sum(window_counts(len(t), cfg)[SPLITS.index(split)] for t in data.frame.times)


def test_memory_grows_with_rows_not_windows():
    data = prepare(ett_config())
    ds = data.dataset("train")
    assert ds.values.data_ptr() == data.values.data_ptr()  # one shared tensor, no copies
    assert ds.starts.numel() == 1 and ds.cum.numel() == 1  # one segment per series


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(5, 400),
    context=st.integers(1, 60),
    horizon=st.integers(1, 30),
    train=st.floats(0.3, 0.7),
    test=st.floats(0.05, 0.25),
)
def test_window_arithmetic_matches_brute_force(length, context, horizon, train, test):
    cfg = DataConfig(context_len=context, horizon=horizon, ratios=[train, 1 - train - test, test])
    bounds = split_bounds(length, cfg)
    counts = window_counts(length, cfg)
    for (lo, hi), count in zip(bounds, counts):
        brute = [
            s
            for s in range(length)
            if s + context + horizon <= length and lo <= s + context and s + context + horizon <= hi
        ]
        assert count == len(brute)
        first, n = window_range(lo, hi, context, horizon)
        assert list(range(first, first + n)) == brute
    need = rows_needed(cfg)
    assert min(window_counts(need, cfg)) >= 1 and (need == 1 or min(window_counts(need - 1, cfg)) < 1)


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 200),
    context=st.integers(1, 40),
    horizon=st.integers(1, 20),
    count=st.integers(1, 6),
    step=st.integers(1, 9),
)
def test_last_windows_are_the_newest_complete_windows_step_apart(length, context, horizon, count, step):
    starts = last_windows(length, context, horizon, count=count, step=step)
    complete = [s for s in range(length) if s + context + horizon <= length]
    wanted = [complete[-1] - step * k for k in range(count)] if complete else None
    assert starts == (wanted if wanted and wanted[-1] >= 0 else None)
