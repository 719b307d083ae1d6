"""The one schema record: derived everywhere, stored as schema.json, and the sizes a network is built for."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ETTH1, ROOT, long_frame, wide_frame

from forecaster.config import DataConfig, ModelConfig
from forecaster.data.io import read_frame
from forecaster.data.schema import Schema
from forecaster.data.windows import check_lengths, prepare
from forecaster.errors import DataError
from forecaster.models import build_network

V1_FIELDS = [
    "layout",
    "time_col",
    "id_col",
    "columns",
    "n_targets",
    "freq",
    "context_len",
    "horizon",
    "period",
    "series_ids",
]


def test_prepared_data_and_its_frame_share_one_schema_with_the_window_sizes(long_csv):
    data = prepare(DataConfig(path=str(long_csv), context_len=14, horizon=7))
    s = data.schema
    assert data.frame.schema is s
    assert (s.layout, s.time_col, s.id_col, s.freq) == ("long", "ds", "unique_id", "D")
    assert (s.n_features, s.n_targets, s.context_len, s.horizon, s.period) == (1, 1, 14, 7, 7)
    assert s.series_ids == ["s0", "s1", "s2"] and data.values.shape[1] == s.n_features


def test_a_frame_schema_has_no_window_sizes_until_prepare():
    s = read_frame(DataConfig(path=str(ETTH1))).schema
    assert (s.context_len, s.horizon, s.period) == (None, None, None)
    assert s.targets == s.columns and s.covariates == [] and s.series_ids == ["ETTh1"]


def test_schema_json_keeps_the_format_version_1_fields(long_csv):
    s = prepare(DataConfig(path=str(long_csv), context_len=14, horizon=7)).schema
    raw = json.loads(s.to_json())
    assert list(raw) == [*V1_FIELDS, "tz"]  # tz: optional, added after version 1 was released
    assert Schema.from_json(s.to_json()) == s
    assert Schema.from_json(json.dumps({k: raw[k] for k in V1_FIELDS})).tz is None  # an older package
    with pytest.raises(TypeError):
        Schema.from_json(json.dumps({**raw, "surprise": 1}))
    refit = prepare(DataConfig(path=str(long_csv), context_len=14, horizon=7)).every_row().schema
    assert json.loads(refit.to_json())["fitted_on"] == "every row" and Schema.from_json(refit.to_json()) == refit
    with pytest.raises(TypeError, match="field 'fitted_on' must be one of 'train', 'every row'"):
        Schema.from_json(json.dumps({**raw, "fitted_on": "all"}))


def test_the_schema_sizes_the_network():
    data = prepare(DataConfig(path=str(ETTH1), split="ett", context_len=48, horizon=12))
    network = build_network(ModelConfig(name="linear"), data.schema)
    x, _ = data.dataset("test")[0]
    assert network(x[None]).shape == (1, 12, data.schema.n_targets)


def test_check_lengths_returns_a_new_frame_and_leaves_its_input_alone(tmp_path):
    long_frame(lengths=(200, 20, 260)).to_csv(tmp_path / "short.csv", index=False)
    cfg = DataConfig(path=str(tmp_path / "short.csv"), context_len=14, horizon=7, drop_short=True)
    frame = read_frame(cfg)
    kept = check_lengths(frame, cfg)
    assert frame.schema.series_ids == ["s0", "s1", "s2"] and len(frame.times) == 3 and frame.diagnostics == []
    assert kept.schema.series_ids == ["s0", "s2"] and [len(t) for t in kept.times] == [200, 260]
    np.testing.assert_array_equal(kept.values[1], frame.values[2])
    ((kind, series),) = [(d.kind, d.series) for d in kept.diagnostics]
    assert (kind, series) == ("dropped_short", "s1")
    assert check_lengths(kept, cfg) is kept
    with pytest.raises(DataError, match="series 's1' has 20 rows"):
        check_lengths(frame, DataConfig(path=cfg.path, context_len=14, horizon=7))


def test_lenient_reading_reports_typed_diagnostics(tmp_path):
    df = wide_frame(80).drop(index=[30, 31]).reset_index(drop=True).astype({"a": object})
    df.loc[5, "a"] = ""
    pd.concat([df.iloc[40:], df.iloc[:40]]).to_csv(tmp_path / "messy.csv", index=False)
    frame = read_frame(DataConfig(path=str(tmp_path / "messy.csv"), sort=True, fill="ffill"))
    assert [(d.kind, d.series) for d in frame.diagnostics] == [
        ("sorted", "messy"),
        ("filled_gaps", "messy"),
        ("filled_missing", "messy"),
    ]
    assert str(frame.diagnostics[1]) == "inserted 2 missing 'h' timestamps (1 gaps)"
    df = long_frame(lengths=(60, 60)).iloc[::-1]
    df.to_csv(tmp_path / "long.csv", index=False)
    frame = read_frame(DataConfig(path=str(tmp_path / "long.csv"), sort=True))
    assert [(d.kind, d.series) for d in frame.diagnostics] == [("sorted", "s1"), ("sorted", "s0")]
    assert frame.diagnostics[0].message == "series 's1': sorted 60 rows by time"


def test_head_keeps_the_first_rows_of_each_series_and_leaves_its_input_alone(long_csv):
    frame = read_frame(DataConfig(path=str(long_csv)))  # series of 200, 150, 260 rows
    head = frame.head([10, 20, 30])
    assert [len(t) for t in head.times] == [10, 20, 30] and [len(v) for v in head.values] == [10, 20, 30]
    assert head.schema == frame.schema and [len(t) for t in frame.times] == [200, 150, 260]
    np.testing.assert_array_equal(head.values[2], frame.values[2][:30])
    assert head.times[1].equals(frame.times[1][:20])
    with pytest.raises(ValueError, match=r"1\.\.length rows"):
        frame.head([10, 0, 30])


def test_the_schema_module_imports_neither_torch_nor_pandas():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import forecaster.data.schema; "
        "print(sorted(m for m in ('torch', 'pandas', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "[]", result.stderr
