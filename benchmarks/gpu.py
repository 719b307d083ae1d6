"""Training cost on whatever accelerator is present: step time and peak memory per attention pattern
and context length, and the wall time of the ETTh1 causal fit.

    .venv/bin/python benchmarks/gpu.py                                   # on an idle machine (CPU or GPU)
    .venv/bin/python benchmarks/gpu.py --lengths 96 --steps 2 --no-etth1 --json /tmp/gpu.json   # smoke check
    .venv/bin/python benchmarks/gpu.py --print-only --json benchmarks/results/gpu_cpu.json

One step is `benchmarks/train_step.py`'s (forward, L1 loss, backward, an AdamW update) of the
`configs/etth1.yaml` network for each pattern, on a batch of `--batch` random windows of 7 columns
(channel-independent, patches 16 / stride 8), the median over `--steps` steps after one warm-up step.
Each (pattern, context length) runs in a fresh process, so its peak memory is its own: on CUDA
`torch.cuda.max_memory_allocated` (tensors only), on CPU the process's peak resident memory
(`ru_maxrss`, torch's own few hundred MB included: compare rows, not absolute values). The ETTh1 fit
is `forecaster train --config configs/etth1.yaml --data.horizon 96` (causal, seed 2021, `--epochs`
epochs, untracked), timed as a whole process. Results go to `benchmarks/results/gpu_<device>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PATTERNS = ("global", "causal", "local", "hybrid", "dynamic", "cross")
COLUMNS = 7  # ETTh1


def device_name() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def one_point(pattern: str, length: int, batch: int, steps: int) -> dict:
    """Step time (median ms) and peak memory (MB) of one pattern at one context length, in this process."""
    import torch

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from train_step import time_steps

    from forecaster.config import load, with_variant
    from forecaster.models import build_network

    device = device_name()
    cfg = with_variant(load(ROOT / "configs" / "etth1.yaml", [("data.context_len", length)]), pattern)
    shape = dict(n_features=COLUMNS, n_targets=COLUMNS, context_len=length, horizon=cfg.data.horizon, period=1)
    shape |= dict(n_future=0, static_cardinalities=[])
    torch.manual_seed(0)
    model = build_network(cfg.model, SimpleNamespace(**shape)).train().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, length, COLUMNS, device=device)
    y = torch.randn(batch, cfg.data.horizon, COLUMNS, device=device)
    time_steps(model, opt, x, y, 1)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        times.append(time_steps(model, opt, x, y, 1))
        if device == "cuda":
            torch.cuda.synchronize()
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    tokens = (length - cfg.model.patch_len) // cfg.model.stride + 1
    return {
        "pattern": pattern,
        "context_len": length,
        "tokens": tokens,
        "batch": batch,
        "step_ms": statistics.median(times),
        "peak_mb": peak,
    }


def etth1_fit(epochs: int) -> dict:
    """Wall seconds of the ETTh1 causal fit (a whole `forecaster train` process) and its test MSE."""
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "gpu_etth1_metrics.json"
    cmd = [sys.executable, str(ROOT / "cli.py"), "train", "--config", str(ROOT / "configs" / "etth1.yaml")]
    cmd += [
        "--data.horizon",
        "96",
        "--model.attention",
        "causal",
        "--seed",
        "2021",
        "--trainer.max_epochs",
        str(epochs),
    ]
    cmd += ["--tracking.enabled", "false", "--trainer.progress_bar", "false", "--metrics-out", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    metrics = json.loads(out.read_text())
    return {
        "epochs": epochs,
        "wall_seconds": time.perf_counter() - start,
        "mse": metrics.get("mse"),
        "train_seconds": metrics.get("train_seconds"),
    }


def table(result: dict) -> str:
    lines = [
        f"device: {result['device']} (torch {result['torch']})",
        "",
        "| pattern | context | tokens | ms / step | peak MB |",
    ]
    lines.append("|---|---:|---:|---:|---:|")
    for r in result["rows"]:
        lines.append(
            f"| {r['pattern']} | {r['context_len']} | {r['tokens']} | {r['step_ms']:.1f} | {r['peak_mb']:.0f} |"
        )
    fit = result.get("etth1")
    if fit:
        took = f"{fit['wall_seconds']:.0f} s wall ({fit['train_seconds']:.0f} s training)"
        lines += ["", f"ETTh1 causal fit, {fit['epochs']} epochs: {took}, test MSE {fit['mse']:.4f}"]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--patterns", default=",".join(PATTERNS))
    p.add_argument("--lengths", default="336,720,1440,2880")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--epochs", type=int, default=8, help="of the ETTh1 fit (configs/etth1.yaml trains 8)")
    p.add_argument("--no-etth1", action="store_true")
    p.add_argument("--json", help="default: benchmarks/results/gpu_<device>.json")
    p.add_argument("--print-only", action="store_true")
    p.add_argument("--point", help=argparse.SUPPRESS)  # pattern,length: one point in this process (internal)
    args = p.parse_args()
    if args.point:
        pattern, length = args.point.split(",")
        print(json.dumps(one_point(pattern, int(length), args.batch, args.steps)))
        return 0
    import torch

    path = Path(args.json or RESULTS / f"gpu_{device_name()}.json")
    if not args.print_only:
        rows = []
        for pattern in args.patterns.split(","):
            for length in map(int, args.lengths.split(",")):
                cmd = [
                    sys.executable,
                    __file__,
                    "--point",
                    f"{pattern},{length}",
                    "--batch",
                    str(args.batch),
                    "--steps",
                    str(args.steps),
                ]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(rows[-1], file=sys.stderr)
        result = {
            "command": " ".join(sys.argv),
            "device": device_name(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "rows": rows,
        }
        if not args.no_etth1:
            result["etth1"] = etth1_fit(args.epochs)
        path.write_text(json.dumps(result, indent=2) + "\n")
    print(table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
