"""A comparison as MLflow shows it: artifacts beside the store wherever the command runs, every
child with its data and its model, and the parent run holding the summary."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from conftest import TINY, run_cli, wide_frame
from mlflow import MlflowClient

from forecaster.track import store

pytestmark = pytest.mark.slow  # real fits logged to a real store


def _compare(capsys, tmp_path, monkeypatch, *extra):
    """`compare` run from `tmp_path/elsewhere` on a store in `tmp_path/store`; returns (stdout, store URI)."""
    here = tmp_path / "elsewhere"
    here.mkdir()
    wide_frame().to_csv(tmp_path / "wide.csv", index=False)
    monkeypatch.chdir(here)
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    args = ["--data", tmp_path / "wide.csv", *TINY, "--variants", "naive,linear", "--seeds", "2", "--name", "tiny"]
    code, out, err = run_cli(capsys, "compare", *args, *extra)
    assert code == 0, err
    return out, uri


def test_compare_from_elsewhere_fills_the_mlflow_view_and_keeps_artifacts_beside_the_store(
    capsys, tmp_path, monkeypatch
):
    out, uri = _compare(capsys, tmp_path, monkeypatch, "--register", "tiny-model")
    assert not (tmp_path / "elsewhere" / "mlruns").exists() and not list((tmp_path / "elsewhere").iterdir())
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny")
    assert experiment.artifact_location == store.experiment_artifacts(uri, "tiny")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.info.run_name == "compare-tiny"]
    children = [client.get_run(r.info.run_id) for r in runs if r is not parent and "refit" not in r.info.run_name]
    assert len(children) == 4
    refits = [r for r in runs if r.info.run_name.endswith("-refit")]  # the registered winner, fitted on every row
    assert len(refits) == (0 if parent.data.tags["val_winner"] == "naive" else 1)
    for run in children:  # the runs table's Dataset and Models columns
        assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(tmp_path / "store" / "mlartifacts")
        inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
        assert sorted(inputs) == ["test", "training", "validation"]
        assert {d.name for d in inputs.values()} == {"wide.csv"}
        (output,) = run.outputs.model_outputs
        model = client.get_logged_model(output.model_id)
        assert model.source_run_id == run.info.run_id
        assert Path(model.artifact_location.removeprefix("file://")).is_relative_to(tmp_path / "store")
    found = client.search_runs([experiment.experiment_id], "dataset.name = 'wide.csv'")
    assert len(found) == 5 + len(refits)  # the children (a refit too) and the parent, found by their data
    for seed in (42, 43):  # one line per fit, off a terminal
        assert f"naive seed {seed}: no training" in out and f"linear seed {seed}: 2 epochs, val loss" in out
    assert "[4/4]" in out

    winner = parent.data.tags["val_winner"]
    table = json.loads(mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/comparison_table.json"))
    ranked = [dict(zip(table["columns"], row)) for row in table["data"]]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    best = next(r for r in ranked if r["variant"] == winner)
    assert parent.data.metrics["val_winner_mse"] == pytest.approx(best["mse"])
    for r in ranked[1:]:
        assert parent.data.metrics[f"p_vs_best.{r['variant']}"] == pytest.approx(r["p_vs_best"])
    # the test ranking's first row is labelled as the test's, never as the (validation) winner
    assert parent.data.tags["test_best_variant"] == ranked[0]["variant"] and "best_variant" not in parent.data.tags
    assert parent.data.metrics["test_best_mse"] == pytest.approx(ranked[0]["mse"])
    assert not {"best_mse", "best_mae"} & set(parent.data.metrics)
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert {"plots/mse_by_seed.png", "plots/accuracy_vs_time.png", "plots/mse_by_variant.png"} <= plots
    assert "name: tiny" in mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/config.yaml")
    assert "| rank | variant |" in mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/comparison.md")
    (version,) = client.search_model_versions("name = 'tiny-model'")
    assert version.run_id == parent.info.run_id  # the registered version names the run that made it


def test_an_experiment_made_before_keeps_its_artifact_location(capsys, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    old = (tmp_path / "old-place").as_uri()
    (tmp_path / "store").mkdir()
    MlflowClient(uri).create_experiment("tiny", artifact_location=old)
    _compare(capsys, tmp_path, monkeypatch, "--tracking.log_model", "false")
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny")
    assert experiment.artifact_location == old
    (parent,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'compare-tiny'")
    assert (tmp_path / "old-place" / parent.info.run_id / "artifacts" / "comparison.md").exists()
