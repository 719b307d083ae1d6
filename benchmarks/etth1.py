"""The ETTh1 long-horizon benchmark (benchmarks/PROTOCOL.md), recorded in benchmarks/results/etth1.json.

ETTh1, all 7 columns, channel-independent, `ett` split, scaler fitted on train rows, lookback from
the config (336), MSE/MAE on scaled values over every test window (stride 1, nothing dropped),
seeds cfg.seed, cfg.seed + 1, ... Each (horizon) runs `forecaster compare` over the variants, so
every fit is also an MLflow child run. Rows already in the results file for other (variant,
horizon, seed) are kept, so horizons and variants can be run separately. Each fit's per-test-window
squared errors go to `benchmarks/results/etth1_errors.npz`, and the table's p column is computed
from them: the one-sided Diebold-Mariano p-value of "the horizon's best variant forecasts better
than this row's", on the per-window errors averaged over every seed in the table (Newey-West
variance, lag H - 1), whichever runs produced them.

    python benchmarks/etth1.py --horizons 96 --seeds 3
    python benchmarks/etth1.py --horizons 192,336,720 --variants hybrid,lstm,linear --seeds 3 \
        --long-set hybrid trainer.lr 3.0e-4
    python benchmarks/etth1.py --horizons 336,720 --variants causal --seeds 3 \
        --long-set causal model.head_rank 16 --label r16       # rows "causal r16"
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

from forecaster.compare.comparison import compare, parse_variants
from forecaster.config import load
from forecaster.interrupts import run_script
from forecaster.scores.metrics import diebold_mariano, format_p

RESULTS = ROOT / "benchmarks" / "results" / "etth1.json"
KEEP = ("mse", "mae", "val_mse", "n_params", "seconds_per_epoch", "epochs", "train_seconds", "n_test_windows")


def errors_path(results: Path) -> Path:
    """Where the per-window errors of `results`' rows are kept (beside it)."""
    return results.with_name(results.stem + "_errors.npz")


def error_key(row: dict) -> str:
    return f"{row['horizon']}/{row['variant']}/{row['seed']}"


def row_name(fit: dict, label: str | None) -> str:
    """A fit's variant name in the table: an ensemble names its members (runs over other variants
    make other ensembles, which must not replace its rows), and `--label` is appended."""
    name = fit["variant"]
    if fit.get("members"):
        name += f" ({', '.join(sorted(fit['members']))})"
    return f"{name} {label}" if label else name


def run(args) -> tuple[list[dict], dict[str, np.ndarray]]:
    rows, window_errors = [], {}
    for horizon in [int(h) for h in args.horizons.split(",")]:
        overrides = [("data.horizon", str(horizon)), ("data.path", str(ROOT / "datasets/ETTh1.csv")), *args.set]
        cfg = load(args.config, overrides)
        if horizon >= args.long_from:
            for variant, key, value in args.long_set:
                cfg.variants.setdefault(variant, {})[key] = value
        errors: dict[str, list] = {}
        rows, _ = compare(cfg, variants=parse_variants(args.variants), seeds=args.seeds, errors_out=errors)
        fits = [row.to_json() for row in rows]
        seen: dict[str, int] = defaultdict(int)
        for fit in fits:
            row = {
                "variant": row_name(fit, args.label),
                "horizon": horizon,
                "seed": fit["seed"],
                "lookback": cfg.data.context_len,
                **{k: fit.get(k) for k in KEEP},
                "val_mse": fit.get("val_score"),  # compare's yardstick: MSE on scaled values for ETTh1's columns
                **({"settings": [" ".join(o) for o in (*args.set, *args.long_set)]} if args.label else {}),
            }
            rows.append(row)
            window_errors[error_key(row)] = np.asarray(errors[fit["variant"]][seen[fit["variant"]]], np.float32)
            seen[fit["variant"]] += 1
    return rows, window_errors


def merge(rows: list[dict], path: Path) -> list[dict]:
    """The rows of `path` (their old `p_vs_best` dropped: the table computes p) with `rows` replacing equal keys."""
    old = json.loads(path.read_text()) if path.exists() else []
    key = lambda r: (r["variant"], r["horizon"], r["seed"])
    new = {key(r) for r in rows}
    merged = [{k: v for k, v in r.items() if k != "p_vs_best"} for r in old if key(r) not in new] + rows
    return sorted(merged, key=lambda r: (r["horizon"], r["variant"], r["seed"]))


def merge_errors(window_errors: dict[str, np.ndarray], path: Path) -> None:
    old = dict(np.load(path)) if path.exists() else {}
    np.savez_compressed(path, **{**old, **window_errors})


