"""Conformal intervals: calibrated coverage on held-out data, the package's intervals.json,
`forecaster predict --level` (wide and long) and the MLflow pyfunc model's `level` parameter."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from forecaster.config import DataConfig, ModelConfig
from forecaster.data.windows import prepare
from forecaster.errors import ConfigError, PackageError
from forecaster.models import build_network
from forecaster.scores.interval_metrics import interval_metrics
from forecaster.scores.intervals import Calibration, calibrate, parse_levels

FAST = ["--data.context_len", "24", "--data.horizon", "6", "--trainer.max_epochs", "1", "--tracking.enabled", "false"]


def random_walk_csv(path, n: int = 5000, seed: int = 1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"date": pd.date_range("2020-01-01", periods=n, freq="h").astype(str), "y": rng.normal(size=n).cumsum()}
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("model", ["naive", "seasonal_naive"])
def test_conformal_intervals_cover_held_out_data_within_four_points(tmp_path, model):
    data = prepare(
        DataConfig(path=str(random_walk_csv(tmp_path / "rw.csv")), context_len=32, horizon=8, ratios=[0.4, 0.3, 0.3])
    )
    network = build_network(ModelConfig(name=model), data.schema)
    calibration = calibrate(network, data)
    metrics = interval_metrics(network, data, calibration)  # the test split: never seen by the calibration
    assert metrics["coverage_80"] == pytest.approx(0.80, abs=0.04)
    assert metrics["coverage_90"] == pytest.approx(0.90, abs=0.04)
    assert 0 < metrics["width_80"] < metrics["width_90"] and metrics["msis"] > 0 and metrics["mql"] > 0


@pytest.mark.parametrize("text", ["120", "abc", "0", "80,", "-5", "100"])
def test_levels_outside_0_100_are_refused(text):
    with pytest.raises(ConfigError, match="--level"):
        parse_levels(text)
    assert parse_levels("80, 90,80") == [80.0, 90.0]


def test_a_tampered_intervals_file_is_refused(tmp_path):
    good = Calibration((80.0,), ("residual",), np.ones((1, 6, 1)), {}, 10).to_dict()
    assert Calibration.from_dict(good, horizon=6, n_targets=1).levels == (80.0,)
    for change in ({"pooled": [[[1.0]]]}, {"levels": [180]}, {"scores": ["sorted"]}, {"pooled": "x"}):
        with pytest.raises(PackageError, match="intervals"):
            Calibration.from_dict({**good, **change}, horizon=6, n_targets=1)


def _train(capsys, data, tmp_path, *extra) -> str:
    pkg = tmp_path / "pkg"
    code, _, err = run_cli(capsys, "train", "--data", data, *FAST, *extra, "--save", pkg)
    assert code == 0, err
    return str(pkg)


def test_predict_level_writes_bounds_beside_each_wide_column(wide_csv, tmp_path, capsys):
    pkg = _train(capsys, wide_csv, tmp_path, "--model.name", "naive")
    assert json.loads((tmp_path / "pkg" / "intervals.json").read_text())["levels"] == [50, 80, 90, 95]
    code, out, err = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv, "--level", "80,90")
    assert code == 0, err
    table = pd.read_csv(pd.io.common.StringIO(out))
    bounds = ["lo-80", "hi-80", "lo-90", "hi-90"]
    assert list(table.columns) == ["date"] + [f"{c}{s}" for c in "abc" for s in ["", *(f"-{b}" for b in bounds)]]
    for c in "abc":
        assert (table[f"{c}-lo-90"] <= table[f"{c}-lo-80"]).all() and (table[f"{c}-lo-80"] <= table[c]).all()
        assert (table[c] <= table[f"{c}-hi-80"]).all() and (table[f"{c}-hi-80"] <= table[f"{c}-hi-90"]).all()
    code, out, _ = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv)
    assert code == 0 and out.splitlines()[0] == "date,a,b,c"  # no --level: the point forecast only


def test_predict_level_in_the_long_layout_with_a_quantile_head(long_csv, tmp_path, capsys):
    pkg = _train(capsys, long_csv, tmp_path, "--model.name", "linear", "--model.levels", "80,90")
    out_file = tmp_path / "f.csv"
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", long_csv, "--level", "90", "--output", out_file)
    assert code == 0, err
    table = pd.read_csv(out_file)
    assert list(table.columns) == ["unique_id", "ds", "y", "y-lo-90", "y-hi-90"]
    assert len(table) == 3 * 6 and (table["y-lo-90"] < table["y-hi-90"]).all()


@pytest.mark.parametrize(
    ("level", "message"), [("120", "between 0 and 100"), ("abc", "between 0 and 100"), ("85", "not calibrated")]
)
def test_bad_levels_exit_2_with_a_clear_message_and_write_nothing(wide_csv, tmp_path, capsys, level, message):
    pkg = _train(capsys, wide_csv, tmp_path, "--model.name", "naive")
    out_file = tmp_path / "f.csv"
    code, _, err = run_cli(
        capsys, "predict", "--model", pkg, "--data", wide_csv, "--level", level, "--output", out_file
    )
    assert code == 2 and message in err and "Traceback" not in err and not out_file.exists()


def test_a_package_without_intervals_loads_and_level_names_the_fix(wide_csv, tmp_path, capsys):
    pkg = _train(capsys, wide_csv, tmp_path, "--model.name", "naive")
    (tmp_path / "pkg" / "intervals.json").unlink()  # as a package saved before intervals existed
    assert run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv)[0] == 0
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv, "--level", "80")
    assert code == 2 and "no calibrated intervals" in err and "--save" in err


@pytest.mark.slow
def test_the_pyfunc_model_returns_interval_columns_for_params_level(mlflow_uri, wide_csv, tmp_path, capsys):
    import mlflow

    code, _, err = run_cli(
        capsys, "train", "--data", wide_csv, *FAST[:-2], "--model.name", "linear", "--tracking.experiment", "iv"
    )
    assert code == 0, err
    experiment = mlflow.get_experiment_by_name("iv")
    (logged,) = mlflow.search_logged_models(experiment_ids=[experiment.experiment_id], output_format="list")
    model = mlflow.pyfunc.load_model(f"models:/{logged.model_id}")
    assert "level" in [p.name for p in model.metadata.signature.params.params]
    recent = pd.read_csv(wide_csv).tail(30)
    plain = model.predict(recent)
    assert list(plain.columns) == ["date", "a", "b", "c"]
    banded = model.predict(recent, params={"level": [80, 90], "horizon": 3})
    assert list(banded.columns)[:6] == ["date", "a", "a-lo-80", "a-hi-80", "a-lo-90", "a-hi-90"] and len(banded) == 3
    assert (banded["a-lo-80"] <= banded["a"]).all() and (banded["a"] <= banded["a-hi-80"]).all()
    metrics = mlflow.get_run(logged.source_run_id).data.metrics
    assert {"coverage_80", "coverage_90", "width_80", "width_90", "msis", "mql"} <= set(metrics)
