"""Search spaces for `forecaster tune`: what may vary, per model family and variant, as data.

A space maps dotted config keys to a distribution spec:

    model.d_model: {type: categorical, choices: [32, 64, 128]}
    model.n_layers: {type: int, low: 1, high: 3}
    trainer.lr: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}

`DEFAULTS` holds one space per trainable family (`transformer`, `lstm`, `linear`) and extra keys for
the variants that have a setting of their own, read from the pattern table (`forecaster.nn.patterns`):
the local window of every windowed pattern (`local`, `hybrid`, `dynamic`) and the share of global
tokens of a switched one (`dynamic`).
The space a variant is tuned in is, key by key, later wins: the family's defaults < the variant's
defaults < the config's `search: {family: ...}` < the config's `search: {variant: ...}`; a key set
to `null` drops it (that setting stays as the config has it). The defaults are chosen so that no
sample is invalid (every `d_model` is divisible by every `n_heads`; `hybrid` gets 2+ heads); what
depends on the data (a `patch_len` longer than the context) is caught by the normal validation of
each trial's config, and such a trial is pruned with its reason (`forecaster.tune.tuner`).
"""

from __future__ import annotations

from typing import Any

from forecaster.config import ATTENTION_PATTERNS, Config, check_variant
from forecaster.errors import ConfigError
from forecaster.nn.patterns import PATTERNS, switched, windowed
from forecaster.validation import TUNABLE

_LR = {"type": "float", "low": 1.0e-4, "high": 3.0e-3, "log": True}
_WEIGHT_DECAY = {"type": "float", "low": 1.0e-6, "high": 1.0e-2, "log": True}
_GLOBAL_SHARE = {"model.global_share": {"type": "categorical", "choices": [0.05, 0.1, 0.2]}}
DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "transformer": {
        "model.d_model": {"type": "categorical", "choices": [32, 64, 128]},
        "model.n_heads": {"type": "categorical", "choices": [2, 4]},  # divide every d_model
        "model.n_layers": {"type": "int", "low": 1, "high": 3},
        "model.d_ff": {"type": "categorical", "choices": [64, 128, 256]},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.3},
        "model.patch_len": {"type": "categorical", "choices": [8, 16]},
        "trainer.lr": _LR,
        "trainer.weight_decay": _WEIGHT_DECAY,
    },
    **{  # the settings of the patterns that have them: read from the table, not listed again
        pattern: {
            "model.window": {"type": "categorical", "choices": [2, 4, 8, 16]},
            **(_GLOBAL_SHARE if switched(pattern) else {}),
        }
        for pattern in PATTERNS
        if windowed(pattern)
    },
    "lstm": {
        "model.hidden_size": {"type": "categorical", "choices": [32, 64, 128]},
        "model.n_layers": {"type": "int", "low": 1, "high": 3},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.3},
        "trainer.lr": _LR,
        "trainer.weight_decay": _WEIGHT_DECAY,
    },
    "linear": {
        "model.decompose": {"type": "categorical", "choices": [True, False]},
        "model.moving_avg": {"type": "categorical", "choices": [13, 25, 49]},
        "trainer.lr": _LR,
        "trainer.weight_decay": _WEIGHT_DECAY,
    },
}


def family(variant: str) -> str:
    """The family whose default space a variant starts from: `transformer` for attention patterns."""
    return "transformer" if variant in ATTENTION_PATTERNS else variant


def check_tunable(variant: str) -> str:
    """`variant` if it has weights to tune, else a ConfigError naming it."""
    check_variant(variant)
    if variant not in TUNABLE:
        raise ConfigError(
            f"variant '{variant}' has nothing to train, so nothing to tune; tunable variants: {', '.join(TUNABLE)}"
        )
    return variant


def space_for(cfg: Config, variant: str) -> dict[str, dict[str, Any]]:
    """The search space `variant` is tuned in: defaults < variant defaults < `search:` family < variant."""
    layers = (DEFAULTS.get(family(variant)), DEFAULTS.get(variant), cfg.search.get(family(variant)))
    merged: dict[str, Any] = {}
    for layer in (*layers, cfg.search.get(variant) if variant != family(variant) else None):
        merged.update(layer or {})
    return {key: spec for key, spec in merged.items() if spec is not None}


def sample(trial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One value per key of `space`, suggested by the Optuna `trial` (parameter names are the dotted keys)."""
    values = {}
    for key, spec in space.items():
        if spec["type"] == "categorical":
            values[key] = trial.suggest_categorical(key, spec["choices"])
        elif spec["type"] == "int":
            values[key] = trial.suggest_int(
                key, spec["low"], spec["high"], step=spec.get("step") or 1, log=spec.get("log", False)
            )
        else:
            values[key] = trial.suggest_float(
                key, spec["low"], spec["high"], step=spec.get("step"), log=spec.get("log", False)
            )
    return values
