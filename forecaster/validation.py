"""One validation of every setting, run before any data is read or any MLflow run is opened.

The parser checks types (an int is an int); this module checks ranges, so that `--data.horizon 0`,
`--trainer.lr -1` or `--seed -1` is one line naming the field, the value and the valid range instead
of a traceback in the middle of a fit (and a FAILED run left behind). Each field's range is stated
once, in `RULES` (the split's in `forecaster.data.split.check_split`). Every command that loads a
config runs `check_config` on it — `train`, `compare`, `data inspect`, and a model package's
`config.yaml` — so all use the same check; `check_trainable` adds what only a fit needs: the loss
and schedule names, the network-shape rules of `forecaster.models` (reused, not restated) and
Lightning's own check of the Trainer settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from forecaster.config import LOSS_SCALES, Config, flatten
from forecaster.data.split import check_split
from forecaster.errors import ConfigError, out_of_range
from forecaster.tune.space import check_search

INT_LIMIT = 2**31 - 1  # the largest integer setting: lengths, sizes, counts
SEED_LIMIT = 2**32  # numpy's (and so Lightning's) seeds are 32-bit unsigned
SCHEDULERS = ("onecycle", "cosine", "none")  # training.ForecastModule.configure_optimizers
Rule = tuple[Callable[[Any], bool], str]


def at_least(low: int) -> Rule:
    return (lambda v: v >= low), f"an integer ≥ {low}"


def optional(rule: Rule) -> Rule:
    test, text = rule
    return (lambda v: v is None or test(v)), f"null or {text}"


def one_of(*names: str) -> Rule:
    return (lambda v: v in names), f"one of {', '.join(names)}"


def share(*, closed: bool) -> Rule:
    return (lambda v: 0 <= v <= 1 and (closed or v < 1)), "a number in [0, 1]" if closed else "a number in [0, 1)"


POSITIVE_FINITE: Rule = (lambda v: math.isfinite(v) and v > 0), "a finite number > 0"
NON_NEGATIVE_FINITE: Rule = (lambda v: math.isfinite(v) and v >= 0), "a finite number ≥ 0"
BATCH_SHARE: Rule = (lambda v: 0 < v <= 1), "a share of the batches in (0, 1]"

RULES: dict[str, Rule] = {
    "data.format": one_of("auto", "wide", "long"),
    "data.delimiter": ((lambda v: len(v) == 1 and v not in '"\r\n'), "one character (not a quote or a newline)"),
    "data.fill": one_of("error", "ffill", "interpolate"),
    "data.outliers": one_of("error", "clip"),
    "data.context_len": at_least(1),
    "data.horizon": at_least(1),
    "data.batch_size": at_least(1),
    "data.eval_batch_size": at_least(1),
    "data.num_workers": at_least(0),
    "data.season_period": optional(at_least(1)),
    # window, patch_len, stride, moving_avg and dropout are checked by forecaster.models (check_trainable)
    **{f"model.{k}": at_least(1) for k in ("d_model", "n_heads", "n_layers", "d_ff", "decoder_layers", "hidden_size")},
    "model.head_rank": at_least(0),
    "model.attn_dropout": share(closed=False),
    "model.local_share": share(closed=True),
    "model.global_share": share(closed=True),
    "model.quantiles": ((lambda v: v is None or all(0 < q < 1 for q in v)), "null or a list of numbers in (0, 1)"),
    "model.levels": ((lambda v: v is None or all(0 < q < 100 for q in v)), "null or a list of numbers in (0, 100)"),
    "trainer.max_epochs": at_least(1),
    "trainer.max_steps": ((lambda v: v == -1 or v >= 1), "-1 (no limit) or an integer ≥ 1"),
    "trainer.lr": POSITIVE_FINITE,
    "trainer.weight_decay": NON_NEGATIVE_FINITE,
    "trainer.loss_scale": one_of(*LOSS_SCALES),
    "trainer.patience": at_least(0),
    "trainer.ema_decay": share(closed=False),
    "trainer.gradient_clip_val": NON_NEGATIVE_FINITE,
    "trainer.limit_train_batches": BATCH_SHARE,
    "trainer.limit_val_batches": BATCH_SHARE,
    "trainer.num_nodes": at_least(1),
    "trainer.devices": ((lambda v: isinstance(v, str) or v == -1 or v >= 1), "-1 (all), an integer ≥ 1 or auto"),
    "trainer.threads": optional(at_least(1)),
    "seed": ((lambda v: 0 <= v < SEED_LIMIT), f"an integer in [0, {SEED_LIMIT - 1}]"),
}


def _huge(v: Any) -> bool:
    """An integer torch cannot hold as a size or an index once shapes multiply."""
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT_LIMIT


def check_config(cfg: Config) -> Config:
    """`cfg` itself when every field is in range; else a ConfigError naming the first field that is not."""
    values = flatten(cfg)
    for key, value in values.items():  # the seed has its own range, checked below
        if key != "seed" and any(_huge(v) for v in (value if isinstance(value, list) else [value])):
            raise out_of_range(key, value, f"an integer of at most {INT_LIMIT} in size")
    for key, (test, valid) in RULES.items():
        if not test(values[key]):
            raise out_of_range(key, values[key], valid)
    check_split(cfg.data)  # forecaster.data.split
    check_search(cfg.search)  # forecaster.tune.space: `tune`'s spaces
    return cfg


def check_trainable(cfg: Config) -> Config:
    """`check_config`, and what a fit needs besides: the loss and schedule, the network's shape rules
    (those of `forecaster.models`, with the window sizes of the config) and the Trainer's settings."""
    from forecaster.fit.training import LOSSES
    from forecaster.models import PROBLEMS

    check_config(cfg)
    if cfg.trainer.loss not in LOSSES:
        raise out_of_range("trainer.loss", cfg.trainer.loss, f"one of {', '.join(LOSSES)}")
    if cfg.trainer.scheduler not in SCHEDULERS:
        raise out_of_range("trainer.scheduler", cfg.trainer.scheduler, f"one of {', '.join(SCHEDULERS)}")
    d = cfg.data
    dims = SimpleNamespace(
        n_features=1, n_targets=1, context_len=d.context_len, horizon=d.horizon, period=d.season_period or 1
    )  # the columns and the period from the frequency are known only once the data is read
    found = next(PROBLEMS[cfg.model.name](cfg.model, dims), None) if cfg.model.name in PROBLEMS else None
    if found is not None:
        raise ConfigError(found)
    _check_lightning(cfg)
    return cfg


def _check_lightning(cfg: Config) -> None:
    """Lightning's own check of accelerator, devices, strategy and precision: build (not run) a Trainer."""
    import lightning.pytorch as pl
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from forecaster.fit.training import quiet_lightning

    try:
        with quiet_lightning():
            pl.Trainer(**cfg.trainer.lightning_kwargs(), logger=False, enable_checkpointing=False)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as exc:
        keys = ("accelerator", "devices", "strategy", "num_nodes", "precision")
        text = " ".join(str(exc).split())
        raise ConfigError(
            f"the trainer settings are not usable here ({text}); check "
            + ", ".join(f"--trainer.{k} ({getattr(cfg.trainer, k)!r})" for k in keys)
        ) from None


def check_at_least(flag: str, value: int, low: int) -> int:
    """A command's own integer option (`--seeds`, `--step`, ...) checked against its lower bound."""
    if value < low:
        raise ConfigError(f"{flag} must be an integer ≥ {low}, got {value}")
    return value
