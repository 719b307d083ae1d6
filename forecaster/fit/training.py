"""The Lightning system around any registered network, and the Trainer built from config.

`ForecastModule` owns what a network should not: the loss, the steps, the optimiser and the schedule
(AdamW with one-cycle or cosine decay). `fit()` builds the Trainer (early stopping on validation
loss, a checkpoint of the best weights, an optional moving average of the weights
(`trainer.ema_decay`), gradient clipping, seeding, and the accelerator / devices / strategy /
num_nodes / precision passed through, so the same config runs on a GPU or with DDP), trains, and
leaves the network holding its best weights. Given a checkpoint folder (the run's, beside the MLflow
store), `fit` checkpoints every epoch there and, when a checkpoint is already there, continues from
it exactly (`forecaster.fit.checkpoints`); without one, the best weights go to a temporary folder.
Networks that declare no weights to train (`Network.TRAINABLE` false: the naive baselines) are not
trained. Per-epoch metrics go to a `sink` callable, so this module knows nothing of MLflow.
`seed_all` is the one seeding call (used before the network is built and again when `fit` starts).
Importing this module changes no logger and no warnings filter; `fit` quietens Lightning while it
runs.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping, EMAWeightAveraging, ModelCheckpoint

from forecaster.config import TrainerConfig, check_choice
from forecaster.data.module import ForecastDataModule
from forecaster.errors import ForecasterError
from forecaster.fit import checkpoints
from forecaster.nn.common import Network
from forecaster.nn.quantiles import pinball_loss
from forecaster.scores.metrics import error_scale, observed

LOSSES = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}  # one per forecaster.config.LOSSES


class TrainingDiverged(ForecasterError):
    """The loss became NaN or infinite."""


class ForecastModule(pl.LightningModule):
    """Trains `network` on (x, y) batches with the configured loss (a quantile network,
    `forecaster.nn.quantiles`: the pinball loss over its quantiles plus the configured loss on its
    median); validation loss is MSE (of the median). With `trainer.loss_scale naive` both divide
    each window's errors by its scale (`metrics.error_scale`)."""

    def __init__(self, network: Network, cfg: TrainerConfig):
        super().__init__()
        check_choice("trainer.loss", cfg.loss)  # a TrainerConfig built in Python: its Literal's choices
        self.network, self.cfg, self.loss_fn = network, cfg, LOSSES[cfg.loss]

    def forward(self, x: torch.Tensor, *covariates) -> torch.Tensor:
        return self.network(x, *covariates)

    def training_step(self, batch, batch_idx):
        x, y, *covariates = batch  # covariates: (future, static) when the data has them
        scale = error_scale(x, y.shape[-1], self.cfg.loss_scale)
        if self.network.HAS_QUANTILES:  # a quantile head: the pinball loss over its quantiles
            pred = self.network.quantile_forecast(x, *covariates)
            pred = pred / (scale.unsqueeze(-1) if torch.is_tensor(scale) else scale)
            # the median is the point forecast: it is also trained with the point loss, or the tails'
            # gradients dominate the shared network (ETTh1 causal, seed 2021, validation MSE after 5
            # epochs: 0.7278 pinball alone, 0.7030 with the point loss, 0.7017 the point model)
            pred, target = observed(pred, y / scale)
            loss = pinball_loss(pred, target, self.network.levels)
            loss = loss + self.loss_fn(pred[..., self.network.median], target)
        else:
            loss = self.loss_fn(*observed(self.network(x, *covariates) / scale, y / scale))
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged: the loss is {loss.item()} at epoch {self.current_epoch}, "
                f"step {self.global_step}\n  fix: lower --trainer.lr (now {self.cfg.lr}) or "
                "--trainer.gradient_clip_val, or check the data for extreme values"
            )
        # sync_dist: the mean over a DDP fit's processes (no-op in one process)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y, *covariates = batch
        scale = error_scale(x, y.shape[-1], self.cfg.loss_scale)
        loss = F.mse_loss(*observed(self.network(x, *covariates) / scale, y / scale))
        self.log("val_loss", loss, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        total = int(self.trainer.estimated_stepping_batches)
        if self.cfg.scheduler == "none":
            return opt
        if self.cfg.scheduler == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=self.cfg.lr, total_steps=max(total, 2), pct_start=0.3
            )
        elif self.cfg.scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1))
        else:  # a TrainerConfig built in Python with a bad name, or a choice without its schedule here
            check_choice("trainer.scheduler", self.cfg.scheduler)
            raise NotImplementedError(f"trainer.scheduler {self.cfg.scheduler!r} has no schedule here")
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class EpochMetrics(Callback):
    """Sends train_loss, val_loss and the learning rate to `sink(metrics, epoch)` after each epoch."""

    def __init__(self, sink: Callable[[dict, int], None]):
        self.sink = sink

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k in ("train_loss", "val_loss")}
        metrics["lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        self.sink(metrics, trainer.current_epoch)


class Listen(Callback):
    """Tells `listeners` (`forecaster.progress.FitListener`: the live display, the tuner's pruning
    and run tags) of the fit's start, every training batch and every validation loss, and stops the
    fit after an epoch when one of them asks; it only reads the trainer's counters."""

    def __init__(self, listeners: list):
        self.listeners = listeners

    def on_fit_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        for listener in self.listeners:
            listener.on_fit_start()

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, outputs, batch, batch_idx) -> None:
        for listener in self.listeners:
            listener.batch(trainer.current_epoch, batch_idx + 1, int(trainer.num_training_batches))

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        loss = trainer.callback_metrics.get("val_loss")
        if loss is None or trainer.sanity_checking:
            return
        stop = [listener.validated(module.current_epoch, float(loss)) for listener in self.listeners]
        if any(stop):
            trainer.should_stop = True


