"""`AttentionForecaster`: patches (or steps) as tokens, a stack of attention blocks, a direct head.

Following PatchTST (Nie et al., ICLR 2023): the `Tokenizer` applies optional RevIN and turns each
window into patch tokens (per channel, or joint); a learned positional embedding is added;
`n_layers` pre-norm blocks with the configured attention pattern encode the tokens. Encoder-only
patterns end in a `FlattenHead` that emits all `horizon` steps at once; `cross` instead encodes
with global attention and ends in a `QueryHead`: learned horizon queries through decoder blocks
that cross-attend the encoder. With `linear_skip`, a linear map of the (normalised) window is
added to the output, as in RLinear (Li et al., 2023), so attention only has to model what a
linear forecast misses.

Covariates (`forecaster.nn.covariates`; README, "Covariates"): future-known features become
`FutureTokens`, one per patch of the horizon. Encoder-only patterns append them after the history
tokens, so causal and local patterns keep their meaning (a history token never sees them; they
read the history, and the flatten head reads them); `cross` adds them to its learned decoder
queries, so each query knows the covariates of the steps it emits. A static embedding is added to
every token. In channel-independent mode, where each channel is its own sequence, the covariate
channels' patches are embedded and added to every channel's tokens (`PastCovariateTokens`), and
the future tokens are repeated for each channel's sequence, so the targets' tokens see both.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from forecaster.nn.blocks import TransformerBlock
from forecaster.nn.common import COVARIATE_KINDS, Dropout, Network
from forecaster.nn.covariates import FutureTokens, PastCovariateTokens, static_embedding
from forecaster.nn.heads import FlattenHead, QueryHead
from forecaster.nn.tokenizer import Tokenizer


class AttentionForecaster(Network):
    """(B, L, F) -> (B, H, K).

    Args:
        n_features, n_targets, context_len, horizon: F, K, L and H of the data.
        attention: the pattern, a name of `forecaster.nn.patterns.PATTERNS`.
        d_model, n_heads, n_layers, d_ff: width, heads, encoder blocks, feed-forward width.
        dropout: on residual branches, the feed-forward and the embedded tokens.
        attn_dropout: on attention weights. head_dropout: before the flatten head.
        head_rank: the flatten head's rank (0: full; `FlattenHead`).
        window, local_share: the local window and the share of local heads (`hybrid`).
        global_share: the share of tokens the `dynamic` switch makes global.
        patch_len, stride, revin, channel_independent: as `Tokenizer`.
        decoder_layers: decoder blocks of `cross`.
        linear_skip: add a linear map of the normalised window to the output.
        n_future: Fk, the future-known features (the last Fk of the F; 0: none).
        static_cardinalities: per static covariate, its categories, 0 for a numeric one (empty: none).
    """

    TRAINABLE = True
    HAS_QUANTILES = False
    NEEDS_UNITS = False
    SHOWS_ATTENTION = True
    COVARIATES = COVARIATE_KINDS

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
        head_rank: int = 0,
        n_future: int = 0,
        static_cardinalities: list[int] = (),
    ):
        super().__init__()
        cross = attention == "cross"
        n_future_tokens = math.ceil(horizon / patch_len) if n_future and not cross else 0
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
                n_tokens=n_tokens + n_future_tokens,
                d_model=d_model,
                horizon=horizon,
                out_channels=out,
                dropout=head_dropout,
                rank=head_rank,
            )
        # covariates last: without them the parameters (and the random draws) are the same as before
        self.future_tokens = self.past_tokens = None
        if n_future:
            self.future_tokens = FutureTokens(n_future=n_future, horizon=horizon, patch_len=patch_len, d_model=d_model)
        if channel_independent and n_features > n_targets:  # else a target's sequence never sees the covariates
            self.past_tokens = PastCovariateTokens(
                n_features=n_features, n_targets=n_targets, patch_len=patch_len, d_out=d_model
            )
        self.static = static_embedding(static_cardinalities, d_model)

    def forward(self, x: torch.Tensor, future: torch.Tensor | None = None, static: torch.Tensor | None = None):
        """x (B, L, F), future (B, H, Fk), static (B, Z) -> (B, H, K)."""
        return self._run(x, future, static, need_weights=False)[0]

    def attention_weights(self, x: torch.Tensor, future=None, static=None) -> list[torch.Tensor]:
        """Weights of every encoder layer (then every decoder cross-attention), each (B', nh, N, S)."""
        return self._run(x, future, static, need_weights=True)[1]

    def encode(self, x: torch.Tensor, future=None, static=None, *, need_weights: bool = False):
        """Token states of the encoder. x: (B, L, F) already normalised -> (B', N (+ Nf), D), weights per layer."""
        patches = self.tokenizer(x)  # (B', N, token_dim)
        tokens = self.embed(patches) + self.pos  # (B', N, D)
        if self.past_tokens is not None:
            tokens = tokens + self.past_tokens(patches)
        if self.future_tokens is not None and self.queries is None:  # after the history: causal masks still hold
            tokens = torch.cat([tokens, self.tokenizer.per_sequence(self.future_tokens(future))], dim=1)
        if self.static is not None:
            tokens = tokens + self.tokenizer.per_sequence(self.static(static))[:, None]  # (B', N, D)
        h = self.drop(tokens)
        weights = []
        for block in self.blocks:
            h, w = block(h, need_weights=need_weights)
            weights.append(w)
        return self.norm(h), weights

    def _run(self, x: torch.Tensor, future, static, *, need_weights: bool):
        x, stats = self.tokenizer.normalize(x)  # (B, L, F)
        h, weights = self.encode(x, future, static, need_weights=need_weights)  # (B', N, D)
        queries = self.queries
        if queries is not None and self.future_tokens is not None:  # `cross`: the covariates in the queries
            queries = queries + self.tokenizer.per_sequence(self.future_tokens(future))  # (B', ceil(H/P), D)
        y, head_weights = self.head(h, queries, need_weights=need_weights)  # (B', H, out)
        y = self.tokenizer.merge(y, x.shape[0])  # (B, H, C)
        if self.skip is not None:  # the attention then models what a linear map of the window misses
            y = y + self.skip(x.transpose(1, 2)).transpose(1, 2)[..., : y.shape[-1]]  # (B, H, C)
        return self.tokenizer.restore(y, stats), weights + head_weights  # (B, H, K)
