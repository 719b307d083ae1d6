"""The fixed sets of names the config takes: variants, model families, attention patterns, loss scales.

The attention patterns' names come from the pattern table (`forecaster.nn.patterns`, which imports nothing),
so a new pattern is one entry there; `check_variant` is the one check of a variant's name.
"""

from __future__ import annotations

from forecaster.errors import ConfigError
from forecaster.nn.patterns import PATTERNS

ATTENTION_PATTERNS = tuple(PATTERNS)  # the pattern table's names (forecaster.nn.patterns imports nothing)
BASELINES = ("lstm", "naive", "seasonal_naive", "naive2", "linear")
CLASSICAL = ("ets", "theta", "arima")  # statsforecast's AutoETS, AutoTheta, AutoARIMA (forecaster.classical)
VARIANTS = ATTENTION_PATTERNS + BASELINES + CLASSICAL
MODEL_NAMES = ("transformer",) + BASELINES + CLASSICAL
LOSS_SCALES = ("none", "naive")  # forecaster.scores.metrics.error_scale


def check_variant(name: str, *, valid: tuple[str, ...] = VARIANTS, key: str = "variant") -> str:
    """`name` if it is one of `valid`, else a ConfigError naming it and the valid ones: the one check for
    every place a variant is named (`--variants`, `with_variant`, `variants:`, `model.name`, `model.attention`)."""
    if name not in valid:
        raise ConfigError(f"unknown {key} '{name}'; valid: {', '.join(valid)}")
    return name