@dataclass
class FitResult:
    epochs: int
    train_seconds: float
    best_val_loss: float | None
    best_steps: int | None = None  # optimiser steps when the kept (best) weights were saved: what a refit runs


def seed_all(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators (and Lightning's dataloader workers)."""
    pl.seed_everything(seed, workers=True, verbose=False)


@contextlib.contextmanager
def quiet_lightning():
    """Lightning's start-up chatter (accelerator lines, tips) and two harmless warnings hide the
    results; silence them while training. Other warnings still show."""
    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated")
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")  # resuming
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def fit(
    network: Network,
    datamodule: ForecastDataModule,
    cfg: TrainerConfig,
    *,
    seed: int,
    sink: Callable[[dict, int], None] | None = None,
    checkpoint_dir: Path | None = None,
    listeners: list | None = None,
) -> FitResult:
    """Train `network` in place and load its best weights (by validation loss).

    Args:
        checkpoint_dir: where to checkpoint every epoch (and continue from a checkpoint found
            there); None: no resumable checkpoints.
        listeners: `forecaster.progress.FitListener`s told of the fit (the display, the tuner's pruning).
    """
    extra = [Listen(listeners)] if listeners else []
    seed_all(seed)
    if not network.TRAINABLE:
        return FitResult(epochs=0, train_seconds=0.0, best_val_loss=None)
    with quiet_lightning():
        if checkpoint_dir is not None:
            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            folder = Path(checkpoint_dir).absolute()
            return _fit(network, datamodule, cfg, sink, folder, resumable=True, extra=extra)
        with tempfile.TemporaryDirectory(prefix="forecaster-ckpt-") as tmp:
            return _fit(network, datamodule, cfg, sink, Path(tmp), resumable=False, extra=extra)


def _fit(
    network: Network,
    datamodule: ForecastDataModule,
    cfg: TrainerConfig,
    sink: Callable[[dict, int], None] | None,
    folder: Path,
    *,
    resumable: bool,
    extra: list[Callback] | None = None,
) -> FitResult:
    module = ForecastModule(network, cfg)
    # a weights-only checkpoint skips the callbacks' save hooks, where weight averaging swaps the average in
    best_ckpt = ModelCheckpoint(
        dirpath=folder,
        filename="best",
        monitor="val_loss",
        mode="min",
        save_top_k=1,
        save_weights_only=cfg.ema_decay == 0,
    )
    callbacks = [
        EarlyStopping(
            monitor="val_loss", mode="min", patience=cfg.patience, strict=False, check_on_train_epoch_end=False
        ),
        best_ckpt,
    ]
    if cfg.limit_val_batches == 0:  # a refit on every row: no validation, the last weights are kept
        callbacks = []
    if cfg.ema_decay > 0:  # validation, the best checkpoint and the kept weights all use the average
        callbacks.insert(0, EMAWeightAveraging(decay=cfg.ema_decay))
    if sink is not None:
        callbacks.append(EpochMetrics(sink))
    resume_from = checkpoints.resume_path(folder) if resumable else None
    if resumable:
        callbacks.append(checkpoints.ResumePoint(folder))  # after best_ckpt: it saves that callback's state
    callbacks.extend(extra or ())
    trainer = pl.Trainer(
        **cfg.lightning_kwargs(),
        callbacks=callbacks,
        logger=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=folder,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)  # our file, no pickled class
    seconds = time.perf_counter() - start
    steps = trainer.global_step  # no best checkpoint (no validation: a refit): the last weights are kept
    if best_ckpt.best_model_path and trainer.is_global_zero:  # other DDP ranks leave after the fit
        state = torch.load(best_ckpt.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
        steps = int(state.get("global_step", steps))
    best = best_ckpt.best_model_score
    network.cpu()
    return FitResult(
        epochs=trainer.current_epoch,
        train_seconds=seconds,
        best_val_loss=float(best) if best is not None else None,
        best_steps=steps,
    )
