"""Choosing on validation: each fit's validation score, the validation winner, the ensemble.

A comparison ranks on the test split, but what a user should deploy is chosen on validation
only, so that no choice reads a test row: every fit, trained or not (naive and classical baselines
have nothing to train), is scored on the validation windows (rolling origins: `data.val_windows`)
by one yardstick, `selection.metric` (`forecaster.scores.metrics.yardstick`: mse, mae, or per
series mase or smape; auto = mase for a long file of several series, else mse), and the variant with
the lowest mean validation score over seeds is the *validation winner*.

The `ensemble` variant combines the k variants with the lowest validation score whose networks read
the same windows as the best one (the same data settings, hence one prepared dataset and scaler);
a variant ranked before the last member that cannot join (other data settings, or no network in
memory after a resume) is skipped with a note. It is their median or their greedy weighted mean,
whichever scores lower on validation (`forecaster.compare.ensembling`, which keeps both scores in
the ensemble rows' `ensemble` record). With several seeds, seed j's ensemble combines each member's
seed-j network, so the ensemble has one row per seed like any variant. Its validation score is that
of the rule used, computed as every variant's, so it can be the winner too (a tie goes to the
variant); its package is calibrated on its own validation residuals, so `predict --level` works
whatever wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from forecaster.compare import ensembling
from forecaster.compare.table import Row
from forecaster.config import Config
from forecaster.data.windows import PreparedData
from forecaster.errors import ConfigError
from forecaster.scores.interval_metrics import interval_metrics
from forecaster.scores.intervals import calibrate
from forecaster.scores.metrics import evaluate, m4_metrics, validation_score
from forecaster.serve.ensemble import EnsembleForecaster, EnsemblePackage
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
    """The validation score every choice is made by (`selection.metric` over the validation windows)."""
    return validation_score(network, data, cfg.selection.metric, batch_size=cfg.data.eval_batch_size)


def check_ensemble_k(k: int) -> int:
    if k < 0:
        raise ConfigError(f"--ensemble-k must be 0 (no ensemble) or more, got {k}")
    return k


def by_validation(fits: list[Fit]) -> list[tuple[str, float]]:
    """(variant, mean validation score over seeds), best first; ties keep the order variants were
    given (never the test rank). Variants without a validation score are left out."""
    values: dict[str, list[float]] = {}
    for fit in fits:
        values.setdefault(fit.row.variant, [])
        if fit.row.val_score is not None:
            values[fit.row.variant].append(float(fit.row.val_score))
    order = {v: i for i, v in enumerate(values)}
    ranked = [(v, float(np.mean(x))) for v, x in values.items() if x]
    return sorted(ranked, key=lambda item: (item[1], order[item[0]]))


def winner(summary: list[dict], variants: list[str]) -> dict | None:
    """The summary item with the lowest mean validation score (ties: the order of `variants`,
    then the ensemble); None when no variant has one."""
    order = {v: i for i, v in enumerate([*variants, ENSEMBLE])}
    scored = [s for s in summary if s.get("val_score") is not None]
    return min(scored, key=lambda s: (s["val_score"], order.get(s["variant"], len(order)))) if scored else None


def members(fits: list[Fit], k: int) -> tuple[list[str], list[str]]:
    """The ensemble's members (at most `k`, best validation score first) and notes on the variants
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
    """One row per seed for the combination of `names`' networks of that seed (the rule and weights
    chosen on validation, `forecaster.compare.ensembling`; test metrics from its forecasts, interval
    metrics from its own conformal calibration on validation), and its per-test-window errors per seed."""
    seeds = [f.row.seed for f in fits if f.row.variant == names[0]]
    groups = [_seed_group(fits, names, seed) for seed in seeds]
    measured = []
    for group in groups:
        data, cfg = group[0].data, group[0].cfg
        forecasts = ensembling.validation_forecasts(
            [f.network for f in group], data, batch_size=cfg.data.eval_batch_size
        )
        measured.append((forecasts, ensembling.yardstick(cfg, data)))
    rows, errors = [], []
    for seed, group, combination in zip(seeds, groups, ensembling.choose(names, measured)):
        data, cfg = group[0].data, group[0].cfg
        network = EnsembleForecaster([f.network for f in group], combination.network_weights())
        metrics = evaluate(
            network, data.dataset("test"), data.scaler, batch_size=cfg.data.eval_batch_size, keep_errors=True
        )
        errors.append(metrics.pop("window_se"))
        predictions = metrics.pop("predictions")
        if cfg.data.split == "last":
            metrics.update(m4_metrics(data, predictions))
        calibration = calibrate(network, data, levels=cfg.model.levels, batch_size=cfg.data.eval_batch_size)
        if calibration is not None:  # its intervals scored on test like every variant's
            metrics.update(interval_metrics(network, data, calibration, batch_size=cfg.data.eval_batch_size))
        costs = {k: sum(float(f.row.metrics[k]) for f in group) for k in ("n_params", "train_seconds")}
        val_score, record = validation_mse(network, data, cfg), combination.to_json()  # the variants' yardstick
        rows.append(
            Row(ENSEMBLE, seed, None, {**metrics, **costs}, val_score=val_score, members=list(names), ensemble=record)
        )
    return rows, errors


def _seed_group(fits: list[Fit], names: list[str], seed: int) -> list[Fit]:
    """The fits of `names` (in that order) for `seed`."""
    return [next(f for f in fits if f.row.variant == v and f.row.seed == seed) for v in names]


def best_package(fits: list[Fit], variant: str, rows: list[Row], refit=None) -> ForecastPackage | None:
    """The package of the validation winner `variant` (its first seed's network, calibrated on
    validation); for the ensemble, an `EnsemblePackage` of its members' packages of the first seed
    of its `rows`, with that seed's rule and weights and intervals calibrated on the ensemble's own
    validation forecasts, each member's network `refit(fit)` when given (fitted again on every row;
    the calibration stays the validated ensemble's). None if a network is not in memory."""
    if variant != ENSEMBLE:
        fit = next(f for f in fits if f.row.variant == variant)
        if fit.network is None:
            return None
        calibration = calibrate(fit.network, fit.data, levels=fit.cfg.model.levels)  # as the fit's own package
        return ForecastPackage(fit.cfg, fit.data.schema, fit.data.scaler, fit.network, None, calibration)
    row = min((r for r in rows if r.variant == ENSEMBLE), key=lambda r: r.seed)  # the first seed's, as for a variant
    group = _seed_group(fits, row.members, row.seed)
    if any(f.network is None for f in group):
        return None
    weights = ensembling.Combination.from_json(row.ensemble).network_weights()
    parts = {f.row.variant: ForecastPackage(f.cfg, f.data.schema, f.data.scaler, f.network, None) for f in group}
    package = EnsemblePackage(parts, weights=weights)
    cfg, data = group[0].cfg, group[0].data
    package.calibration = calibrate(package.network, data, levels=cfg.model.levels, batch_size=cfg.data.eval_batch_size)
    if refit is None:
        return package
    parts = {f.row.variant: ForecastPackage(f.cfg, f.data.schema, f.data.scaler, refit(f), None) for f in group}
    return EnsemblePackage(parts, weights=weights, calibration=package.calibration)
