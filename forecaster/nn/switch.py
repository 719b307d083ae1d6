"""The `dynamic` pattern: a learned switch between global and local attention, per token.

"Use global attention for the important elements and local attention for the others." A linear
scorer rates every token; the `k` best-rated tokens of each sequence (`k = ceil(global_share * N)`,
at least one) become *global tokens*, as in Longformer (Beltagy et al., 2020), made causal:

- a global token attends to every key up to itself (causal-global attention);
- any other token attends to its local window (t - w < s <= t) plus every global token before
  that window (s <= t - w), so important tokens stay visible to every later query.

Cost: the local part runs through the blockwise kernel (`local_attention`'s layout, each block's
span plus the k global keys), the global queries through one (k, N) attention: O(N * (w + k))
time and memory, never an N x N matrix. For short sequences (e.g. 42 patch tokens), where scoring
every pair costs no more than the blocks, one SDPA call under a per-sequence (N, N) mask computes
the same numbers.

Selection. The top-k is discrete, so the scorer learns through a straight-through estimator: each
global key's attention logit gets the bias log(m), with m = 1 + sigmoid(s) - sigmoid(s).detach().
In the forward pass m is exactly 1 (the bias is 0: the attention is exactly the hard pattern); in
the backward pass d bias / d s = sigmoid'(s) wherever a global key is seen, so a token's score
rises when the queries that read it gain from doing so, as Mixture-of-Depths (Raposo et al., 2024)
trains its top-k router through the router weight. Only selected tokens get a gradient, so in
training the k tokens are drawn by Gumbel-top-k (sampled without replacement in proportion to
softmax(scores)): with a plain top-k a scorer that starts on the wrong tokens rarely finds the
right ones (tests/nn/test_switch.py: 1 seed in 6 failed to find a marked token; none with the
draw). Evaluation and prediction take the plain top-k. Unlike a soft top-k (a relaxation that
attends to every token a little, O(N^2)), this keeps the forward pass sparse. (A gate on the
values, v * m, instead of the logits was tried: that scorer never found the marked token, since
the gradient of a value's scale says where to push the output, not whether the token is worth
reading.)

Kernel. On long sequences (the blockwise kernel) the bias rides in the keys, not in the mask: q
and k get one more feature, 1 and sqrt(hd) * bias, so that q'.k' / sqrt(hd) = q.k / sqrt(hd) + bias
(v gets a zero feature, dropped from the output). The masks are then boolean and need no gradient,
and every call is four-dimensional, so SDPA takes its fused kernel, which never keeps the attention
weights; an additive float mask that needs a gradient sends it to the math path, which keeps them
all. Short sequences (one dense call, e.g. 42 patch tokens) keep the additive (B, 1, N, N) mask:
there the math path is cheaper than the extra feature's copies (the timings: benchmarks/README.md,
"Long contexts").

Causality. Every query sees no key after itself. The selection ranks the scores of the whole
sequence, so *whether* token t is global can depend on later tokens' scores (as Mixture-of-Depths'
top-k does): an encoder over a forecast's look-back window reads only the past of the forecast,
so nothing of the future leaks into a forecast. Given the selection, the outputs are causal.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from forecaster.nn.masks import window_mask


def n_global(n_tokens: int, share: float) -> int:
    """Global tokens of a sequence of `n_tokens`: ceil(share * N), at least 1, at most N."""
    return min(max(math.ceil(share * n_tokens), 1), n_tokens)


def select(scores: torch.Tensor, k: int, *, explore: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` best-rated positions of each sequence, in position order, and their key bias.

    Args:
        scores: (B, N) token scores.
        explore: rank scores plus Gumbel noise instead (training): k positions drawn without
            replacement with probabilities softmax(scores) (the Gumbel-top-k trick, Kool et al.,
            2019), so tokens the scorer rates low are still tried now and then.

    Returns:
        positions (B, k), int64, ascending; bias (B, k): log(m) of the straight-through estimator,
        exactly 0 in value, with the gradient of sigmoid(score).
    """
    ranked = scores.detach()
    if explore:
        ranked = ranked - torch.log(-torch.log(torch.rand_like(ranked).clamp_min(1e-20)))
    positions = ranked.topk(k, dim=1).indices.sort(dim=1).values  # (B, k)
    gate = torch.sigmoid(scores.gather(1, positions))
    return positions, torch.log(1 + gate - gate.detach())


def switch_mask(positions: torch.Tensor, n_tokens: int, window: int) -> torch.Tensor:
    """(B, N, N) mask: query t sees s <= t within its window, every global s <= t, and all s <= t if global."""
    B = positions.shape[0]
    is_global = torch.zeros(B, n_tokens, dtype=torch.bool, device=positions.device)
    is_global.scatter_(1, positions, True)
    t = torch.arange(n_tokens, device=positions.device)
    causal = t[None, :] <= t[:, None]  # (N, N)
    local = causal & (t[None, :] > t[:, None] - window)
    return local[None] | (causal[None] & (is_global[:, None, :] | is_global[:, :, None]))


