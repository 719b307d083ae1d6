"""`LSTMForecaster`: the recurrent baseline every comparison includes, in a fair configuration.

Same input treatment as the attention forecaster (the shared `Tokenizer`: RevIN, optional patches
as steps, channel independence), so the comparison isolates attention versus recurrence. The
final hidden state of the last layer feeds a two-layer MLP that emits all `horizon` steps at once.

Covariates (`forecaster.nn.covariates`; README, "Covariates"): future-known features are the inputs
of a decoder LSTM that starts from the encoder's final state and runs over the horizon (seq2seq, as
DeepAR and MQ-RNN feed known future inputs); a linear map of its outputs is added to the direct
head's forecast. A static embedding is added to the state the head reads. In channel-independent
mode the covariate channels' patches are embedded and added to every channel's inputs
(`PastCovariateTokens`), so the target channels see the past covariates.
"""

from __future__ import annotations

import torch
from torch import nn

from forecaster.nn.common import COVARIATE_KINDS, Dropout, Network
from forecaster.nn.covariates import PastCovariateTokens, static_embedding
from forecaster.nn.tokenizer import Tokenizer


class LSTMForecaster(Network):
    """(B, L, F) -> (B, H, K).

    Args:
        n_features, n_targets, context_len, horizon: F, K, L and H of the data.
        patch_len, stride, revin, channel_independent: as `Tokenizer`.
        hidden_size, n_layers: the LSTM. dropout: between LSTM layers.
        d_ff: hidden width of the MLP head. head_dropout: inside the head.
        n_future: Fk, the future-known features (the last Fk of the F; 0: none).
        static_cardinalities: per static covariate, its categories, 0 for a numeric one (empty: none).
    """

    TRAINABLE = True
    HAS_QUANTILES = False
    NEEDS_UNITS = False
    SHOWS_ATTENTION = False
    COVARIATES = COVARIATE_KINDS

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
        n_future: int = 0,
        static_cardinalities: list[int] = (),
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
        # covariates last: without them the parameters (and the random draws) are the same as before
        self.past_tokens = self.decoder = self.decoder_out = None
        if channel_independent and n_features > n_targets:
            d = self.tokenizer.token_dim
            self.past_tokens = PastCovariateTokens(n_features=n_features, n_targets=n_targets, patch_len=d, d_out=d)
        if n_future:
            self.decoder = nn.LSTM(n_future, hidden_size, num_layers=n_layers, batch_first=True)
            self.decoder_out = nn.Linear(hidden_size, self.tokenizer.out_channels)
        self.static = static_embedding(static_cardinalities, hidden_size)

    def forward(self, x: torch.Tensor, future: torch.Tensor | None = None, static: torch.Tensor | None = None):
        """x (B, L, F), future (B, H, Fk), static (B, Z) -> (B, H, K)."""
        x, stats = self.tokenizer.normalize(x)  # (B, L, F)
        tokens = self.tokenizer(x)  # (B', N, token_dim)
        if self.past_tokens is not None:
            tokens = tokens + self.past_tokens(tokens)
        _, (h, c) = self.lstm(tokens)  # h, c: (layers, B', hidden)
        state = h[-1]
        if self.static is not None:
            state = state + self.tokenizer.per_sequence(self.static(static))  # (B', hidden)
        y = self.head(state).reshape(h.shape[1], self.horizon, -1)  # (B', H, out)
        if self.decoder is not None:  # the known future, step by step, from the encoder's state
            steps, _ = self.decoder(self.tokenizer.per_sequence(future), (h, c))  # (B', H, hidden)
            y = y + self.decoder_out(steps)
        return self.tokenizer.restore(self.tokenizer.merge(y, x.shape[0]), stats)  # (B, H, K)
