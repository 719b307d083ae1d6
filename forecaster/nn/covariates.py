"""How covariates enter the networks: embeddings shared by every family.

A network takes ``forward(x, future=None, static=None)``: x (B, L, F) holds every input feature
over the context (targets first, then past-observed covariates, then the future-known ones: user
columns and calendar features); future (B, H, Fk) holds the future-known features over the horizon
(the last Fk of the F); static (B, Z) the series' static covariates, numeric ones standardised and
categorical ones as category codes. Which family uses which piece, and how, is in the README
("Covariates"); the pieces:

- `StaticEmbedding`: one learned vector per category of each categorical column plus a linear
  map of the numeric columns, summed (entity embeddings, as in TFT and DeepAR).
- `FutureTokens`: the horizon cut into ceil(H / P) patches of P steps; each patch of every
  future-known feature is embedded linearly with a learned position, one token per patch, the
  same tokenisation as the history's (PatchTST), so attention treats them as more tokens.
- `PastCovariateTokens`: in channel-independent mode a target channel's sequence holds only its
  own patches; this embeds the covariate channels' patches at each position and adds them to every
  channel's tokens, so the targets see the past covariates (otherwise silently ignored).
- `CovariateMap`: a linear map of the flattened future-known features, past covariates and the
  static embedding straight to the (B, H, K) forecast: the linear model's (and any direct head's)
  way in.

Modules exist only for the covariates a dataset has, and are created after the network's other
parameters, so a network without covariates has exactly the parameters (and random draws) it had.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class StaticEmbedding(nn.Module):
    """(B, Z) static covariates -> (B, d_out).

    Args:
        cardinalities: per static column, its number of categories, or 0 for a numeric column.
        d_out: the embedding width.
    """

    def __init__(self, *, cardinalities: list[int], d_out: int):
        super().__init__()
        self.categorical = [k for k, c in enumerate(cardinalities) if c]
        self.numeric = [k for k, c in enumerate(cardinalities) if not c]
        self.embeddings = nn.ModuleList(nn.Embedding(cardinalities[k], d_out) for k in self.categorical)
        self.linear = nn.Linear(len(self.numeric), d_out) if self.numeric else None

    def forward(self, static: torch.Tensor) -> torch.Tensor:
        out = 0
        for k, embedding in zip(self.categorical, self.embeddings):
            out = out + embedding(static[:, k].long())  # (B, d_out)
        if self.linear is not None:
            out = out + self.linear(static[:, self.numeric])
        return out


def static_embedding(cardinalities: list[int], d_out: int) -> StaticEmbedding | None:
    return StaticEmbedding(cardinalities=list(cardinalities), d_out=d_out) if cardinalities else None


class FutureTokens(nn.Module):
    """(B, H, Fk) future-known features -> (B, ceil(H / P), D) tokens, one per patch of P steps.

    The horizon is padded at the end with copies of its last step to whole patches (as the history).

    Args:
        n_future: Fk; horizon: H; patch_len: P; d_model: D.
    """

    def __init__(self, *, n_future: int, horizon: int, patch_len: int, d_model: int):
        super().__init__()
        self.patch_len = patch_len
        self.n_tokens = math.ceil(horizon / patch_len)
        self.pad = self.n_tokens * patch_len - horizon
        self.embed = nn.Linear(patch_len * n_future, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(1, self.n_tokens, d_model))

    def forward(self, future: torch.Tensor) -> torch.Tensor:
        if self.pad:
            future = F.pad(future.transpose(1, 2), (0, self.pad), mode="replicate").transpose(1, 2)  # (B, Nf*P, Fk)
        B, _, Fk = future.shape
        patches = future.reshape(B, self.n_tokens, self.patch_len * Fk)  # (B, Nf, P*Fk)
        return self.embed(patches) + self.pos  # (B, Nf, D)


class PastCovariateTokens(nn.Module):
    """Channel-independent tokens (B*F, N, P) -> (B*F, N, D): each position's covariate patches
    (channels K..F) embedded, the same for every channel's sequence.

    Args:
        n_features: F; n_targets: K; patch_len: P; d_out: D (or the LSTM's extra input width).
    """

    def __init__(self, *, n_features: int, n_targets: int, patch_len: int, d_out: int):
        super().__init__()
        self.n_features, self.n_targets = n_features, n_targets
        self.embed = nn.Linear((n_features - n_targets) * patch_len, d_out)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        BF, N, P = patches.shape
        per_channel = patches.reshape(BF // self.n_features, self.n_features, N, P)  # (B, F, N, P)
        covariates = per_channel[:, self.n_targets :].permute(0, 2, 1, 3).flatten(2)  # (B, N, (F-K)*P)
        return self.embed(covariates).repeat_interleave(self.n_features, dim=0)  # (B*F, N, D)


class CovariateMap(nn.Module):
    """A linear map of every covariate straight to the forecast: -> (B, H, K).

    Args:
        n_past: past inputs other than the targets (F - K; 0: none), over `context_len` steps.
        n_future: Fk future-known features over `horizon` steps (0: none).
        cardinalities: the static columns (as `StaticEmbedding`; empty: none).
        context_len, horizon, n_targets: L, H, K.
    """

    def __init__(
        self, *, n_past: int, n_future: int, cardinalities: list[int], context_len: int, horizon: int, n_targets: int
    ):
        super().__init__()
        self.horizon, self.n_targets = horizon, n_targets
        out = horizon * n_targets
        self.past = nn.Linear(n_past * context_len, out) if n_past else None
        self.future = nn.Linear(n_future * horizon, out) if n_future else None
        self.static = static_embedding(cardinalities, out)
        for layer in (self.past, self.future):  # start as the covariate-free forecast; learn what they add
            if layer is not None:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(
        self, past: torch.Tensor | None, future: torch.Tensor | None, static: torch.Tensor | None
    ) -> torch.Tensor | float:
        """past (B, L, F-K), future (B, H, Fk), static (B, Z) -> (B, H, K) (0.0 with no covariates)."""
        out = 0.0
        if self.past is not None:
            out = out + self.past(past.flatten(1))  # (B, H*K)
        if self.future is not None:
            out = out + self.future(future.flatten(1))
        if self.static is not None:
            out = out + self.static(static)
        return out if isinstance(out, float) else out.reshape(-1, self.horizon, self.n_targets)
