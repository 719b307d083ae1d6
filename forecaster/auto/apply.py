"""`--auto` applied to a config: read the file, derive the settings (`forecaster.auto.rules`), then rule 16.

Rule 16: the context length, and the linear model's loss, chosen on validation by a linear model.

The rules of `forecaster.auto.rules` give a context from the calendar (a natural span, at least two
horizons). Whether a longer look-back helps depends on the data, so `train` and `compare --auto`
try it: the candidates are that context, twice and four times it (while every series kept by the
rules still has a window in every split, at most 1,024 steps), each with the MSE and the MAE loss
(unless given). For each, the linear baseline (RevIN + one linear map: seconds to fit) is trained
with the settings derived for that context, and the candidate with the lowest validation score
(`forecaster.scores.metrics.validation_score`, `selection.metric`: the yardstick every choice uses) is
kept. Every candidate has the same validation targets (a split owns target rows, whatever the context), and the test
split is never read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from forecaster.auto.rules import MAX_CONTEXT, Derived, derive
from forecaster.config import SECTIONS, Config, dotted, flatten, override, read_yaml, with_variant
from forecaster.data.io import read_frame
from forecaster.data.split import window_counts
from forecaster.errors import DataError
from forecaster.validation import check_config

FACTORS = (1, 2, 4)
LOSSES = ("mse", "mae")


def apply(cfg: Config, explicit: set[str], *, probe: bool = True) -> tuple[Config, list[Derived]]:
    """`cfg` with the settings `derive` chooses for its data file (never those in `explicit`).

    With `probe`, the context length and the loss are then chosen on the validation split by a
    linear model (rule 16, below). The derived values go under the config's
    `variants:` entries: a variant's own setting wins.

    Raises:
        DataError: the file cannot be read, or its series are too short for any window.
    """

    frame = read_frame(cfg.data)
    shape = {
        "freq": frame.schema.freq,
        "lengths": [len(t) for t in frame.times],
        "n_series": len(frame.times),
        "n_columns": len(frame.schema.targets),
    }
    derived = derive_for(cfg, explicit, shape)
    out = with_derived(cfg, derived)
    if probe:
        out, derived = _probe(cfg, out, derived, explicit, shape)
    return check_config(out), derived


def _probe(
    cfg: Config, derived_cfg: Config, derived: list[Derived], explicit: set[str], shape: dict
) -> tuple[Config, list[Derived]]:
    """`derived_cfg` and `derived` with the context and loss of the best candidate on validation."""
    base = derived_cfg.data.context_len
    contexts = [base] if "data.context_len" in explicit else _contexts(derived_cfg, shape["lengths"])
    losses = [derived_cfg.trainer.loss] if "trainer.loss" in explicit else list(LOSSES)
    if len(contexts) * len(losses) < 2:
        return derived_cfg, derived
    results = []
    for context in contexts:
        fixed = explicit | {"data.context_len"}
        pinned = replace(cfg, data=replace(cfg.data, context_len=context))
        rules = derive_for(pinned, fixed, shape)
        for loss in losses:
            trial = with_derived(pinned, rules)
            trial.trainer = replace(trial.trainer, loss=loss)
            results.append((_validation_loss(trial), context, loss, rules))
    best = min(results, key=lambda r: r[0])
    tried = ", ".join(f"{c} {lo} {v:.4f}" for v, c, lo, _ in results)
    reason = f"lowest validation score of the linear model (context loss: value): {tried}"
    if len(contexts) > 1:
        chosen = [Derived("data.context_len", best[1], reason)]
    else:  # only the loss was tried: the context keeps its rule (when it was derived at all)
        chosen = [d for d in derived if d.key == "data.context_len"]
    if len(losses) > 1:  # the linear model's; the deep stacks keep rule 15's (its reason says why)
        chosen.append(Derived("variants.linear.trainer.loss", best[2], reason))
    out = [d for d in best[3] if d.key != "data.context_len"] + chosen
    return with_derived(replace(cfg, data=replace(cfg.data, context_len=best[1])), out), out


def _contexts(cfg: Config, lengths: list[int]) -> list[int]:
    """The derived context and its multiples that keep a window in every split of every series it kept."""
    kept = [n for n in set(lengths) if min(window_counts(n, cfg.data)) >= 1]
    out = []
    for factor in FACTORS:
        context = cfg.data.context_len * factor
        trial = replace(cfg.data, context_len=context)
        if context <= MAX_CONTEXT and all(min(window_counts(n, trial)) >= 1 for n in kept):
            out.append(context)
    return out


def _validation_loss(cfg: Config) -> float:
    """Fit the linear baseline with `cfg`'s data and trainer settings (untracked) and score it on validation."""
    import torch

    from forecaster.data.module import ForecastDataModule
    from forecaster.data.notes import LOGGER
    from forecaster.data.windows import prepare
    from forecaster.fit.training import fit, seed_all
    from forecaster.models import build_network
    from forecaster.scores.metrics import validation_score

    linear = with_variant(cfg, "linear")
    if linear.trainer.threads:
        torch.set_num_threads(linear.trainer.threads)
    level = LOGGER.level
    LOGGER.setLevel(logging.ERROR)  # the data's notes were printed once already
    try:
        data = prepare(linear.data)
    finally:
        LOGGER.setLevel(level)
    seed_all(linear.seed)
    network = build_network(linear.model, data.schema)
    trainer = replace(linear.trainer, progress_bar=False)
    fit(network, ForecastDataModule(linear.data, prepared=data), trainer, seed=linear.seed)
    return validation_score(network, data, linear.selection.metric)


def explicit_keys(config_path: str | None, typed: Iterable[str]) -> set[str]:
    """The dotted keys a user set: the sections of the `--config` file, and those typed on the command line."""
    raw = read_yaml(Path(config_path)) if config_path else {}
    return {key for key, _ in dotted({k: v for k, v in raw.items() if k in SECTIONS})} | set(typed)


def derive_for(cfg: Config, explicit: set[str], shape: dict) -> list[Derived]:
    """`derive` for data of `shape` (freq, lengths, n_series, n_columns) with `cfg`'s explicit values."""
    given = {key: value for key, value in flatten(cfg).items() if key in explicit}
    horizon = cfg.data.horizon if "data.horizon" in explicit else None
    try:
        return derive(**shape, horizon=horizon, explicit=explicit, given=given)
    except ValueError as exc:
        raise DataError(f"{cfg.data.path}: --auto cannot choose settings: {exc}") from None


def with_derived(cfg: Config, derived: list[Derived]) -> Config:
    """`cfg` with the derived values, under its `variants:` entries (a variant's own setting wins);
    a key `variants.<variant>.<section>.<field>` is one variant's (the linear model's loss)."""
    plain = [(d.key, d.value) for d in derived if not d.key.startswith("variants.")]
    out = override(cfg, plain, source="--auto", under_variants=True)
    for d in derived:
        if d.key.startswith("variants."):
            _, variant, key = d.key.split(".", 2)
            out.variants = {**out.variants, variant: {key: d.value, **out.variants.get(variant, {})}}
    return out
