"""Long contexts: what one training step of the attention model costs as the look-back grows.

The model of `configs/etth1_long.yaml` (4-step patches, so a look-back of L hours is L / 4 tokens;
2 layers, d_model 16, a 42-token local window = one week, 5 % global tokens for `dynamic`) is
built for each look-back and pattern, and one training step (forward, L1 loss, backward, AdamW) on
a batch of `--batch` ETTh1-shaped windows (7 columns, channel-independent) is timed. Each (pattern,
look-back) runs in a fresh process under an address-space limit (`--limit-gb`), so peak memory does
not mix and a pattern that runs out of memory says so; a pattern whose step exceeds `--max-seconds`
is not tried at longer look-backs (it "ran out of time"). Peak memory is the process's maximum
resident size above its baseline (model and batch built, one warm-up step at the shortest length).

    python benchmarks/long_context.py --lookbacks 1024,2048,4096,8192,16384 --json benchmarks/results/long_context.json
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
CONFIG = ROOT / "configs" / "etth1_long.yaml"
COLUMNS = 7  # ETTh1


def measure(pattern: str, lookback: int, batch: int, repeats: int) -> dict:
    """Runs inside the child process."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(ROOT))
    from forecaster.config import load, with_variant
    from forecaster.models import build_network

    cfg = with_variant(load(str(CONFIG), [("data.context_len", lookback)]), pattern)
    torch.manual_seed(0)
    dims = SimpleNamespace(
        n_features=COLUMNS,
        n_targets=COLUMNS,
        context_len=lookback,
        horizon=cfg.data.horizon,
        period=1,
        n_future=0,
        static_cardinalities=[],
    )
    network = build_network(cfg.model, dims)
    opt = torch.optim.AdamW(network.parameters(), lr=1e-3)
    x = torch.randn(batch, lookback, COLUMNS)
    y = torch.randn(batch, cfg.data.horizon, COLUMNS)

    def step() -> float:
        start = time.perf_counter()
        loss = F.l1_loss(network(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = [step() for _ in range(repeats + 1)][1:]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    tokens = network.tokenizer.n_tokens
    return {"pattern": pattern, "lookback": lookback, "tokens": tokens, "seconds": statistics.median(times),
            "peak_mb": round(peak / 1024, 1)}  # fmt: skip


def run_child(args, pattern: str, lookback: int) -> dict:
    command = [sys.executable, __file__, "--child", pattern, "--lookbacks", str(lookback), "--batch", str(args.batch),
               "--repeats", str(args.repeats), "--limit-gb", str(args.limit_gb)]  # fmt: skip
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": str(args.threads)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode == 0:
        return json.loads(result.stdout.strip().splitlines()[-1])
    last = (result.stderr.strip().splitlines() or ["killed"])[-1][:120]
    reason = "out of memory" if "memory" in result.stderr.lower() or result.returncode < 0 else "failed"
    return {"pattern": pattern, "lookback": lookback, "seconds": None, "peak_mb": None,
            "error": f"{reason} (limit {args.limit_gb} GB): {last}"}  # fmt: skip


def table(rows: list[dict], patterns: list[str]) -> str:
    by = {(r["pattern"], r["lookback"]): r for r in rows}
    head = " | ".join(f"{p} s/step | {p} peak MB" for p in patterns)
    lines = [f"| look-back | tokens | {head} |", "|---:|---:|" + "---:|" * (2 * len(patterns))]
    for n in sorted({r["lookback"] for r in rows}):
        tokens = next((r["tokens"] for r in rows if r["lookback"] == n and r.get("tokens")), "-")
        cells = []
        for p in patterns:
            r = by.get((p, n))
            if r is None:
                cells += ["out of time", "-"]
            elif r["seconds"] is None:
                cells += [r["error"].split(":")[0], "-"]
            else:
                cells += [f"{r['seconds']:.3f}", f"{r['peak_mb']:.0f}"]
        lines.append(f"| {n:,} | {tokens} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookbacks", default="1024,2048,4096,8192,16384")
    parser.add_argument("--patterns", default="global,causal,local,dynamic")
    parser.add_argument("--batch", type=int, default=8, help="windows per step (x 7 columns = sequences)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit-gb", type=float, default=12.0)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="a slower step stops that pattern")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    lookbacks = [int(n) for n in args.lookbacks.split(",")]
    if args.child:
        limit = int(args.limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(measure(args.child, lookbacks[0], args.batch, args.repeats)))
        return
    patterns = args.patterns.split(",")
    rows, stopped = [], set()
    for n in lookbacks:
        for p in patterns:
            if p in stopped:
                continue
            rows.append(run_child(args, p, n))
            print(f"{p:>8} L={n:>6}: {rows[-1]}", file=sys.stderr)
            if rows[-1]["seconds"] is None or rows[-1]["seconds"] > args.max_seconds:
                stopped.add(p)
    print(
        f"batch {args.batch} x {COLUMNS} columns, {args.threads} threads, one training step, median of {args.repeats}"
    )
    print(table(rows, patterns))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
