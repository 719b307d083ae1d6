"""The Python API gives what the command line gives with the same settings: the same forecasts from
`fit` as from `train --save` + `predict`, the same deployed model from `compare` as from `--save-best`,
the same table from `cross_validation`; on a long file (demo_long.csv) and a wide one (ETTh1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ETTH1, run_cli

import forecaster as fc
from forecaster.errors import ConfigError

DEMO = Path(__file__).resolve().parents[2] / "datasets" / "demo_long.csv"
SMALL = {"context_len": 24, "max_epochs": 1, "batch_size": 64, "progress_bar": False, "seed": 3}
SMALL_CLI = [
    "--data.context_len", "24", "--trainer.max_epochs", "1", "--data.batch_size", "64",
    "--trainer.progress_bar", "false", "--seed", "3",
]  # fmt: skip


def _cli_forecast(capsys, tmp_path, data: Path, horizon: int, *args) -> pd.DataFrame:
    code, _, err = run_cli(capsys, "train", "--data", data, "--data.horizon", horizon, *SMALL_CLI, *args,
                           "--tracking.enabled", "false", "--save", tmp_path / "cli")  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli(capsys, "predict", "--model", tmp_path / "cli", "--data", data, "--level", "80")
    assert code == 0, err
    return pd.read_csv(pd.io.common.StringIO(out))


def test_fit_and_predict_equal_train_save_and_predict_on_a_long_file(tmp_path, capsys):
    df = pd.read_csv(DEMO)
    model = fc.fit(df, horizon=6, variant="linear", **SMALL)
    got = model.predict(level=[80])
    assert list(got.columns) == ["unique_id", "ds", "linear", "linear-lo-80", "linear-hi-80"]
    cli = _cli_forecast(capsys, tmp_path, DEMO, 6, "--model.name", "linear")
    assert got["unique_id"].tolist() == cli["unique_id"].tolist()
    assert (got["ds"] == pd.to_datetime(cli["ds"])).all()
    np.testing.assert_allclose(
        got[["linear", "linear-lo-80", "linear-hi-80"]], cli[["y", "y-lo-80", "y-hi-80"]], rtol=1e-6
    )
    assert model.metrics["mse"] > 0 and model.run_id is None  # no tracking URI set: nothing tracked
    model.save(tmp_path / "api")
    again = fc.load(tmp_path / "api").predict(df, level=[80])
    pd.testing.assert_frame_equal(again, got)


def test_fit_on_a_wide_file_forecasts_each_column_as_a_series(tmp_path, capsys):
    df = pd.read_csv(ETTH1).iloc[:2000]
    path = tmp_path / "etth1_head.csv"
    df.to_csv(path, index=False)
    got = fc.fit(df, horizon=12, variant="linear", **SMALL).predict()
    cli = _cli_forecast(capsys, tmp_path, path, 12, "--model.name", "linear")
    assert sorted(set(got["unique_id"])) == sorted(c for c in df.columns if c != "date")
    for column in ("OT", "HUFL"):
        np.testing.assert_allclose(got.loc[got["unique_id"] == column, "linear"], cli[column], rtol=1e-6)


def test_compare_deploys_what_compare_save_best_deploys(tmp_path, capsys):
    df = pd.read_csv(DEMO)
    cmp = fc.compare(df, horizon=6, variants=["linear", "naive"], ensemble_k=0, **SMALL)
    assert set(cmp.table["variant"]) == {"linear", "naive"} and len(cmp.rows) == 2
    code, _, err = run_cli(capsys, "compare", "--data", DEMO, "--data.horizon", "6", "--variants", "linear,naive",
                           "--ensemble-k", "0", *SMALL_CLI, "--tracking.enabled", "false",
                           "--save-best", tmp_path / "best")  # fmt: skip
    assert code == 0, err
    cli = fc.load(tmp_path / "best")
    assert cmp.best.name == cli.name
    pd.testing.assert_frame_equal(cmp.best.predict(), cli.predict(df))


def test_cross_validation_gives_the_command_s_table(tmp_path, capsys):
    df = pd.read_csv(DEMO)
    got = fc.cross_validation(df, horizon=6, variants=["naive", "linear"], n_windows=2, **SMALL)
    assert list(got.columns[:4]) == ["unique_id", "ds", "cutoff", "y"] and {"naive", "linear"} <= set(got.columns)
    out = tmp_path / "cv.csv"
    code, _, err = run_cli(capsys, "cross-validation", "--data", DEMO, "--data.horizon", "6", "--variants",
                           "naive,linear", "--n-windows", "2", *SMALL_CLI, "--tracking.enabled", "false",
                           "--output", out)  # fmt: skip
    assert code == 0, err
    cli = pd.read_csv(out)
    np.testing.assert_allclose(got[["y", "naive", "linear"]], cli[["y", "naive", "linear"]], rtol=1e-6)


def test_settings_are_the_config_s_names_and_bad_ones_are_clear_errors():
    df = pd.read_csv(DEMO)
    with pytest.raises(ConfigError, match="unknown setting 'contxt_len'; did you mean context_len"):
        fc.fit(df, horizon=6, contxt_len=24)
    with pytest.raises(ConfigError, match="trainer= takes a dict"):
        fc.fit(df, horizon=6, trainer=3)
    with pytest.raises(ConfigError, match=r"data\.horizon"):
        fc.fit(df, horizon=0)
    with pytest.raises(ConfigError, match="no history"):
        fc.api.facade.Model(package=None).predict()


def test_a_bad_frame_is_a_data_error_naming_the_column():
    from forecaster.errors import DataError

    df = pd.read_csv(DEMO)
    df["y"] = df["y"].astype(object)
    df.loc[10, "y"] = "oops"
    with pytest.raises(DataError, match=r"the DataFrame, column 'y', row 10 \(position\)"):
        fc.fit(df, horizon=6, variant="naive")


def test_importing_forecaster_stays_cheap():
    import subprocess
    import sys

    code = "import sys, forecaster; assert 'torch' not in sys.modules and 'mlflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tracking_is_on_when_a_tracking_uri_is_set_and_names_the_frame_by_its_content(mlflow_uri):
    import mlflow

    df = pd.read_csv(DEMO)
    runs = [fc.fit(df, horizon=6, variant="naive", context_len=24).run_id for _ in range(2)]
    assert all(runs)  # MLFLOW_TRACKING_URI is set (the fixture): tracked
    client = mlflow.MlflowClient(mlflow_uri)
    names = {d.dataset.name for run in runs for d in client.get_run(run).inputs.dataset_inputs}
    assert len(names) == 1 and names.pop().startswith("dataframe:df-")


def test_a_comparison_keeps_each_variant_s_validated_model_with_its_pictures():
    df = pd.read_csv(DEMO)
    tiny = {**SMALL, "d_model": 8, "n_heads": 2, "n_layers": 1, "d_ff": 16, "patch_len": 4, "stride": 4}
    cmp = fc.compare(df, horizon=6, variants=["causal", "naive"], ensemble_k=0, refit=False, **tiny)
    assert set(cmp.models) == {"causal", "naive"}
    causal = cmp.models["causal"]
    assert causal.metrics["mse"] == pytest.approx(float(cmp.rows.loc[cmp.rows["variant"] == "causal", "mse"].iloc[0]))
    banded = causal.plot_forecasts(n_windows=2, level=[80, 90])
    assert len(banded.axes) == 2 and [c.get_label() for c in banded.axes[0].collections] == [
        "90 % interval",
        "80 % interval",
    ]
    assert len(causal.plot_attention().axes) == 2  # one layer x two heads
    assert causal.predict()["unique_id"].nunique() == df["unique_id"].nunique()


def test_inspect_says_what_data_inspect_says():
    text = fc.inspect(pd.read_csv(DEMO), horizon=6, context_len=24)
    assert "format:       long (series id column 'unique_id')" in text and "usable for training: yes" in text


def test_a_bad_variant_setting_fails_before_any_run_opens(mlflow_uri):
    import mlflow

    df = pd.read_csv(DEMO)
    with pytest.raises(ConfigError, match="seed"):
        fc.compare(df, horizon=6, variants=["naive"], seeds=3, seed=2**32 - 2)
    with pytest.raises(ConfigError, match="patch_len"):
        fc.compare(df, horizon=6, variants=["naive", "causal"], context_len=24, patch_len=48)
    client = mlflow.MlflowClient(mlflow_uri)  # this test's own store (mlflow's global URI may be another test's)
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert client.search_runs(experiments) == []  # nothing opened
