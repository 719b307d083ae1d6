"""Honest baselines: repeat the last value, repeat the last season, M4's Naive2, and a linear map (DLinear).

The naive forecasters have no weights; they are still `nn.Module`s with the same call signature,
so they go through the same evaluation and tracking as every other model. They take the covariate
arguments (`future`, `static`) and ignore them: a baseline is what the target's own history gives.
The linear map reads covariates through `forecaster.nn.covariates.CovariateMap`: a linear map of
the past covariates, the future-known features over the horizon and a static embedding, added to
the forecast after RevIN maps it back (a covariate's effect in the data's units, whatever the window).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from forecaster.nn.common import COVARIATE_KINDS, Network, RevIN, raise_first
from forecaster.nn.covariates import CovariateMap


def season_problems(*, period: int, context_len: int) -> list[str]:
    """A season that does not fit the window (`SeasonalNaiveForecaster`)."""
    if 1 <= period <= context_len:
        return []
    return [f"seasonal period {period} must be between 1 and context_len {context_len}"]


def kernel_problems(kernel: int, *, name: str = "moving average kernel") -> list[str]:
    """A moving average shorter than one step; `name` names the argument (`forecaster.models`: the config key)."""
    return [] if kernel >= 1 else [f"{name} must be at least 1, got {kernel}"]


class NaiveBaseline(Network):
    """What the naive forecasters declare: no weights, a point forecast from the targets' history."""

    TRAINABLE = False
    HAS_QUANTILES = False
    NEEDS_UNITS = False
    SHOWS_ATTENTION = False
    COVARIATES = frozenset()


class NaiveForecaster(NaiveBaseline):
    """Every future step equals the last observed value: (B, L, F) -> (B, H, K)."""

    def __init__(self, *, n_targets: int, horizon: int):
        super().__init__()
        self.n_targets, self.horizon = n_targets, horizon

    def forward(self, x: torch.Tensor, future=None, static=None) -> torch.Tensor:
        last = x[:, -1:, : self.n_targets]  # (B, 1, K)
        return last.expand(-1, self.horizon, -1)


class SeasonalNaiveForecaster(NaiveBaseline):
    """Step h equals the value one season earlier: x[t + h - period * k] for the smallest k >= 1.

    Args:
        n_targets: K; context_len: L; horizon: H; period: the season in steps, 1 <= period <= L.
    """

    def __init__(self, *, n_targets: int, context_len: int, horizon: int, period: int):
        super().__init__()
        raise_first(season_problems(period=period, context_len=context_len))
        self.n_targets = n_targets
        steps = context_len - period + torch.arange(horizon) % period
        self.register_buffer("steps", steps, persistent=False)

    def forward(self, x: torch.Tensor, future=None, static=None) -> torch.Tensor:
        return x[:, self.steps, : self.n_targets]  # (B, H, K)


