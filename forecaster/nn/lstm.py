"""`LSTMForecaster`: the recurrent baseline every comparison includes, in a fair configuration.

Same input treatment as the attention forecaster (the shared `Tokenizer`: RevIN, optional patches
as steps, channel independence), so the comparison isolates attention versus recurrence. The
final hidden state of the last layer feeds a two-layer MLP that emits all `horizon` steps at once.
"""

from __future__ import annotations

import torch
from torch import nn

from forecaster.nn.common import Dropout
from forecaster.nn.tokenizer import Tokenizer


class LSTMForecaster(nn.Module):
    """(B, L, F) -> (B, H, K).

    Args:
        n_features, n_targets, context_len, horizon: F, K, L and H of the data.
        patch_len, stride, revin, channel_independent: as `Tokenizer`.
        hidden_size, n_layers: the LSTM. dropout: between LSTM layers.
        d_ff: hidden width of the MLP head. head_dropout: inside the head.
    """

    def __init__(
        self,
        *,
        n_features: int,
        n_targets: int,
        context_len: int,
        horizon: int,
        patch_len: int,
        stride: int,
        revin: bool,
        channel_independent: bool,
        hidden_size: int,
        n_layers: int,
        d_ff: int,
        dropout: float,
        head_dropout: float,
    ):
        super().__init__()
        self.horizon = horizon
        self.tokenizer = Tokenizer(
            n_features=n_features,
            n_targets=n_targets,
            context_len=context_len,
            patch_len=patch_len,
            stride=stride,
            revin=revin,
            channel_independent=channel_independent,
        )
        self.lstm = nn.LSTM(
            self.tokenizer.token_dim,
            hidden_size,
            num_layers=n_layers,
            batch_first=True,
            dropout=dropout if n_layers > 1 else 0.0,
        )
        self.head = nn.Sequential(
            nn.Linear(hidden_size, d_ff),
            nn.GELU(),
            Dropout(head_dropout),
            nn.Linear(d_ff, horizon * self.tokenizer.out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, stats = self.tokenizer.normalize(x)  # (B, L, F)
        _, (h, _) = self.lstm(self.tokenizer(x))  # h: (layers, B', hidden)
        y = self.head(h[-1]).reshape(h.shape[1], self.horizon, -1)  # (B', H, out)
        return self.tokenizer.restore(self.tokenizer.merge(y, x.shape[0]), stats)  # (B, H, K)
