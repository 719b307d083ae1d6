"""M4 Weekly with `--auto`: no hand settings, scored as M4 scored it, against the published table.

    .venv/bin/python benchmarks/m4_weekly.py --seeds 3 --threads 2 --work out/m4_weekly_r3
    .venv/bin/python benchmarks/m4_weekly.py --print-only          # the table from the JSON

Protocol: every variant is trained on `m4_weekly_train.csv` alone with the settings `--auto` derives
from it (horizon 13, the `last` split: per series the last 13 weeks of the training file are the
internal test set, up to 5 validation origins 13 weeks apart before them, the rest training), saved
as a package, and the package forecasts the 13 weeks after each series' last training week. Those forecasts are scored
against `m4_weekly_test.csv` with M4's sMAPE, MASE (m = 1 for weekly data, scale from each series'
whole training file) and OWA against Naive2 (forecaster.scores.seasonality.naive2, which reproduces M4's
published Naive2 row). Choices use validation only: `--auto` sets rolling-origin validation
(`data.val_windows` origins a horizon apart per series) and every choice uses the yardstick
`selection.metric` (auto: the mean over series of each series' MASE); the validation winner is the
variant with the lowest mean validation score over seeds, and the ensemble is, per seed, the median
of the top-k variants' forecasts by that score. Every package is saved as `train --save` saves
it: refitted on every row of the training file (the steps its validation fit kept, same seed;
`--refit false`: the validation fit itself), and forecasts the test weeks; the *deployed* row is the
winner's, what `compare --auto --save-best` gives a user. Its regret is its sMAPE and OWA over the
best row of the table, minus 1. Untrained variants (naive2 and the classical ones) do not depend on
the seed: they are fitted once and stand for every seed. The test file is read only to score.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
PUBLISHED = [  # M4 "Evaluation and Ranks" sheet, Weekly (shared/data/README.md)
    ("Naive2 (published)", 9.161, 2.777, 1.000),
    ("Theta (published)", 9.093, 2.637, 0.971),
    ("ES-RNN, Smyl (published)", 7.817, 2.356, 0.851),
    ("best in M4 (published)", 6.582, 2.107, 0.739),
]
DEFAULT_VARIANTS = "naive2,ets,theta,arima,linear,lstm,causal,local,hybrid"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default=str(DATA / "m4_weekly_train.csv"))
    p.add_argument("--test", default=str(DATA / "m4_weekly_test.csv"))
    p.add_argument("--variants", default=DEFAULT_VARIANTS)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=42, help="first seed")
    p.add_argument("--ensemble-k", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--work", default=str(ROOT / "out" / "m4_weekly"), help="packages and the MLflow store")
    p.add_argument("--cache", help="folder of finished fits to reuse and add to (default: --work)")
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "m4_weekly.json"))
    p.add_argument("--refit", choices=["true", "false"], default="true", help="deploy the winner refitted on every row")
    p.add_argument("--fits-only", action="store_true", help="fit into --cache and stop (a lane of a parallel run)")
    p.add_argument("--print-only", action="store_true", help="print the table of --json and exit")
    p.add_argument("--references", action="store_true", help="add the full-history references to --json and exit")
    args = p.parse_args()
    if args.references:
        result = json.loads(Path(args.json).read_text())
        result["full_history"] = full_history(args.train, args.test)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    elif args.fits_only:
        run(args)
        return 0
    elif not args.print_only:
        result = run(args)
        result["full_history"] = full_history(args.train, args.test)
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(table(json.loads(Path(args.json).read_text())))
    return 0


def run(args) -> dict:
    import numpy as np
    import torch

    from forecaster.auto import rules as auto
    from forecaster.auto.apply import apply, explicit_keys
    from forecaster.config import load
    from forecaster.data.io import read_frame
    from forecaster.data.windows import prepare
    from forecaster.scores.metrics import selection_metric, yardstick

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    given = [
        ("data.path", args.train),
        ("tracking.uri", f"sqlite:///{work / 'mlflow.db'}"),
        ("tracking.experiment", "m4_weekly"),
        ("tracking.log_model", False),
        ("tracking.plots", False),
        ("trainer.progress_bar", False),
        ("trainer.threads", args.threads),
        ("selection.refit", args.refit == "true"),
    ]
    cfg, derived = apply(load(None, given), explicit_keys(None, [k for k, _ in given]))
    print(auto.describe(derived), file=sys.stderr)
    data = prepare(cfg.data)
    history = read_frame(cfg.data)  # the whole training file, read once: every package forecasts from it
    actual, insample, ids = read_test(args.train, args.test)
    rows, val_preds, test_preds, kept_preds = [], {}, {}, {}
    metric = selection_metric(cfg.selection.metric, data)
    fit = lambda variant, seed: fit_variant(variant, seed, cfg, data, history, (actual, insample, ids), args, derived)
    for variant in args.variants.split(","):
        for k in range(args.seeds):
            if k and not rows[-1]["trainable"]:  # naive and classical fits do not depend on the seed: one row
                val_preds[variant, k], test_preds[variant, k] = val_preds[variant, 0], test_preds[variant, 0]
                kept_preds[variant, k] = kept_preds[variant, 0]
                continue
            row, (val_preds[variant, k], test_preds[variant, k], kept_preds[variant, k]) = fit(variant, args.seed + k)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    ranked = sorted({r["variant"] for r in rows}, key=lambda v: mean(rows, v, "val_loss"))
    members = ranked[: args.ensemble_k] if args.ensemble_k > 1 and len(ranked) > 1 else []  # a median of 2+
    for k in range(args.seeds) if members else []:
        forecast = np.median(np.stack([test_preds[v, k] for v in members]), axis=0)
        kept = np.median(np.stack([kept_preds[v, k] for v in members]), axis=0)
        val = np.median(np.stack([val_preds[v, k] for v in members]), axis=0)
        row = {"variant": "ensemble", "seed": args.seed + k, "val_loss": yardstick(metric, val, data, "val")}
        row["validated_fit"] = score(actual, kept, insample)
        rows.append({**row, **score(actual, forecast, insample), "members": members})
    winner = min({r["variant"] for r in rows}, key=lambda v: mean(rows, v, "val_loss"))
    # what `compare --save-best` deploys: the winner's package (each fit's package is saved the way `train --save`
    # saves it: refitted on every row unless --refit false), or the median of the members' packages
    deployed = [
        {"variant": f"deployed: {winner}", "seed": r["seed"], **{k: r[k] for k in ("smape", "mase", "owa")}}
        for r in rows
        if r["variant"] == winner
    ]
    unrefitted = [{**d, **r["validated_fit"]} for d, r in zip(deployed, (r for r in rows if r["variant"] == winner))]
    return {
        "command": " ".join(sys.argv),
        "derived": auto.as_records(derived),
        "selection_metric": metric,
        "refit": args.refit == "true",
        "naive2": score(actual, naive2_forecasts(insample), insample),
        "validation_winner": winner,
        "ensemble_members": members,
        "rows": rows,
        "deployed": deployed,
        "deployed_validated_fit": unrefitted,  # the same winner as --refit false deploys it: what refitting is worth
    }


def fit_variant(variant: str, seed: int, cfg, data, history, test, args, derived) -> tuple[dict, tuple]:
    """One fit, saved as `train --save` saves it: its row and its (validation, package, validated fit) forecasts.
    Kept in `--cache` (a row JSON and an .npz per fit), so seeds can run as separate processes (each with its
    own `--work` store) and a later run over every seed reads the finished ones instead of fitting again."""
    import numpy as np

    from forecaster.auto import rules as auto
    from forecaster.config import with_variant
    from forecaster.fit.experiment import train

    cache = Path(args.cache or args.work) / f"{variant}-seed{seed}"
    if cache.with_suffix(".npz").exists():
        arrays = np.load(cache.with_suffix(".npz"))
        return json.loads(cache.with_suffix(".json").read_text()), tuple(arrays[k] for k in ("val", "test", "kept"))
    actual, insample, ids = test
    vcfg = with_variant(cfg, variant)
    vcfg.seed = seed
    start = time.perf_counter()
    save = Path(args.work) / f"{variant}-seed{seed}"
    outcome = train(vcfg, prepared=data, save=save, quiet=True, derived=auto.as_records(derived))
    val, forecast = validation(outcome.network, data), package_forecast(save, history, ids)
    row = {"variant": variant, "seed": seed, "val_loss": outcome.metrics["val_score"]}
    row["wall_seconds"] = time.perf_counter() - start
    row["trainable"] = outcome.network.TRAINABLE
    row.update(score(actual, forecast, insample))
    kept = in_memory_forecast(vcfg, data, outcome.network, history, ids)  # not refitted
    row["validated_fit"] = score(actual, kept, insample)
    row.update({key: outcome.metrics.get(key) for key in ("epochs", "train_seconds", "n_params", "best_steps")})
    row["threads"] = args.threads
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".npz"), val=val, test=forecast, kept=kept)
    cache.with_suffix(".json").write_text(json.dumps(row))
    return row, (val, forecast, kept)


def full_history(train_csv: str, test_csv: str) -> dict:
    """statsforecast's AutoTheta and AutoETS fitted on each series' whole training file (season 1, M4's
    frequency for weekly data), as M4 ran its Theta: the reference rows that show the implementation
    reproduces the published Theta, beside the comparison's `theta` / `ets` rows, which fit on each
    window's context (what every variant sees) and so score differently."""
    import numpy as np
    from statsforecast.models import AutoETS, AutoTheta

    actual, insample, _ = read_test(train_csv, test_csv)
    out = {}
    for name, model in (("theta", AutoTheta(season_length=1)), ("ets", AutoETS(season_length=1))):
        start = time.perf_counter()
        forecast = np.stack([model.forecast(y=np.asarray(x, dtype=float), h=13)["mean"] for x in insample])
        out[name] = {
            **score(actual, forecast, insample),
            "seconds_per_series": (time.perf_counter() - start) / len(insample),
        }
    return out


