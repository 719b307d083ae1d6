"""Training and tracking as a user sees them in a real MLflow store (SQLite in a temp dir)."""

from __future__ import annotations

import json
import signal

import mlflow
import pandas as pd
import pytest
from conftest import TINY, run_cli
from mlflow import MlflowClient

from forecaster.errors import ConfigError
from forecaster.interrupts import Interrupted
from forecaster.track import tracking

pytestmark = pytest.mark.slow  # every test trains and logs to a real MLflow store

REQUIRED = {
    "mse",
    "mae",
    "mse_original",
    "mae_original",
    "train_seconds",
    "n_params",
    "n_test_windows",
    "seconds_per_epoch",
    "predict_ms_per_window",
}


def _runs(experiment: str):
    client = MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])


def _artifacts(run_id: str, path: str = "") -> set[str]:
    out = set()
    for item in MlflowClient().list_artifacts(run_id, path):
        out |= _artifacts(run_id, item.path) if item.is_dir else {item.path}
    return out


def test_train_logs_one_complete_run(mlflow_uri, wide_csv, tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "train",
        "--data",
        wide_csv,
        *TINY,
        "--model.attention",
        "local",
        "--tracking.experiment",
        "tiny",
        "--metrics-out",
        tmp_path / "m.json",
    )
    assert code == 0, err
    (run,) = _runs("tiny")
    assert run.info.status == "FINISHED" and run.info.run_name == "local-seed42"
    assert run.data.params["model.attention"] == "local" and run.data.params["data.context_len"] == "24"
    assert run.data.tags["variant"] == "local" and len(run.data.tags["dataset_hash"]) == 16
    assert set(run.data.metrics) >= REQUIRED
    history = MlflowClient().get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == [0, 1]
    assert len(MlflowClient().get_metric_history(run.info.run_id, "val_loss")) == 2
    assert len(MlflowClient().get_metric_history(run.info.run_id, "lr")) == 2
    files = _artifacts(run.info.run_id)
    assert {"config.yaml", "metrics.json", "plots/forecast.png", "plots/attention.png"} <= files
    written = json.loads((tmp_path / "m.json").read_text())
    assert set(written) >= REQUIRED and written["mse"] == pytest.approx(run.data.metrics["mse"])
    assert "mse" in out
    (logged,) = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    model = mlflow.pyfunc.load_model(f"models:/{logged.model_id}")
    recent = pd.read_csv(wide_csv).tail(30)
    forecast = model.predict(recent, params={"horizon": 4})
    assert list(forecast.columns) == ["date", "a", "b", "c"] and len(forecast) == 4


def test_compare_makes_one_parent_and_a_child_per_variant_and_seed(mlflow_uri, wide_csv, tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "compare",
        "--data",
        wide_csv,
        *TINY,
        "--tracking.experiment",
        "cmp",
        "--variants",
        "hybrid,lstm,naive",
        "--seeds",
        "2",
        "--metrics-out",
        tmp_path / "rows.json",
        "--tracking.plots",
        "false",
        "--tracking.log_model",
        "false",
    )
    assert code == 0, err
    runs = _runs("cmp")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 6
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert all(r.info.status == "FINISHED" for r in runs)
    assert sorted(r.info.run_name for r in children) == sorted(
        f"{v}-seed{s}" for v in ("hybrid", "lstm", "naive") for s in (42, 43)
    )
    assert {"comparison.csv", "comparison.md", "metrics.json"} <= _artifacts(parents[0].info.run_id)
    rows = json.loads((tmp_path / "rows.json").read_text())
    fits = [r for r in rows if r["variant"] != "ensemble"]  # then the ensemble's row per seed
    assert len(fits) == 6 and all(set(r) >= REQUIRED and {"variant", "seed"} <= set(r) for r in fits)
    assert [r["seed"] for r in rows if r["variant"] == "ensemble"] == [42, 43]
    assert "rank" in out and "hybrid" in out and "forecaster ui" in out


