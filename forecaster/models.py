"""From the model section of the config to a network: the one place that reads `ModelConfig`.

Networks in `forecaster.nn` take explicit keyword arguments and know nothing of the config;
`build_network` picks the class from the registry, checks the settings (a bad one is a
`ConfigError` naming the config key) and passes each network only the arguments it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from torch import nn

from forecaster.config import ATTENTION_PATTERNS, ModelConfig
from forecaster.errors import ConfigError
from forecaster.nn.quantiles import QuantileForecaster, quantile_set
from forecaster.nn.registry import MODELS


class Dims(Protocol):
    """What `build_network` reads of the data: the data's `Schema` (forecaster/data/schema.py), or
    anything with these attributes (tests and benchmarks pass a `SimpleNamespace`)."""

    n_features: int
    n_targets: int
    context_len: int
    horizon: int
    period: int
    # optional (0 / empty when absent): future-known features and static covariates' cardinalities
    # n_future: int; static_cardinalities: list[int]


def build_network(cfg: ModelConfig, dims: Dims) -> nn.Module:
    """The network named by `cfg.name`, sized for `dims`.

    Raises:
        ConfigError: an unknown name or a setting the network cannot be built with.
    """
    if cfg.name not in MODELS:
        raise ConfigError(f"unknown model.name '{cfg.name}'; valid: {', '.join(MODELS)}")
    problem = next(PROBLEMS[cfg.name](cfg, dims), None)
    if problem is not None:
        raise ConfigError(problem)
    quantiles = quantile_set(cfg.quantiles, cfg.levels) if cfg.name in QUANTILE_MODELS else ()
    try:
        if not quantiles:
            return MODELS[cfg.name](**ARGUMENTS[cfg.name](cfg, dims))
        # Q blocks of H steps from the same network (forecaster.nn.quantiles)
        network = MODELS[cfg.name](**{**ARGUMENTS[cfg.name](cfg, dims), "horizon": len(quantiles) * dims.horizon})
        return QuantileForecaster(network, quantiles=quantiles, horizon=dims.horizon, n_targets=dims.n_targets)
    except ValueError as exc:  # a rule not checked above; still the user's setting
        raise ConfigError(f"model: {exc}") from None


# networks with weights; the naive baselines stay point forecasts (their intervals are conformal)
QUANTILE_MODELS = ("transformer", "lstm", "linear")


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
        **_covariates(dims),
    }


def _covariates(dims: Dims) -> dict[str, Any]:
    """The covariate arguments of the trainable networks (`forecaster.nn.covariates`)."""
    return {
        "n_future": getattr(dims, "n_future", 0),
        "static_cardinalities": list(getattr(dims, "static_cardinalities", [])),
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
        **_covariates(dims),
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
        **_covariates(dims),
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
}


def _patches(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    if cfg.patch_len < 1 or cfg.stride < 1 or cfg.patch_len > dims.context_len:
        yield (
            f"need 1 <= model.patch_len <= context_len ({dims.context_len}) and "
            f"model.stride >= 1, got patch_len {cfg.patch_len}, stride {cfg.stride}"
        )


def _dropout(p: float) -> Iterator[str]:
    if not 0.0 <= p < 1.0:
        yield f"dropout must be in [0, 1), got {p}"


def _transformer_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    """In the order the network met them before `build_network` checked them up front."""
    yield from _patches(cfg, dims)
    yield from _dropout(cfg.dropout)
    if cfg.attention not in ATTENTION_PATTERNS:
        yield f"unknown attention pattern '{cfg.attention}'; valid: {', '.join(ATTENTION_PATTERNS)}"
    if cfg.d_model % cfg.n_heads:
        yield f"model.d_model ({cfg.d_model}) must be divisible by model.n_heads ({cfg.n_heads})"
    if cfg.window < 1:
        yield f"model.window must be at least 1, got {cfg.window}"
    if cfg.attention == "hybrid" and cfg.n_heads < 2:
        yield "the hybrid pattern needs model.n_heads >= 2 (some local, some global)"
    if cfg.attention != "cross":
        yield from _dropout(cfg.head_dropout)


def _lstm_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    yield from _patches(cfg, dims)
    yield from _dropout(cfg.head_dropout)


def _seasonal_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    if not 1 <= dims.period <= dims.context_len:
        yield (
            f"seasonal period {dims.period} must be between 1 and context_len "
            f"{dims.context_len}; set data.season_period"
        )


def _linear_problems(cfg: ModelConfig, dims: Dims) -> Iterator[str]:
    if cfg.decompose and cfg.moving_avg < 1:
        yield f"model.moving_avg must be at least 1, got {cfg.moving_avg}"


PROBLEMS: dict[str, Callable[[ModelConfig, Dims], Iterator[str]]] = {
    "transformer": _transformer_problems,
    "lstm": _lstm_problems,
    "naive": lambda cfg, dims: iter(()),
    "seasonal_naive": _seasonal_problems,
    "naive2": lambda cfg, dims: iter(()),  # any period >= 1 works: the test is skipped when L < 3m
    "linear": _linear_problems,
}
