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
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from forecaster import progress
from forecaster.auto.rules import as_records
from forecaster.compare import fanout, selection
from forecaster.compare.summary import log_parent
from forecaster.config import VARIANTS, Config, check_variant, with_variant
from forecaster.data.windows import PreparedData, prepare
from forecaster.errors import ConfigError
from forecaster.fit.experiment import WINDOW_ERRORS, experiment_name, input_example, train
from forecaster.scores.metrics import diebold_mariano, format_p
from forecaster.track import tracking


def parse_variants(text: str | None) -> list[str]:
    """Variant names from `a,b,...` (all of them when empty), each checked by `check_variant`."""
    names = [check_variant(v.strip()) for v in (text or ",".join(VARIANTS)).split(",") if v.strip()]
    if not names:
        raise ConfigError(f"--variants names no variant; valid: {', '.join(VARIANTS)}")
    return names


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
) -> tuple[list[dict], list[dict]]:
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
        plan: where the fits run (`forecaster.compare.fanout`: Ray workers or a cluster); None: here, in order.

    Returns:
        one row per fit (and per seed of the ensemble), and the ranked summary per variant (see
        `summarise`); the validation winner's rows and summary item have `val_winner` True.
    """
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    selection.check_ensemble_k(ensemble_k)
    if register and not cfg.tracking.enabled:
        raise ConfigError("--register needs tracking: drop --tracking.enabled false, or use --save-best DIR")
    fanout.check(plan or fanout.Plan(), cfg.tracking.enabled, tracking.tracking_uri(cfg.tracking.uri))
    say = console.print if console is not None else lambda *args: None
    with tracking.start_run(
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
    ) as parent:
        earlier = tracking.child_runs(parent.run_id) if resume else {}
        if derived and not resume:
            tracking.log_json(parent, as_records(derived), "auto.json")
        with progress.display(console, total=len(variants) * seeds):
            fits, errors, overlay = _fit_all(cfg, variants, seeds, earlier, console, derived, (plan, parent.run_id))
        names, notes = selection.members(fits, ensemble_k)
        rows = [f.row for f in fits]
        if names:
            ensemble, errors[selection.ENSEMBLE] = selection.ensemble_rows(fits, names)
            rows += ensemble
        if errors_out is not None:
            errors_out.update(errors)
        summary = summarise(rows, errors, lag=cfg.data.horizon - 1)
        best = selection.winner(summary, variants)
        for item in [*rows, *summary]:
            item["val_winner"] = best is not None and item["variant"] == best["variant"]
        for row in rows:
            row["p_vs_best"] = next(s["p_vs_best"] for s in summary if s["variant"] == row["variant"])
        for note in notes:
            say(f"[dim]{note}[/]")
        _log_summary(parent, cfg, rows, summary, best, names, (overlay, fits[0].data if fits else None))
        if best is not None and (save_best or register):
            _deploy(parent, fits, best["variant"], names, save_best, register, say)
    return rows, summary


def _fit_all(cfg: Config, variants: list[str], seeds: int, earlier: dict, console, derived=None, where=(None, None)):
    """Every variant and seed as a child run (variants with the same data settings share one
    prepared dataset), run where `where` = (plan, parent run id) says (`forecaster.compare.fanout`).
    Returns the fits, per-window test errors per variant and overlay windows."""
    cache: dict[str, PreparedData] = {}
    jobs = []
    for variant in variants:
        for k in range(seeds):
            vcfg = with_variant(cfg, variant)
            vcfg.seed = cfg.seed + k
            key = json.dumps(vcfg.data.__dict__, sort_keys=True, default=str)
            if key not in cache:
                cache[key] = prepare(vcfg.data)
            jobs.append(fanout.Job(vcfg, key, cache[key], earlier.get(f"{variant}-seed{vcfg.seed}"), derived))
    fits, overlay, errors = [], {}, defaultdict(list)
    for fit, window_se in fanout.run_fits(jobs, _fit_job, plan=where[0], parent=where[1], console=console):
        variant = fit.row["variant"]
        fits.append(fit)
        errors[variant].append(window_se)
        if fit.row["seed"] == cfg.seed and fit.network is not None:  # each variant's first seed
            overlay[variant] = _one_window(fit.network, fit.data)
    return fits, errors, overlay


def _log_summary(parent, cfg: Config, rows, summary, best, names, overlay: tuple) -> None:
    parent.log_text(to_csv(summary), "comparison.csv")
    parent.log_text(to_markdown(summary), "comparison.md")
    tracking.log_json(parent, rows, "metrics.json")
    if summary:
        top = summary[0]
        parent.log_metrics({"best_mse": top["mse"], "best_mae": top["mae"]})
        parent.set_tags({"best_variant": top["variant"]})
    if best is not None:  # what to deploy: chosen on validation, never on test
        parent.log_metrics({"val_winner_val_mse": best["val_mse"]})
        parent.set_tags({"val_winner": best["variant"]})
    if names:
        parent.set_tags({"ensemble_members": ",".join(names)})
    if cfg.tracking.plots and summary:
        _log_plots(parent, summary, *overlay)
    log_parent(parent, cfg, rows, summary, best, overlay[1])  # the table, winner, charts, p-values, data


def _deploy(parent, fits: list[selection.Fit], variant: str, names: list[str], save_best, register, say) -> None:
    """Save and/or register the validation winner's package (see `selection.best_package`)."""
    package = selection.best_package(fits, variant, names)
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

            source = names[0] if variant == selection.ENSEMBLE else variant  # the ensemble's members share data
            first = next(f for f in fits if f.row["variant"] == source)
            log_model(parent, package, target, input_example(first.data), register=register)
            say(f"Registered the validation winner '{variant}' as {register}@champion")


