"""Values far beyond a column's spread (`forecaster.data.outliers`): the robust spread, refused with the
file, column, line and fix, or clipped on request and reported as a note and a run tag."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, wide_frame
from test_validation import NAIVE, nothing_written

from forecaster.config import DataConfig
from forecaster.data.io import read_frame
from forecaster.data.outliers import BOUND, spread
from forecaster.data.windows import prepare
from forecaster.errors import DataError


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


def _test_rows_moved(tmp_path: Path, name: str, test_value: float | None) -> Path:
    """100 hourly rows (ratio split: training rows 0-69, test rows 80-99) with a value 1e8 in the
    training rows of column b; `test_value`, if given, replaces every test row of b."""
    frame = wide_frame(n=100)
    frame.loc[10, "b"] = 1e8
    if test_value is not None:
        frame.loc[80:, "b"] = test_value
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_spread_is_fitted_on_the_training_rows_so_test_rows_never_move_the_training_screen(tmp_path):
    """Test rows of another level (5e5: not far from the training spread, but a fifth of the file)
    widen the whole file's spread; the training rows' screen and values do not move with them."""
    cfg = DataConfig(outliers="clip", context_len=8, horizon=4)
    plain, moved = (_test_rows_moved(tmp_path, n, v) for n, v in (("plain", None), ("moved", 5e5)))
    frames = [read_frame(cfg, p, fit_on_train=True) for p in (plain, moved)]
    np.testing.assert_array_equal(frames[0].values[0][:70], frames[1].values[0][:70])
    (note_plain,), (note_moved,) = ([d.message for d in f.diagnostics if d.kind == "clipped"] for f in frames)
    assert note_plain == note_moved  # the same bound, from the same training rows
    median, s = spread(np.delete(read_frame(DataConfig(outliers="clip"), plain).values[0][:70, 1], 10))
    assert frames[1].values[0][10, 1] == pytest.approx(median + BOUND * s, rel=1e-2)  # clipped to the training bound
    assert (frames[1].values[0][80:, 1] == 5e5).all()  # not far from the training spread: kept
    whole = [read_frame(cfg, p).values[0][10, 1] for p in (plain, moved)]  # predict's reading: every row given
    assert whole[0] != whole[1]  # there, as before, the test rows moved the bound


def test_training_reads_the_file_with_the_training_screen(tmp_path):
    cfg = DataConfig(outliers="clip", context_len=8, horizon=4)
    prepared = [prepare(replace(cfg, path=str(_test_rows_moved(tmp_path, n, v)))) for n, v in (("a", None), ("b", 5e5))]
    np.testing.assert_array_equal(prepared[0].frame.values[0][:70], prepared[1].frame.values[0][:70])
    assert prepared[0].scaler.to_dict() == prepared[1].scaler.to_dict()


def test_a_far_test_value_is_still_refused_by_the_training_rows_spread(tmp_path):
    path = huge_in_test_rows(tmp_path, value=1e7)  # 1e7 is far from the training rows' spread
    with pytest.raises(DataError, match="times the column's typical spread") as info:
        read_frame(DataConfig(context_len=8, horizon=4), path, fit_on_train=True)
    assert info.value.row == 292 and info.value.column == "b"
