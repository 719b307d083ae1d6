"""The one registry from `model.name` to network class (`forecaster.models` builds them from config).

Each class declares its capabilities (`forecaster.nn.common.Network`); `tests/nn/test_capabilities.py`
checks every declaration here against what the network does.
"""

from __future__ import annotations

from forecaster.nn.baselines import LinearForecaster, Naive2Forecaster, NaiveForecaster, SeasonalNaiveForecaster
from forecaster.nn.common import Network
from forecaster.nn.forecaster import AttentionForecaster
from forecaster.nn.lstm import LSTMForecaster

MODELS: dict[str, type[Network]] = {
    "transformer": AttentionForecaster,
    "lstm": LSTMForecaster,
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "naive2": Naive2Forecaster,
    "linear": LinearForecaster,
}
