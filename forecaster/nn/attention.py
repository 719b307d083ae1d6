"""One multi-head attention module; the pattern (which keys a query sees) is configuration.

Patterns (see DESIGN.md): `global` (bidirectional), `causal`, `local` (causal sliding window of
`window` tokens, the query included), `hybrid` (some heads local, the rest causal-global, in the
same layer), `dynamic` (a learned per-token, per-head gate between the local and the causal-global
result) and `cross` (queries from a decoder, keys and values from the encoder's memory).

The fast path calls `torch.nn.functional.scaled_dot_product_attention`; the local pattern uses the
blockwise kernel `local_attention`, whose time and memory grow as O(T * window), never building a
T x T matrix (on sequences so short that scoring every pair costs no more than the blocks, e.g. 42
patch tokens, one SDPA call under a shared (T, T) mask is cheaper and is used instead). With `need_weights=True` the module instead computes the dense weights explicitly
(the same numbers, for inspection and plots; it materialises T x T, so keep it off the fast path).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from forecaster.config import ATTENTION_PATTERNS
from forecaster.errors import ConfigError
from forecaster.nn.masks import causal_mask, full_mask, local_mask

MIN_BLOCK = 32  # queries per block of the local kernel; a block is at least one window long


def block_size(n_tokens: int, window: int) -> int:
    """Default queries per block of `local_attention`."""
    return max(window, min(MIN_BLOCK, n_tokens))


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, *,
                    dropout_p: float = 0.0, block: int | None = None) -> torch.Tensor:
    """Causal sliding-window attention in O(T * window) time and memory.

    Queries are cut into blocks of `b` tokens; each block attends to its own keys and the
    `window - 1` keys before it (a span of b + window - 1 keys) under one small (b, span) mask
    shared by every block. The first block has no keys before it and is attended separately with
    a (b, b) mask, so no padding key ever needs masking and no per-block mask is built.

    Args:
        q, k, v: (B, H, T, D).
        window: keys per query, the query included (t - window < s <= t).
        dropout_p: dropout on the attention weights.
        block: queries per block; default max(window, min(32, T)).

    Returns:
        (B, H, T, D).
    """
    B, H, T, D = q.shape
    b = block or block_size(T, window)
    if b < window - 1:
        raise ValueError(f"block ({b}) must be at least window - 1 ({window - 1})")
    n_blocks = -(-T // b)
    pad = n_blocks * b - T
    if pad:  # padded queries and keys sit after every real one, so causality keeps them unseen
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
    a = torch.arange(b, device=q.device)[:, None]  # query offset in its block
    first = F.scaled_dot_product_attention(  # block 0: keys 0..b-1, causal window
        q[:, :, :b], k[:, :, :b], v[:, :, :b], attn_mask=_window_mask(a, torch.arange(b, device=q.device), window),
        dropout_p=dropout_p)
    if n_blocks == 1:
        return first[:, :, :T]
    span = b + window - 1
    start = b - (window - 1)  # first key of block 1's span
    qb = q[:, :, b:].reshape(B * H, n_blocks - 1, b, D)  # (BH, nb-1, b, D)
    kb = k[:, :, start:].unfold(2, span, b).transpose(-1, -2).reshape(B * H, n_blocks - 1, span, D)
    vb = v[:, :, start:].unfold(2, span, b).transpose(-1, -2).reshape(B * H, n_blocks - 1, span, D)
    j = torch.arange(span, device=q.device) - (window - 1)  # key position relative to the block start
    rest = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=_window_mask(a, j, window)[None, None],
                                          dropout_p=dropout_p)  # (BH, nb-1, b, D)
    out = torch.cat([first, rest.reshape(B, H, (n_blocks - 1) * b, D)], dim=2)
    return out[:, :, :T]  # (B, H, T, D)


def _window_mask(queries: torch.Tensor, keys: torch.Tensor, window: int) -> torch.Tensor:
    """(b, S) mask from query positions (b, 1) and key positions (S,): key in (t - window, t]."""
    return (keys[None, :] <= queries) & (keys[None, :] > queries - window)


def dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
                    *, dropout_p: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention with explicit weights. mask: (H or 1, T, S), True = may attend.

    Returns:
        output (B, H, T, D) and weights (B, H, T, S).
    """
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, H, T, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    dropped = F.dropout(weights, p=dropout_p) if dropout_p else weights
    return dropped @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention with a configurable pattern, for self- and cross-attention.

    Args:
        d_model: model width; split evenly across heads.
        n_heads: number of heads.
        pattern: one of `global causal local hybrid dynamic cross`.
        window: tokens a local query sees, itself included (local, hybrid, dynamic).
        local_share: share of heads that are local in `hybrid` (at least one of each kind).
        dropout: dropout on the attention weights.
    """

    def __init__(self, *, d_model: int, n_heads: int, pattern: str = "causal", window: int = 8,
                 local_share: float = 0.5, dropout: float = 0.0):
        super().__init__()
        if pattern not in ATTENTION_PATTERNS:
            raise ConfigError(f"unknown attention pattern '{pattern}'; valid: {', '.join(ATTENTION_PATTERNS)}")
        if d_model % n_heads:
            raise ConfigError(f"model.d_model ({d_model}) must be divisible by model.n_heads ({n_heads})")
        if window < 1:
            raise ConfigError(f"model.window must be at least 1, got {window}")
        self.pattern, self.window, self.n_heads, self.dropout = pattern, window, n_heads, dropout
        self.n_local = {"local": n_heads, "hybrid": min(max(round(local_share * n_heads), 1), n_heads - 1)}.get(pattern, 0)
        if pattern == "hybrid" and n_heads < 2:
            raise ConfigError("the hybrid pattern needs model.n_heads >= 2 (some local, some global)")
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_proj = nn.Linear(d_model, 2 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.gate = nn.Linear(d_model, n_heads) if pattern == "dynamic" else None

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None, *,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, T, d_model); memory: (B, S, d_model) for `cross`, else None.

        Returns:
            output (B, T, d_model) and, if `need_weights`, weights (B, H, T, S), else None.
        """
        B, T, d = x.shape
        source = x if memory is None else memory
        q = self.q_proj(x).view(B, T, self.n_heads, -1).transpose(1, 2)  # (B, H, T, D)
        k, v = self.kv_proj(source).view(B, source.shape[1], 2, self.n_heads, -1).permute(2, 0, 3, 1, 4)  # 2 x (B, H, S, D)
        p = self.dropout if self.training else 0.0
        if need_weights:
            out, weights = self._with_weights(q, k, v, x, p)
        else:
            out, weights = self._fast(q, k, v, x, p), None
        return self.out_proj(out.transpose(1, 2).reshape(B, T, d)), weights

    def _fast(self, q, k, v, x, p) -> torch.Tensor:
        sdpa = F.scaled_dot_product_attention
        if self.pattern in ("global", "cross"):
            return sdpa(q, k, v, dropout_p=p)
        if self.pattern == "causal":
            return sdpa(q, k, v, dropout_p=p, is_causal=True)
        if self.pattern == "local":
            return self._local(q, k, v, p)
        if self.pattern == "hybrid":
            n = self.n_local
            local = self._local(q[:, :n], k[:, :n], v[:, :n], p)
            return torch.cat([local, sdpa(q[:, n:], k[:, n:], v[:, n:], dropout_p=p, is_causal=True)], dim=1)
        g = self._gate(x)  # dynamic
        local = self._local(q, k, v, p)
        return g * local + (1 - g) * sdpa(q, k, v, dropout_p=p, is_causal=True)

    def _local(self, q, k, v, p) -> torch.Tensor:
        """The blockwise kernel, or one SDPA call under a shared (T, T) mask where the sequence is
        so short that scoring every pair costs no more than the blocks would (e.g. 42 patches)."""
        T = q.shape[2]
        b = block_size(T, self.window)
        if T * T > -(-T // b) * b * (b + self.window - 1):
            return local_attention(q, k, v, self.window, dropout_p=p, block=b)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=local_mask(T, self.window, device=q.device),
                                              dropout_p=p)

    def _gate(self, x: torch.Tensor) -> torch.Tensor:
        """Per-token, per-head weight of the local result: (B, H, T, 1)."""
        return torch.sigmoid(self.gate(x)).transpose(1, 2).unsqueeze(-1)

    def pattern_mask(self, n_queries: int, n_keys: int, *, device=None) -> torch.Tensor:
        """(H, T, S) mask of the keys each head's query may see (dynamic: the union)."""
        H = self.n_heads
        if self.pattern in ("global", "cross"):
            return full_mask(n_queries, n_keys, device=device).expand(H, -1, -1)
        causal = causal_mask(n_queries, device=device)
        local = local_mask(n_queries, self.window, device=device)
        heads = [local] * self.n_local + [causal] * (H - self.n_local)
        return torch.stack(heads) if self.pattern != "dynamic" else causal.expand(H, -1, -1)

    def _with_weights(self, q, k, v, x, p) -> tuple[torch.Tensor, torch.Tensor]:
        T, S = q.shape[2], k.shape[2]
        if self.pattern != "dynamic":
            return dense_attention(q, k, v, self.pattern_mask(T, S, device=q.device), dropout_p=p)
        g = self._gate(x)
        local_out, local_w = dense_attention(q, k, v, local_mask(T, self.window, device=q.device), dropout_p=p)
        glob_out, glob_w = dense_attention(q, k, v, causal_mask(T, device=q.device), dropout_p=p)
        return g * local_out + (1 - g) * glob_out, g * local_w + (1 - g) * glob_w
