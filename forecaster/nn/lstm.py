"""`LSTMForecaster`: the recurrent baseline every comparison includes, in a fair configuration.

Same input treatment as the attention forecaster (RevIN, optional patches as steps, channel
independence), so the comparison isolates attention versus recurrence. The final hidden state
of the last layer feeds a two-layer MLP that emits all `horizon` steps at once.
"""

from __future__ import annotations

import torch
from torch import nn

from forecaster.config import ModelConfig
from forecaster.nn.common import Dropout, DataShape, Patcher, RevIN, from_channels, to_channels


class LSTMForecaster(nn.Module):
    """(B, context_len, n_features) -> (B, horizon, n_targets)."""

    def __init__(self, cfg: ModelConfig, shape: DataShape):
        super().__init__()
        self.shape, self.ci = shape, cfg.channel_independent
        self.revin = RevIN(shape.n_features) if cfg.revin else None
        self.patcher = Patcher(context_len=shape.context_len, patch_len=cfg.patch_len, stride=cfg.stride)
        step_dim = cfg.patch_len * (1 if self.ci else shape.n_features)
        self.lstm = nn.LSTM(step_dim, cfg.hidden_size, num_layers=cfg.n_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.n_layers > 1 else 0.0)
        self.out_channels = 1 if self.ci else shape.n_targets
        self.head = nn.Sequential(
            nn.Linear(cfg.hidden_size, cfg.d_ff), nn.GELU(), Dropout(cfg.head_dropout),
            nn.Linear(cfg.d_ff, shape.horizon * self.out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H = x.shape[0], self.shape.horizon
        stats = None
        if self.revin is not None:
            x, stats = self.revin.normalize(x)
        steps = self.patcher(to_channels(x))  # (B*F, N, P)
        if not self.ci:
            steps = steps.reshape(B, -1, *steps.shape[1:]).permute(0, 2, 1, 3).flatten(2)  # (B, N, F*P)
        _, (h, _) = self.lstm(steps)  # h: (layers, B', hidden)
        y = self.head(h[-1])  # (B', H * out)
        y = from_channels(y, B) if self.ci else y.reshape(B, H, self.out_channels)  # (B, H, channels)
        if stats is not None:
            y = self.revin.denormalize(y, stats)
        return y[..., : self.shape.n_targets]
