"""Honest baselines: repeat the last value, repeat the last season, and a linear map (DLinear).

The naive forecasters have no weights; they are still `nn.Module`s with the same call signature,
so they go through the same evaluation and tracking as every other model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from forecaster.nn.common import RevIN


class NaiveForecaster(nn.Module):
    """Every future step equals the last observed value: (B, L, F) -> (B, H, K)."""

    def __init__(self, *, n_targets: int, horizon: int):
        super().__init__()
        self.n_targets, self.horizon = n_targets, horizon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x[:, -1:, : self.n_targets]  # (B, 1, K)
        return last.expand(-1, self.horizon, -1)


class SeasonalNaiveForecaster(nn.Module):
    """Step h equals the value one season earlier: x[t + h - period * k] for the smallest k >= 1.

    Args:
        n_targets: K; context_len: L; horizon: H; period: the season in steps, 1 <= period <= L.
    """

    def __init__(self, *, n_targets: int, context_len: int, horizon: int, period: int):
        super().__init__()
        if not 1 <= period <= context_len:
            raise ValueError(f"seasonal period {period} must be between 1 and context_len {context_len}")
        self.n_targets = n_targets
        steps = context_len - period + torch.arange(horizon) % period
        self.register_buffer("steps", steps, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.steps, : self.n_targets]  # (B, H, K)


class MovingAverage(nn.Module):
    """Trend by a centred moving average with edge replication; (B, L, F) -> (B, L, F)."""

    def __init__(self, kernel: int):
        super().__init__()
        if kernel < 1:
            raise ValueError(f"moving average kernel must be at least 1, got {kernel}")
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = (self.kernel - 1) // 2, self.kernel // 2
        padded = F.pad(x.transpose(1, 2), (left, right), mode="replicate")  # (B, F, L + kernel - 1)
        return F.avg_pool1d(padded, self.kernel, stride=1).transpose(1, 2)


class LinearForecaster(nn.Module):
    """One linear map from the window to the horizon, shared across channels (Zeng et al., 2023).

    With `decompose`, trend (moving average) and remainder get their own maps (DLinear).
    (B, L, F) -> (B, H, K).

    Args:
        n_features, n_targets, context_len, horizon: F, K, L and H of the data.
        revin: standardise each window per channel (no learned affine) and map the forecast back.
        decompose: separate trend and remainder maps. moving_avg: the trend's kernel.
    """

    def __init__(
        self,
        *,
        n_features: int,
        n_targets: int,
        context_len: int,
        horizon: int,
        revin: bool,
        decompose: bool,
        moving_avg: int,
    ):
        super().__init__()
        self.n_targets = n_targets
        self.revin = RevIN(n_features, affine=False) if revin else None
        self.trend = MovingAverage(moving_avg) if decompose else None
        self.seasonal_map = nn.Linear(context_len, horizon)
        self.trend_map = nn.Linear(context_len, horizon) if decompose else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = None
        if self.revin is not None:
            x, stats = self.revin.normalize(x)
        if self.trend is None:
            y = self.seasonal_map(x.transpose(1, 2))  # (B, F, H)
        else:
            trend = self.trend(x)
            y = self.seasonal_map((x - trend).transpose(1, 2)) + self.trend_map(trend.transpose(1, 2))
        y = y.transpose(1, 2)  # (B, H, F)
        if stats is not None:
            y = self.revin.denormalize(y, stats)
        return y[..., : self.n_targets]
