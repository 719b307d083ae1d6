"""Train a set of variants over seeds on the same data and split, and rank them.

One parent MLflow run holds a child run per variant and seed, the ranked table (CSV and
Markdown), a bar chart of test MSE per variant and an overlay of every variant's forecast on one
test window. Variants that change nothing in `data` share one prepared dataset. A comparison
that was stopped (a signal, a crash) is resumed with `compare(..., resume=PARENT_RUN_ID)`: the
parent run is reopened, children that FINISHED are ranked from what they logged (their metrics and
per-window errors) without refitting, and the others are resumed or started.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from forecaster import progress
from forecaster.auto.rules import as_records
from forecaster.classical import cost
from forecaster.classical.networks import FITTED
from forecaster.compare import fanout, selection
from forecaster.compare.summary import log_parent
from forecaster.compare.table import Row, mark, summarise, to_csv, to_markdown
from forecaster.config import CLASSICAL, VARIANTS, Config, check_variant, with_variant
from forecaster.data.windows import PreparedData, prepare
from forecaster.errors import ConfigError, out_of_range
from forecaster.fit.checks import check_deploy, check_trainable
from forecaster.fit.experiment import WINDOW_ERRORS, Deploy, experiment_name, input_example, refit, train
from forecaster.scores.intervals import calibrate
from forecaster.track import tracking
from forecaster.validation import SEED_LIMIT, check_at_least


def parse_variants(text: str | None) -> list[str]:
    """Variant names from `a,b,...` (all of them when empty), each checked by `check_variant`.
    A comparison of all of them (`--variants` not given) keeps the classical ones only where the data
    are small enough: `compare(..., classical_by_cost=True)`, `forecaster.classical.cost.left_out`."""
    names = [check_variant(v.strip()) for v in (text or ",".join(VARIANTS)).split(",") if v.strip()]
    if not names:
        raise ConfigError(f"--variants names no variant; valid: {', '.join(VARIANTS)}")
    return names


@dataclass
class Ranking:
    """A comparison's outcome: a row per fit (and per seed of the ensemble), the ranked summary per
    variant, the validation winner's summary item (None: no variant has a validation MSE) and the
    ensemble's members (empty: no ensemble)."""

    rows: list[Row]
    summary: list[dict]
    best: dict | None
    members: list[str]


def compare(
    cfg: Config,
    *,
    variants: list[str],
    seeds: int = 1,
    console=None,
    resume: str | None = None,
    ensemble_k: int = 3,
    save_best: str | Path | None = None,
    register: str | None = None,
    derived: list | None = None,
    errors_out: dict | None = None,
    plan: fanout.Plan | None = None,
    classical_by_cost: bool = False,
    fits_out: list | None = None,
) -> tuple[list[Row], list[dict]]:
    """Fit every variant for `seeds` seeds (cfg.seed, cfg.seed + 1, ...), add the median ensemble
    of the `ensemble_k` best by validation MSE, and name the validation winner (`val_winner`).

    Args:
        resume: the id of a comparison's parent run that did not finish, to continue.
        ensemble_k: members of the `ensemble` row (0 or 1: no ensemble); see `forecaster.compare.selection`.
        save_best: write the validation winner's package here.
        register: log the validation winner's package under the parent run and register it as
            this name with alias 'champion' (needs tracking).
        derived: the settings `--auto` chose (`forecaster.auto.rules.Derived`), logged as `auto.json`.
        errors_out: when given, filled with each variant's per-test-window squared errors, one
            array per seed in seed order (what the p-values are computed from).
        fits_out: when given, filled with every fit (`forecaster.compare.selection.Fit`: its config, data
            and validated network; the Python API's `Comparison.models`).
        plan: where the fits run (`forecaster.compare.fanout`: Ray workers or a cluster); None: here, in order.
        classical_by_cost: leave out the classical variants (`ets`, `theta`, `arima`) whose fits on these
            data would cost more than `forecaster.classical.cost.BUDGET_S`, with a note saying so (what a
            comparison without `--variants` does); False: fit every variant in `variants`.

    Returns:
        one `Row` per fit (and per seed of the ensemble), and the ranked summary per variant (see
        `forecaster.compare.table.summarise`); the validation winner's rows and item have `val_winner` True.
    """
    check_request(cfg, seeds, ensemble_k, register, plan, variants, save_best=save_best)
    say = console.print if console is not None else lambda *args: None
    records = as_records(derived) if derived else None
    cache: dict[str, PreparedData] = {}  # data settings -> prepared data, shared by the variants
    if classical_by_cost:
        variants = affordable(cfg, variants, cache, say)
    with open_parent(cfg, variants, seeds, ensemble_k, resume) as parent:
        earlier = tracking.child_runs(parent.run_id) if resume else {}
        if records and not resume:
            tracking.log_json(parent, records, "auto.json")
        with progress.display(console, total=len(variants) * seeds):
            fits, errors, overlay = _fit_all(
                cfg, variants, seeds, earlier, console, records, (plan, parent.run_id), cache
            )
        say_fallbacks(fits, say)
        ranking = rank(cfg, fits, errors, variants, ensemble_k, say)
        _hand_back(errors_out, errors, fits_out, fits)
        _log_summary(parent, cfg, ranking, (overlay, fits[0].data if fits else None))
        if ranking.best is not None and (save_best or register):
            _deploy(parent, fits, ranking.best["variant"], ranking.rows, save_best, register, say)
    return ranking.rows, ranking.summary


