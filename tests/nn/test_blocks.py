"""Pre-norm transformer blocks (`forecaster.nn.blocks`) stacked: what a query sees through the layers."""

from __future__ import annotations

import torch

from forecaster.nn.blocks import TransformerBlock
from forecaster.nn.masks import receptive_field


def test_stacked_local_layers_see_exactly_the_receptive_field():
    torch.manual_seed(0)
    w, L, T, t = 3, 2, 20, 15
    blocks = [
        TransformerBlock(d_model=8, n_heads=2, d_ff=16, dropout=0.0, pattern="local", window=w).double().eval()
        for _ in range(L)
    ]
    x = torch.randn(1, T, 8, dtype=torch.float64, requires_grad=True)
    h = x
    for block in blocks:
        h, _ = block(h)
    (grad,) = torch.autograd.grad(h[0, t].sum(), x)
    seen = grad[0].abs().sum(dim=1) > 0
    field = receptive_field(L, w)
    assert seen.nonzero().squeeze(1).tolist() == list(range(t - field + 1, t + 1))
