"""The shared tokenizer's channel layouts and RevIN round trip. The output heads: tests/nn/test_heads.py."""

from __future__ import annotations

import torch

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
