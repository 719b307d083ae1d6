"""What a fit needs beyond the ranges and choices of `forecaster.validation`: the network's shape rules
(`forecaster.models.PROBLEMS`, with the config's window sizes) and Lightning's own check of the Trainer
settings; where the fit's package goes (`check_deploy`). Run before any data is read or any run is
opened: a bad setting found after the fit costs the fit and leaves a FAILED run behind. What needs the
data (the batches `limit_*_batches` leaves, the network's size for the schema) is checked as soon as the
data are prepared, before the network is built (`check_batches`, `check_size`).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from forecaster.config import Config
from forecaster.errors import ConfigError
from forecaster.validation import check_config

PARAMETER_LIMIT = 1 << 30  # values a network's constructors may allocate: 4 GiB of float32, 16 with Adam's state
ACTIVATION_LIMIT = 1 << 31  # values of one layer's activations for one batch (8 GiB of float32)
SIZE_SETTINGS = {  # the settings that size each trainable family, named when its network is too large
    "transformer": ("d_model", "d_ff", "n_layers", "decoder_layers"),
    "lstm": ("hidden_size", "n_layers"),
    "linear": ("moving_avg",),
}


def check_trainable(cfg: Config) -> Config:
    """`check_config` (the loss and schedule among the choices), and what a fit needs besides: the network's
    shape rules (those of `forecaster.models`, with the window sizes of the config) and the Trainer's settings."""
    from forecaster.models import PROBLEMS

    check_config(cfg)
    d = cfg.data
    dims = SimpleNamespace(
        n_features=1,
        n_targets=1,
        context_len=d.context_len,
        horizon=d.horizon,
        period=d.season_period or 1,
        n_future=0,
        static_cardinalities=[],
    )  # the columns, covariates and the period from the frequency are known only once the data is read
    found = next(PROBLEMS[cfg.model.name](cfg.model, dims), None) if cfg.model.name in PROBLEMS else None
    if found is not None:
        raise ConfigError(found)
    _check_lightning(cfg)
    return cfg


def check_deploy(cfg: Config, save, register: str | None, *, save_option: str = "--save") -> None:
    """Where a fit deploys, before it starts: `save` a folder a package may go to (a new folder, or an
    earlier package to replace: `forecaster.serve.package.check_target`) and `register` a name MLflow's
    registry takes, with tracking on (`forecaster.track.tracking.check_model_name`)."""
    from forecaster.serve.package import check_target
    from forecaster.track.tracking import check_model_name

    if save is not None:
        check_target(save, save_option)
    check_model_name(register, tracked=cfg.tracking.enabled)


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


def check_batches(cfg: Config, data) -> None:
    """`trainer.limit_train_batches` / `limit_val_batches` (shares of the batches) leave at least one
    batch of the prepared data (`data`: a `PreparedData`). Lightning takes int(batches x share) and
    stops with a traceback on 0, after the run has opened; the batch count is known once the data are
    prepared, so the share is refused here with the numbers and the smallest share that works."""
    from forecaster.fit.distributed import processes
    from forecaster.models import NETWORKS

    if not NETWORKS[cfg.model.name].TRAINABLE:  # no Trainer runs batches: a naive or classical "fit"
        return
    world = processes(cfg.trainer)[1]  # a multi-process fit splits the windows among its processes
    for split, key, size in (("train", "train", cfg.data.batch_size), ("val", "val", cfg.data.eval_batch_size)):
        share, windows = getattr(cfg.trainer, f"limit_{key}_batches"), data.n_windows(split)
        batches = math.ceil(math.ceil(windows / world) / size)
        if share == 0 or windows == 0 or int(batches * share) >= 1:
            continue
        least = math.ceil(1000 / batches) / 1000
        raise ConfigError(
            f"'trainer.limit_{key}_batches' {share} of the {batches} {split} batches ({windows} windows, "
            f"batch size {size}) is less than one batch; set --trainer.limit_{key}_batches {least} or more "
            "(1.0: every batch)"
        )


def build_sized(cfg: Config, schema):
    """`forecaster.models.build_network(cfg.model, schema)`, refused with a ConfigError naming the settings
    when the network would be too large for any machine: one batch's activations estimated from the config
    and the schema first (`check_activations`), then the constructors run under the allocation budget the
    package loader uses (`forecaster.serve.checks.AllocationBudget`), which raises before the tensor that
    would cross PARAMETER_LIMIT is allocated, instead of a fit that allocates gigabytes and traces back."""
    from forecaster.models import build_network
    from forecaster.serve.checks import AllocationBudget, OverBudget

    check_activations(cfg, schema)
    try:
        with AllocationBudget(PARAMETER_LIMIT):
            return build_network(cfg.model, schema)
    except OverBudget as exc:
        raise ConfigError(
            f"the {cfg.variant()} network of these settings needs more than {exc.asked} values, beyond the "
            f"{PARAMETER_LIMIT} a fit may allocate; lower {_sizes(cfg)}"
        ) from None


def check_activations(cfg: Config, schema) -> None:
    """One batch's largest activation, estimated as batch size x input columns x steps x width, within
    ACTIVATION_LIMIT: the width is the family's widest setting (the transformer's d_model / d_ff, the
    LSTM's hidden_size) and the steps include the linear model's moving-average padding."""
    m, d = cfg.model, cfg.data
    widths = {"transformer": max(m.d_model, m.d_ff), "lstm": m.hidden_size}.get(m.name, 1)
    steps = d.context_len + d.horizon + (m.moving_avg if m.name == "linear" else 0)
    values = max(d.batch_size, d.eval_batch_size) * max(len(schema.columns), 1) * steps * widths
    if values > ACTIVATION_LIMIT:
        raise ConfigError(
            f"one batch of the {cfg.variant()} network of these settings holds about {values} values, beyond "
            f"the {ACTIVATION_LIMIT} a fit may allocate; lower {_sizes(cfg)} or --data.batch_size ({d.batch_size})"
        )


def _sizes(cfg: Config) -> str:
    """The settings that size `cfg`'s network, with their values, as a message names them."""
    names = SIZE_SETTINGS.get(cfg.model.name, ())
    return ", ".join(f"--model.{k} ({getattr(cfg.model, k)})" for k in names) or "the model's settings"
