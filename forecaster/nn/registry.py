"""The one registry from `model.name` to network class; every model is built from config alone."""

from __future__ import annotations

from torch import nn

from forecaster.config import ModelConfig
from forecaster.errors import ConfigError
from forecaster.nn.baselines import LinearForecaster, NaiveForecaster, SeasonalNaiveForecaster
from forecaster.nn.common import DataShape
from forecaster.nn.forecaster import AttentionForecaster
from forecaster.nn.lstm import LSTMForecaster

MODELS: dict[str, type[nn.Module]] = {
    "transformer": AttentionForecaster,
    "lstm": LSTMForecaster,
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "linear": LinearForecaster,
}


def build_model(cfg: ModelConfig, shape: DataShape) -> nn.Module:
    """The network named by `cfg.name`, sized for `shape`."""
    try:
        cls = MODELS[cfg.name]
    except KeyError:
        raise ConfigError(f"unknown model.name '{cfg.name}'; valid: {', '.join(MODELS)}") from None
    return cls(cfg, shape)
