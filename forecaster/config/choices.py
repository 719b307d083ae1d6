"""The fixed sets of values the config takes, each stated once, and the `Literal` types made from them.

A field with a fixed set of values is typed with the `Literal` of its tuple here (`fill: Fill`), so
`--help` shows the choices (`{error,ffill,interpolate}`), jsonargparse refuses any other value on the
command line, in a YAML file and in `variants:` entries alike, and `forecaster.validation` checks a
config built in Python against the same tuple (`forecaster.config.sections.CHOICES`). The attention
patterns' names come from the pattern table (`forecaster.nn.patterns`, which imports nothing), so a
new pattern is one entry there; `check_variant` is the one check of a variant's name.
"""

from __future__ import annotations

from typing import Literal

from forecaster.errors import ConfigError
from forecaster.nn.patterns import PATTERNS

ATTENTION_PATTERNS = tuple(PATTERNS)  # the pattern table's names (forecaster.nn.patterns imports nothing)
BASELINES = ("lstm", "naive", "seasonal_naive", "naive2", "linear")
CLASSICAL = ("ets", "theta", "arima")  # statsforecast's AutoETS, AutoTheta, AutoARIMA (forecaster.classical)
VARIANTS = ATTENTION_PATTERNS + BASELINES + CLASSICAL
MODEL_NAMES = ("transformer",) + BASELINES + CLASSICAL
FORMATS = ("auto", "wide", "long")  # forecaster.data.io
FILLS = ("error", "ffill", "interpolate")  # forecaster.data.io
OUTLIER_RULES = ("error", "clip")  # forecaster.data.outliers
SPLITS = ("ratio", "ett", "borders", "last")  # forecaster.data.split
LOSSES = ("mse", "mae", "huber")  # forecaster.fit.training.LOSSES holds their functions
LOSS_SCALES = ("none", "naive")  # forecaster.scores.metrics.error_scale
SCHEDULERS = ("onecycle", "cosine", "none")  # forecaster.fit.training.ForecastModule.configure_optimizers
YARDSTICKS = ("mse", "mae", "mase", "smape")  # forecaster.scores.metrics.yardstick
METRICS = ("auto", *YARDSTICKS)  # auto: forecaster.scores.metrics.selection_metric
EXTENDS = ("none", "recursive")  # beyond the trained horizon: forecaster.serve.extension

# `Literal[TUPLE]` is `Literal["a", "b", ...]`: the names above, not a copy of them
ModelName = Literal[MODEL_NAMES]
AttentionPattern = Literal[ATTENTION_PATTERNS]
Format = Literal[FORMATS]
Fill = Literal[FILLS]
OutlierRule = Literal[OUTLIER_RULES]
Split = Literal[SPLITS]
Loss = Literal[LOSSES]
LossScale = Literal[LOSS_SCALES]
Scheduler = Literal[SCHEDULERS]
Metric = Literal[METRICS]

# the fields that name a variant or its parts: their errors read as `check_variant`'s
VARIANT_KEYS = ("model.name", "model.attention")


def check_variant(name: str, *, valid: tuple[str, ...] = VARIANTS, key: str = "variant") -> str:
    """`name` if it is one of `valid`, else a ConfigError naming it and the valid ones: the one check for
    every place a variant is named (`--variants`, `with_variant`, `variants:`, `model.name`, `model.attention`)."""
    if name not in valid:
        raise ConfigError(f"unknown {key} '{name}'; valid: {', '.join(valid)}")
    return name
