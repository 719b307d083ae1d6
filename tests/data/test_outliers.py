"""Values far beyond a column's spread (`forecaster.data.outliers`): the robust spread, refused with the
file, column, line and fix, or clipped on request and reported as a note and a run tag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, wide_frame
from test_validation import NAIVE, nothing_written

from forecaster.data.outliers import spread


def test_the_spread_is_the_iqr_or_for_a_sparse_column_the_distance_of_the_values_that_differ():
    assert spread(np.array([1.0, 2.0, 3.0, 4.0, 1e12])) == (3.0, 2.0)  # one huge value moves neither
    sparse = np.array([0.0] * 9 + [3.0, 5.0])  # more than half equal: IQR and MAD are 0
    assert spread(sparse) == (0.0, 4.0)  # the median distance of 3 and 5
    assert spread(np.full(4, 2.5)) == (2.5, 0.0)  # all equal: nothing is far


def huge_in_test_rows(tmp_path: Path, value: float = 1e30) -> Path:
    frame = wide_frame(n=300)
    frame.loc[290, "b"] = value  # in the test rows (the last 20 %)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_huge_finite_value_is_refused_with_file_column_line_and_fix(capsys, mlflow_uri, tmp_path):
    path = huge_in_test_rows(tmp_path)
    code, out, err = run_cli(capsys, "train", "--data", path, *NAIVE, "--metrics-out", "m.json")
    assert code == 2 and not out and "Traceback" not in err
    assert err.startswith(f"error: {path}, column 'b', line 292: 1e+30 is ")
    assert "times the column's typical spread" in err and "--data.outliers clip" in err
    assert nothing_written(tmp_path)


@pytest.mark.slow
def test_clipping_is_opt_in_and_reported_as_a_note_and_a_run_tag(capsys, mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    path = huge_in_test_rows(tmp_path)
    code, _, err = run_cli(
        capsys, "train", "--data", path, *NAIVE, "--data.outliers", "clip", "--metrics-out", tmp_path / "m.json"
    )
    assert code == 0, err
    assert "note: clipped 1 values of column 'b' to " in err and "(the first on line 292)" in err
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert all(np.isfinite(metrics[k]) for k in ("mse", "mae", "mse_original", "mae_original"))
    (run,) = MlflowClient(mlflow_uri).search_runs(["1"])
    assert run.info.status == "FINISHED" and "clipped 1 values of column 'b'" in run.data.tags["note.clipped"]