def _fit_job(job: fanout.Job, console=None, callbacks=None) -> tuple[selection.Fit, np.ndarray]:
    """`_child` for one `fanout.Job` (what `fanout.run_fits` runs, here or in a Ray worker)."""
    return _child(job.cfg, job.key, job.data, job.earlier, console, job.derived, callbacks)


def _child(
    vcfg: Config, key: str, data: PreparedData, earlier, console, derived=None, callbacks=None
) -> tuple[selection.Fit, np.ndarray]:
    """Fit one variant and seed as a child run (resuming `earlier`, the child a stopped comparison
    left, or taking its results if it FINISHED) and score it on validation. Returns it and its
    per-test-window errors."""
    name = f"[bold]{vcfg.variant()}[/] seed {vcfg.seed}"
    if earlier is not None and earlier.info.status == "FINISHED":
        if console is not None:
            console.print(f"{name}: finished earlier, not refitted")
        progress.skip()
        row, window_se = _finished(earlier.info.run_id)
        row = {**row, "run_id": earlier.info.run_id, "val_mse": earlier.data.metrics.get("val_mse")}
        return selection.Fit(vcfg, key, data, None, row), window_se
    resume = earlier.info.run_id if earlier is not None else None
    outcome = train(vcfg, prepared=data, nested=True, quiet=True, resume=resume, derived=derived, callbacks=callbacks)
    row = {"variant": vcfg.variant(), "seed": vcfg.seed, "run_id": outcome.run_id, **outcome.metrics}
    row["val_mse"] = selection.validation_mse(outcome.network, data, vcfg)
    if outcome.run_id is not None:  # a resumed comparison chooses from it without refitting
        tracking.Run(outcome.run_id).log_metrics({"val_mse": row["val_mse"]})
    return selection.Fit(vcfg, key, data, outcome.network, row), outcome.window_se


def _finished(run_id: str) -> tuple[dict, np.ndarray]:
    """A finished child's metrics row and per-window errors, as it logged them."""
    row = tracking.load_json(run_id, "metrics.json")
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


SUMMARY_KEYS = (  # per-fit metrics averaged over seeds (with their spread) in the ranked summary
    "mse",
    "mae",
    "mse_original",
    "mae_original",
    "n_params",
    "epochs",
    "seconds_per_epoch",
    "train_seconds",
    "predict_ms_per_window",
    "val_mse",
)
M4_KEYS = ("smape", "mase", "owa")  # averaged too when the rows have them (split `last`)
INTERVAL_KEYS = (
    "coverage_80",
    "coverage_90",
    "width_80",
    "width_90",
    "msis",
    "mql",
)  # forecaster.scores.interval_metrics


