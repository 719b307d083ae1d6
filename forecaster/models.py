"""From the model section of the config to a network: the one place that reads `ModelConfig`.

Networks in `forecaster.nn` (and the classical references of `forecaster.classical`) take explicit
keyword arguments and know nothing of the config; `build_network` picks the class from `NETWORKS`
(`forecaster.nn.registry`'s and the classical ones), checks the settings (a bad one is a
`ConfigError` naming the config key) and passes each network only the arguments it uses: the
covariate arguments only to a network that declares it reads them (`Network.COVARIATES`), a
quantile head only to one that declares weights to train (`Network.TRAINABLE`).

`PROBLEMS` restates no rule: it calls the networks' own `*_problems` functions (those their
constructors raise) with the config's names, so a bad setting is reported before anything is built
(`forecaster.fit.checks.check_trainable`) in the words the network would have used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from forecaster.classical.networks import CLASSICAL_MODELS
from forecaster.config import ModelConfig
from forecaster.errors import ConfigError
from forecaster.nn.attention import attention_problems
from forecaster.nn.baselines import kernel_problems, season_problems
from forecaster.nn.common import Network, dropout_problems, patch_problems
from forecaster.nn.quantiles import QuantileForecaster, quantile_problems, quantile_set
from forecaster.nn.registry import MODELS

NETWORKS: dict[str, type[Network]] = {**MODELS, **CLASSICAL_MODELS}  # model.name -> class


class Dims(Protocol):
    """What `build_network` reads of the data: the data's `Schema` (forecaster/data/schema.py), or
    anything with these attributes (tests and benchmarks pass a `SimpleNamespace`)."""

    n_features: int
    n_targets: int
    context_len: int
    horizon: int
    period: int
    n_future: int  # future-known features (0: none)
    static_cardinalities: list[int]  # per static covariate, its categories, 0 for a numeric one (empty: none)


def build_network(cfg: ModelConfig, dims: Dims) -> Network:
    """The network named by `cfg.name`, sized for `dims`.

    Raises:
        ConfigError: an unknown name or a setting the network cannot be built with.
    """
    if cfg.name not in NETWORKS:
        raise ConfigError(f"unknown model.name '{cfg.name}'; valid: {', '.join(NETWORKS)}")
    problem = next(PROBLEMS[cfg.name](cfg, dims), None)
    if problem is not None:
        raise ConfigError(problem)
    # networks with weights; the naive baselines stay point forecasts (their intervals are conformal)
    quantiles = quantile_set(cfg.quantiles, cfg.levels) if NETWORKS[cfg.name].TRAINABLE else ()
    try:
        if not quantiles:
            return NETWORKS[cfg.name](**network_arguments(cfg, dims))
        # Q blocks of H steps from the same network (forecaster.nn.quantiles)
        network = NETWORKS[cfg.name](**{**network_arguments(cfg, dims), "horizon": len(quantiles) * dims.horizon})
        return QuantileForecaster(network, quantiles=quantiles, horizon=dims.horizon, n_targets=dims.n_targets)
    except ValueError as exc:  # a rule not checked above; still the user's setting
        raise ConfigError(f"model: {exc}") from None


def network_arguments(cfg: ModelConfig, dims: Dims) -> dict[str, Any]:
    """The constructor arguments of `cfg.name`'s network: its settings, and the data's covariates
    of the kinds it declares it reads (`Network.COVARIATES`)."""
    reads = NETWORKS[cfg.name].COVARIATES
    covariates = {
        "n_future": dims.n_future if "future" in reads else None,
        "static_cardinalities": list(dims.static_cardinalities) if "static" in reads else None,
    }
    return {**ARGUMENTS[cfg.name](cfg, dims), **{k: v for k, v in covariates.items() if v is not None}}


def _transformer(cfg: ModelConfig, dims: Dims) -> dict[str, Any]:
    return {
        "n_features": dims.n_features,
        "n_targets": dims.n_targets,
        "context_len": dims.context_len,
        "horizon": dims.horizon,
        "attention": cfg.attention,
        "d_model": cfg.d_model,
        "n_heads": cfg.n_heads,
        "n_layers": cfg.n_layers,
        "d_ff": cfg.d_ff,
        "dropout": cfg.dropout,
        "attn_dropout": cfg.attn_dropout,
        "head_dropout": cfg.head_dropout,
        "window": cfg.window,
        "local_share": cfg.local_share,
        "global_share": cfg.global_share,
        "head_rank": cfg.head_rank,
        "patch_len": cfg.patch_len,
        "stride": cfg.stride,
        "revin": cfg.revin,
        "channel_independent": cfg.channel_independent,
        "decoder_layers": cfg.decoder_layers,
        "linear_skip": cfg.linear_skip,
    }


def _lstm(cfg: ModelConfig, dims: Dims) -> dict[str, Any]:
    return {
        "n_features": dims.n_features,
        "n_targets": dims.n_targets,
        "context_len": dims.context_len,
        "horizon": dims.horizon,
        "patch_len": cfg.patch_len,
        "stride": cfg.stride,
        "revin": cfg.revin,
        "channel_independent": cfg.channel_independent,
        "hidden_size": cfg.hidden_size,
        "n_layers": cfg.n_layers,
        "d_ff": cfg.d_ff,
        "dropout": cfg.dropout,
        "head_dropout": cfg.head_dropout,
    }


def _linear(cfg: ModelConfig, dims: Dims) -> dict[str, Any]:
    return {
        "n_features": dims.n_features,
        "n_targets": dims.n_targets,
        "context_len": dims.context_len,
        "horizon": dims.horizon,
        "revin": cfg.revin,
        "decompose": cfg.decompose,
        "moving_avg": cfg.moving_avg,
    }


ARGUMENTS: dict[str, Callable[[ModelConfig, Dims], dict[str, Any]]] = {
    "transformer": _transformer,
    "lstm": _lstm,
    "naive": lambda cfg, dims: {"n_targets": dims.n_targets, "horizon": dims.horizon},
    "seasonal_naive": lambda cfg, dims: {
        "n_targets": dims.n_targets,
        "context_len": dims.context_len,
        "horizon": dims.horizon,
        "period": dims.period,
    },
    "naive2": lambda cfg, dims: {
        "n_targets": dims.n_targets,
        "context_len": dims.context_len,
        "horizon": dims.horizon,
        "period": dims.period,
    },
    "linear": _linear,
    **{
        name: lambda cfg, dims: {"n_targets": dims.n_targets, "horizon": dims.horizon, "period": dims.period}
        for name in CLASSICAL_MODELS
    },
}


def _patches(cfg: ModelConfig, dims: Dims) -> list[str]:
    return patch_problems(context_len=dims.context_len, patch_len=cfg.patch_len, stride=cfg.stride, prefix="model.")


def _quantiles(cfg: ModelConfig) -> list[str]:
    return quantile_problems(cfg.quantiles or (), name="model.quantiles")


def _transformer_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    """In the order the network meets them (`build_network` reports the first before building)."""
    yield from _patches(cfg, dims)
    yield from dropout_problems(cfg.dropout, name="model.dropout")
    yield from attention_problems(
        pattern=cfg.attention, d_model=cfg.d_model, n_heads=cfg.n_heads, window=cfg.window, prefix="model."
    )
    yield from dropout_problems(cfg.attn_dropout, name="model.attn_dropout")
    if cfg.attention != "cross":  # `cross` has no flatten head
        yield from dropout_problems(cfg.head_dropout, name="model.head_dropout")
    yield from _quantiles(cfg)


def _lstm_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    yield from _patches(cfg, dims)
    yield from dropout_problems(cfg.head_dropout, name="model.head_dropout")
    yield from _quantiles(cfg)


def _seasonal_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    for problem in season_problems(period=dims.period, context_len=dims.context_len):
        yield f"{problem}; set data.season_period"


def _linear_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    if cfg.decompose:  # the trend's moving average exists only then
        yield from kernel_problems(cfg.moving_avg, name="model.moving_avg")
    yield from _quantiles(cfg)


PROBLEMS: dict[str, Callable[[ModelConfig, Dims], Iterator[str]]] = {
    "transformer": _transformer_problems,
    "lstm": _lstm_problems,
    "naive": lambda cfg, dims: iter(()),
    "seasonal_naive": _seasonal_problems,
    "naive2": lambda cfg, dims: iter(()),  # any period >= 1 works: the test is skipped when L < 3m
    "linear": _linear_problems,
    # any period >= 1 works: a season too long for a window's fit falls back (forecaster.classical.networks)
    **{name: lambda cfg, dims: iter(()) for name in CLASSICAL_MODELS},
}
