"""One fit, end to end: data -> network -> training -> test metrics -> MLflow run -> model package.

`train()` is what `forecaster train` runs and what `forecaster compare` runs once per variant and
seed (sharing one prepared dataset). It seeds everything before building the network (and
`training.fit` seeds again before training), so a rerun with the same seed reproduces the weights
and the metrics. The network is sized by the data's schema. A tracked fit checkpoints every epoch
in its run's checkpoint folder; `train(cfg, resume=RUN_ID)` reopens that run and continues from
its last checkpoint to the metrics an uninterrupted fit would have had.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from forecaster import progress
from forecaster.config import Config, dump_yaml, flatten
from forecaster.data import notes
from forecaster.data.split import SPLITS
from forecaster.data.times import localize
from forecaster.data.windows import PreparedData, prepare
from forecaster.fit import distributed
from forecaster.fit.checks import build_sized, check_batches, check_deploy
from forecaster.nn.common import count_parameters
from forecaster.scores.interval_metrics import interval_metrics
from forecaster.scores.intervals import Calibration, calibrate
from forecaster.scores.metrics import evaluate, m4_metrics, validation_score
from forecaster.serve.package import ForecastPackage
from forecaster.track import run_inputs, tracking

WINDOW_ERRORS = "window_se.json"
MULTI_PROCESS_REFIT = (
    "a multi-process fit deploys its validated network; for a refit on every row, train with one process"
)


@dataclass
class Outcome:
    """What a fit leaves behind."""

    metrics: dict
    network: nn.Module
    model_uri: str | None
    run_id: str | None
    window_se: np.ndarray  # per-test-window MSE on scaled values, for paired tests
    calibration: Calibration | None = None  # the package's conformal intervals (None: no model.levels)


@dataclass
class Scores:
    """A fitted network on the held-out windows: test metrics, per-test-window MSE (scaled values)
    and the conformal calibration from the validation windows (None: no intervals configured)."""

    metrics: dict
    window_se: np.ndarray
    calibration: Calibration | None


def experiment_name(cfg: Config) -> str:
    return cfg.tracking.experiment or cfg.name


def train(
    cfg: Config,
    *,
    prepared: PreparedData | None = None,
    save: str | Path | None = None,
    register: str | None = None,
    nested: bool = False,
    quiet: bool = False,
    resume: str | None = None,
    derived: list[dict] | None = None,
    listeners: list | None = None,
) -> Outcome:
    """Fit `cfg`'s model and score it on every test window; track it and save its package.

    `resume` is the id of a run of this config that did not finish (KILLED, FAILED): it is
    reopened and its fit continued from its last checkpoint. `derived` are the settings `--auto`
    chose, as records (`forecaster.auto.rules.as_records`), logged as `auto.json`. With the `last`
    split the metrics include M4's `smape`, `mase` and `owa` (`forecaster.scores.metrics.m4_metrics`).
    Conformal intervals are calibrated on the validation windows (`forecaster.scores.intervals`),
    scored on the test windows (`forecaster.scores.interval_metrics`) and saved with the package.
    `listeners`: `forecaster.progress.FitListener`s of the fit (the tuner's pruning and run tags).
    """
    check_deploy(cfg, save, register)  # before the data are read: a bad --save or --register costs no fit
    cfg, save, register = distributed.for_this_rank(cfg, save, register, resume)  # DDP: rank 0 logs, saves
    data = prepared if prepared is not None else prepare(cfg.data)
    check_batches(cfg, data)
    network = build(cfg, data)
    with open_run(cfg, data, nested=nested, resume=resume, derived=derived) as run:
        result = fit_network(cfg, network, data, run, quiet=quiet, listeners=listeners)
        distributed.leave_unless_rank_zero()
        scores = score(cfg, network, data)
        metrics = {**scores.metrics, **fit_metrics(result, network)}
        log_results(run, cfg, network, data, metrics, scores, nested=nested)
        deploy = Deploy(save, register, scores.calibration, derived)
        model_uri = save_deployed(run, cfg, network, data, result.best_steps, deploy)
        if (shown := progress.current()) is not None:
            shown.end_fit(result.epochs)
    return Outcome(metrics, network, model_uri, run.run_id, scores.window_se, scores.calibration)


def build(cfg: Config, data: PreparedData) -> nn.Module:
    """The seeded network of `cfg.model`, sized by the data's schema (before any run is opened, so
    that a rerun with the same seed builds the same weights)."""
    from forecaster.fit.training import seed_all

    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    seed_all(cfg.seed)
    network = build_sized(cfg, data.schema)  # a network too large for any machine is refused, not allocated
    if network.NEEDS_UNITS:  # naive2 decomposes in the data's units (multiplicative needs them)
        k = data.schema.n_targets
        network.set_units(torch.as_tensor(data.scaler.mean[:k]), torch.as_tensor(data.scaler.scale[:k]))
    return network


@contextlib.contextmanager
def open_run(
    cfg: Config,
    data: PreparedData,
    *,
    nested: bool,
    resume: str | None,
    derived: list[dict] | None,
    suffix: str = "",
    splits: tuple[str, ...] = SPLITS,
):
    """The fit's MLflow run (a no-op run when tracking is off), named `<variant>-seed<seed><suffix>`: its tags
    and params, and on a new run the config, the data (`splits`) as dataset inputs and `--auto`'s settings.
    Ends KILLED / FAILED on errors."""
    variant = cfg.variant()
    tags = {
        "variant": variant,
        "seed": cfg.seed,
        "dataset": Path(data.frame.path).name,
        "dataset_hash": tracking.file_hash(data.frame.path),
        **tracking.package_versions(),
        **notes.as_tags(data.frame.diagnostics),
        **({"auto": "true"} if derived else {}),
    }
    with tracking.start_run(
        uri=cfg.tracking.uri,
        experiment=experiment_name(cfg),
        run_name=f"{variant}-seed{cfg.seed}{suffix}",
        enabled=cfg.tracking.enabled,
        nested=nested,
        tags=tags,
        params=flatten(cfg),
        resume=resume,
    ) as run:
        if not resume:
            run.log_text(dump_yaml(cfg), "config.yaml")
            run_inputs.log_data(run.run_id, data, tags["dataset_hash"], splits)  # the runs table's Dataset column
            if derived:
                tracking.log_json(run, derived, "auto.json")
        yield run


def fit_network(cfg: Config, network: nn.Module, data: PreparedData, run, *, quiet: bool, listeners=None):
    """Train `network` in place (`forecaster.fit.training.fit`), epochs logged to `run` and
    checkpointed in its folder (one process only), the live display told when there is one."""
    from forecaster.data.module import ForecastDataModule
    from forecaster.fit.training import fit

    shown = progress.current()  # the live display (or a line per fit) replaces Lightning's bar
    trainer_cfg = replace(cfg.trainer, progress_bar=False) if quiet or shown else cfg.trainer
    if shown is not None:
        shown.start_fit(f"{cfg.variant()} seed {cfg.seed}", cfg.trainer.max_epochs)
    return fit(
        network,
        ForecastDataModule(cfg.data, prepared=data),
        trainer_cfg,
        seed=cfg.seed,
        sink=run.log_metrics,
        checkpoint_dir=run.checkpoint_dir if distributed.processes(cfg.trainer)[1] == 1 else None,
        listeners=[*(listeners or []), *([shown] if shown is not None else [])],
    )


def score(cfg: Config, network: nn.Module, data: PreparedData) -> Scores:
    """Test metrics over every test window (M4's with the `last` split), the validation yardstick
    every choice is made by (`val_score`: `selection.metric` over the validation windows, logged in the
    fit's own run so a resumed comparison finds it), and conformal intervals calibrated on the
    validation windows and scored on the test ones when `model.levels` asks."""
    batch = cfg.data.eval_batch_size
    metrics = evaluate(network, data.dataset("test"), data.scaler, batch_size=batch, keep_errors=True)
    metrics["val_score"] = validation_score(network, data, cfg.selection.metric, batch_size=batch)
    window_se, predictions = metrics.pop("window_se"), metrics.pop("predictions")
    if cfg.data.split == "last":
        metrics.update(m4_metrics(data, predictions))
    calibration = calibrate(network, data, levels=cfg.model.levels, batch_size=batch)
    if calibration is not None:
        metrics.update(interval_metrics(network, data, calibration, batch_size=batch))
    return Scores(metrics, window_se, calibration)


def fit_metrics(result, network: nn.Module) -> dict:
    """What the fit cost: time, epochs, parameters (and the best validation loss, when trained)."""
    out = {
        "train_seconds": result.train_seconds,
        "epochs": result.epochs,
        "n_params": count_parameters(network),
        "seconds_per_epoch": result.train_seconds / result.epochs if result.epochs else 0.0,
    }
    if result.best_val_loss is not None:
        out["best_val_loss"] = result.best_val_loss
    if result.best_steps:
        out["best_steps"] = result.best_steps  # what a refit on every row runs
    return out


def log_results(run, cfg: Config, network: nn.Module, data: PreparedData, metrics: dict, scores: Scores, *, nested):
    """The metrics (and `metrics.json`), a comparison child's per-window errors, and the plots."""
    variant = cfg.variant()
    run.log_metrics(metrics)
    tracking.log_json(run, {"variant": variant, "seed": cfg.seed, **metrics}, "metrics.json")
    if nested:  # a comparison resumed later ranks this finished fit without refitting it
        tracking.log_json(run, scores.window_se.tolist(), WINDOW_ERRORS)
    if cfg.tracking.plots:
        log_plots(run, network, data, variant, scores.calibration)


@dataclass
class Deploy:
    """Where a fit's package goes (`save`, `register`), its intervals and `--auto`'s settings for a refit's run."""

    save: str | Path | None
    register: str | None
    calibration: Calibration | None = None
    derived: list[dict] | None = None

    @property
    def wanted(self) -> bool:
        return self.save is not None or bool(self.register)


def save_deployed(run, cfg: Config, network: nn.Module, data: PreparedData, steps: int | None, deploy: Deploy):
    """Save / log the package of `network`, or with `selection.refit` (a trainable network, saved or
    registered) of its settings fitted again on every row (`refit`). The logged model's URI, or None."""
    if cfg.selection.refit and deploy.wanted and distributed.processes(cfg.trainer)[1] > 1:  # its other ranks left
        notes.LOGGER.warning(MULTI_PROCESS_REFIT)
        return save_package(run, cfg, network, data, deploy.save, deploy.register, deploy.calibration)
    if not (cfg.selection.refit and network.TRAINABLE and steps and deploy.wanted):
        return save_package(run, cfg, network, data, deploy.save, deploy.register, deploy.calibration)
    return refit(cfg, data, steps, deploy, refit_of=run.run_id)[1]


def refit(cfg: Config, data: PreparedData, steps: int, deploy: Deploy, *, refit_of: str | None):
    """Fit `cfg` again, same seed and settings, on every window of every series (train, validation and
    test periods) for `steps` optimiser steps (those the validation fit kept), without validating, in a
    run of its own (a child of the active run, tagged `refit_of`, its dataset input every row), and
    save / log that network's package with `deploy.calibration` (the validation fit's conformal radii:
    no held-out rows remain). Returns the network and the logged model's URI (or None)."""
    everything = data.every_row()
    network = build(cfg, everything)
    trainer = replace(cfg.trainer, max_steps=steps, max_epochs=steps, limit_val_batches=0, patience=0)
    with open_run(
        cfg, everything, nested=True, resume=None, derived=deploy.derived, suffix="-refit", splits=("train",)
    ) as run:
        run.set_tags({"refit_of": refit_of or "", "refit_steps": steps})
        result = fit_network(replace(cfg, trainer=trainer), network, everything, run, quiet=True)
        run.log_metrics(fit_metrics(result, network))
        uri = save_package(run, cfg, network, everything, deploy.save, deploy.register, deploy.calibration)
    return network, uri


def save_package(
    run, cfg: Config, network: nn.Module, data: PreparedData, save, register, calibration=None
) -> str | None:
    """Save the model package to `save` and/or log it as the run's MLflow model (registered as
    `register`); the logged model's URI, or None when none was logged."""
    log = cfg.tracking.enabled and (cfg.tracking.log_model or register)
    if save is None and not log:
        return None
    package = ForecastPackage(cfg, data.schema, data.scaler, network, path=None, calibration=calibration)
    with tempfile.TemporaryDirectory(prefix="forecaster-") as tmp:
        target = package.save(Path(save) if save is not None else Path(tmp) / "package")
        if not log:
            return None
        from forecaster.serve.pyfunc import log_model

        return log_model(run, package, target, input_example(data), register=register)


def input_example(data: PreparedData, max_series: int = 2) -> pd.DataFrame:
    """The last `context_len` rows of (at most `max_series`) series, in the CSV's layout; with future
    covariates the last of them are the horizon's future rows (targets empty), as `predict` takes them."""
    s, parts = data.schema, []
    rows = s.context_len + (s.horizon if s.future_covariates else 0)
    for i, (sid, times, values) in enumerate(list(data.frame.series())[:max_series]):
        part = pd.DataFrame(values[-rows:], columns=s.columns)
        part.iloc[s.context_len :, : s.n_targets] = np.nan  # the future rows: only the covariates are known
        part.insert(0, s.time_col, localize(times[-rows:], s.tz).astype(str))  # as the CSV wrote them
        if s.id_col:
            part.insert(0, s.id_col, sid)
        for k, name in enumerate(s.static):
            part[name] = data.frame.static[i][k]
        parts.append(part)
        if s.layout == "wide":
            break
    return pd.concat(parts, ignore_index=True)


def log_plots(run, network: nn.Module, data: PreparedData, variant: str, calibration=None) -> None:
    """Forecasts vs actuals (with the 80 % and 90 % bands when calibrated) for a few test windows,
    and attention maps for attention variants."""
    from forecaster import plots

    figure = plots.forecasts_on_test_windows(network, data, variant=variant, calibration=calibration)
    run.log_figure(figure, "plots/forecast.png")
    if network.SHOWS_ATTENTION:
        run.log_figure(plots.attention_on_test_window(network, data, variant=variant), "plots/attention.png")