def test_compare_logs_the_report_plots(mlflow_uri, wide_csv, capsys):
    code, _, err = run_cli(
        capsys,
        "compare",
        "--data",
        wide_csv,
        *TINY,
        "--tracking.experiment",
        "plots",
        "--variants",
        "local,linear",
        "--tracking.log_model",
        "false",
    )
    assert code == 0, err
    parent = next(r for r in _runs("plots") if "mlflow.parentRunId" not in r.data.tags)
    assert {"plots/mse_by_variant.png", "plots/forecast_overlay.png"} <= _artifacts(parent.info.run_id)


def test_a_diverging_fit_fails_clearly_and_marks_the_run_failed(mlflow_uri, wide_csv, capsys):
    code, _out, err = run_cli(
        capsys,
        "train",
        "--data",
        wide_csv,
        *TINY,
        "--model.name",
        "linear",
        "--model.revin",
        "false",
        "--trainer.lr",
        "1.0e30",
        "--trainer.scheduler",
        "none",
        "--trainer.gradient_clip_val",
        "0",
        "--tracking.experiment",
        "nan",
    )
    assert code == 2 and "training diverged" in err and "--trainer.lr" in err and "Traceback" not in err
    (run,) = _runs("nan")
    assert run.info.status == "FAILED"


def test_an_interrupted_run_ends_killed(mlflow_uri):
    with pytest.raises(KeyboardInterrupt), tracking.start_run(uri=mlflow_uri, experiment="kill", run_name="x"):
        raise KeyboardInterrupt
    (run,) = _runs("kill")
    assert run.info.status == "KILLED"


def test_a_signal_ends_the_run_killed_and_names_it_for_resuming(mlflow_uri):
    with pytest.raises(Interrupted) as info, tracking.start_run(uri=mlflow_uri, experiment="sig", run_name="x") as run:
        raise Interrupted(signal.SIGTERM)
    (logged,) = _runs("sig")
    assert logged.info.status == "KILLED" and info.value.run_id == run.run_id == logged.info.run_id


def test_resume_reopens_the_same_run_only_with_the_same_settings(mlflow_uri):
    params = {"trainer.lr": 0.001, "data.path": "a.csv", "trainer.progress_bar": True}
    start = lambda **kw: tracking.start_run(uri=mlflow_uri, experiment="res", run_name="x", **kw)
    with pytest.raises(Interrupted), start(params=params, tags={"dataset_hash": "aaaa"}) as run:
        raise Interrupted(signal.SIGINT)
    with (
        pytest.raises(ConfigError, match="data file differs"),
        start(params=params, resume=run.run_id, tags={"dataset_hash": "bbbb"}),
    ):
        pass
    with (
        pytest.raises(ConfigError, match=r"trainer\.lr \(run: 0\.001, now: 0\.01\)"),
        start(params={**params, "trainer.lr": 0.01}, resume=run.run_id),
    ):
        pass
    with (
        pytest.raises(ConfigError, match="not a comparison"),
        start(params=params, resume=run.run_id, tags={tracking.KIND_TAG: tracking.COMPARISON}),
    ):
        pass
    moved = {**params, "data.path": "b.csv", "trainer.progress_bar": False}  # change no number of the fit
    with start(params=moved, resume=run.run_id) as again:
        assert again.run_id == run.run_id
    (logged,) = _runs("res")
    assert logged.info.status == "FINISHED" and logged.data.params["data.path"] == "a.csv"


@pytest.mark.slow
def test_training_against_a_tracking_server(mlflow_server, wide_csv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    code, _, err = run_cli(
        capsys, "train", "--data", wide_csv, *TINY, "--model.attention", "causal", "--tracking.experiment", "server"
    )
    assert code == 0, err
    assert not (tmp_path / "mlflow.db").exists()
    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("server")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and "mse" in run.data.metrics
    assert "config.yaml" in {a.path for a in client.list_artifacts(run.info.run_id)}
