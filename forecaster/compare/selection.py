"""Choosing on validation: each fit's validation MSE, the validation winner, the median ensemble.

A comparison ranks on the test split, but what a user should deploy is chosen on validation
only, so that no choice reads a test row: every fit, trained or not (naive baselines have nothing
to train), is scored on the validation windows by the trainer's validation loss
(`forecaster.scores.metrics.validation_loss`: MSE on scaled values, as the test `mse`; with
`trainer.loss_scale naive`, which `--auto` sets for many series, each window's errors over its
MASE scale first), and the variant with the lowest mean validation MSE over seeds is the
*validation winner*.

The `ensemble` variant is the median (per window, step and target) of the k variants with the
lowest validation MSE whose networks read the same windows as the best one (the same data
settings, hence one prepared dataset and scaler); a variant ranked before the last member that
cannot join (other data settings, or no network in memory after a resume) is skipped with a
note. With several seeds, seed j's ensemble combines each member's seed-j network, so the
ensemble has one row per seed like any variant. Its validation MSE is computed in the same way,
so it can be the winner too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from forecaster.compare.table import Row
from forecaster.config import Config
from forecaster.data.windows import PreparedData
from forecaster.errors import ConfigError
from forecaster.scores.intervals import calibrate
from forecaster.scores.metrics import evaluate, m4_metrics, validation_score
from forecaster.serve.ensemble import EnsemblePackage, MedianEnsemble
from forecaster.serve.package import ForecastPackage

ENSEMBLE = "ensemble"


@dataclass
class Fit:
    """One variant and seed of a comparison: its config, data (by data settings key), network
    (None when it finished before a resume and was not refitted) and row."""

    cfg: Config
    data_key: str
    data: PreparedData
    network: nn.Module | None
    row: Row


def validation_mse(network: nn.Module, data: PreparedData, cfg: Config) -> float:
    """The trainer's validation loss over every validation window: MSE on scaled values (as the test
    `mse`), each window's errors divided by its scale with `trainer.loss_scale naive`."""
    return validation_score(network, data, cfg.selection.metric, batch_size=cfg.data.eval_batch_size)


def check_ensemble_k(k: int) -> int:
    if k < 0:
        raise ConfigError(f"--ensemble-k must be 0 (no ensemble) or more, got {k}")
    return k


def by_validation(fits: list[Fit]) -> list[tuple[str, float]]:
    """(variant, mean validation MSE over seeds), best first; ties keep the order variants were
    given (never the test rank). Variants without a validation MSE are left out."""
    values: dict[str, list[float]] = {}
    for fit in fits:
        values.setdefault(fit.row.variant, [])
        if fit.row.val_mse is not None:
            values[fit.row.variant].append(float(fit.row.val_mse))
    order = {v: i for i, v in enumerate(values)}
    ranked = [(v, float(np.mean(x))) for v, x in values.items() if x]
    return sorted(ranked, key=lambda item: (item[1], order[item[0]]))


def winner(summary: list[dict], variants: list[str]) -> dict | None:
    """The summary item with the lowest mean validation MSE (ties: the order of `variants`,
    then the ensemble); None when no variant has one."""
    order = {v: i for i, v in enumerate([*variants, ENSEMBLE])}
    scored = [s for s in summary if s.get("val_mse") is not None]
    return min(scored, key=lambda s: (s["val_mse"], order.get(s["variant"], len(order)))) if scored else None


def members(fits: list[Fit], k: int) -> tuple[list[str], list[str]]:
    """The ensemble's members (at most `k`, best validation MSE first) and notes on the variants
    skipped. Fewer than two members: no ensemble (the notes say why)."""
    ranked = by_validation(fits)
    if k < 2 or len(ranked) < 2:
        return [], [] if k < 2 else [f"no ensemble: fewer than 2 variants to combine (--ensemble-k {k})"]
    groups = {v: [f for f in fits if f.row.variant == v] for v, _ in ranked}
    top_key = groups[ranked[0][0]][0].data_key
    chosen, notes = [], []
    for variant, _ in ranked:
        if len(chosen) == k:
            break
        if groups[variant][0].data_key != top_key:
            notes.append(f"ensemble: left out '{variant}': other data settings than '{ranked[0][0]}' (other windows)")
        elif any(f.network is None for f in groups[variant]):
            notes.append(f"ensemble: left out '{variant}': finished before the resume, its network is not in memory")
        else:
            chosen.append(variant)
    if len(chosen) < 2:
        return [], [*notes, f"no ensemble: fewer than 2 variants can be combined ({', '.join(chosen) or 'none'})"]
    return chosen, notes


def ensemble_rows(fits: list[Fit], names: list[str]) -> tuple[list[Row], list[np.ndarray]]:
    """One row per seed for the median of `names`' networks of that seed (validation and test
    metrics computed from their forecasts), and its per-test-window errors per seed."""
    rows, errors = [], []
    seeds = [f.row.seed for f in fits if f.row.variant == names[0]]
    for seed in seeds:
        group = [next(f for f in fits if f.row.variant == v and f.row.seed == seed) for v in names]
        data, cfg = group[0].data, group[0].cfg
        network = MedianEnsemble([f.network for f in group])
        metrics = evaluate(
            network, data.dataset("test"), data.scaler, batch_size=cfg.data.eval_batch_size, keep_errors=True
        )
        errors.append(metrics.pop("window_se"))
        predictions = metrics.pop("predictions")
        if cfg.data.split == "last":
            metrics.update(m4_metrics(data, predictions))
        costs = {k: sum(float(f.row.metrics[k]) for f in group) for k in ("n_params", "train_seconds")}
        val_mse = validation_mse(network, data, cfg)
        rows.append(Row(ENSEMBLE, seed, None, {**metrics, **costs}, val_mse=val_mse, members=list(names)))
    return rows, errors


def best_package(fits: list[Fit], variant: str, names: list[str]) -> ForecastPackage | None:
    """The package of the validation winner `variant` (its first seed's network; for the ensemble,
    an `EnsemblePackage` of `names`' first-seed packages); None if a network is not in memory."""

    def package(name: str) -> ForecastPackage | None:
        fit = next(f for f in fits if f.row.variant == name)
        if fit.network is None:
            return None
        calibration = calibrate(fit.network, fit.data, levels=fit.cfg.model.levels)  # as the fit's own package
        return ForecastPackage(fit.cfg, fit.data.schema, fit.data.scaler, fit.network, None, calibration)

    if variant != ENSEMBLE:
        return package(variant)
    parts = {name: package(name) for name in names}
    return EnsemblePackage(parts) if all(p is not None for p in parts.values()) else None
