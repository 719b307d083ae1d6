"""Cold-start latency of `forecaster predict` on a saved ETTh1 model against `import torch, pandas`.

Trains a small ETTh1 model once (tracking off) into a temporary package, then alternates cold
runs of the reference command and the forecast command, each a fresh process, and prints the
medians and their ratio. The forecast path must not import Lightning or MLflow, so the ratio
shows what forecaster adds on top of the two libraries any forecast needs.

    python benchmarks/predict_latency.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORECASTER = [sys.executable, str(ROOT / "cli.py")]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        package, recent = Path(tmp) / "etth1-model", Path(tmp) / "recent.csv"
        subprocess.run(
            [
                *FORECASTER,
                "train",
                "--config",
                str(ROOT / "configs/etth1.yaml"),
                "--data.path",
                str(ROOT / "datasets/ETTh1.csv"),
                "--tracking.enabled",
                "false",
                "--model.attention",
                "local",
                "--trainer.max_steps",
                "20",
                "--save",
                str(package),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        lines = (ROOT / "datasets/ETTh1.csv").read_text().splitlines()
        recent.write_text("\n".join([lines[0], *lines[-500:]]) + "\n")
        reference = [sys.executable, "-c", "import torch, pandas"]
        predict = [
            *FORECASTER,
            "predict",
            "--model",
            str(package),
            "--data",
            str(recent),
            "--output",
            str(Path(tmp) / "forecast.csv"),
        ]
        timed(reference), timed(predict)  # warm the file cache
        ref_times, predict_times = [], []
        for _ in range(args.runs):
            ref_times.append(timed(reference))
            predict_times.append(timed(predict))
    ref, pred = statistics.median(ref_times), statistics.median(predict_times)
    print(f"cold runs: {args.runs} each, alternating; model: ETTh1 local attention, lookback 336, horizon 96")
    print("| command | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    print(f"| python -c 'import torch, pandas' | {ref:.3f} | {min(ref_times):.3f} | {max(ref_times):.3f} |")
    times = f"{pred:.3f} | {min(predict_times):.3f} | {max(predict_times):.3f}"
    print(f"| forecaster predict (7 columns x 96 steps) | {times} |")
    print(f"ratio predict / import: {pred / ref:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
