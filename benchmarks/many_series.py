"""Many series: wall time and peak memory of inspect, compare and predict as the series count grows.

    .venv/bin/python benchmarks/many_series.py --series 1000,10000          # the committed run
    .venv/bin/python benchmarks/many_series.py --series 50 --rows 120 --json /tmp/smoke.json   # smoke check
    .venv/bin/python benchmarks/many_series.py --print-only

A generated long file (`unique_id, ds, y`: N daily series of `--rows` rows each, every series a level,
a weekly season, a trend and noise of its own, seeded) goes through the three commands a user of
such a file runs, each a fresh process (`/usr/bin/time -f %M` gives its peak resident memory):

    forecaster data inspect FILE --auto --horizon 14
    forecaster compare --auto --data FILE --data.horizon 14 --variants linear,causal,seasonal_naive
                       --trainer.max_epochs 1 --save-best DIR      # one epoch; the winner refitted, saved
    forecaster predict --model DIR --data FILE --output FILE       # every series' next 14 days

The table gives each stage's wall seconds and peak MB per series count, and how each grows from the
smallest count to the largest (10x the series: a ratio near 10 is linear). Run it on an otherwise idle
machine; `--threads` is the torch threads of the fits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "many_series.json"
HORIZON = 14
STAGES = ("inspect", "compare", "predict")


def generate(path: Path, n_series: int, rows: int, seed: int = 0) -> None:
    """N daily series of `rows` rows: level, weekly season, trend and noise, each its own."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    level = rng.uniform(10, 1000, size=(n_series, 1))
    season = (
        rng.uniform(0, 0.2, size=(n_series, 1))
        * level
        * np.sin(2 * np.pi * (t + rng.integers(0, 7, (n_series, 1))) / 7)
    )
    trend = rng.normal(0, 0.001, size=(n_series, 1)) * level * t
    y = level + season + trend + rng.normal(0, 0.03, size=(n_series, rows)) * level
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:05d}" for i in range(n_series)], rows),
            "ds": np.tile(pd.date_range("2022-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"), n_series),
            "y": np.round(y.ravel(), 3),
        }
    )
    frame.to_csv(path, index=False)


def stage(cmd: list[str], cwd: Path, env: dict) -> dict:
    """Wall seconds and peak resident MB of `cmd` (a fresh process, measured by GNU time)."""
    peak = cwd / "peak.txt"
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(peak), *cmd], cwd=cwd, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "peak_mb": int(peak.read_text().split()[-1]) / 1024}


def run_one(n_series: int, args) -> dict:
    work = Path(args.work).absolute() / f"n{n_series}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = work / "series.csv"
    generate(data, n_series, args.rows)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, str(ROOT / "cli.py")]
    commands = {
        "inspect": [*cli, "data", "inspect", str(data), "--auto", "--horizon", str(HORIZON)],
        "compare": [
            *cli,
            "compare",
            "--auto",
            "--data",
            str(data),
            "--data.horizon",
            str(HORIZON),
            "--variants",
            "linear,causal,seasonal_naive",
            "--trainer.max_epochs",
            "1",
            "--trainer.threads",
            str(args.threads),
            "--trainer.progress_bar",
            "false",
            "--tracking.plots",
            "false",
            "--save-best",
            str(work / "best"),
        ],
        "predict": [
            *cli,
            "predict",
            "--model",
            str(work / "best"),
            "--data",
            str(data),
            "--output",
            str(work / "f.csv"),
        ],
    }
    out = {"series": n_series, "rows": n_series * args.rows, "file_mb": data.stat().st_size / 2**20}
    for name in STAGES:
        out[name] = stage(commands[name], work, env)
        print(f"{n_series} series, {name}: {out[name]}", file=sys.stderr)
    out["forecast_rows"] = len(pd.read_csv(work / "f.csv"))
    return out


def table(result: dict) -> str:
    runs = sorted(result["runs"], key=lambda r: r["series"])
    lines = ["| series | rows | " + " | ".join(f"{s} s | {s} MB" for s in STAGES) + " |"]
    lines.append("|---:|---:|" + "---:|---:|" * len(STAGES))
    for r in runs:
        cells = " | ".join(f"{r[s]['seconds']:.1f} | {r[s]['peak_mb']:.0f}" for s in STAGES)
        lines.append(f"| {r['series']:,} | {r['rows']:,} | {cells} |")
    if len(runs) > 1:
        a, b = runs[0], runs[-1]
        grow = " | ".join(
            f"x{b[s]['seconds'] / a[s]['seconds']:.1f} | x{b[s]['peak_mb'] / a[s]['peak_mb']:.1f}" for s in STAGES
        )
        lines.append(f"| growth x{b['series'] / a['series']:.0f} | | {grow} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", default="1000,10000", help="comma-separated series counts")
    p.add_argument("--rows", type=int, default=500, help="rows per series")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--work", default=str(ROOT / "out" / "many_series"))
    p.add_argument("--json", default=str(RESULTS))
    p.add_argument("--print-only", action="store_true")
    args = p.parse_args()
    if not args.print_only:
        runs = [run_one(int(n), args) for n in args.series.split(",")]
        result = {"command": " ".join(sys.argv), "threads": args.threads, "rows_per_series": args.rows, "runs": runs}
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(table(json.loads(Path(args.json).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
