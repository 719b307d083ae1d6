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
from collections import defaultdict

import numpy as np
import torch

from forecaster import tracking
from forecaster.auto import as_records
from forecaster.config import VARIANTS, Config, check_variant, with_variant
from forecaster.data.windows import PreparedData, prepare
from forecaster.errors import ConfigError
from forecaster.experiment import WINDOW_ERRORS, experiment_name, train
from forecaster.metrics import diebold_mariano


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
    derived: list | None = None,
) -> tuple[list[dict], list[dict]]:
    """Fit every variant for `seeds` seeds (cfg.seed, cfg.seed + 1, ...).

    Args:
        resume: the id of a comparison's parent run that did not finish, to continue.
        derived: the settings `--auto` chose (`forecaster.auto.Derived`), logged as `auto.json`.

    Returns:
        one row per fit, and the ranked summary per variant (see `summarise`).
    """
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    cache: dict[str, PreparedData] = {}
    rows, overlay, errors = [], {}, defaultdict(list)
    with tracking.start_run(
        uri=cfg.tracking.uri,
        experiment=experiment_name(cfg),
        run_name=f"compare-{cfg.name}",
        enabled=cfg.tracking.enabled,
        tags={tracking.KIND_TAG: tracking.COMPARISON, "variants": ",".join(variants), "seeds": seeds},
        params={"variants": ",".join(variants), "seeds": seeds, "config": cfg.name},
        resume=resume,
    ) as parent:
        earlier = tracking.child_runs(parent.run_id) if resume else {}
        if derived and not resume:
            tracking.log_json(parent, as_records(derived), "auto.json")
        for variant in variants:
            for k in range(seeds):
                vcfg = with_variant(cfg, variant)
                vcfg.seed = cfg.seed + k
                key = json.dumps(vcfg.data.__dict__, sort_keys=True, default=str)
                if key not in cache:
                    cache[key] = prepare(vcfg.data)
                data = cache[key]
                earlier_child = earlier.get(f"{variant}-seed{vcfg.seed}")
                row, window_se, network = _child(vcfg, data, earlier_child, console, derived)
                rows.append(row)
                errors[variant].append(window_se)
                if k == 0 and network is not None:
                    overlay[variant] = _one_window(network, data)
        summary = summarise(rows, errors, lag=cfg.data.horizon - 1)
        for row in rows:
            row["p_vs_best"] = next(s["p_vs_best"] for s in summary if s["variant"] == row["variant"])
        parent.log_text(to_csv(summary), "comparison.csv")
        parent.log_text(to_markdown(summary), "comparison.md")
        tracking.log_json(parent, rows, "metrics.json")
        if summary:
            best = summary[0]
            parent.log_metrics({"best_mse": best["mse"], "best_mae": best["mae"]})
            parent.set_tags({"best_variant": best["variant"]})
        if cfg.tracking.plots and summary:
            _log_plots(parent, summary, overlay, next(iter(cache.values())))
    return rows, summary


def _child(
    vcfg: Config, data: PreparedData, earlier, console, derived=None
) -> tuple[dict, np.ndarray, torch.nn.Module | None]:
    """Fit one variant and seed as a child run (resuming `earlier`, the child a stopped comparison
    left, or taking its results if it FINISHED). Returns its row, per-window errors and network."""
    name = f"[bold]{vcfg.variant()}[/] seed {vcfg.seed}"
    if earlier is not None and earlier.info.status == "FINISHED":
        if console is not None:
            console.print(f"{name}: finished earlier, not refitted")
        row, window_se = _finished(earlier.info.run_id)
        return {**row, "run_id": earlier.info.run_id}, window_se, None
    if console is not None:
        console.print(f"{name}: training ...")
    resume = earlier.info.run_id if earlier is not None else None
    outcome = train(vcfg, prepared=data, nested=True, quiet=True, resume=resume, derived=derived)
    row = {"variant": vcfg.variant(), "seed": vcfg.seed, "run_id": outcome.run_id, **outcome.metrics}
    return row, outcome.window_se, outcome.network


def _finished(run_id: str) -> tuple[dict, np.ndarray]:
    """A finished child's metrics row and per-window errors, as it logged them."""
    row = tracking.load_json(run_id, "metrics.json")
    return row, np.asarray(tracking.load_json(run_id, WINDOW_ERRORS), dtype=np.float32)


@torch.no_grad()
def _one_window(network, data: PreparedData):
    network.eval()
    test = data.dataset("test")
    x, y = test.__getitems__([len(test) // 2])
    return x[0, :, 0].numpy(), y[0, :, 0].numpy(), network(x)[0, :, 0].numpy()


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
)


def summarise(rows: list[dict], errors: dict[str, list] | None = None, *, lag: int = 0) -> list[dict]:
    """Mean and standard deviation over seeds per variant, ranked by mean test MSE.

    With per-window errors, each variant also gets `p_vs_best`: the Diebold-Mariano p-value of the
    best variant's advantage over it (seed-averaged window errors, HAC lag `lag`).
    """
    groups = defaultdict(list)
    for row in rows:
        groups[row["variant"]].append(row)
    out = []
    for variant, group in groups.items():
        item = {"variant": variant, "seeds": len(group)}
        for key in SUMMARY_KEYS:
            values = [float(r[key]) for r in group]
            item[key] = float(np.mean(values))
            item[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
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
    pm = lambda k, f: f"{item[k]:{f}} ± {item[k + '_std']:{f}}" if item["seeds"] > 1 else f"{item[k]:{f}}"
    return [
        str(item["rank"]),
        item["variant"],
        pm("mse", ".4f"),
        pm("mae", ".4f"),
        f"{item['mse_original']:.4g}",
        f"{int(item['n_params']):,}",
        f"{item['epochs']:.1f}",
        f"{item['seconds_per_epoch']:.2f}",
        f"{item['train_seconds']:.1f}",
        f"{item['predict_ms_per_window']:.3f}",
        _p(item.get("p_vs_best")),
    ]


def _p(p: float | None) -> str:
    return "-" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


HEADERS = [
    "rank",
    "variant",
    "MSE",
    "MAE",
    "MSE (original)",
    "params",
    "epochs",
    "s/epoch",
    "train s",
    "ms/window",
    "p (best better)",
]


def to_markdown(summary: list[dict]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(_cells(item)) + " |" for item in summary]
    return "\n".join(lines) + "\n"


def to_csv(summary: list[dict]) -> str:
    import csv
    import io

    if not summary:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["rank", *[k for k in summary[0] if k != "rank"]])
    writer.writeheader()
    writer.writerows(summary)
    return buf.getvalue()


def rich_table(summary: list[dict], title: str):
    from rich.table import Table

    table = Table(title=title)
    for h in HEADERS:
        table.add_column(h, justify="left" if h == "variant" else "right")
    for item in summary:
        table.add_row(*_cells(item))
    return table
