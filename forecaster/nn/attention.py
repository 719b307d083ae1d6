"""One multi-head attention module; the pattern (which keys a query sees) is data.

Patterns (table in the README): `global` (bidirectional), `causal`, `local` (causal sliding window of
`window` tokens, the query included), `hybrid` (some heads local, the rest causal-global, in the
same layer), `dynamic` (a learned switch: the best-rated tokens attend globally and stay visible
to every later query, the others attend locally; `forecaster.nn.switch`) and `cross` (queries from
a decoder, keys and values from the encoder's memory).

A pattern is an entry of `PATTERNS` (`forecaster.nn.patterns`, the one list of pattern names): the
groups of heads it splits into and what each group does. At construction the module resolves the
entry into `HeadGroup`s (which heads, window or None, causal or not, gated or not), as nanochat
computes each layer's window as data; every forward then runs the same code, and adding a pattern
means adding a table entry, not a branch.

`attend` is the one place that picks a kernel: `torch.nn.functional.scaled_dot_product_attention`
(fused, `is_causal`) for global and causal heads; for windowed heads the blockwise kernel
`local_attention`, whose time and memory grow as O(N * W), never building an N x N matrix, or, on
sequences so short that scoring every pair costs no more than the blocks (e.g. 42 patch tokens),
one SDPA call under a shared (N, N) mask. With `need_weights=True` the module instead computes
the dense weights explicitly (the same numbers, for inspection and plots; it materialises N x S,
so keep it off the fast path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from forecaster.nn import switch
from forecaster.nn.common import dropout_problems, raise_first
from forecaster.nn.masks import attention_mask, window_mask
from forecaster.nn.patterns import PATTERNS, pattern_problems

MIN_BLOCK = 32  # queries per block of the local kernel; a block is at least one window long


@dataclass(frozen=True)
class HeadGroup:
    """Heads `start:stop` attend with `window` keys (None: no window), causally or not, switched or not."""

    start: int
    stop: int
    window: int | None
    causal: bool
    switched: bool


def head_groups(pattern: str, *, n_heads: int, window: int, local_share: float) -> tuple[HeadGroup, ...]:
    """Resolve `PATTERNS[pattern]` for `n_heads` heads."""
    raise_first(pattern_problems(pattern, n_heads=n_heads))
    specs = PATTERNS[pattern]
    n_share = min(max(round(local_share * n_heads), 1), n_heads - 1)
    spans = {"all": (0, n_heads), "share": (0, n_share), "rest": (n_share, n_heads)}
    return tuple(
        HeadGroup(*spans[spec.heads], window if spec.local else None, spec.causal, spec.switched) for spec in specs
    )


def attention_problems(*, pattern: str, d_model: int, n_heads: int, window: int, prefix: str = "") -> list[str]:
    """What is wrong with an attention layer's settings, in the order they are checked (empty: nothing).

    The one statement of these rules: `MultiHeadAttention` raises the first, and `forecaster.models`
    reports it before building, with `prefix` "model." so that the message names the config keys.
    """
    if pattern not in PATTERNS:
        return pattern_problems(pattern, n_heads=n_heads, prefix=prefix)
    if n_heads < 1:
        return [f"{prefix}n_heads must be at least 1, got {n_heads}"]
    problems = []
    if d_model % n_heads:
        problems.append(f"{prefix}d_model ({d_model}) must be divisible by {prefix}n_heads ({n_heads})")
    if window < 1:
        problems.append(f"{prefix}window must be at least 1, got {window}")
    return problems + pattern_problems(pattern, n_heads=n_heads, prefix=prefix)


def block_size(n_tokens: int, window: int) -> int:
    """Default queries per block of `local_attention`."""
    return max(window, min(MIN_BLOCK, n_tokens))


def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, window: int | None, causal: bool, dropout_p: float = 0.0
) -> torch.Tensor:
    """Attention of one head group through the cheapest kernel for it.

    Args:
        q: (B, nh, N, hd); k, v: (B, nh, S, hd).
        window: keys a query sees, itself included (causal only); None for no window.
        causal: no key after the query (a window implies it).
        dropout_p: dropout on the attention weights.

    Returns:
        (B, nh, N, hd).
    """
    if window is None:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=causal)
    if not causal:
        raise ValueError("a local window is causal; pass causal=True with a window")
    N = q.shape[2]
    b = block_size(N, window)
    if math.ceil(N / b) * b * (b + window - 1) < N * N:  # the blocks score fewer pairs than N x N
        return local_attention(q, k, v, window, dropout_p=dropout_p, block=b)
    mask = attention_mask(N, N, window=window, causal=True, device=q.device)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)


def local_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, *, dropout_p: float = 0.0, block: int | None = None
) -> torch.Tensor:
    """Causal sliding-window attention in O(N * W) time and memory.

    Queries are cut into blocks of `b` tokens; each block attends to its own keys and the
    `window - 1` keys before it (a span of b + window - 1 keys) under one small (b, span) mask
    shared by every block. The first block has no keys before it and is attended separately with
    a (b, b) mask, so no padding key ever needs masking and no per-block mask is built.

    Args:
        q, k, v: (B, nh, N, hd).
        window: keys per query, the query included (t - window < s <= t).
        dropout_p: dropout on the attention weights.
        block: queries per block; default max(window, min(32, N)).

    Returns:
        (B, nh, N, hd).
    """
    B, nh, N, hd = q.shape
    b = block or block_size(N, window)
    if b < window - 1:
        raise ValueError(f"block ({b}) must be at least window - 1 ({window - 1})")
    n_blocks = math.ceil(N / b)
    pad = n_blocks * b - N
    if pad:  # padded queries and keys sit after every real one, so causality keeps them unseen
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
    a = torch.arange(b, device=q.device)[:, None]  # query offset in its block, (b, 1)
    first = F.scaled_dot_product_attention(  # block 0: keys 0..b-1, causal window
        q[:, :, :b],
        k[:, :, :b],
        v[:, :, :b],
        attn_mask=window_mask(a, torch.arange(b, device=q.device), window),
        dropout_p=dropout_p,
    )
    if n_blocks == 1:
        return first[:, :, :N]
    span = b + window - 1
    start = b - (window - 1)  # first key of block 1's span
    qb = q[:, :, b:].reshape(B * nh, n_blocks - 1, b, hd)  # (B*nh, blocks-1, b, hd)
    kb = k[:, :, start:].unfold(2, span, b).transpose(-1, -2).reshape(B * nh, n_blocks - 1, span, hd)
    vb = v[:, :, start:].unfold(2, span, b).transpose(-1, -2).reshape(B * nh, n_blocks - 1, span, hd)
    j = torch.arange(span, device=q.device) - (window - 1)  # key position relative to the block start
    rest = F.scaled_dot_product_attention(
        qb, kb, vb, attn_mask=window_mask(a, j, window)[None, None], dropout_p=dropout_p
    )  # (B*nh, blocks-1, b, hd)
    out = torch.cat([first, rest.reshape(B, nh, (n_blocks - 1) * b, hd)], dim=2)
    return out[:, :, :N]  # (B, nh, N, hd)


def dense_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, *, dropout_p: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention with explicit weights. mask: (nh or 1, N, S) or (N, S), True = may attend.

    Returns:
        output (B, nh, N, hd) and weights (B, nh, N, S).
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, nh, N, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p else weights
    return dropped @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention with a pattern from `PATTERNS`, for self- and cross-attention.

    Args:
        d_model: model width; split evenly across heads.
        n_heads: number of heads.
        pattern: a name of `PATTERNS`.
        window: tokens a local query sees, itself included (local, hybrid, dynamic).
        local_share: share of heads that are local in `hybrid` (at least one of each kind).
        dropout: dropout on the attention weights.
        global_share: share of tokens that are global in `dynamic` (at least one).
    """

    def __init__(
        self,
        *,
        d_model: int,
        n_heads: int,
        pattern: str = "causal",
        window: int = 8,
        local_share: float = 0.5,
        dropout: float = 0.0,
        global_share: float = 0.1,
    ):
        super().__init__()
        raise_first(attention_problems(pattern=pattern, d_model=d_model, n_heads=n_heads, window=window))
        raise_first(dropout_problems(dropout, name="attention dropout"))
        self.pattern, self.window, self.n_heads, self.dropout = pattern, window, n_heads, dropout
        self.global_share = global_share
        self.groups = head_groups(pattern, n_heads=n_heads, window=window, local_share=local_share)
        self.switched = any(group.switched for group in self.groups)
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_proj = nn.Linear(d_model, 2 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.scorer = nn.Linear(d_model, 1) if self.switched else None  # token importance of the switch

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor | None = None, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, N, D); memory: (B, S, D) for `cross`, else None.

        Returns:
            output (B, N, D) and, if `need_weights`, weights (B, nh, N, S), else None.
        """
        B, N, D = x.shape
        source = x if memory is None else memory
        q = self.q_proj(x).view(B, N, self.n_heads, -1).transpose(1, 2)  # (B, nh, N, hd)
        k, v = (
            self.kv_proj(source).view(B, source.shape[1], 2, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        )  # 2 x (B, nh, S, hd)
        p = self.dropout if self.training else 0.0
        if self.switched:
            out, weights = self._switch(x, q, k, v, p, need_weights)
        elif need_weights:  # the groups own disjoint heads: one dense call under the per-head mask
            out, weights = dense_attention(q, k, v, self.pattern_mask(N, k.shape[2], device=q.device), dropout_p=p)
        else:
            outs = [
                attend(*self._heads(group, q, k, v), window=group.window, causal=group.causal, dropout_p=p)
                for group in self.groups
            ]
            out, weights = (outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)), None
        return self.out_proj(out.transpose(1, 2).reshape(B, N, D)), weights

    def _switch(self, x, q, k, v, p: float, need_weights: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The dynamic switch: the best-rated tokens global, the others local (`forecaster.nn.switch`)."""
        N = x.shape[1]
        n_global = switch.n_global(N, self.global_share)
        positions, bias = switch.select(self._scores(x), n_global, explore=self.training)
        if need_weights:
            return switch.switch_weights(q, k, v, positions, bias, window=self.window)
        block = block_size(N, self.window)
        return switch.switch_attention(q, k, v, positions, bias, window=self.window, block=block, dropout_p=p), None

    def _scores(self, x: torch.Tensor) -> torch.Tensor:
        """The switch's token scores (B, N), in float32 even under mixed precision: bfloat16's 8-bit
        mantissa ties nearby scores, and the top-k then picks among the ties arbitrarily (5% of
        sequences got other global tokens than the float32 forecast would), so the tokens chosen in a
        bf16-mixed fit are those the float32 package chooses."""
        with torch.autocast(x.device.type, enabled=False):
            return self.scorer(x.to(self.scorer.weight.dtype)).squeeze(-1)  # the weights: float32 (or 64)

    def _heads(self, group: HeadGroup, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The group's heads of each (B, nh, ., hd) tensor (the tensor itself when it has them all)."""
        if (group.start, group.stop) == (0, self.n_heads):
            return tensors
        return tuple(t[:, group.start : group.stop] for t in tensors)

    def pattern_mask(self, n_queries: int, n_keys: int, *, device=None) -> torch.Tensor:
        """(nh, N, S) mask of the keys each head's query may see (switched heads: the union, causal)."""
        mask = torch.zeros(self.n_heads, n_queries, n_keys, dtype=torch.bool, device=device)
        for group in self.groups:
            mask[group.start : group.stop] |= self._group_mask(group, n_queries, n_keys, device)
        return mask

    @staticmethod
    def _group_mask(group: HeadGroup, n_queries: int, n_keys: int, device) -> torch.Tensor:
        window = None if group.switched else group.window  # a global token sees every earlier key
        return attention_mask(n_queries, n_keys, window=window, causal=group.causal, device=device)
