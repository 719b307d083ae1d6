"""Prediction intervals on ETTh1 (horizon 96, causal, configs/etth1.yaml), recorded in
benchmarks/results/etth1.json beside the point benchmark's rows.

Three setups, each `forecaster compare` of the causal variant over 3 seeds: `causal+conformal`, the
point model with split-conformal intervals from the validation windows (its MSE is the point
benchmark's `causal` MSE, bit for bit), `causal+quantile`, the same network with a quantile
head (`model.levels: [80, 90]`, pinball loss; intervals: conformalized quantile regression), and
`causal+calendar`, the point model with the hour of the day and the day of the week as future-known
covariates (`data.calendar`; they are known for the horizon, so every model may use them). Rows
keep mse (of the median), coverage_80, coverage_90, width_80, width_90, msis and mql
(forecaster/scores/interval_metrics.py); rows of other variants in the file are kept (etth1.merge).

    python benchmarks/etth1_intervals.py --seeds 3
    python benchmarks/etth1_intervals.py --seeds 3 --setups causal+calendar --set trainer.threads 1  # one setup
    python benchmarks/etth1_intervals.py --seeds 1 --set trainer.max_epochs 1 --out /tmp/smoke.json  # smoke check
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from filelock import FileLock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from etth1 import RESULTS, ROOT, merge

from forecaster.compare.comparison import compare
from forecaster.config import load
from forecaster.interrupts import run_script

SETUPS = {
    "causal+conformal": [],
    "causal+quantile": [("model.levels", "[80, 90]")],
    "causal+calendar": [("data.calendar", "[hour, dayofweek]")],
}
KEEP = ("mse", "mae", "coverage_80", "coverage_90", "width_80", "width_90", "msis", "mql", "n_params", "epochs")
KEEP += ("train_seconds", "n_test_windows")
SHOWN = ("mse", "coverage_80", "coverage_90", "width_80", "width_90", "msis", "mql")


def run(args) -> list[dict]:
    rows = []
    for name in args.setups.split(","):
        extra = SETUPS[name]
        overrides = [("data.horizon", "96"), ("data.path", str(ROOT / "datasets/ETTh1.csv")), *extra, *args.set]
        cfg = load(args.config, overrides)
        ranked, _ = compare(cfg, variants=["causal"], seeds=args.seeds, ensemble_k=0)
        fits = [row.to_json() for row in ranked]
        rows += [
            {"variant": name, "horizon": 96, "seed": f["seed"], "lookback": cfg.data.context_len}
            | {k: f.get(k) for k in KEEP}
            | {"val_mse": f.get("val_score")}  # compare's yardstick: MSE on scaled values for ETTh1's columns
            for f in fits
            if f["variant"] == "causal"
        ]
    return rows


def table(rows: list[dict]) -> str:
    groups = defaultdict(list)
    for r in rows:
        if r["variant"] in SETUPS:
            groups[r["variant"]].append(r)
    lines = ["| setup | seeds | val_mse | " + " | ".join(SHOWN) + " |", "|---|---:|---:|" + "---:|" * len(SHOWN)]
    for name, g in groups.items():
        cell = lambda k, g=g: (
            f"{statistics.mean(r[k] for r in g):.4f}"
            + (f" ± {statistics.stdev(r[k] for r in g):.4f}" if len(g) > 1 else "")
        )
        val = cell("val_mse") if all(r.get("val_mse") is not None for r in g) else "-"
        lines.append(f"| {name} | {len(g)} | {val} | " + " | ".join(cell(k) for k in SHOWN) + " |")
    return "\n".join([*lines, "", choice_line(groups)])


def choice_line(groups: dict[str, list[dict]]) -> str:
    """The setup validation would deploy (lowest mean val_mse) and its regret: its test MSE over the
    table's best test MSE, minus 1; both on the seeds whose rows of every setup hold val_mse."""
    mean = lambda g, k: statistics.mean(r[k] for r in g)
    seeds = [{r["seed"] for r in g if r.get("val_mse") is not None} for g in groups.values()]
    common = set.intersection(*seeds) if seeds else set()
    if not common:
        return "Validation winner: not recomputable (no seed has val_mse in every setup's rows; a rerun records it)."
    kept = {name: [r for r in g if r["seed"] in common] for name, g in groups.items()}
    chosen = min(kept, key=lambda name: mean(kept[name], "val_mse"))
    best = min(kept, key=lambda name: mean(kept[name], "mse"))
    regret = 100 * (mean(kept[chosen], "mse") / mean(kept[best], "mse") - 1)
    on = ", ".join(map(str, sorted(common)))
    return (
        f"Validation winner on seed {on} (lowest val_mse): {chosen}, test MSE {mean(kept[chosen], 'mse'):.4f}; "
        f"regret {regret:+.1f} % over the best test row of those seeds ({best}, {mean(kept[best], 'mse'):.4f})."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs/etth1.yaml"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"comma-separated, of: {', '.join(SETUPS)}")
    parser.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--print-only", action="store_true", help="print the table of the results file")
    args = parser.parse_args()
    out = Path(args.out)
    if args.print_only:
        print(table(json.loads(out.read_text())))
        return
    new = run(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(out.with_suffix(".lock")):  # setups may run as parallel processes
        rows = merge(new, out)
        out.write_text(json.dumps(rows, indent=2))
    print(table(rows))


if __name__ == "__main__":
    sys.exit(run_script(main))