def _hand_back(errors_out: dict | None, errors: dict, fits_out: list | None, fits: list) -> None:
    """Fill the caller's `errors_out` and `fits_out` (see `compare`), where given."""
    if errors_out is not None:
        errors_out.update(errors)
    if fits_out is not None:
        fits_out.extend(fits)


def check_request(
    cfg: Config, seeds: int, ensemble_k: int, register: str | None, plan, variants: list[str] = (), *, save_best=None
) -> None:
    """The comparison's own options, every variant's settings, the seeds cfg.seed .. cfg.seed + seeds - 1 and
    where the winner deploys, before its parent run opens (the command line and the Python API alike)."""
    check_at_least("--seeds", seeds, 1)
    if cfg.seed + seeds > SEED_LIMIT:
        raise out_of_range("seed", cfg.seed, f"an integer in [0, {SEED_LIMIT - seeds}] with --seeds {seeds}")
    for variant in variants:
        check_trainable(with_variant(cfg, variant))
    selection.check_ensemble_k(ensemble_k)
    check_deploy(cfg, save_best, register, save_option="--save-best")
    fanout.check(plan or fanout.Plan(), cfg.tracking.enabled, tracking.tracking_uri(cfg.tracking.uri))


def open_parent(cfg: Config, variants: list[str], seeds: int, ensemble_k: int, resume: str | None):
    """The comparison's parent run (reopened with `resume`), tagged so that `report` and `--resume` find it."""
    return tracking.start_run(
        uri=cfg.tracking.uri,
        experiment=experiment_name(cfg),
        run_name=f"compare-{cfg.name}",
        enabled=cfg.tracking.enabled,
        tags={
            tracking.KIND_TAG: tracking.COMPARISON,
            "variants": ",".join(variants),
            "seeds": seeds,
            "ensemble_k": ensemble_k,  # a tag, not a param: a resume may choose another k
        },
        params={"variants": ",".join(variants), "seeds": seeds, "config": cfg.name},
        resume=resume,
    )


def rank(cfg: Config, fits: list[selection.Fit], errors: dict, variants: list[str], ensemble_k: int, say) -> Ranking:
    """The ensemble's rows (when k allows one), the ranked summary with p-values, and the choice on
    validation; `errors` gains the ensemble's per-window errors."""
    members, notes = selection.members(fits, ensemble_k)
    rows = [f.row for f in fits]
    if members:
        ensemble, errors[selection.ENSEMBLE] = selection.ensemble_rows(fits, members)
        rows += ensemble
    summary = summarise(rows, errors, lag=cfg.data.horizon - 1)
    best = selection.winner(summary, variants)
    mark(rows, summary, best)
    for note in notes:
        say(f"[dim]{note}[/]")
    return Ranking(rows, summary, best, members)


def affordable(cfg: Config, variants: list[str], cache: dict[str, PreparedData], say) -> list[str]:
    """`variants` less the classical ones whose fits, one per validation and test window and target
    column, would take longer than `forecaster.classical.cost.BUDGET_S` (each left out with a note)."""
    kept = []
    for variant in variants:
        if variant in CLASSICAL:
            data = _prepared(with_variant(cfg, variant), cache)[1]
            s = data.schema
            fits = (data.n_windows("val") + data.n_windows("test")) * s.n_targets
            note = cost.left_out(variant, fits=fits, context_len=s.context_len, season=max(s.period or 1, 1))
            if note is not None:
                say(f"[dim]{note}[/]")
                continue
        kept.append(variant)
    return kept


