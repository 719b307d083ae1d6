"""The output heads (`forecaster.nn.heads`): every horizon step from each, and the low-rank flatten head."""

from __future__ import annotations

import math

import pytest
import torch

from forecaster.nn.heads import FlattenHead, QueryHead


@pytest.mark.parametrize("horizon, patch_len", [(8, 4), (7, 4)])
def test_heads_emit_every_horizon_step(horizon, patch_len):
    torch.manual_seed(0)
    h = torch.randn(5, 6, 8)  # (B', N, D)
    flat = FlattenHead(n_tokens=6, d_model=8, horizon=horizon, out_channels=2, dropout=0.0)
    y, weights = flat(h)
    assert y.shape == (5, horizon, 2) and weights == []
    query = QueryHead(
        d_model=8,
        n_heads=2,
        d_ff=16,
        dropout=0.0,
        attn_dropout=0.0,
        n_layers=2,
        horizon=horizon,
        patch_len=patch_len,
        out_channels=2,
    )
    queries = torch.randn(1, math.ceil(horizon / patch_len), 8)
    y, weights = query(h, queries, need_weights=True)
    assert y.shape == (5, horizon, 2) and [w.shape for w in weights] == [(5, 2, 2, 6)] * 2


def test_a_low_rank_flatten_head_maps_through_rank_values():
    torch.manual_seed(0)
    h = torch.randn(5, 6, 8)  # (B', N, D): 48 values per sequence
    full = FlattenHead(n_tokens=6, d_model=8, horizon=96, out_channels=1, dropout=0.0)
    low = FlattenHead(n_tokens=6, d_model=8, horizon=96, out_channels=1, dropout=0.0, rank=4)
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert (count(full), count(low)) == (48 * 96 + 96, 48 * 4 + 4 * 96 + 96)
    y, _ = low(h)
    assert y.shape == (5, 96, 1)
    # every forecast is the bias plus a combination of 4 directions: 5 forecasts span 4 dimensions, not 5
    centred = (y[..., 0] - low.linear[1].bias).detach()
    assert torch.linalg.matrix_rank(centred) == 4 and torch.linalg.matrix_rank(full(h)[0][..., 0].detach()) == 5