def switch_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    positions: torch.Tensor,
    bias: torch.Tensor,
    *,
    window: int,
    block: int,
    dropout_p: float = 0.0,
    blockwise: bool | None = None,
) -> torch.Tensor:
    """Attention of the dynamic switch through the cheapest kernel for it.

    Args:
        q, k, v: (B, nh, N, hd).
        positions, bias: the global tokens and their key bias, from `select`.
        window: keys a non-global query sees around itself, itself included.
        block: queries per block of the blockwise kernel (`attention.block_size`).
        blockwise: force the blockwise kernel (True) or one dense call (False); None: the cheaper.

    Returns:
        (B, nh, N, hd).
    """
    N, hd, b = q.shape[2], q.shape[-1], block
    if blockwise is None:
        blockwise = math.ceil(N / b) * b * (b + window + positions.shape[1] - 1) < N * N
    if not blockwise:  # short: the additive mask's math path is cheaper than the extra feature's copies
        mask = dense_bias(positions, bias.to(q.dtype), N, window)  # SDPA: a float mask of the query's dtype
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    q, k, v = _bias_in_keys(q, k, v, positions, bias)
    out = _blockwise(q, k, v, positions, window=window, dropout_p=dropout_p, block=b, scale=hd**-0.5)
    return out[..., :hd]


def _bias_in_keys(q, k, v, positions, bias) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, nh, N, hd + 1) each: q' = [q, 1], k' = [k, sqrt(hd) * key bias], v' = [v, 0]."""
    B, nh, N, hd = q.shape
    key_bias = torch.zeros(B, N, dtype=q.dtype, device=q.device).scatter(1, positions, bias.to(q.dtype))
    column = (key_bias * math.sqrt(hd))[:, None, :, None].expand(B, nh, N, 1)
    ones, zeros = torch.ones_like(q[..., :1]), torch.zeros_like(v[..., :1])
    return torch.cat([q, ones], dim=-1), torch.cat([k, column], dim=-1), torch.cat([v, zeros], dim=-1)


def dense_bias(positions: torch.Tensor, bias: torch.Tensor, n_tokens: int, window: int) -> torch.Tensor:
    """(B, 1, N, N) additive mask: -inf where `switch_mask` hides a key, the global keys' bias where it shows them."""
    B = positions.shape[0]
    key_bias = torch.zeros(B, n_tokens, dtype=bias.dtype, device=bias.device).scatter(1, positions, bias)
    allowed = switch_mask(positions, n_tokens, window)
    return torch.where(allowed, key_bias[:, None, :], float("-inf")).unsqueeze(1)


def switch_weights(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, positions: torch.Tensor, bias: torch.Tensor, *, window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense reference with explicit weights (B, nh, N, N), for inspection and tests."""
    N = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + dense_bias(positions, bias, N, window)
    weights = scores.softmax(dim=-1)
    return weights @ v, weights


def _blockwise(q, k, v, positions, *, window: int, dropout_p: float, block: int, scale: float) -> torch.Tensor:
    """O(N * (w + k)): the local blocks with the global keys appended, then the global queries."""
    B, nh, N, hd = q.shape
    n_blocks = math.ceil(N / block)
    pad = n_blocks * block - N
    qp, kp, vp = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v)) if pad else (q, k, v)
    # keys of each block: the window's span before it (zero keys before the sequence, masked) and its own
    span = block + window - 1
    kb, vb = (
        F.pad(t, (0, 0, window - 1, 0)).unfold(2, span, block).transpose(-1, -2) for t in (kp, vp)
    )  # (B, nh, blocks, span, hd)
    index = positions[:, None, :, None].expand(B, nh, -1, hd)
    kg, vg = (t.gather(2, index)[:, :, None].expand(-1, -1, n_blocks, -1, -1) for t in (k, v))  # (B, nh, blocks, k, hd)
    t = torch.arange(n_blocks * block, device=q.device).view(n_blocks, block, 1)  # query positions
    s = (
        torch.arange(span, device=q.device)
        - (window - 1)
        + torch.arange(0, n_blocks * block, block, device=q.device)[:, None]
    )
    local = window_mask(t, s[:, None, :], window) & (s[:, None, :] >= 0)  # (blocks, b, span)
    far = positions[:, None, None, :] <= t[None] - window  # (B, blocks, b, k): global keys before the window
    mask = torch.cat([local.expand(B, -1, -1, -1), far], dim=-1)  # (B, blocks, b, span + k)
    # as (B * blocks, nh, ., hd), the mask shared by the heads: SDPA's fused kernel takes four dimensions
    # (the concatenation writes the keys in that layout, so the reshape copies nothing more)
    batch = lambda *parts: torch.cat([x.transpose(1, 2) for x in parts], dim=3).view(B * n_blocks, nh, -1, hd)
    out = F.scaled_dot_product_attention(
        batch(qp.view(B, nh, n_blocks, block, hd)),
        batch(kb, kg),
        batch(vb, vg),
        attn_mask=mask.view(B * n_blocks, 1, block, -1),
        dropout_p=dropout_p,
        scale=scale,
    )
    out = out.view(B, n_blocks, nh, block, hd).transpose(1, 2).reshape(B, nh, n_blocks * block, hd)[:, :, :N]
    # global queries: every key up to themselves
    qg = q.gather(2, index)  # (B, nh, k, hd)
    causal = torch.arange(N, device=q.device)[None, None, :] <= positions[:, :, None]  # (B, k, N)
    g_out = F.scaled_dot_product_attention(qg, k, v, attn_mask=causal[:, None], dropout_p=dropout_p, scale=scale)
    return out.scatter(2, index, g_out)
