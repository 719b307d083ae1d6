"""Time and memory of local attention: the blockwise kernel against dense masked attention, and the
`dynamic` switch (local window plus k = ceil(global_share * T) global tokens) through its kernel.

Each (implementation, length) runs in a fresh Python process so peak memory does not mix; the
peak is the process's maximum resident memory above its own baseline (inputs created, the same
implementation warmed up on 2 x window tokens), read from getrusage, with glibc told to serve large
blocks from mmap so that freed tensors leave the resident set at once. Time is the median of forward +
backward over `--repeats` runs after one warm-up. Dense attention is `scaled_dot_product_attention`
with a (T, T) boolean sliding-window mask, the usual way to get a local pattern; it runs under an address-space limit
(`--dense-limit-gb`) and a row says so when it cannot run.

    python benchmarks/attention_scaling.py --lengths 1024,2048,4096,8192,16384 --window 128 --json OUT

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

ROOT = Path(__file__).resolve().parents[1]


def measure(impl: str, length: int, window: int, heads: int, head_dim: int, repeats: int, share: float) -> dict:
    """Runs inside the child process."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(ROOT))
    from forecaster.nn import switch
    from forecaster.nn.attention import block_size, local_attention
    from forecaster.nn.masks import local_mask

    def step(n: int):
        if impl == "local":
            out = local_attention(q[:, :, :n], k[:, :, :n], v[:, :, :n], window)
        elif impl == "dynamic":
            positions, bias = switch.select(scores[:, :n], switch.n_global(n, share))
            qs, ks, vs = q[:, :, :n], k[:, :, :n], v[:, :, :n]
            out = switch.switch_attention(qs, ks, vs, positions, bias, window=window, block=block_size(n, window))
        else:
            out = F.scaled_dot_product_attention(q[:, :, :n], k[:, :, :n], v[:, :, :n], attn_mask=local_mask(n, window))
        out.backward(grad[:, :, :n])

    torch.manual_seed(0)
    q, k, v = (torch.randn(1, heads, length, head_dim, requires_grad=True) for _ in range(3))
    scores = torch.randn(1, length, requires_grad=True)  # the switch's token scores
    grad = torch.randn(1, heads, length, head_dim)
    step(min(length, 2 * window))  # warm up this implementation's kernels and thread pool
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step(length)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(length)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
    return {
        "impl": impl,
        "length": length,
        "window": window,
        "seconds": statistics.median(times),
        "peak_mb": round(peak / 1024, 1),
    }


def run_child(args, impl: str, length: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        impl,
        "--lengths",
        str(length),
        "--window",
        str(args.window),
        "--heads",
        str(args.heads),
        "--head-dim",
        str(args.head_dim),
        "--repeats",
        str(args.repeats),
        "--global-share",
        str(args.global_share),
    ]
    if impl == "dense":
        command += ["--limit-gb", str(args.dense_limit_gb)]
    # Large blocks straight from mmap, so freed memory leaves the resident set at once and the
    # maximum resident size tracks the live tensors rather than the allocator's caching.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode == 0:
        return json.loads(result.stdout.strip().splitlines()[-1])
    reason = "out of memory" if "memory" in result.stderr.lower() or result.returncode < 0 else "failed"
    return {
        "impl": impl,
        "length": length,
        "window": args.window,
        "seconds": None,
        "peak_mb": None,
        "error": f"{reason} (limit {args.dense_limit_gb} GB): {result.stderr.strip().splitlines()[-1][:120]}",
    }


def table(rows: list[dict]) -> str:
    by = {(r["impl"], r["length"]): r for r in rows}
    lengths = sorted({r["length"] for r in rows})
    first_local = by[("local", lengths[0])]["seconds"]
    lines = [
        "| length | dense s | local s | speed-up | dense peak MB | local peak MB | memory ratio | local s / length (x first) | dynamic s | dynamic peak MB |",  # noqa: E501
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in lengths:
        d, lo = by[("dense", n)], by[("local", n)]
        dyn = by.get(("dynamic", n), {"seconds": None, "peak_mb": None})
        ok = d["seconds"] is not None
        growth = (lo["seconds"] / n) / (first_local / lengths[0])
        lines.append(
            "| {:,} | {} | {:.4f} | {} | {} | {:.1f} | {} | {:.2f} | {} | {} |".format(
                n,
                f"{d['seconds']:.4f}" if ok else "cannot run",
                lo["seconds"],
                f"{d['seconds'] / lo['seconds']:.1f}x" if ok else "-",
                f"{d['peak_mb']:.1f}" if ok else d.get("error", "-"),
                lo["peak_mb"],
                f"{d['peak_mb'] / max(lo['peak_mb'], 0.1):.1f}x" if ok else "-",
                growth,
                "-" if dyn["seconds"] is None else f"{dyn['seconds']:.4f}",
                "-" if dyn["peak_mb"] is None else f"{dyn['peak_mb']:.1f}",
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="1024,2048,4096,8192,16384")
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--head-dim", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dense-limit-gb", type=float, default=16.0)
    parser.add_argument("--global-share", type=float, default=0.02, help="dynamic: share of global tokens")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--limit-gb", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    if args.child:
        if args.limit_gb:
            limit = int(args.limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        child = measure(args.child, lengths[0], args.window, args.heads, args.head_dim, args.repeats, args.global_share)
        print(json.dumps(child))
        return
    rows = []
    for n in lengths:
        for impl in ("dense", "local", "dynamic"):
            rows.append(run_child(args, impl, n))
            print(f"{impl:>5} T={n:>6}: {rows[-1]}", file=sys.stderr)
    print(
        f"batch 1, {args.heads} heads, head size {args.head_dim}, window {args.window}, "
        f"dynamic: {args.global_share:.0%} global tokens, forward + backward, median of {args.repeats}"
    )
    print(table(rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
