"""The comparison in the MLflow UI, checked in a real headless Chromium against a real server."""

from __future__ import annotations

import os
from pathlib import Path

import browser
import pytest
from conftest import TINY, run_cli
from mlflow import MlflowClient

VARIANTS = ("local", "hybrid", "naive")
ARTIFACTS = Path(
    os.environ.get("FORECASTER_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "out" / "test-artifacts")
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not browser.available(),
        reason="Chromium is not installed: apt-get install chromium chromium-driver (.ci/run does this)",
    ),
]


def test_the_comparison_shows_in_the_mlflow_ui(mlflow_server, wide_csv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    code, _, err = run_cli(
        capsys,
        "compare",
        "--data",
        wide_csv,
        *TINY,
        "--variants",
        ",".join(VARIANTS),
        "--tracking.experiment",
        "ui-check",
        "--name",
        "tiny",
    )
    assert code == 0, err
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("ui-check").experiment_id
    children = {
        r.data.tags["variant"]: r for r in client.search_runs([experiment]) if "mlflow.parentRunId" in r.data.tags
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser.chromium(width=2400) as driver:
        table = browser.open_runs_with_metric(driver, mlflow_server, experiment, "compare-tiny")
        driver.save_screenshot(str(ARTIFACTS / "mlflow-runs.png"))
        rows = browser.runs_table_rows(driver)
        for variant, run in children.items():
            assert f"{variant}-seed42" in table
            assert f"{run.data.metrics['mse']:.4f}"[:5] in table  # the MSE column shows each run's value
            (row,) = [r for r in rows if f"{variant}-seed42" in r]
            assert "wide.csv" in row and "Train" in row  # the Dataset column: the file, its split
            assert " model " in f"{row} "  # the Models column links the logged model
        page = browser.open_compare_view(driver, mlflow_server, experiment, [r.info.run_id for r in children.values()])
        chart = browser.compare_chart(driver)
        driver.save_screenshot(str(ARTIFACTS / "mlflow-compare.png"))
    assert f"Comparing {len(VARIANTS)} Runs" in page
    for variant in VARIANTS:
        assert f"{variant}-seed42" in page
    assert "mse" in page and "model.attention" in page
    assert sorted(chart["mse"]) == pytest.approx(sorted(r.data.metrics["mse"] for r in children.values()))
