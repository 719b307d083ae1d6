"""The quick comparison's wall time in one process vs fanned out on a local Ray (`--workers N`).

    .venv/bin/python benchmarks/fanout.py                  # both runs: about 15 minutes on 2 cores
    .venv/bin/python benchmarks/fanout.py --print-only

Runs, each in a fresh work folder with its own MLflow store:

    forecaster compare --config configs/quick.yaml                # fits one after another
    forecaster compare --config configs/quick.yaml --workers N    # N fits at once, cores/N threads each

and records the wall times, the threads per fit (`forecaster.fit.threads.threads_per_fit`), the cores this
process may use, and how far the two runs' test MSEs are apart (`configs/quick.yaml` asks for 2
threads: with one thread per fit the sums inside a matrix product may round differently). Run it on
an otherwise idle machine: other processes competing for the cores make both figures meaningless.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "fanout.json"
QUICK_DATA = "datasets/ETTh1.csv"  # configs/quick.yaml's data.path

from forecaster.fit.threads import available_cores, threads_per_fit


def timed_compare(work: Path, extra: list[str]) -> tuple[float, list[dict]]:
    """Wall seconds of `forecaster compare --config configs/quick.yaml EXTRA` in a fresh `work`, and its rows."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "cli.py"), "compare", "--config", str(ROOT / "configs" / "quick.yaml")]
    cmd += ["--data.path", str(ROOT / QUICK_DATA)]  # the config's path is relative to the repository
    start = time.perf_counter()
    subprocess.run([*cmd, *extra, "--metrics-out", "rows.json"], cwd=work, env=env, check=True)
    return time.perf_counter() - start, json.loads((work / "rows.json").read_text())


def run(args) -> dict:
    work = Path(args.work).absolute()
    sequential, rows_seq = timed_compare(work / "sequential", [])
    fanned, rows_par = timed_compare(work / "workers", ["--workers", str(args.workers)])
    mse = {(r["variant"], r["seed"]): r["mse"] for r in rows_seq}
    diffs = [abs(r["mse"] - mse[(r["variant"], r["seed"])]) for r in rows_par if (r["variant"], r["seed"]) in mse]
    return {
        "command": "forecaster compare --config configs/quick.yaml",
        "fits": sum(r["variant"] != "ensemble" for r in rows_seq),
        "cores": available_cores(),
        "workers": args.workers,
        "threads_sequential": 2,  # configs/quick.yaml's trainer.threads
        "threads_per_fit": threads_per_fit(args.workers),
        "sequential_seconds": sequential,
        "workers_seconds": fanned,
        "speedup": sequential / fanned,
        "max_abs_mse_difference": max(diffs) if diffs else None,
        "load_average_before": args.load,
    }


def table(r: dict) -> str:
    return "\n".join(
        [
            f"| quick comparison ({r['fits']} fits, {r['cores']} cores) | threads per fit | wall time |",
            "|---|---:|---:|",
            f"| one after another | {r['threads_sequential']} | {r['sequential_seconds']:.0f} s |",
            f"| `--workers {r['workers']}` (local Ray) | {r['threads_per_fit']} | {r['workers_seconds']:.0f} s |",
            f"| speed-up | | **{r['speedup']:.2f}×** |",
        ]
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", default=str(ROOT / "out" / "fanout"))
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--print-only", action="store_true")
    args = p.parse_args()
    if not args.print_only:
        args.load = os.getloadavg()[0]
        Path(args.out).write_text(json.dumps(run(args), indent=2) + "\n")
    print(table(json.loads(Path(args.out).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