def summarise(rows: list[dict], errors: dict[str, list] | None = None, *, lag: int = 0) -> list[dict]:
    """Mean and standard deviation over seeds per variant, ranked by mean test MSE.

    A key that a variant's rows lack (an ensemble has no epochs, a resumed fit may have no
    `val_mse`) is None for it; `M4_KEYS` are summarised when any row has them. With per-window
    errors, each variant also gets `p_vs_best`: the one-sided Diebold-Mariano p-value of "the best
    variant forecasts better than this one" (seed-averaged per-window squared errors, Newey-West lag
    `lag`; see `forecaster.scores.metrics.diebold_mariano`).
    """
    groups = defaultdict(list)
    for row in rows:
        groups[row["variant"]].append(row)
    optional = (k for k in (*M4_KEYS, *INTERVAL_KEYS) if any(r.get(k) is not None for r in rows))
    keys = [*SUMMARY_KEYS, *optional]
    out = []
    for variant, group in groups.items():
        item = {"variant": variant, "seeds": len(group)}
        for key in keys:
            values = [float(r[key]) for r in group if r.get(key) is not None]
            item[key] = float(np.mean(values)) if values else None
            item[f"{key}_std"] = (statistics.stdev(values) if len(values) > 1 else 0.0) if values else None
        if group[0].get("members"):
            item["members"] = ",".join(group[0]["members"])
        out.append(item)
    out.sort(key=lambda r: r["mse"])
    for i, item in enumerate(out, 1):
        item["rank"] = i
        item["p_vs_best"] = None
        if errors and i > 1 and errors.get(item["variant"]) and errors.get(out[0]["variant"]):
            best, this = (np.mean(errors[v], axis=0) for v in (out[0]["variant"], item["variant"]))
            item["p_vs_best"] = diebold_mariano(best, this, lag=lag)[1] if len(best) == len(this) else None
    return out


def _cells(item: dict) -> list[str]:
    def pm(key: str, spec: str) -> str:
        if item.get(key) is None:
            return "-"
        return f"{item[key]:{spec}}" + (f" ± {item[key + '_std']:{spec}}" if item["seeds"] > 1 else "")

    one = lambda key, spec: "-" if item.get(key) is None else f"{item[key]:{spec}}"
    return [
        str(item["rank"]),
        item["variant"],
        pm("mse", ".4f"),
        pm("mae", ".4f"),
        one("mse_original", ".4g"),
        pm("val_mse", ".4f"),
        one("n_params", ",.0f"),
        one("epochs", ".1f"),
        one("seconds_per_epoch", ".2f"),
        one("train_seconds", ".1f"),
        one("predict_ms_per_window", ".3f"),
        format_p(item.get("p_vs_best")),
    ]


def _interval_columns(summary: list[dict]) -> list[str]:
    """The interval metrics shown in the table (coverage and MSIS), when any variant has them."""
    return [k for k in ("coverage_80", "coverage_90", "msis") if any(item.get(k) is not None for item in summary)]


HEADERS = [
    "rank",
    "variant",
    "MSE",
    "MAE",
    "MSE (original)",
    "val loss",
    "params",
    "epochs",
    "s/epoch",
    "train s",
    "ms/window",
    "p (best better)",
]


def headers(summary: list[dict]) -> list[str]:
    """`HEADERS`, then the interval metrics' columns when any variant has them."""
    return [*HEADERS, *(k.replace("coverage_", "cover ") for k in _interval_columns(summary))]


def table_row(item: dict, summary: list[dict]) -> list[str]:
    """One variant's cells under `headers(summary)` (the Markdown, terminal and HTML tables)."""
    return _cells(item) + [("-" if item.get(k) is None else f"{item[k]:.3f}") for k in _interval_columns(summary)]


def to_markdown(summary: list[dict]) -> str:
    names = headers(summary)
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(table_row(item, summary)) + " |" for item in summary]
    return "\n".join(lines) + "\n"


def to_csv(summary: list[dict]) -> str:
    import csv
    import io

    if not summary:
        return ""
    fields = ["rank", *dict.fromkeys(k for item in summary for k in item if k != "rank")]  # the ensemble's members too
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(summary)
    return buf.getvalue()


def deploy_line(summary: list[dict]) -> str:
    """The line that names the validation winner, printed after the ranked table."""
    best = next((s for s in summary if s.get("val_winner")), None)
    if best is None:
        return "Deploy: no variant has a validation MSE (finished before a resume that predates it)"
    members = f" (median of {best['members']})" if best.get("members") else ""
    return (
        f"Deploy: [bold]{best['variant']}[/]{members} (lowest validation loss {best['val_mse']:.4f}; "
        "the test ranking is for reporting, not for choosing)"
    )


def rich_table(summary: list[dict], title: str):
    from rich.table import Table

    table = Table(title=title)
    for h in headers(summary):
        table.add_column(h, justify="left" if h == "variant" else "right")
    for item in summary:
        table.add_row(*table_row(item, summary))
    return table
