"""statsforecast's AutoETS, AutoTheta and AutoARIMA as networks that fit on every window they see.

A classical model has no weights to train: for each window of a batch and each target column it
fits its model on the window's context, in the data's own units, and forecasts the horizon, as
Nixtla's `Model(season_length=m).forecast(y=..., h=...)` does (the models' defaults, as their
authors run them). So one call signature, (B, L, F) -> (B, H, K) in scaled units, carries these
references through the same validation and test windows, metrics, conformal intervals,
comparison table and package as every network; `forecaster predict` fits them on the history it
is given, and a package holds their settings only (no weights: the units come from its scaler).

The season is the schema's period (1: non-seasonal). A window whose fit fails or is not finite
(too short for the season or for the model, no variation the model can fit, a numerical error)
falls back to the same model without a season, then to repeating the last value: never an error.
`outcomes()` counts each distinct window's outcome, which the comparison reports.

Fits are expensive (a comparison calls the network on the validation windows several times:
validation loss, calibration, plots), so every forecast is memoised for the process by the model,
season, horizon and a digest of the context's values (`CACHE`, least recently used dropped beyond
a fixed number of values): each window is fitted once per process, whatever instance asks.
statsforecast is imported inside the fit, so nothing else pays for importing it.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter, OrderedDict
from typing import ClassVar

import numpy as np
import torch

from forecaster.nn.common import Network

FITTED, NON_SEASONAL, LAST_VALUE = "fitted", "fitted without the season", "last value repeated"
CACHE_VALUES = 1 << 24  # forecast values the process keeps (128 MB of float64)


class ForecastCache:
    """Forecasts and their outcome by key, the least recently used dropped beyond `limit` values."""

    def __init__(self, limit: int):
        self.limit, self.values = limit, 0
        self.items: OrderedDict[tuple, tuple[np.ndarray, str]] = OrderedDict()

    def get(self, key: tuple) -> tuple[np.ndarray, str] | None:
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
        return found

    def put(self, key: tuple, value: tuple[np.ndarray, str]) -> None:
        if key in self.items:
            return
        self.items[key] = value
        self.values += value[0].size
        while self.values > self.limit and self.items:
            _, (dropped, _) = self.items.popitem(last=False)
            self.values -= dropped.size

    def clear(self) -> None:
        self.items.clear()
        self.values = 0


CACHE = ForecastCache(CACHE_VALUES)


def statsforecast_mean(model: str, y: np.ndarray, *, season: int, horizon: int) -> np.ndarray:
    """statsforecast's point forecast (H,) of `model` ("AutoETS", ...) fitted on `y` (L,) with `season`."""
    from statsforecast import models

    with warnings.catch_warnings():  # a fit's convergence chatter is not the user's business
        warnings.simplefilter("ignore")
        forecast = getattr(models, model)(season_length=season).forecast(y=y, h=horizon)
    return np.asarray(forecast["mean"], dtype=np.float64)


def fit_forecast(model: str, y: np.ndarray, *, season: int, horizon: int) -> tuple[np.ndarray, str]:
    """The forecast (H,) of `y` (L,) in its own units and how it was made: `model` with `season`;
    if that fails or is not finite, without the season; then the last finite value repeated."""
    tries = ((season, FITTED), (1, NON_SEASONAL)) if season > 1 else ((1, FITTED),)
    for m, outcome in tries:
        try:
            mean = statsforecast_mean(model, y, season=m, horizon=horizon)
        except Exception:
            continue
        if mean.shape == (horizon,) and np.isfinite(mean).all():
            return mean, outcome
    finite = y[np.isfinite(y)]
    return np.full(horizon, finite[-1] if len(finite) else 0.0), LAST_VALUE


class ClassicalForecaster(Network):
    """A statsforecast model fitted on each window's context: (B, L, F) -> (B, H, K), scaled units.

    Args:
        n_targets: K; horizon: H; period: the season m in steps (1: non-seasonal).
    """

    TRAINABLE = False
    HAS_QUANTILES = False
    NEEDS_UNITS = True  # fits in the data's units: multiplicative errors and seasons need them
    SHOWS_ATTENTION = False
    COVARIATES = frozenset()
    MODEL: ClassVar[str]  # the class of `statsforecast.models`

    def __init__(self, *, n_targets: int, horizon: int, period: int):
        super().__init__()
        if period < 1:
            raise ValueError(f"seasonal period must be at least 1, got {period}")
        self.n_targets, self.horizon, self.period = n_targets, horizon, period
        # the units the fits run in: original = scaled * scale + mean (plain attributes: no weights to save)
        self.mean, self.scale = np.zeros(n_targets), np.ones(n_targets)
        self.seen: dict[bytes, str] = {}  # each distinct context's digest -> its outcome

    def set_units(self, mean, scale) -> None:
        """Fit in the data's units: the per-column `mean` and `scale` (K,) that standardised them."""
        self.mean = np.asarray(mean, dtype=np.float64).reshape(self.n_targets)
        self.scale = np.asarray(scale, dtype=np.float64).reshape(self.n_targets)

    def forward(self, x: torch.Tensor, future=None, static=None) -> torch.Tensor:
        units = x[..., : self.n_targets].detach().cpu().double().numpy() * self.scale + self.mean  # (B, L, K)
        out = np.empty((x.shape[0], self.horizon, self.n_targets))  # (B, H, K)
        for i in range(x.shape[0]):
            for k in range(self.n_targets):
                out[i, :, k] = self.forecast(np.ascontiguousarray(units[i, :, k]))
        return torch.as_tensor((out - self.mean) / self.scale, dtype=x.dtype, device=x.device)

    def forecast(self, y: np.ndarray) -> np.ndarray:
        """The forecast (H,) of one context `y` (L,) in the data's units, fitted once per process."""
        digest = hashlib.blake2b(y.tobytes(), digest_size=16).digest()
        key = (self.MODEL, self.period, self.horizon, digest)
        found = CACHE.get(key)
        if found is None:
            found = fit_forecast(self.MODEL, y, season=self.period, horizon=self.horizon)
            CACHE.put(key, found)
        self.seen[digest] = found[1]
        return found[0]

    def outcomes(self) -> Counter:
        """How many distinct contexts this network forecast, by outcome (`FITTED`, or a fallback)."""
        return Counter(self.seen.values())


class ETSForecaster(ClassicalForecaster):
    """AutoETS: the exponential smoothing state-space model chosen by AICc (Hyndman et al., 2008)."""

    MODEL = "AutoETS"


class ThetaForecaster(ClassicalForecaster):
    """AutoTheta: the Theta model (standard, optimised, dynamic) chosen by in-sample MSE (Fiorucci et al., 2016)."""

    MODEL = "AutoTheta"


class ARIMAForecaster(ClassicalForecaster):
    """AutoARIMA: the (seasonal) ARIMA chosen by stepwise AICc search (Hyndman and Khandakar, 2008)."""

    MODEL = "AutoARIMA"


CLASSICAL_MODELS: dict[str, type[ClassicalForecaster]] = {
    "ets": ETSForecaster,
    "theta": ThetaForecaster,
    "arima": ARIMAForecaster,
}