def read_test(train_csv: str, test_csv: str):
    """Actuals (series, 13) from the test file and each series' training values, in the test file's order."""
    import numpy as np
    import pandas as pd

    train, test = pd.read_csv(train_csv), pd.read_csv(test_csv)
    ids = list(dict.fromkeys(test["unique_id"]))
    history = {sid: g["y"].to_numpy(float) for sid, g in train.groupby("unique_id", sort=False)}
    actual = np.stack([g["y"].to_numpy(float) for _, g in test.groupby("unique_id", sort=False)])
    return actual, [history[sid] for sid in ids], ids


def package_forecast(directory: Path, frame, ids: list[str]):
    """The package's forecasts (series, 13) of the weeks after the training file (`frame`), in `ids` order."""
    from forecaster.serve.package import ForecastPackage

    return in_order(ForecastPackage.load(directory), frame, ids)


def in_memory_forecast(cfg, data, network, frame, ids: list[str]):
    """The validated network's forecasts (series, 13) after the training file: what `--refit false` deploys."""
    from forecaster.serve.package import ForecastPackage

    return in_order(ForecastPackage(cfg, data.schema, data.scaler, network, None), frame, ids)


def in_order(package, frame, ids: list[str]):
    """`package`'s forecasts of the steps after `frame`, first target, one row per series in `ids` order."""
    pred = package.predict_array(frame)[..., 0]
    order = {sid: i for i, sid in enumerate(frame.schema.series_ids)}
    return pred[[order[sid] for sid in ids]]


