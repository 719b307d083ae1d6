"""Pre-norm transformer blocks: attention and feed-forward, each with dropout and a residual."""

from __future__ import annotations

import torch
from torch import nn

from forecaster.nn.attention import MultiHeadAttention
from forecaster.nn.common import Dropout


def feed_forward(d_model: int, d_ff: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), Dropout(dropout), nn.Linear(d_ff, d_model))


class TransformerBlock(nn.Module):
    """x + attn(norm(x)), then x + ff(norm(x)). Keyword arguments as `MultiHeadAttention`."""

    def __init__(
        self,
        *,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float,
        pattern: str,
        window: int = 8,
        local_share: float = 0.5,
        attn_dropout: float = 0.0,
        global_share: float = 0.1,
    ):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(
            d_model=d_model,
            n_heads=n_heads,
            pattern=pattern,
            window=window,
            local_share=local_share,
            dropout=attn_dropout,
            global_share=global_share,
        )
        self.ff = feed_forward(d_model, d_ff, dropout)
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor, *, need_weights: bool = False):
        """x: (B, N, D) -> (B, N, D), weights (B, nh, N, N) or None."""
        a, weights = self.attn(self.norm1(x), need_weights=need_weights)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.norm2(x))), weights


class DecoderBlock(nn.Module):
    """Learned queries: self-attention among them, cross-attention to the encoder, feed-forward."""

    def __init__(self, *, d_model: int, n_heads: int, d_ff: int, dropout: float, attn_dropout: float = 0.0):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.self_attn = MultiHeadAttention(d_model=d_model, n_heads=n_heads, pattern="global", dropout=attn_dropout)
        self.cross_attn = MultiHeadAttention(d_model=d_model, n_heads=n_heads, pattern="cross", dropout=attn_dropout)
        self.ff = feed_forward(d_model, d_ff, dropout)
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, *, need_weights: bool = False):
        """x: (B, N, D) query tokens, memory: (B, S, D) -> (B, N, D), cross weights (B, nh, N, S) or None."""
        x = x + self.drop(self.self_attn(self.norm1(x))[0])
        a, weights = self.cross_attn(self.norm2(x), memory, need_weights=need_weights)
        x = x + self.drop(a)
        return x + self.drop(self.ff(self.norm3(x))), weights
