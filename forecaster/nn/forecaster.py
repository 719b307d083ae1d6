"""`AttentionForecaster`: patches (or steps) as tokens, a stack of attention blocks, a direct head.

Following PatchTST (Nie et al., ICLR 2023): optional RevIN, then each channel is cut into
overlapping patches that become tokens; with `channel_independent` every channel is its own
sequence through shared weights, otherwise a token holds one patch of every channel. A learned
positional embedding is added; `n_layers` pre-norm blocks with the configured attention pattern
encode the tokens. Encoder-only patterns end in a flatten + linear head that emits all `horizon`
steps at once; `cross` instead feeds learned horizon queries (one per output patch) through
decoder blocks that cross-attend the encoder, each query emitting `patch_len` steps. With
`linear_skip`, a linear map of the (normalised) window is added to the output, as in RLinear (Li et
al., 2023), so attention only has to model what a linear forecast misses.
"""

from __future__ import annotations

import torch
from torch import nn

from forecaster.config import ModelConfig
from forecaster.nn.blocks import DecoderBlock, TransformerBlock
from forecaster.nn.common import Dropout, DataShape, Patcher, RevIN, from_channels, to_channels


class AttentionForecaster(nn.Module):
    """(B, context_len, n_features) -> (B, horizon, n_targets).

    Args:
        cfg: the model section of the config (`attention` picks the pattern).
        shape: facts derived from the data.
    """

    def __init__(self, cfg: ModelConfig, shape: DataShape):
        super().__init__()
        self.shape, self.ci = shape, cfg.channel_independent
        self.revin = RevIN(shape.n_features) if cfg.revin else None
        self.patcher = Patcher(context_len=shape.context_len, patch_len=cfg.patch_len, stride=cfg.stride)
        n_tokens, d = self.patcher.n_patches, cfg.d_model
        self.embed = nn.Linear(cfg.patch_len * (1 if self.ci else shape.n_features), d)
        self.pos = nn.Parameter(0.02 * torch.randn(1, n_tokens, d))
        self.drop = Dropout(cfg.dropout)
        encoder_pattern = "global" if cfg.attention == "cross" else cfg.attention
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model=d, n_heads=cfg.n_heads, d_ff=cfg.d_ff, dropout=cfg.dropout,
                             attn_dropout=cfg.attn_dropout, pattern=encoder_pattern, window=cfg.window,
                             local_share=cfg.local_share)
            for _ in range(cfg.n_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.out_channels = 1 if self.ci else shape.n_targets
        self.skip = nn.Linear(shape.context_len, shape.horizon) if cfg.linear_skip else None
        if cfg.attention == "cross":
            self.n_queries = -(-shape.horizon // cfg.patch_len)
            self.queries = nn.Parameter(0.02 * torch.randn(1, self.n_queries, d))
            self.decoder = nn.ModuleList(
                DecoderBlock(d_model=d, n_heads=cfg.n_heads, d_ff=cfg.d_ff, dropout=cfg.dropout,
                             attn_dropout=cfg.attn_dropout)
                for _ in range(cfg.decoder_layers)
            )
            self.head = nn.Linear(d, cfg.patch_len * self.out_channels)
        else:
            self.decoder = None
            self.head = nn.Sequential(nn.Flatten(1), Dropout(cfg.head_dropout),
                                      nn.Linear(n_tokens * d, shape.horizon * self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, need_weights=False)[0]

    def attention_weights(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Weights of every encoder layer (then every decoder cross-attention), each (B', H, T, S);
        B' = B * n_features when channel-independent."""
        return self._run(x, need_weights=True)[1]

    def encode(self, x: torch.Tensor, *, need_weights: bool = False):
        """Token states of the encoder. x: (B, C, F) already normalised -> (B', N, d_model)."""
        B = x.shape[0]
        if self.ci:
            tokens = self.patcher(to_channels(x))  # (B*F, N, P)
        else:
            patches = self.patcher(to_channels(x))  # (B*F, N, P)
            tokens = patches.reshape(B, -1, *patches.shape[1:]).permute(0, 2, 1, 3).flatten(2)  # (B, N, F*P)
        h = self.drop(self.embed(tokens) + self.pos)  # (B', N, d)
        weights = []
        for block in self.blocks:
            h, w = block(h, need_weights=need_weights)
            weights.append(w)
        return self.norm(h), weights

    def _run(self, x: torch.Tensor, *, need_weights: bool):
        B = x.shape[0]
        stats = None
        if self.revin is not None:
            x, stats = self.revin.normalize(x)
        h, weights = self.encode(x, need_weights=need_weights)  # (B', N, d)
        if self.decoder is None:
            y = self.head(h)  # (B', H * out)
        else:
            q = self.queries.expand(h.shape[0], -1, -1)  # (B', Q, d)
            for block in self.decoder:
                q, w = block(q, h, need_weights=need_weights)
                weights.append(w)
            y = self.head(q).reshape(h.shape[0], -1, self.out_channels)  # (B', Q*P, out)
            y = y[:, : self.shape.horizon].transpose(1, 2).flatten(1)  # (B', out * H)
        y = self._to_output(y, B)  # (B, H, channels)
        if self.skip is not None:  # the attention then models what a linear map of the window misses
            y = y + self.skip(x.transpose(1, 2)).transpose(1, 2)[..., : y.shape[-1]]  # (B, H, channels)
        if stats is not None:
            y = self.revin.denormalize(y, stats)
        return y[..., : self.shape.n_targets], weights

    def _to_output(self, y: torch.Tensor, batch: int) -> torch.Tensor:
        H = self.shape.horizon
        if self.ci:
            return from_channels(y.reshape(-1, H), batch)  # (B, H, F)
        if self.decoder is None:
            return y.reshape(batch, H, self.out_channels)  # (B, H, T)
        return y.reshape(batch, self.out_channels, H).transpose(1, 2)  # (B, H, T)