def validation(network, data):
    """Forecasts of the validation windows (scaled), for the ensemble's validation score."""
    from forecaster.scores.metrics import forecasts

    return forecasts(network, data.dataset("val"))


def naive2_forecasts(insample):
    import numpy as np

    from forecaster.scores.seasonality import naive2

    return np.stack([naive2(x, 13, 1) for x in insample])


def score(actual, forecast, insample) -> dict:
    import numpy as np

    from forecaster.scores.m4 import mase_scale, scores

    scale = np.array([mase_scale(x, 1) for x in insample])
    return scores(actual, forecast, scale, naive2=naive2_forecasts(insample))


def mean(rows: list[dict], variant: str, key: str) -> float:
    return statistics.mean(r[key] for r in rows if r["variant"] == variant)


def table(result: dict) -> str:
    rows = result["rows"]
    variants = sorted({r["variant"] for r in rows}, key=lambda v: mean(rows, v, "val_loss"))
    metric = result.get("selection_metric", "loss")
    lines = [
        f"| method | sMAPE | MASE | OWA | regret (sMAPE / OWA) | validation {metric} | seeds | train s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    deployed = result.get("deployed") or []
    if deployed:  # first: what a user gets, then the table it was chosen from
        best = {key: min(mean(rows, v, key) for v in variants) for key in ("smape", "owa")}
        regret = lambda key: f"{100 * (statistics.mean(r[key] for r in deployed) / best[key] - 1):+.1f} %"
        cell = lambda key, f: fmt([r[key] for r in deployed], f)
        how = "refitted on every row" if result.get("refit") else "the validation fit"
        lines.append(
            f"| **{deployed[0]['variant']}** ({how}) | {cell('smape', '.3f')} | {cell('mase', '.3f')} "
            f"| {cell('owa', '.3f')} | {regret('smape')} / {regret('owa')} | - | {len(deployed)} | - |"
        )
        kept = result.get("deployed_validated_fit") or []
        if kept and result.get("refit"):
            k = lambda key: fmt([r[key] for r in kept], ".3f")
            lines.append(
                f"| the same, not refitted (--refit false) | {k('smape')} | {k('mase')} | {k('owa')} | - | - | - | - |"
            )
    for v in variants:
        group = [r for r in rows if r["variant"] == v]
        cell = lambda key, f, group=group: fmt([r[key] for r in group], f)
        name = v + (" (validation winner)" if v == result["validation_winner"] else "")
        if v == "ensemble":
            name += f": median of {', '.join(result['ensemble_members'])}"
        secs = fmt([r["train_seconds"] for r in group], ".0f") if group[0].get("train_seconds") is not None else "-"
        lines.append(
            f"| {name} | {cell('smape', '.3f')} | {cell('mase', '.3f')} | {cell('owa', '.3f')} | - "
            f"| {cell('val_loss', '.4f')} | {len(group)} | {secs} |"
        )
    for name, ref in (result.get("full_history") or {}).items():
        lines.append(
            f"| {name} on each series' whole history (statsforecast, as M4 ran Theta) | {ref['smape']:.3f} "
            f"| {ref['mase']:.3f} | {ref['owa']:.3f} | - | - | - | - |"
        )
    n2 = result["naive2"]
    lines.append(f"| Naive2 (this script) | {n2['smape']:.3f} | {n2['mase']:.3f} | {n2['owa']:.3f} | - | - | - | - |")
    lines += [f"| {name} | {s:.3f} | {m:.3f} | {o:.3f} | - | - | - | - |" for name, s, m, o in PUBLISHED]
    return "\n".join(lines)


def fmt(values: list[float], f: str) -> str:
    if len(values) == 1:
        return f"{values[0]:{f}}"
    return f"{statistics.mean(values):{f}} ± {statistics.stdev(values):{f}}"


if __name__ == "__main__":
    sys.exit(main())
