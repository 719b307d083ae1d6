"""The one registry from `model.name` to network class (`forecaster.models` builds them from config)."""

from __future__ import annotations

from torch import nn

from forecaster.nn.baselines import LinearForecaster, Naive2Forecaster, NaiveForecaster, SeasonalNaiveForecaster
from forecaster.nn.forecaster import AttentionForecaster
from forecaster.nn.lstm import LSTMForecaster

MODELS: dict[str, type[nn.Module]] = {
    "transformer": AttentionForecaster,
    "lstm": LSTMForecaster,
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "naive2": Naive2Forecaster,
    "linear": LinearForecaster,
}
