"""Attention patterns against their definitions: causality, the window, and the blockwise kernel."""

from __future__ import annotations

import pytest
import torch

from forecaster.nn.attention import MultiHeadAttention, dense_attention, local_attention
from forecaster.nn.masks import causal_mask, local_mask
from forecaster.nn.patterns import PATTERNS


@pytest.mark.parametrize("T", [1, 5, 16, 17, 40, 63])
@pytest.mark.parametrize("w", [1, 2, 3, 8, 16, 70])
def test_blockwise_local_equals_dense_reference_in_values_and_gradients(T, w):
    torch.manual_seed(T * 100 + w)
    q, k, v = (torch.randn(2, 3, T, 8, dtype=torch.float64, requires_grad=True) for _ in range(3))
    out = local_attention(q, k, v, w)
    ref, _ = dense_attention(q, k, v, local_mask(T, w))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(out)
    grads = torch.autograd.grad((out * g).sum(), (q, k, v))
    ref_grads = torch.autograd.grad((ref * g).sum(), (q, k, v))
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("block", [1, 4, 7, 64])
def test_local_kernel_is_independent_of_block_size(block):
    torch.manual_seed(1)
    q, k, v = (torch.randn(1, 2, 30, 4, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(local_attention(q, k, v, 5, block=max(block, 5)), local_attention(q, k, v, 5))


def _attn(pattern, window=3, d=16, heads=4):
    torch.manual_seed(0)
    return MultiHeadAttention(d_model=d, n_heads=heads, pattern=pattern, window=window).double().eval()


@pytest.mark.parametrize("pattern", ["causal", "local", "hybrid"])  # dynamic: tests/nn/test_switch.py
def test_future_inputs_never_change_past_outputs(pattern):
    attn = _attn(pattern)
    x = torch.randn(2, 20, 16, dtype=torch.float64, requires_grad=True)
    out, _ = attn(x)
    t = 11
    changed = x.detach().clone()
    changed[:, t:] += torch.randn_like(changed[:, t:])
    out2, _ = attn(changed)
    torch.testing.assert_close(out[:, :t], out2[:, :t], atol=0, rtol=0)
    (grad,) = torch.autograd.grad(out[:, :t].sum(), x)
    assert torch.count_nonzero(grad[:, t:]) == 0  # exactly zero, not just small


@pytest.mark.parametrize("pattern", ["local", "hybrid", "dynamic"])
def test_one_layer_ignores_inputs_older_than_the_window_in_local_heads(pattern):
    attn, w, t = _attn(pattern, window=4), 4, 15
    x = torch.randn(1, 20, 16, dtype=torch.float64)
    changed = x.clone()
    changed[:, : t - w + 1] += 5.0  # everything before the window of query t
    if pattern == "local":
        torch.testing.assert_close(attn(x)[0][:, t], attn(changed)[0][:, t], atol=0, rtol=0)
    else:  # only the local heads / the local branch are blind to it; the result must still move
        assert not torch.allclose(attn(x)[0][:, t], attn(changed)[0][:, t])
        _, weights = attn(x, need_weights=True)
        if pattern == "hybrid":
            n_local = attn.groups[0].stop
            assert weights[0, :n_local, t, : t - w + 1].abs().max() == 0


@pytest.mark.parametrize("pattern", ["local", "hybrid", "dynamic"])
def test_window_at_least_T_equals_causal(pattern):
    x = torch.randn(2, 12, 16, dtype=torch.float64)
    wide = _attn(pattern, window=12)
    causal = _attn("causal")
    causal.load_state_dict({k: v for k, v in wide.state_dict().items() if not k.startswith("scorer")})
    torch.testing.assert_close(wide(x)[0], causal(x)[0], atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("pattern", ["global", "causal", "local", "hybrid", "dynamic"])
def test_returned_weights_respect_the_pattern_and_sum_to_one(pattern):
    attn = _attn(pattern, window=4)
    x = torch.randn(2, 10, 16, dtype=torch.float64)
    fast, _ = attn(x)
    out, weights = attn(x, need_weights=True)
    torch.testing.assert_close(out, fast, atol=1e-10, rtol=1e-10)  # inspection path = fast path
    assert weights.shape == (2, 4, 10, 10)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 10, dtype=torch.float64))
    allowed = attn.pattern_mask(10, 10)
    assert torch.count_nonzero(weights.masked_select(~allowed.expand_as(weights))) == 0
    if pattern == "global":
        assert (weights > 0).all()


def test_hybrid_splits_heads_local_and_global():
    attn = _attn("hybrid", window=2)
    mask = attn.pattern_mask(6, 6)
    assert [(g.start, g.stop, g.window) for g in attn.groups] == [(0, 2, 2), (2, 4, None)]
    assert torch.equal(mask[0], local_mask(6, 2)) and torch.equal(mask[3], causal_mask(6))


def test_cross_attention_reads_the_memory():
    attn = _attn("cross")
    q, memory = torch.randn(2, 3, 16, dtype=torch.float64), torch.randn(2, 9, 16, dtype=torch.float64)
    out, weights = attn(q, memory, need_weights=True)
    assert out.shape == (2, 3, 16) and weights.shape == (2, 4, 3, 9)
    changed = memory.clone()
    changed[:, 4] += 1
    assert not torch.allclose(attn(q, changed)[0], out)


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="unknown attention pattern 'sparse'; valid: global, causal"):
        MultiHeadAttention(d_model=8, n_heads=2, pattern="sparse")
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="window must be at least 1"):
        MultiHeadAttention(d_model=8, n_heads=2, window=0)
    with pytest.raises(ValueError, match="hybrid pattern needs"):
        MultiHeadAttention(d_model=8, n_heads=1, pattern="hybrid")
    with pytest.raises(ValueError, match="n_heads must be at least 1, got 0"):  # not a ZeroDivisionError
        MultiHeadAttention(d_model=8, n_heads=0)
    with pytest.raises(ValueError, match=r"attention dropout must be in \[0, 1\), got 1.0"):
        MultiHeadAttention(d_model=8, n_heads=2, dropout=1.0)


@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("need_weights", [False, True])
def test_every_pattern_runs_under_bf16_autocast_close_to_float32_with_finite_gradients(pattern, need_weights):
    """`trainer.precision bf16-mixed` runs the layer under autocast: 101 tokens and a window of 4 take
    the blockwise local kernel (and the switch's), need_weights the dense masked reference."""
    torch.manual_seed(0)
    layer = MultiHeadAttention(d_model=16, n_heads=2, pattern=pattern, window=4).eval()
    x = torch.randn(3, 101, 16, requires_grad=True)
    memory = torch.randn(3, 40, 16) if pattern == "cross" else None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = layer(x, memory, need_weights=need_weights)
    out.float().square().sum().backward()
    assert out.dtype == torch.bfloat16 and torch.isfinite(x.grad).all()
    reference, _ = layer(x, memory)
    assert torch.allclose(out.float(), reference, atol=0.03)


def test_the_switch_chooses_the_same_global_tokens_under_bf16_autocast_as_in_float32():
    """bf16 scores tie nearby tokens; the switch scores in float32 so a bf16-mixed fit and its float32
    forecast choose alike."""
    torch.manual_seed(0)
    layer = MultiHeadAttention(d_model=16, n_heads=2, pattern="dynamic", window=4).eval()
    x = torch.randn(32, 84, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = layer._scores(x)
    assert mixed.dtype == torch.float32 and torch.equal(mixed, layer._scores(x))
