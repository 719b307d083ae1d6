"""`Tokenizer`: how a window becomes tokens and how per-token forecasts become the forecast.

Shared by `AttentionForecaster` and `LSTMForecaster` so both see the same input (PatchTST, Nie et
al., ICLR 2023): optional RevIN, then each channel is cut into overlapping patches. With
`channel_independent` every channel is its own sequence through shared weights (B' = B * F
sequences of one-channel patches, one output channel each); otherwise a token holds one patch of
every channel (B' = B sequences of F-channel patches, K output channels).
"""

from __future__ import annotations

import torch
from torch import nn

from forecaster.nn.common import Patcher, RevIN


class Tokenizer(nn.Module):
    """(B, L, F) windows -> (B', N, token_dim) tokens; (B', H, out_channels) back to (B, H, K).

    Args:
        n_features: input columns F (targets first).
        n_targets: forecast columns K.
        context_len: input steps L.
        patch_len, stride: patch length P and the step between patches.
        revin: standardise each window per channel and map the forecast back.
        channel_independent: one sequence per channel, or one joint sequence.
    """

    def __init__(
        self,
        *,
        n_features: int,
        n_targets: int,
        context_len: int,
        patch_len: int,
        stride: int,
        revin: bool,
        channel_independent: bool,
    ):
        super().__init__()
        self.n_features, self.n_targets, self.channel_independent = n_features, n_targets, channel_independent
        self.revin = RevIN(n_features) if revin else None
        self.patcher = Patcher(context_len=context_len, patch_len=patch_len, stride=stride)
        self.n_tokens = self.patcher.n_patches
        self.token_dim = patch_len * (1 if channel_independent else n_features)
        self.out_channels = 1 if channel_independent else n_targets

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """x: (B, L, F) -> (B, L, F) standardised per window and channel (unchanged without RevIN), stats."""
        return self.revin.normalize(x) if self.revin is not None else (x, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, F), normalised -> tokens (B', N, token_dim)."""
        B, L, F_ = x.shape
        patches = self.patcher(x.permute(0, 2, 1).reshape(B * F_, L))  # (B*F, N, P)
        if self.channel_independent:
            return patches
        return patches.reshape(B, -1, *patches.shape[1:]).permute(0, 2, 1, 3).flatten(2)  # (B, N, F*P)

    def per_sequence(self, t: torch.Tensor) -> torch.Tensor:
        """t: (B, ...) one entry per window -> (B', ...) one per sequence (each channel's, channel-independent)."""
        return t.repeat_interleave(self.n_features, dim=0) if self.channel_independent else t

    def merge(self, y: torch.Tensor, batch: int) -> torch.Tensor:
        """y: (B', H, out_channels) -> (B, H, C); C = F channel-independent, else K."""
        if self.channel_independent:
            return y.reshape(batch, -1, y.shape[1]).permute(0, 2, 1)  # (B, H, F)
        return y  # (B, H, K)

    def restore(self, y: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """y: (B, H, C) in normalised units -> (B, H, K) in the window's units."""
        if stats is not None:
            y = self.revin.denormalize(y, stats)
        return y[..., : self.n_targets]