def say_fallbacks(fits: list[selection.Fit], say) -> None:
    """A note per classical variant whose fit failed on some windows (the first seed's network: the
    windows are the same for every seed), saying how those windows were forecast instead."""
    told_of = set()
    for fit in fits:
        if fit.row.variant not in CLASSICAL or fit.network is None or fit.row.variant in told_of:
            continue
        told_of.add(fit.row.variant)
        outcomes = fit.network.outcomes()  # forecaster.classical.networks.ClassicalForecaster
        fallbacks = {how: n for how, n in outcomes.items() if how != FITTED}
        if fallbacks:
            told = ", ".join(f"{n:,} {how}" for how, n in fallbacks.items())
            say(
                f"[dim]{fit.row.variant}: statsforecast could not fit {sum(fallbacks.values()):,} of "
                f"{sum(outcomes.values()):,} windows x columns; those were {told}[/]"
            )


def _prepared(vcfg: Config, cache: dict[str, PreparedData]) -> tuple[str, PreparedData]:
    """The prepared data of `vcfg.data` and its key in `cache` (prepared once per data settings)."""
    key = json.dumps(vcfg.data.__dict__, sort_keys=True, default=str)
    if key not in cache:
        cache[key] = prepare(vcfg.data)
    return key, cache[key]


def _fit_all(
    cfg: Config,
    variants: list[str],
    seeds: int,
    earlier: dict,
    console,
    derived=None,
    where=(None, None),
    cache: dict[str, PreparedData] | None = None,
):
    """Every variant and seed as a child run (variants with the same data settings share one
    prepared dataset, kept in `cache`), run where `where` = (plan, parent run id) says
    (`forecaster.compare.fanout`). Returns the fits, per-window test errors per variant and overlay windows."""
    cache = {} if cache is None else cache
    jobs = []
    for variant in variants:
        for k in range(seeds):
            vcfg = with_variant(cfg, variant)
            vcfg.seed = cfg.seed + k
            key, data = _prepared(vcfg, cache)
            jobs.append(fanout.Job(vcfg, key, data, earlier.get(f"{variant}-seed{vcfg.seed}"), derived))
    fits, overlay, errors = [], {}, defaultdict(list)
    for fit, window_se in fanout.run_fits(jobs, _fit_job, plan=where[0], parent=where[1], console=console):
        variant = fit.row.variant
        fits.append(fit)
        errors[variant].append(window_se)
        if fit.row.seed == cfg.seed and fit.network is not None:  # each variant's first seed
            overlay[variant] = _one_window(fit.network, fit.data)
    return fits, errors, overlay


def _log_summary(parent, cfg: Config, ranking: Ranking, overlay: tuple) -> None:
    summary, best = ranking.summary, ranking.best
    parent.log_text(to_csv(summary), "comparison.csv")
    parent.log_text(to_markdown(summary), "comparison.md")
    tracking.log_json(parent, [row.to_json() for row in ranking.rows], "metrics.json")
    if summary:  # the test ranking's first row, named as such: for reporting, never what to deploy
        top = summary[0]
        parent.log_metrics({"test_best_mse": top["mse"], "test_best_mae": top["mae"]})
        parent.set_tags({"test_best_variant": top["variant"]})
    if best is not None:  # what to deploy: chosen on validation, never on test
        parent.log_metrics({"val_winner_val_score": best["val_score"]})
        parent.set_tags({"val_winner": best["variant"]})
    if ranking.members:
        rule = next((s.get("ensemble_rule") for s in summary if s["variant"] == "ensemble"), None)
        parent.set_tags({"ensemble_members": ",".join(ranking.members), **({"ensemble_rule": rule} if rule else {})})
    if cfg.tracking.plots and summary:
        _log_plots(parent, summary, *overlay)
    log_parent(parent, cfg, ranking.rows, summary, best, overlay[1])  # the table, winner, charts, p-values, data


def _deploy(parent, fits: list[selection.Fit], variant: str, rows: list[Row], save_best, register, say) -> None:
    """Save and/or register the validation winner's package (see `selection.best_package`); with
    `selection.refit`, a single variant's settings fitted again on every row (`forecaster.fit.experiment.refit`)."""
    if _refit_winner(fits, variant, save_best, register, say):
        return
    refitting = variant == selection.ENSEMBLE and fits[0].cfg.selection.refit
    if refitting:
        say("Refitting the ensemble's trainable members on every row")
    package = selection.best_package(fits, variant, rows, refit=_refitted if refitting else None)
    if package is None:
        say(
            f"[yellow]The validation winner '{variant}' finished before the resume: its network is not in "
            "memory, so it was not saved or registered; run the comparison again without --resume.[/]"
        )
        return
    with tempfile.TemporaryDirectory(prefix="forecaster-") as tmp:
        target = package.save(Path(save_best) if save_best else Path(tmp) / "package")
        if save_best:
            say(f"Saved the validation winner '{variant}' to {target}")
        if register:
            from forecaster.serve.pyfunc import log_model

            source = next(iter(package.members)) if variant == selection.ENSEMBLE else variant  # members share data
            first = next(f for f in fits if f.row.variant == source)
            log_model(parent, package, target, input_example(first.data), register=register)
            say(f"Registered the validation winner '{variant}' as {register}@champion")


