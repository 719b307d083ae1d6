"""`AttentionForecaster`: patches (or steps) as tokens, a stack of attention blocks, a direct head.

Following PatchTST (Nie et al., ICLR 2023): the `Tokenizer` applies optional RevIN and turns each
window into patch tokens (per channel, or joint); a learned positional embedding is added;
`n_layers` pre-norm blocks with the configured attention pattern encode the tokens. Encoder-only
patterns end in a `FlattenHead` that emits all `horizon` steps at once; `cross` instead encodes
with global attention and ends in a `QueryHead`: learned horizon queries through decoder blocks
that cross-attend the encoder. With `linear_skip`, a linear map of the (normalised) window is
added to the output, as in RLinear (Li et al., 2023), so attention only has to model what a
linear forecast misses.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from forecaster.nn.blocks import TransformerBlock
from forecaster.nn.common import Dropout
from forecaster.nn.heads import FlattenHead, QueryHead
from forecaster.nn.tokenizer import Tokenizer


class AttentionForecaster(nn.Module):
    """(B, L, F) -> (B, H, K).

    Args:
        n_features, n_targets, context_len, horizon: F, K, L and H of the data.
        attention: the pattern (`global causal local hybrid dynamic cross`).
        d_model, n_heads, n_layers, d_ff: width, heads, encoder blocks, feed-forward width.
        dropout: on residual branches, the feed-forward and the embedded tokens.
        attn_dropout: on attention weights. head_dropout: before the flatten head.
        window, local_share: the local window and the share of local heads (`hybrid`).
        global_share: the share of tokens the `dynamic` switch makes global.
        patch_len, stride, revin, channel_independent: as `Tokenizer`.
        decoder_layers: decoder blocks of `cross`.
        linear_skip: add a linear map of the normalised window to the output.
    """

    def __init__(
        self,
        *,
        n_features: int,
        n_targets: int,
        context_len: int,
        horizon: int,
        attention: str,
        d_model: int,
        n_heads: int,
        n_layers: int,
        d_ff: int,
        dropout: float,
        attn_dropout: float,
        head_dropout: float,
        window: int,
        local_share: float,
        patch_len: int,
        stride: int,
        revin: bool,
        channel_independent: bool,
        decoder_layers: int,
        linear_skip: bool,
        global_share: float = 0.1,
    ):
        super().__init__()
        cross = attention == "cross"
        self.tokenizer = Tokenizer(
            n_features=n_features,
            n_targets=n_targets,
            context_len=context_len,
            patch_len=patch_len,
            stride=stride,
            revin=revin,
            channel_independent=channel_independent,
        )
        n_tokens, out = self.tokenizer.n_tokens, self.tokenizer.out_channels
        self.embed = nn.Linear(self.tokenizer.token_dim, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(1, n_tokens, d_model))
        self.drop = Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_model=d_model,
                n_heads=n_heads,
                d_ff=d_ff,
                dropout=dropout,
                attn_dropout=attn_dropout,
                pattern="global" if cross else attention,
                window=window,
                local_share=local_share,
                global_share=global_share,
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.skip = nn.Linear(context_len, horizon) if linear_skip else None
        if cross:
            self.queries = nn.Parameter(0.02 * torch.randn(1, math.ceil(horizon / patch_len), d_model))
            self.head = QueryHead(
                d_model=d_model,
                n_heads=n_heads,
                d_ff=d_ff,
                dropout=dropout,
                attn_dropout=attn_dropout,
                n_layers=decoder_layers,
                horizon=horizon,
                patch_len=patch_len,
                out_channels=out,
            )
        else:
            self.queries = None
            self.head = FlattenHead(
                n_tokens=n_tokens, d_model=d_model, horizon=horizon, out_channels=out, dropout=head_dropout
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, need_weights=False)[0]

    def attention_weights(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Weights of every encoder layer (then every decoder cross-attention), each (B', nh, N, S)."""
        return self._run(x, need_weights=True)[1]

    def encode(self, x: torch.Tensor, *, need_weights: bool = False):
        """Token states of the encoder. x: (B, L, F) already normalised -> (B', N, D), weights per layer."""
        h = self.drop(self.embed(self.tokenizer(x)) + self.pos)  # (B', N, D)
        weights = []
        for block in self.blocks:
            h, w = block(h, need_weights=need_weights)
            weights.append(w)
        return self.norm(h), weights

    def _run(self, x: torch.Tensor, *, need_weights: bool):
        x, stats = self.tokenizer.normalize(x)  # (B, L, F)
        h, weights = self.encode(x, need_weights=need_weights)  # (B', N, D)
        y, head_weights = self.head(h, self.queries, need_weights=need_weights)  # (B', H, out)
        y = self.tokenizer.merge(y, x.shape[0])  # (B, H, C)
        if self.skip is not None:  # the attention then models what a linear map of the window misses
            y = y + self.skip(x.transpose(1, 2)).transpose(1, 2)[..., : y.shape[-1]]  # (B, H, C)
        return self.tokenizer.restore(y, stats), weights + head_weights  # (B, H, K)