def p_values(groups: dict, errors: dict[str, np.ndarray]) -> dict:
    """(horizon, variant) -> one-sided DM p of the horizon's best (by mean MSE) beating it; None
    where a group's rows lack stored errors (rows from before errors were kept)."""
    out = {}
    for horizon in {h for h, _ in groups}:
        mse = lambda k: statistics.mean(r["mse"] for r in groups[k])
        ranked = sorted((k for k in groups if k[0] == horizon), key=mse)
        mean = {k: _seed_mean(groups[k], errors) for k in ranked}
        best = mean[ranked[0]]
        for k in ranked[1:]:
            ok = best is not None and mean[k] is not None and len(best) == len(mean[k])
            out[k] = diebold_mariano(best, mean[k], lag=horizon - 1)[1] if ok else None
    return out


def _seed_mean(group: list[dict], errors: dict[str, np.ndarray]) -> np.ndarray | None:
    arrays = [errors.get(error_key(r)) for r in group]
    return None if any(a is None for a in arrays) else np.mean(arrays, axis=0)


def table(rows: list[dict], errors: dict[str, np.ndarray]) -> str:
    groups = defaultdict(list)
    for r in rows:
        if "+" not in r["variant"]:  # `causal+quantile` etc.: rows of benchmarks/etth1_intervals.py
            groups[(r["horizon"], r["variant"])].append(r)
    lines = [
        "| horizon | variant | MSE (mean ± std) | MAE (mean ± std) | val MSE | seeds | params | epochs | s/epoch | train s | p (best better) |",  # noqa: E501
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ps = p_values(groups, errors)
    order = sorted(groups, key=lambda k: (k[0], statistics.mean(r["mse"] for r in groups[k])))
    for horizon, variant in order:
        g = groups[(horizon, variant)]
        sd = lambda k, g=g: statistics.stdev([r[k] for r in g]) if len(g) > 1 else 0.0
        mean = lambda k, g=g: statistics.mean(r[k] or 0 for r in g)  # the ensemble trains nothing: no epochs
        p = ps.get((horizon, variant))
        val = [r.get("val_mse") for r in g]  # rows from before it was kept: "-"
        val = "-" if None in val else f"{statistics.mean(val):.4f}"
        lines.append(
            f"| {horizon} | {variant} | {mean('mse'):.4f} ± {sd('mse'):.4f} | {mean('mae'):.4f} ± {sd('mae'):.4f} | "
            f"{val} | {len(g)} | {int(mean('n_params')):,} | {mean('epochs'):.1f} | {mean('seconds_per_epoch'):.1f} | "
            f"{mean('train_seconds'):.0f} | {format_p(p)} |"
        )
    return "\n".join([*lines, "", *regret_lines(groups)])


def regret_lines(groups: dict) -> list[str]:
    """Per horizon, the row `compare` would deploy (the lowest mean val MSE, the yardstick for ETTh1's
    standardised columns, among the rows that kept it) and its regret: its test MSE over the best row's."""
    out = []
    for horizon in sorted({h for h, _ in groups}):
        here = {v: g for (h, v), g in groups.items() if h == horizon}
        scored = {v: g for v, g in here.items() if all(r.get("val_mse") is not None for r in g)}
        mse = {v: statistics.mean(r["mse"] for r in g) for v, g in here.items()}
        if not scored:
            out.append(f"- {horizon}: no row kept its val MSE: the deployed row cannot be named")
            continue
        chosen = min(scored, key=lambda v: statistics.mean(r["val_mse"] for r in scored[v]))
        best = min(mse, key=mse.get)
        out.append(
            f"- {horizon}: validation winner {chosen} (test MSE {mse[chosen]:.4f}), regret "
            f"{100 * (mse[chosen] / mse[best] - 1):+.1f} % against the best row, {best} ({mse[best]:.4f})"
            + (f"; {len(here) - len(scored)} rows without a val MSE left out" if len(scored) < len(here) else "")
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs/etth1.yaml"))
    parser.add_argument("--horizons", default="96")
    parser.add_argument("--variants", default=None, help="comma-separated (default: all)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--set",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="extra dotted override, e.g. --set trainer.max_epochs 5",
    )
    parser.add_argument(
        "--long-set",
        nargs=3,
        action="append",
        default=[],
        metavar=("VARIANT", "KEY", "VALUE"),
        help="override for one variant at horizons >= --long-from, e.g. hybrid trainer.lr 3.0e-4",
    )
    parser.add_argument("--long-from", type=int, default=192)
    parser.add_argument(
        "--label",
        help="appended to the rows' variant names (e.g. r16): other settings' rows beside the config's own",
    )
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--print-only", action="store_true", help="print the table of the results file")
    args = parser.parse_args()
    out = Path(args.out)
    if args.print_only:
        rows = json.loads(out.read_text())
    else:
        new, window_errors = run(args)
        rows = merge(new, out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=2))
        merge_errors(window_errors, errors_path(out))
    saved = errors_path(out)
    print(table(rows, dict(np.load(saved)) if saved.exists() else {}))


if __name__ == "__main__":
    sys.exit(run_script(main))
