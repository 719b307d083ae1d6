"""What a fit needs beyond the ranges and choices of `forecaster.validation`: the network's shape rules
(`forecaster.models.PROBLEMS`, with the config's window sizes) and Lightning's own check of the Trainer
settings. Run before any data is read or any run is opened.
"""

from __future__ import annotations

from types import SimpleNamespace

from forecaster.config import Config
from forecaster.errors import ConfigError
from forecaster.validation import check_config


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
