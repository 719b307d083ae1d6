"""The `dynamic` switch against its definition: what each query sees, the kernels, causality, learning."""

from __future__ import annotations

import math

import pytest
import torch

from forecaster.nn import switch
from forecaster.nn.attention import MultiHeadAttention, block_size, dense_attention


def _qkv(N: int, seed: int = 0, B: int = 2, nh: int = 3, hd: int = 4):
    torch.manual_seed(seed)
    return [torch.randn(B, nh, N, hd, dtype=torch.float64, requires_grad=True) for _ in range(3)]


def test_each_query_sees_its_window_earlier_global_tokens_and_a_global_token_sees_all_before_it():
    positions = torch.tensor([[1, 6]])
    mask = switch.switch_mask(positions, 9, window=2)[0]
    seen = lambda t: mask[t].nonzero().squeeze(1).tolist()
    assert seen(0) == [0]
    assert seen(4) == [1, 3, 4]  # its window (3, 4) and global token 1
    assert seen(6) == [0, 1, 2, 3, 4, 5, 6]  # a global token: every key up to itself
    assert seen(8) == [1, 6, 7, 8]
    assert not torch.triu(mask, diagonal=1).any()  # never a key after the query


def test_select_picks_the_best_rated_tokens_with_a_zero_bias_that_carries_the_score_gradient():
    scores = torch.tensor([[0.1, 2.0, -1.0, 3.0, 0.5]], requires_grad=True)
    positions, bias = switch.select(scores, switch.n_global(5, 0.3))
    assert positions.tolist() == [[1, 3]] and torch.equal(bias.detach(), torch.zeros(1, 2))
    bias.sum().backward()
    s = torch.sigmoid(scores.detach())
    expected = torch.zeros(1, 5)
    expected[0, [1, 3]] = (s * (1 - s))[0, [1, 3]]
    torch.testing.assert_close(scores.grad, expected)
    assert [switch.n_global(n, share) for n, share in [(42, 0.1), (3, 0.0), (4, 1.0)]] == [5, 1, 4]
    torch.manual_seed(0)
    drawn = {tuple(switch.select(scores.detach(), 2, explore=True)[0][0].tolist()) for _ in range(200)}
    assert (1, 3) in drawn and len(drawn) > 1  # training explores beyond the current best


@pytest.mark.parametrize("N, w, k", [(1, 1, 1), (17, 3, 2), (40, 8, 4), (63, 16, 7), (130, 5, 13), (200, 1, 20)])
def test_both_kernels_equal_the_dense_masked_reference_in_values_and_gradients(N, w, k):
    q, kk, v = _qkv(N, seed=N + w)
    scores = torch.randn(2, N, dtype=torch.float64, requires_grad=True)
    positions, bias = switch.select(scores, k)
    mask = switch.switch_mask(positions, N, w)[:, None]  # (B, 1, N, N)
    ref, _ = dense_attention(q, kk, v, mask)
    ref_out, _ = switch.switch_weights(q, kk, v, positions, bias, window=w)
    g = torch.randn_like(ref)
    ref_grads = torch.autograd.grad((ref_out * g).sum(), (q, kk, v, scores), retain_graph=True)
    for blockwise in (True, False):  # both kernels, whichever the length would pick
        run = dict(window=w, block=block_size(N, w), blockwise=blockwise)
        out = switch.switch_attention(q, kk, v, positions, bias, **run)
        torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)
        grads = torch.autograd.grad((out * g).sum(), (q, kk, v, scores), retain_graph=True)
        for a, b in zip(grads, ref_grads):
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_given_the_selection_future_inputs_never_change_past_outputs():
    N, w, t = 120, 6, 70
    q, k, v = (x.detach() for x in _qkv(N))
    positions = torch.tensor([[3, 40, 90], [10, 69, 100]])
    bias = torch.zeros(2, 3, dtype=torch.float64)
    run = lambda q, k, v: switch.switch_attention(q, k, v, positions, bias, window=w, block=block_size(N, w))
    out = run(q, k, v)
    changed = [x.clone() for x in (q, k, v)]
    for x in changed:
        x[:, :, t:] += torch.randn_like(x[:, :, t:])
    torch.testing.assert_close(run(*changed)[:, :, :t], out[:, :, :t], atol=0, rtol=0)


def test_the_switch_costs_o_of_n_times_window_plus_k_on_long_sequences():
    N, w = 2048, 16
    k = switch.n_global(N, 0.05)
    b = block_size(N, w)
    pairs = math.ceil(N / b) * b * (b + w - 1 + k) + k * N  # keys scored by the blockwise kernel
    assert pairs < N * N / 4  # the dense matrix is never built


def test_module_fast_path_equals_its_weights_path_and_the_weights_follow_the_switch():
    torch.manual_seed(0)
    attn = MultiHeadAttention(d_model=16, n_heads=4, pattern="dynamic", window=4, global_share=0.1).double().eval()
    for N in (30, 300):  # the dense and the blockwise path
        x = torch.randn(2, N, 16, dtype=torch.float64)
        fast, _ = attn(x)
        out, weights = attn(x, need_weights=True)
        torch.testing.assert_close(out, fast, atol=1e-10, rtol=1e-10)
        positions, _ = switch.select(attn.scorer(x).squeeze(-1), switch.n_global(N, 0.1))
        allowed = switch.switch_mask(positions, N, 4)[:, None].expand_as(weights)
        assert torch.count_nonzero(weights.masked_select(~allowed)) == 0
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, N, dtype=torch.float64))


def test_the_scorer_learns_which_token_every_query_needs():
    """Each sequence's answer sits at a random early position marked by a flag; only a global
    token can carry it to the last query, whose window is too short to see it. The scorer learns
    only through the straight-through bias of the tokens it selects; training draws them by
    Gumbel-top-k, so it finds the flag (seeds 0-5: 97-100 % of sequences after 200 steps)."""
    torch.manual_seed(0)
    N, D = 24, 8
    attn = MultiHeadAttention(d_model=D, n_heads=1, pattern="dynamic", window=2, global_share=3 / N)
    opt = torch.optim.Adam(attn.parameters(), lr=0.03)

    def batch(n=64):
        x = 0.1 * torch.randn(n, N, D)
        where = torch.randint(0, N // 2, (n,))
        value = torch.randn(n)
        x[torch.arange(n), where, 0] = 3.0  # the flag
        x[torch.arange(n), where, 1] = value  # the answer
        return x, value, where

    for _ in range(200):
        x, value, _ = batch()
        out, _ = attn(x)
        loss = ((out[:, -1, 1] - value) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    attn.eval()
    x, value, where = batch(256)
    picked, _ = switch.select(attn.scorer(x).squeeze(-1), 3)
    assert (picked == where[:, None]).any(dim=1).float().mean() > 0.9
    assert ((attn(x)[0][:, -1, 1] - value) ** 2).mean() < 0.2  # and the answer reaches the last query (var 1)
