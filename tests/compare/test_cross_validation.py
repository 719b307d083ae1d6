"""Cross-validation: the table's columns, rows and cutoffs, no forecast reading a row at or after its
cutoff (refit 0 and 1), the output files, and the errors a user gets before any fit."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SMALL_NETWORK, TINY, long_frame, run_cli, wide_frame

from forecaster.compare import cross_validation as cv
from forecaster.config import load
from forecaster.errors import ConfigError

DEMO = ROOT / "datasets" / "demo_long.csv"
H = 6
FAST = [("data.context_len", "24"), ("data.horizon", str(H)), ("trainer.max_epochs", "1")]
FAST += [("trainer.limit_train_batches", "0.25"), ("trainer.progress_bar", "false"), ("tracking.enabled", "false")]
QUICK = [*TINY[: TINY.index("--trainer.max_epochs")], "--trainer.max_epochs", "1", "--trainer.progress_bar", "false"]


def config(path, *extra):
    return load(None, [("data.path", str(path)), *FAST, *SMALL_NETWORK, *extra])


def test_demo_long_table_has_the_columns_rows_and_cutoffs():
    table = cv.cross_validation(config(DEMO, ("model.levels", "[80]")), variants=["linear"], n_windows=3)
    assert list(table.columns) == ["unique_id", "ds", "cutoff", "y", "linear", "linear-lo-80", "linear-hi-80"]
    file = pd.read_csv(DEMO, parse_dates=["ds"])
    assert len(table) == file["unique_id"].nunique() * 3 * H
    for sid, rows in file.groupby("unique_id"):
        got = table[table["unique_id"] == sid]
        n = len(rows)  # window j's origin: n - H - (2 - j) * H; its cutoff the row before
        assert list(got["cutoff"].unique()) == [rows["ds"].iloc[n - H - (2 - j) * H - 1] for j in range(3)]
        assert got["ds"].tolist() == rows["ds"].iloc[n - 3 * H :].tolist()
        assert np.array_equal(got["y"].to_numpy(), rows["y"].iloc[n - 3 * H :].to_numpy())
    assert (table["ds"] > table["cutoff"]).all() and table["linear"].notna().all()
    assert (table["linear-lo-80"] <= table["linear"]).all() and (table["linear"] <= table["linear-hi-80"]).all()


# with `last`, a fit reading more than a horizon past its cutoff would stop early and calibrate on changed rows
@pytest.mark.parametrize("refit, split", [(0, "ratio"), (1, "ratio"), (1, "last")])
def test_no_forecast_reads_a_row_at_or_after_its_cutoff(tmp_path, refit, split):
    file = pd.read_csv(DEMO)
    settings = ("model.levels", "[80]"), ("data.split", split)
    kwargs = {"variants": ["linear"], "n_windows": 3, "refit": refit}
    base = cv.cross_validation(config(DEMO, *settings), **kwargs)
    columns = ["linear", "linear-lo-80", "linear-hi-80"]
    for j in range(3):
        changed = file.copy()
        origin = file.groupby("unique_id")["ds"].transform("size") - H - (2 - j) * H  # window j's first row
        later = file.groupby("unique_id").cumcount() >= origin
        changed.loc[later, ["y", "temperature"]] += 1e3  # every value at or after window j's cutoff
        path = tmp_path / f"changed{j}.csv"
        changed.to_csv(path, index=False)
        again = cv.cross_validation(config(path, *settings), **kwargs)
        window = _window(base, j)
        assert np.array_equal(_window(again, j)[columns].to_numpy(), base.loc[window.index, columns].to_numpy())
        assert not np.allclose(again.loc[window.index, "y"], base.loc[window.index, "y"])  # its actuals did change
        if j < 2:  # the next window reads the changed rows: its forecast moves
            later_rows = _window(base, j + 1).index
            assert not np.allclose(again.loc[later_rows, "linear"], base.loc[later_rows, "linear"])


def _window(table: pd.DataFrame, j: int) -> pd.DataFrame:
    """Window j (0 the oldest) of every series."""
    rank = table.groupby("unique_id")["cutoff"].rank(method="dense").astype(int) - 1
    return table[rank == j]


def test_output_round_trips_as_csv_and_parquet(tmp_path):
    table = cv.cross_validation(config(DEMO), variants=["naive"], n_windows=2, step=3)
    for name in ("t.csv", "t.parquet"):
        path = cv.write_table(table, tmp_path / name)
        back = pd.read_csv(path, parse_dates=["ds", "cutoff"]) if name.endswith(".csv") else pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, table)
    assert len(table) == 5 * 2 * H and table.groupby("unique_id")["cutoff"].nunique().eq(2).all()


@pytest.mark.slow
def test_command_writes_the_table_and_tracks_each_fit(mlflow_uri, tmp_path, capsys):
    out = tmp_path / "cv.parquet"
    args = ["cross-validation", "--data", DEMO, *QUICK, "--variants", "naive,linear", "--n-windows", "2"]
    code, printed, err = run_cli(capsys, *args, "--refit", "1", "--output", out, "--tracking.plots", "false")
    assert code == 0, err
    assert "smape" in printed and f"Wrote {5 * 2 * H} rows" in printed
    table = pd.read_parquet(out)
    assert list(table.columns) == ["unique_id", "ds", "cutoff", "y", "naive", "linear"]
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    (parent,) = [r for r in runs if r.data.tags.get("kind") == cv.KIND]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.data.tags["cv.windows"] for r in children) == ["0", "0", "1", "1"]  # 2 variants x refit 1
    assert {"smape.naive", "mase.linear", "mse.linear"} <= set(parent.data.metrics)
    logged = mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/cross_validation.csv")
    assert len(pd.read_csv(pd.io.common.StringIO(logged))) == len(table)


@pytest.mark.parametrize("output", ["t.txt", "folder"])
def test_bad_output_is_refused_before_any_fit(tmp_path, capsys, monkeypatch, output):
    monkeypatch.setattr(cv, "train", lambda *a, **k: pytest.fail("fitted before checking --output"))
    (tmp_path / "folder").mkdir()
    code, _, err = run_cli(capsys, "cross-validation", "--data", DEMO, *QUICK, "--output", tmp_path / output)
    assert code == 2 and "--output" in err and ".csv or .parquet" in err and "Traceback" not in err


def test_a_short_series_is_named_with_the_rows_it_needs(tmp_path, capsys):
    path = tmp_path / "long.csv"
    long_frame(lengths=(200, 60, 260)).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "cross-validation", "--data", path, *QUICK, "--tracking.enabled", "false")
    assert code == 2 and "series 's1' has 60 rows" in err and "at least" in err and "--data.drop_short" in err
    cfg = config(path, ("data.drop_short", "true"))
    table = cv.cross_validation(cfg, variants=["naive"], n_windows=3)
    assert sorted(table["unique_id"].unique()) == ["s0", "s2"]


@pytest.mark.parametrize(
    "settings, split, message",
    [
        ({"n_windows": 0}, "ratio", "--n-windows must be an integer ≥ 1"),
        ({"refit": -1}, "ratio", "--refit must be an integer ≥ 0"),
        ({"step": 0}, "ratio", "--step must be an integer ≥ 1"),
        ({}, "ett", "fixed row borders do not follow"),
        ({"variants": ["naive", "linear"]}, "ratio", "variants.linear sets data.horizon"),
    ],
)
def test_settings_are_checked_before_the_file_is_read(settings, split, message):
    cfg = config("missing.csv", ("data.split", split))
    cfg.variants = {"linear": {"data.horizon": 3}}  # another horizon: not one table
    with pytest.raises(ConfigError, match=message):
        cv.cross_validation(cfg, **{"variants": ["naive"], **settings})


def test_a_wide_file_is_a_series_per_target_column(tmp_path):
    path = tmp_path / "wide.csv"
    wide_frame(200).to_csv(path, index=False)
    table = cv.cross_validation(config(path, ("model.levels", "[90]")), variants=["naive"], n_windows=2, step=4)
    assert table["unique_id"].unique().tolist() == ["a", "b", "c"] and len(table) == 3 * 2 * H
    file = pd.read_csv(path, parse_dates=["date"])
    assert table["cutoff"].unique().tolist() == file["date"].iloc[[200 - H - 4 - 1, 200 - H - 1]].tolist()
    last_seen = file.set_index("date").loc[table["cutoff"], ["a", "b", "c"]]  # naive repeats the cutoff's value
    expected = [last_seen[c].to_numpy()[table["unique_id"].to_numpy() == c] for c in ("a", "b", "c")]
    np.testing.assert_allclose(table["naive"].to_numpy(), np.concatenate(expected), rtol=1e-6)
