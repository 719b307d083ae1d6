"""Multi-quantile forecasts from any point network, and the pinball loss that trains them.

`QuantileForecaster` wraps a network built for `Q * H` steps instead of H (every registered
trainable network emits its horizon through a head sized by H, so widening the horizon is the one
change that works for the flatten head, `cross`'s horizon queries, the LSTM's MLP and the linear
map alike) and reads its output as Q blocks of H steps, one per quantile.

Non-crossing by construction: the median block is the point forecast; each other quantile is the
next one towards the median plus (above) or minus (below) a positive increment,
``s * softplus((raw_q - raw_median) / s)``, so ``q_1 <= ... <= median <= ... <= q_Q`` holds for any
weights and any input, without a sort. The increment is computed from the difference to the median
block (RevIN adds the window's level to every block; the difference cancels it) and in units of
`s`, the window's standard deviation per target column, so a softplus of 0 means a spread of
``log 2`` standard deviations whatever the series' level or spread.

`forward` returns the median (B, H, K): everything that takes a point forecast (metrics, the
validation loss, `predict`, ensembles) uses the wrapper unchanged; `quantile_forecast` returns
(B, H, K, Q), quantiles in increasing order (`quantiles`). The network's future-known covariates
are those of the H steps, read once per quantile block (`widened`).

Capabilities (`forecaster.nn.common.Network`): the wrapper declares HAS_QUANTILES and passes on its
network's TRAINABLE and COVARIATES (its forward is the network's, widened). It shows no attention
(the network's weights would be those of the widened network, not of a forecast) and passes no
units on, so a network that needs units (or already forecasts quantiles) is not wrapped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from forecaster.nn.common import Network, raise_first

MEDIAN = 0.5


def quantile_set(quantiles: list[float] | None, levels: list[float] | None) -> tuple[float, ...]:
    """The sorted quantiles of `model.quantiles` and `model.levels` (a level l adds (1 - l/100)/2 and
    its mirror), with the median always included; () when neither is given."""
    qs = {round(float(q), 6) for q in quantiles or ()}
    for level in levels or ():
        tail = (1 - float(level) / 100) / 2
        qs |= {round(tail, 6), round(1 - tail, 6)}
    return tuple(sorted(qs | {MEDIAN})) if qs else ()


def quantile_problems(quantiles, *, name: str = "quantiles") -> list[str]:
    """Quantiles outside (0, 1); `name` names the argument (`forecaster.models`: the config key)."""
    return [] if all(0 < q < 1 for q in quantiles) else [f"{name} must be in (0, 1), got {quantiles}"]


def pinball_loss(pred: torch.Tensor, y: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss. pred: (..., Q) forecasts, y: (...) actuals, quantiles: (Q,)."""
    err = y.unsqueeze(-1) - pred  # (..., Q)
    return torch.maximum(quantiles * err, (quantiles - 1) * err).mean()


class QuantileForecaster(Network):
    """A point network made a quantile forecaster: (B, L, F) -> median (B, H, K).

    Args:
        network: built for horizon Q * H; its output (B, Q * H, K) holds quantile q's steps at
            positions q * H .. (q + 1) * H - 1.
        quantiles: increasing, in (0, 1), the median among them.
        horizon: H.
        n_targets: K (the first K input columns).
    """

    HAS_QUANTILES = True
    NEEDS_UNITS = False
    SHOWS_ATTENTION = False

    def __init__(self, network: Network, *, quantiles: tuple[float, ...], horizon: int, n_targets: int):
        super().__init__()
        if MEDIAN not in quantiles or list(quantiles) != sorted(set(quantiles)):
            raise ValueError(f"quantiles must be increasing and include the median, got {quantiles}")
        raise_first(quantile_problems(quantiles))
        if network.NEEDS_UNITS or network.HAS_QUANTILES:
            raise ValueError(f"only a point network that needs no units is wrapped, not {type(network).__name__}")
        self.network = network
        self.quantiles, self.horizon, self.n_targets = tuple(quantiles), horizon, n_targets
        self.median = self.quantiles.index(MEDIAN)
        self.register_buffer("levels", torch.tensor(self.quantiles), persistent=False)

    @property
    def TRAINABLE(self) -> bool:  # the network's, as the wrapper trains it
        return self.network.TRAINABLE

    @property
    def COVARIATES(self) -> frozenset[str]:  # it reads what the network reads
        return self.network.COVARIATES

    def forward(self, x: torch.Tensor, *covariates) -> torch.Tensor:
        return self.quantile_forecast(x, *covariates)[..., self.median]

    def widened(self, covariates: tuple) -> tuple:
        """The covariates as the network, built for Q * H steps, reads them: the future-known features
        (B, H, Fk) once per quantile block (B, Q * H, Fk), so step h of every block reads step h's."""
        if not covariates or covariates[0] is None:
            return covariates
        future, *rest = covariates
        return (future.repeat(1, len(self.quantiles), 1), *rest)

    def quantile_forecast(self, x: torch.Tensor, *covariates) -> torch.Tensor:
        """x: (B, L, F) and its covariates (the wrapped network's) -> (B, H, K, Q), non-decreasing along Q."""
        b, q, m = x.shape[0], len(self.quantiles), self.median
        raw = self.network(x, *self.widened(covariates)).reshape(b, q, self.horizon, -1)  # (B, Q, H, K)
        s = x[..., : self.n_targets].std(dim=1, keepdim=True).clamp_min(1e-3)  # (B, 1, K)
        centre = raw[:, m]  # (B, H, K)
        steps = s.unsqueeze(1) * F.softplus((raw - centre.unsqueeze(1)) / s.unsqueeze(1))  # (B, Q, H, K), > 0
        above = centre.unsqueeze(1) + steps[:, m + 1 :].cumsum(dim=1)  # (B, Q-m-1, H, K)
        below = centre.unsqueeze(1) - steps[:, :m].flip(1).cumsum(dim=1).flip(1)  # (B, m, H, K)
        return torch.cat([below, centre.unsqueeze(1), above], dim=1).permute(0, 2, 3, 1)  # (B, H, K, Q)