def _refit_winner(fits: list[selection.Fit], variant: str, save_best, register, say) -> bool:
    """Deploy the winner fitted again on every row, as a child run of the comparison: True when done
    (a trainable single variant with `selection.refit`, its validation fit in memory for the intervals)."""
    fit = next((f for f in fits if f.row.variant == variant), None)
    steps = int(fit.row.metrics.get("best_steps") or 0) if fit is not None else 0
    if fit is None or fit.network is None or not (fit.cfg.selection.refit and fit.network.TRAINABLE and steps):
        return False
    calibration = calibrate(fit.network, fit.data, levels=fit.cfg.model.levels)  # validation residuals
    deploy = Deploy(save_best, register, calibration)
    say(f"Refitting the validation winner '{variant}' on every row ({steps} steps, seed {fit.cfg.seed})")
    refit(fit.cfg, fit.data, steps, deploy, refit_of=fit.row.run_id)
    if save_best:
        say(f"Saved the validation winner '{variant}', refitted on every row, to {save_best}")
    if register:
        say(f"Registered the validation winner '{variant}', refitted on every row, as {register}@champion")
    return True


def _refitted(fit: selection.Fit):
    """`fit`'s network fitted again on every row (the steps its validation fit kept), in a child run
    that logs no model of its own (the ensemble's package is what is deployed); itself when untrainable."""
    steps = int(fit.row.metrics.get("best_steps") or 0)
    if fit.network is None or not fit.network.TRAINABLE or not steps:
        return fit.network
    cfg = replace(fit.cfg, tracking=replace(fit.cfg.tracking, log_model=False))
    return refit(cfg, fit.data, steps, Deploy(None, None), refit_of=fit.row.run_id)[0]


def _fit_job(job: fanout.Job, console=None) -> tuple[selection.Fit, np.ndarray]:
    """Fit one variant and seed as a child run (what `fanout.run_fits` runs, here or in a Ray worker):
    resuming `job.earlier`, the child a stopped comparison left, or taking its results if it
    FINISHED; then score it on validation. Returns it and its per-test-window errors."""
    vcfg, data, earlier = job.cfg, job.data, job.earlier
    if earlier is not None and earlier.info.status == "FINISHED":
        if console is not None:
            console.print(f"[bold]{vcfg.variant()}[/] seed {vcfg.seed}: finished earlier, not refitted")
        progress.skip()
        row, window_se = _finished(earlier.info.run_id)
        row.run_id = earlier.info.run_id  # its metrics.json holds val_score, logged by the fit itself
        return selection.Fit(vcfg, job.key, data, None, row), window_se
    resume = earlier.info.run_id if earlier is not None else None
    outcome = train(vcfg, prepared=data, nested=True, quiet=True, resume=resume, derived=job.derived)
    # the yardstick of the choice, logged by the fit in its own run (a resumed comparison reads it there)
    row = Row(vcfg.variant(), vcfg.seed, outcome.run_id, dict(outcome.metrics), val_score=outcome.metrics["val_score"])
    return selection.Fit(vcfg, job.key, data, outcome.network, row), outcome.window_se


def _finished(run_id: str) -> tuple[Row, np.ndarray]:
    """A finished child's row and per-window errors, as it logged them."""
    row = Row.from_json(tracking.load_json(run_id, "metrics.json"))
    return row, np.asarray(tracking.load_json(run_id, WINDOW_ERRORS), dtype=np.float32)


@torch.no_grad()
def _one_window(network, data: PreparedData):
    network.eval()
    test = data.dataset("test")
    x, y, *covariates = test.__getitems__([len(test) // 2])
    return x[0, :, 0].numpy(), y[0, :, 0].numpy(), network(x, *covariates)[0, :, 0].numpy()


def _log_plots(run, summary: list[dict], overlay: dict, data: PreparedData) -> None:
    from forecaster import plots

    names = [r["variant"] for r in summary]
    run.log_figure(
        plots.metric_bars(names, [r["mse"] for r in summary], [r["mse_std"] for r in summary]),
        "plots/mse_by_variant.png",
    )
    if not overlay:  # every child had finished before a resume: no network in memory
        return
    x, y, _ = next(iter(overlay.values()))
    unscale = lambda a: data.scaler.inverse_column(a, 0)
    preds = {name: unscale(p) for name, (_, _, p) in overlay.items()}
    run.log_figure(
        plots.overlay_figure(unscale(x), unscale(y), preds, column=data.schema.columns[0]), "plots/forecast_overlay.png"
    )
