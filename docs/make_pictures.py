"""Regenerate the README's pictures from a real run (about 5 minutes on 2 CPU cores):

    .venv/bin/python docs/make_pictures.py

Starts an MLflow server on 127.0.0.1 with a throwaway SQLite store, runs the quick comparison of
every trained variant and baseline on ETTh1 against it (not the classical ones: AutoETS, AutoTheta
and AutoARIMA over every hourly window take longer than all the rest together), screenshots in
headless Chromium (Debian's chromium + chromium-driver) the runs table, with its Dataset, Models and
mse columns, and the compare-runs view once its chart of mse is drawn, MLflow's assistant panel
closed; then draws the forecast and attention pictures of the hybrid variant with
`forecaster.plots`. Everything lands in docs/images/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import browser
from conftest import free_port, wait_http


def main() -> None:
    from mlflow import MlflowClient

    from forecaster import plots
    from forecaster.compare.comparison import compare
    from forecaster.config import CLASSICAL, VARIANTS, load, with_variant
    from forecaster.data.windows import prepare
    from forecaster.fit.experiment import train
    from forecaster.scores.intervals import calibrate

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{tmp}/mlflow.db",
                "--artifacts-destination",
                f"{tmp}/artifacts",
                "--workers",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/health", server)
            os.environ["MLFLOW_TRACKING_URI"] = url
            cfg = load(
                ROOT / "configs/quick.yaml",
                [("data.path", str(ROOT / "datasets/ETTh1.csv"))],  # models logged: the runs table's Models column
            )
            compare(cfg, variants=[v for v in VARIANTS if v not in CLASSICAL])
            client = MlflowClient(url)
            experiment = client.get_experiment_by_name(cfg.name).experiment_id
            children = [r.info.run_id for r in client.search_runs([experiment]) if "mlflow.parentRunId" in r.data.tags]
            with browser.chromium(width=2000, height=900) as driver:
                browser.open_runs_with_metric(driver, url, experiment, f"compare-{cfg.name}")
                driver.save_screenshot(str(IMAGES / "mlflow-runs.png"))
                browser.open_compare_view(driver, url, experiment, children)  # waits for the chart of mse
                driver.save_screenshot(str(IMAGES / "mlflow-compare.png"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    hybrid = with_variant(cfg, "hybrid")
    hybrid.tracking.enabled = False
    data = prepare(hybrid.data)
    outcome = train(hybrid, prepared=data, quiet=True)
    network = outcome.network
    figure = plots.forecasts_on_test_windows(
        network, data, variant="hybrid", n_windows=2, calibration=outcome.calibration or calibrate(network, data)
    )  # timestamps on the axis, the 80 % and 90 % bands shaded
    figure.savefig(IMAGES / "forecast.png", dpi=110)
    plots.attention_on_test_window(network, data, variant="hybrid").savefig(IMAGES / "attention.png", dpi=110)
    print(f"wrote {sorted(p.name for p in IMAGES.glob('*.png'))} to {IMAGES}")


if __name__ == "__main__":
    main()
