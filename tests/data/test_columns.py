"""Which columns make the series (`forecaster.data.columns`): detected by name, named by the config,
or the model's schema; a missing column names the flag that names it."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import long_frame

from forecaster.config import DataConfig
from forecaster.data.columns import Columns, from_config, from_schema
from forecaster.data.io import read_frame
from forecaster.errors import DataError


def test_columns_are_detected_by_name_or_as_a_first_column_of_timestamps():
    long = pd.DataFrame({"Timestamp": ["2024-01-01"], "Item_ID": ["a"], "Value": [1.0], "promo": [0.0], "temp": [1.0]})
    found = from_config(long, DataConfig(future_covariates=["promo"]), "l.csv")
    assert found == Columns("long", "Timestamp", "Item_ID", ["Value"], ["temp", "promo"], [])  # future-known last
    wide = pd.DataFrame({"when": ["2024-01-01 00:00", "2024-01-01 01:00"], "a": [1.0, 2.0], "b": [3.0, 4.0]})
    found = from_config(wide, DataConfig(covariates=["a"]), "w.csv")
    assert found == Columns("wide", "when", None, ["b"], ["a"], [])
    missing = "w.csv, line 1: no value column 'c'; columns are ['when', 'a', 'b']\n  fix: name the value column with "
    with pytest.raises(DataError, match=re.escape(missing + "--data.targets / --data.covariates")):
        from_config(wide, DataConfig(targets=["c"]), "w.csv")


def test_a_model_reads_the_columns_of_its_schema(long_csv):
    schema = read_frame(DataConfig(path=str(long_csv))).schema
    table = long_frame().assign(extra=1.0)  # a column the model was not trained on is not read
    assert from_schema(table, schema, "r.csv") == Columns("long", "ds", "unique_id", ["y"], [], [])
    with pytest.raises(DataError, match=r"no value column 'y'.*\n  fix: name the value column with --data.value_col"):
        from_schema(table.drop(columns="y"), schema, "r.csv")


def test_long_covariates_default_to_other_columns(tmp_path):
    df = long_frame()
    df["temp"] = 1.5
    df.to_csv(tmp_path / "cov.csv", index=False)
    frame = read_frame(DataConfig(path=str(tmp_path / "cov.csv")))
    assert frame.schema.columns == ["y", "temp"] and frame.schema.n_targets == 1


def test_wide_targets_are_selectable(wide_csv):
    frame = read_frame(DataConfig(path=str(wide_csv), targets=["c"], covariates=["a"]))
    assert frame.schema.columns == ["c", "a"] and frame.schema.n_targets == 1
