"""Output heads of `AttentionForecaster`, one per output mode; each maps encoder states
(B', N, D) to (B', H, out_channels) and returns the attention weights it computed.

`FlattenHead` (encoder-only patterns, PatchTST): flatten every token state and map them with one
linear layer to all H steps at once; with `rank` r, through r values first (a low-rank map whose
parameters grow as r * (N * D + H) instead of N * D * H: for long horizons, where the full head
overfits). `QueryHead` (`cross`): learned horizon queries, one per output patch, pass through
decoder blocks that cross-attend the encoder; each emits P steps.
The queries are a parameter of the forecaster (next to the token positions) and come in as an
argument, so the parameters keep their order, which the gradient-clipping norm sums in.
"""

from __future__ import annotations

import torch
from torch import nn

from forecaster.nn.blocks import DecoderBlock
from forecaster.nn.common import Dropout


class FlattenHead(nn.Module):
    """Flatten + dropout + linear: (B', N, D) -> (B', H, out_channels).

    Args:
        n_tokens: N; d_model: D; horizon: H; out_channels: values per step.
        dropout: on the flattened states.
        rank: 0 for one full linear map; r >= 1 for a rank-r map (N*D -> r -> H*out).
    """

    def __init__(self, *, n_tokens: int, d_model: int, horizon: int, out_channels: int, dropout: float, rank: int = 0):
        super().__init__()
        self.horizon, self.out_channels = horizon, out_channels
        self.drop = Dropout(dropout)
        n_in, n_out = n_tokens * d_model, horizon * out_channels
        self.linear = (
            nn.Sequential(nn.Linear(n_in, rank, bias=False), nn.Linear(rank, n_out)) if rank else nn.Linear(n_in, n_out)
        )

    def forward(
        self, h: torch.Tensor, queries: None = None, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """h: (B', N, D); queries: None (this head reads only the tokens) -> (B', H, out_channels), []."""
        y = self.linear(self.drop(h.flatten(1)))  # (B', H*out)
        return y.reshape(h.shape[0], self.horizon, self.out_channels), []


class QueryHead(nn.Module):
    """Decoder blocks over learned horizon queries, then a linear map of each query to P steps.

    Args:
        d_model, n_heads, d_ff, dropout, attn_dropout: as `DecoderBlock`.
        n_layers: decoder blocks.
        horizon: H; patch_len: P, steps each query emits; out_channels: values per step.
    """

    def __init__(
        self,
        *,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float,
        attn_dropout: float,
        n_layers: int,
        horizon: int,
        patch_len: int,
        out_channels: int,
    ):
        super().__init__()
        self.horizon, self.out_channels = horizon, out_channels
        self.decoder = nn.ModuleList(
            DecoderBlock(d_model=d_model, n_heads=n_heads, d_ff=d_ff, dropout=dropout, attn_dropout=attn_dropout)
            for _ in range(n_layers)
        )
        self.linear = nn.Linear(d_model, patch_len * out_channels)

    def forward(
        self, h: torch.Tensor, queries: torch.Tensor, *, need_weights: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """h: (B', N, D), queries: (1, ceil(H / P), D) -> (B', H, out_channels), cross weights per layer."""
        q = queries.expand(h.shape[0], -1, -1)  # (B', ceil(H/P), D)
        weights = []
        for block in self.decoder:
            q, w = block(q, h, need_weights=need_weights)
            weights.append(w)
        y = self.linear(q).reshape(h.shape[0], -1, self.out_channels)  # (B', ceil(H/P)*P, out)
        return y[:, : self.horizon], weights  # (B', H, out)
