"""The shared tokenizer's channel layouts and the two output heads."""

from __future__ import annotations

import math

import pytest
import torch

from forecaster.nn.heads import FlattenHead, QueryHead
from forecaster.nn.tokenizer import Tokenizer


def _tokenizer(ci, revin=False):
    return Tokenizer(
        n_features=3, n_targets=2, context_len=12, patch_len=4, stride=4, revin=revin, channel_independent=ci
    )


def test_channel_independent_tokens_are_one_sequence_per_channel():
    tok = _tokenizer(True)
    x = torch.arange(2 * 12 * 3, dtype=torch.float32).reshape(2, 12, 3)
    tokens = tok(x)  # (B*F, N, P): row b*F + f holds channel f of window b
    assert tokens.shape == (6, tok.n_tokens, 4) and tok.token_dim == 4 and tok.out_channels == 1
    assert torch.equal(tokens[1 * 3 + 2, 0], x[1, :4, 2])


def test_joint_tokens_hold_one_patch_of_every_channel():
    tok = _tokenizer(False)
    x = torch.randn(2, 12, 3)
    tokens = tok(x)  # (B, N, F*P)
    assert tokens.shape == (2, tok.n_tokens, 12) and tok.token_dim == 12 and tok.out_channels == 2
    assert torch.equal(tokens[1, 0, 4:8], x[1, :4, 1])


def test_merge_puts_each_channel_back_in_its_column_and_restore_keeps_the_targets():
    tok = _tokenizer(True)
    y = torch.arange(6 * 5, dtype=torch.float32).reshape(6, 5, 1)  # (B*F, H, 1)
    merged = tok.merge(y, 2)  # (B, H, F)
    assert merged.shape == (2, 5, 3) and torch.equal(merged[1, :, 2], y[1 * 3 + 2, :, 0])
    assert torch.equal(tok.restore(merged, None), merged[..., :2])


def test_revin_round_trip_restores_the_window_scale():
    tok = _tokenizer(False, revin=True)
    x = 5 + 3 * torch.randn(2, 12, 3)
    z, stats = tok.normalize(x)
    torch.testing.assert_close(z.mean(dim=1), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(tok.restore(z, stats), x[..., :2], atol=1e-5, rtol=1e-5)


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
