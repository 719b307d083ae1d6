"""Cost of one training step of the ETTh1 attention model, with forecaster's dropout and with
PyTorch's `nn.Dropout` as the reference, measured in the same process.

One step = forward, L1 loss, backward and an AdamW update on a batch of 128 windows (336 steps x
7 columns, channel-independent: 896 sequences of 42 patch tokens) built from `configs/etth1.yaml`.
The two dropout implementations alternate in rounds so drifts in machine speed hit both alike; the
table gives the median and minimum over the rounds.

    python benchmarks/train_step.py --variants causal,hybrid,dynamic --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecaster.config import load, with_variant
from forecaster.models import build_network
from forecaster.nn import common

COLUMNS = 7  # ETTh1


def swap_dropout(model: nn.Module, torch_reference: bool) -> None:
    """Replace every forecaster Dropout by nn.Dropout with the same p (or back)."""
    for name, child in model.named_children():
        if torch_reference and isinstance(child, common.Dropout):
            setattr(model, name, nn.Dropout(child.p))
        elif not torch_reference and isinstance(child, nn.Dropout):
            setattr(model, name, common.Dropout(child.p))
        else:
            swap_dropout(child, torch_reference)


def time_steps(model, opt, x, y, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        F.l1_loss(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs/etth1.yaml"))
    parser.add_argument("--variants", default="causal")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4, help="steps per round")
    args = parser.parse_args()
    torch.set_num_threads(2)
    base = load(args.config)
    shape = SimpleNamespace(
        n_features=COLUMNS,
        n_targets=COLUMNS,
        context_len=base.data.context_len,
        horizon=base.data.horizon,
        period=1,
        n_future=0,
        static_cardinalities=[],
    )
    print("| variant | dropout | median ms/step | min ms/step |")
    print("|---|---|---:|---:|")
    for variant in args.variants.split(","):
        torch.manual_seed(0)
        model = build_network(with_variant(base, variant).model, shape).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(base.data.batch_size, base.data.context_len, COLUMNS)
        y = torch.randn(base.data.batch_size, base.data.horizon, COLUMNS)
        times = {"torch nn.Dropout (reference)": [], "forecaster Dropout": []}
        for round_ in range(args.rounds + 1):
            for label in times:
                swap_dropout(model, torch_reference=label.startswith("torch"))
                ms = time_steps(model, opt, x, y, args.steps)
                if round_:  # the first round warms up
                    times[label].append(ms)
        ref, ours = (statistics.median(t) for t in times.values())
        for label, t in times.items():
            print(f"| {variant} | {label} | {statistics.median(t):.0f} | {min(t):.0f} |")
        print(f"| {variant} | speed-up | {ref / ours:.2f}x | |")


if __name__ == "__main__":
    main()
