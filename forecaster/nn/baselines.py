"""Honest baselines: repeat the last value, repeat the last season, and a linear map (DLinear).

The naive forecasters have no weights; they are still `nn.Module`s with the same call signature,
so they go through the same evaluation and tracking as every other model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from forecaster.config import ModelConfig
from forecaster.errors import ConfigError
from forecaster.nn.common import DataShape, RevIN


class NaiveForecaster(nn.Module):
    """Every future step equals the last observed value."""

    def __init__(self, cfg: ModelConfig, shape: DataShape):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x[:, -1:, : self.shape.n_targets]  # (B, 1, T)
        return last.expand(-1, self.shape.horizon, -1)


class SeasonalNaiveForecaster(nn.Module):
    """Step h equals the value one season earlier: x[t + h - period * k] for the smallest k >= 1."""

    def __init__(self, cfg: ModelConfig, shape: DataShape):
        super().__init__()
        if not 1 <= shape.period <= shape.context_len:
            raise ConfigError(f"seasonal period {shape.period} must be between 1 and context_len "
                              f"{shape.context_len}; set data.season_period")
        self.shape = shape
        steps = shape.context_len - shape.period + torch.arange(shape.horizon) % shape.period
        self.register_buffer("steps", steps, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.steps, : self.shape.n_targets]  # (B, H, T)


class MovingAverage(nn.Module):
    """Trend by a centred moving average with edge replication; (B, T, F) -> (B, T, F)."""

    def __init__(self, kernel: int):
        super().__init__()
        if kernel < 1:
            raise ConfigError(f"model.moving_avg must be at least 1, got {kernel}")
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = (self.kernel - 1) // 2, self.kernel // 2
        padded = F.pad(x.transpose(1, 2), (left, right), mode="replicate")  # (B, F, T + k - 1)
        return F.avg_pool1d(padded, self.kernel, stride=1).transpose(1, 2)


class LinearForecaster(nn.Module):
    """One linear map from the window to the horizon, shared across channels (Zeng et al., 2023).

    With `decompose`, trend (moving average) and remainder get their own maps (DLinear).
    """

    def __init__(self, cfg: ModelConfig, shape: DataShape):
        super().__init__()
        self.shape = shape
        self.revin = RevIN(shape.n_features, affine=False) if cfg.revin else None
        self.trend = MovingAverage(cfg.moving_avg) if cfg.decompose else None
        self.seasonal_map = nn.Linear(shape.context_len, shape.horizon)
        self.trend_map = nn.Linear(shape.context_len, shape.horizon) if cfg.decompose else None

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
        return y[..., : self.shape.n_targets]