class Naive2Forecaster(NaiveBaseline):
    """M4's Naive2: repeat the last seasonally adjusted value, per window: (B, L, F) -> (B, H, K).

    Each window of each target column is tested for seasonality of period m by M4's 90 %
    autocorrelation test (only when m > 1 and L >= 3m); a seasonal window is divided by its
    classical decomposition's seasonal indices, its last adjusted value repeated and the
    forecast reseasonalised; any other window is forecast by its last value, exactly.
    `forecaster.scores.seasonality` is the numpy reference this is tested against.

    The network sees standardised values, which are negative about half the time, while
    multiplicative indices need positive values. `set_units(mean, scale)` (the scaler's
    statistics of the target columns) makes the decomposition run in the data's own units, where
    this is M4's Naive2; the test itself is the same in either unit (autocorrelation does not
    change under a positive affine map). A seasonal window with a value <= 0 in those units has no
    multiplicative decomposition and gets the additive one instead (the same moving-average
    trend, differences for ratios, indices centred on 0).

    Args:
        n_targets: K; context_len: L; horizon: H; period: the season m in steps, >= 1.
    """

    NEEDS_UNITS = True

    def __init__(self, *, n_targets: int, context_len: int, horizon: int, period: int):
        super().__init__()
        if period < 1:
            raise ValueError(f"seasonal period must be at least 1, got {period}")
        self.n_targets, self.horizon, self.period = n_targets, horizon, period
        self.tested = period > 1 and context_len >= 3 * period  # M4 tests only these
        # the units the decomposition runs in: original = scaled * scale + mean (saved with the package)
        self.register_buffer("mean", torch.zeros(n_targets))
        self.register_buffer("scale", torch.ones(n_targets))
        if not self.tested:
            return
        weights = torch.ones(period + 1 - period % 2)  # centred moving average, 2 x m for even m
        if period % 2 == 0:
            weights[0] = weights[-1] = 0.5
        self.register_buffer("weights", (weights / period).view(1, 1, -1), persistent=False)
        half = len(weights) // 2
        positions = torch.arange(half, context_len - half) % period  # season of each trend-covered step
        self.register_buffer("onehot", F.one_hot(positions, period).double(), persistent=False)  # (L', m)
        self.half, self.last = half, (context_len - 1) % period
        self.register_buffer("future", (context_len + torch.arange(horizon)) % period, persistent=False)

    @torch.no_grad()
    def set_units(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        """Decompose in the data's units: the per-column `mean` and `scale` (K,) that standardised them."""
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
        self.scale.copy_(torch.as_tensor(scale, dtype=self.scale.dtype))

    def forward(self, x: torch.Tensor, future=None, static=None) -> torch.Tensor:
        b, length, _ = x.shape
        last = x[:, -1:, : self.n_targets]  # (B, 1, K)
        if not self.tested:
            return last.expand(-1, self.horizon, -1)
        # float64 keeps the test's decisions those of the float64 reference (MPS has no float64)
        dtype = torch.float32 if x.device.type == "mps" else torch.float64
        units = x[..., : self.n_targets].to(dtype) * self.scale.to(dtype) + self.mean.to(dtype)  # (B, L, K)
        z = units.transpose(1, 2).reshape(-1, length)  # (B·K, L)
        step = self._seasonal_step(z) / self.scale.to(dtype).repeat(b)[:, None]  # (B·K, H), scaled units
        step = step.view(b, self.n_targets, self.horizon).transpose(1, 2)  # (B, H, K)
        return last + step.to(x.dtype)

    def _seasonal_step(self, z: torch.Tensor) -> torch.Tensor:
        """Forecast minus last value, in the data's units, 0 for non-seasonal rows: (R, L) -> (R, H)."""
        centred = z - z.mean(dim=1, keepdim=True)
        acf = torch.stack([(centred[:, k:] * centred[:, :-k]).sum(1) for k in range(1, self.period + 1)], 1)
        acf = acf / (centred * centred).sum(1, keepdim=True)  # (R, m); NaN for a constant row
        limit = 1.645 * torch.sqrt((1 + 2 * (acf[:, :-1] ** 2).sum(1)) / z.shape[1])
        seasonal = acf[:, -1].abs() > limit  # NaN compares False: a constant row is not seasonal
        trend = F.conv1d(z[:, None], self.weights.to(z.dtype))[:, 0]  # (R, L'), steps half .. L-half-1
        inner = z[:, self.half : z.shape[1] - self.half]
        positive = (z > 0).all(dim=1, keepdim=True)
        detrended = torch.where(positive, inner / trend, inner - trend)  # ratios, or differences
        onehot = self.onehot.to(z.dtype)
        figure = (detrended @ onehot) / onehot.sum(0)  # (R, m): mean per season position
        ratio = figure / figure.mean(1, keepdim=True)
        offset = figure - figure.mean(1, keepdim=True)
        last = z[:, -1:]
        step_mult = last * (ratio[:, self.future] / ratio[:, self.last : self.last + 1] - 1)
        step_add = offset[:, self.future] - offset[:, self.last : self.last + 1]
        step = torch.where(positive, step_mult, step_add)
        return torch.where(seasonal[:, None], step, torch.zeros_like(step))


class MovingAverage(nn.Module):
    """Trend by a centred moving average with edge replication; (B, L, F) -> (B, L, F)."""

    def __init__(self, kernel: int):
        super().__init__()
        raise_first(kernel_problems(kernel))
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = (self.kernel - 1) // 2, self.kernel // 2
        padded = F.pad(x.transpose(1, 2), (left, right), mode="replicate")  # (B, F, L + kernel - 1)
        return F.avg_pool1d(padded, self.kernel, stride=1).transpose(1, 2)


class LinearForecaster(Network):
    """One linear map from the window to the horizon, shared across channels (Zeng et al., 2023).

    With `decompose`, trend (moving average) and remainder get their own maps (DLinear).
    (B, L, F) -> (B, H, K).

    Args:
        n_features, n_targets, context_len, horizon: F, K, L and H of the data.
        revin: standardise each window per channel (no learned affine) and map the forecast back.
        decompose: separate trend and remainder maps. moving_avg: the trend's kernel.
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
        revin: bool,
        decompose: bool,
        moving_avg: int,
        n_future: int = 0,
        static_cardinalities: list[int] = (),
    ):
        super().__init__()
        self.n_targets = n_targets
        self.revin = RevIN(n_features, affine=False) if revin else None
        self.trend = MovingAverage(moving_avg) if decompose else None
        self.seasonal_map = nn.Linear(context_len, horizon)
        self.trend_map = nn.Linear(context_len, horizon) if decompose else None
        self.covariates = None  # the channels share one map, so covariates need their own way to the targets
        if n_features > n_targets or n_future or static_cardinalities:
            self.covariates = CovariateMap(
                n_past=n_features - n_targets,
                n_future=n_future,
                cardinalities=list(static_cardinalities),
                context_len=context_len,
                horizon=horizon,
                n_targets=n_targets,
            )

    def forward(self, x: torch.Tensor, future=None, static=None) -> torch.Tensor:
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
        if self.covariates is None:
            return y[..., : self.n_targets]
        # in the data's (scaled) units, not the window's: a covariate's effect does not depend on the window
        return y[..., : self.n_targets] + self.covariates(x[..., self.n_targets :], future, static)  # (B, H, K)
