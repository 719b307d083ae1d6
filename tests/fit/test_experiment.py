"""One fit end to end (`forecaster.fit.experiment`): the same seed reproduces the metrics, and the
logged model's input example is what `predict` takes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TINY, long_frame, run_cli

from forecaster.config import load, with_variant
from forecaster.data.windows import prepare
from forecaster.fit.experiment import input_example
from forecaster.models import build_network
from forecaster.serve.package import ForecastPackage


def test_the_input_example_is_each_series_last_rows_and_future_rows_as_predict_takes_them(tmp_path):
    table = long_frame((80, 70, 90))
    table["promo"] = (np.arange(len(table)) % 2).astype(float)
    table.to_csv(tmp_path / "l.csv", index=False)
    settings = [("data.path", str(tmp_path / "l.csv")), ("data.context_len", 14), ("data.horizon", 7)]
    cfg = with_variant(load(None, [*settings, ("data.future_covariates", "promo")]), "naive")
    data = prepare(cfg.data)
    example = input_example(data)
    assert list(example.columns) == ["unique_id", "ds", "y", "promo"]
    assert example.groupby("unique_id", sort=False).size().to_dict() == {"s0": 21, "s1": 21}  # two series, L + H
    for sid, rows in example.groupby("unique_id", sort=False):
        given = table[table["unique_id"] == sid].tail(21)
        assert list(rows["ds"]) == list(given["ds"]) and list(rows["promo"]) == list(given["promo"])
        np.testing.assert_allclose(rows["y"].iloc[:14], given["y"].iloc[:14])
        assert rows["y"].iloc[14:].isna().all()  # the horizon's rows: only the covariates are known
    package = ForecastPackage(cfg, data.schema, data.scaler, build_network(cfg.model, data.schema), None)
    assert package.forecast(package.read(example)).groupby("unique_id").size().tolist() == [7, 7]


@pytest.mark.slow  # two short real fits
def test_the_same_seed_reproduces_the_metrics(wide_csv, tmp_path, capsys):
    rows = []
    for k in range(2):
        code, _, err = run_cli(
            capsys,
            "train",
            "--data",
            wide_csv,
            *TINY,
            "--model.attention",
            "hybrid",
            "--tracking.enabled",
            "false",
            "--metrics-out",
            tmp_path / f"{k}.json",
        )
        assert code == 0, err
        rows.append(json.loads((tmp_path / f"{k}.json").read_text()))
    for key in ("mse", "mae", "mse_original", "best_val_loss"):
        assert rows[0][key] == rows[1][key]


def test_train_save_refits_on_every_row_in_a_run_of_its_own(long_csv, tmp_path, mlflow_uri, capsys):
    from mlflow import MlflowClient

    common = ["train", "--data", long_csv, *TINY, "--model.name", "linear", "--data.split", "last"]
    code, _, err = run_cli(capsys, *common, "--save", tmp_path / "refit", "--metrics-out", tmp_path / "m.json")
    assert code == 0, err
    code, _, err = run_cli(capsys, *common, "--save", tmp_path / "kept", "--refit", "false")
    assert code == 0, err
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("forecaster").experiment_id])
    refits = [r for r in runs if r.info.run_name.endswith("-refit")]
    assert len(refits) == 1 and refits[0].info.status == "FINISHED"  # only the run that saved with refit on
    validated = next(r for r in runs if r.info.run_id == refits[0].data.tags["refit_of"])
    assert refits[0].data.tags["mlflow.parentRunId"] == validated.info.run_id
    steps = json.loads((tmp_path / "m.json").read_text())["best_steps"]
    assert refits[0].data.tags["refit_steps"] == str(steps) and steps > 0
    (dataset,) = client.get_run(refits[0].info.run_id).inputs.dataset_inputs  # training only: nothing held out
    profile = json.loads(dataset.dataset.profile)
    assert profile["split"] == "train" and profile["rows"] == len(long_frame())  # every row of every series
    history = load(None, [("data.path", str(long_csv))])
    from forecaster.data.io import read_frame

    frame = read_frame(history.data)
    refitted, kept = (ForecastPackage.load(tmp_path / name).predict_array(frame) for name in ("refit", "kept"))
    assert refitted.shape == kept.shape and not np.allclose(refitted, kept)  # a network fitted on other rows
    for name, refit in (("refit", True), ("kept", False)):  # evaluate says when its scores are in-sample
        out = tmp_path / f"{name}-scores.json"
        code, _, err = run_cli(capsys, "evaluate", "--model", tmp_path / name, "--data", long_csv, "--metrics-out", out)
        assert code == 0 and ("in-sample, not held out" in err) == refit, err
        assert json.loads(out.read_text())["in_sample"] is refit
        assert ForecastPackage.load(tmp_path / name).schema.fitted_on == ("every row" if refit else "train")
