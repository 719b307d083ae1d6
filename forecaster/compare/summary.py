"""The comparison's parent run as its summary: what a person opening it in MLflow should find.

`compare` already logs the ranked table as `comparison.csv` and `comparison.md`, every fit's row
(`metrics.json`) and the bar chart of MSE per variant. `log_parent` adds:

- the ranked table as an MLflow table artifact (`comparison_table.json`, shown as a table in the
  run's artifact view and readable with `mlflow.load_table`);
- the validation winner's metrics on the parent (`val_winner_mse`, ...; the `val_winner` tag names
  it: what to deploy) and each variant's Diebold-Mariano p-value against the best *on test*, the
  first row of the ranking (`p_vs_best.<variant>`; `compare` tags that row `test_best_variant`,
  with `test_best_mse` and `test_best_mae`, for reporting only);
- two charts: test MSE per variant with every seed as a dot (`plots/mse_by_seed.png`) and accuracy
  against training time (`plots/accuracy_vs_time.png`);
- the comparison's config (`config.yaml`) and its data as dataset inputs, like each child's.

`forecaster report` (`forecaster.compare.report`) turns this into one HTML file.
"""

from __future__ import annotations

import warnings
from collections import defaultdict

from forecaster.compare.table import Row
from forecaster.config import Config, dump_yaml
from forecaster.data.windows import PreparedData
from forecaster.track import run_inputs, tracking

TABLE = "comparison_table.json"
WINNER_KEYS = ("mse", "mae", "mse_original", "mae_original", "train_seconds", "n_params", "predict_ms_per_window")


def log_parent(parent, cfg: Config, rows: list[Row], summary: list[dict], best: dict | None, data) -> None:
    """Log the summary above to the comparison's parent run (nothing when tracking is off).

    Args:
        rows: one row per fit (`compare`'s first result); summary: the ranked summary per variant;
        best: the validation winner's summary item, or None; data: the prepared data of the first
        variant (None when every child finished before a resume).
    """
    if parent.run_id is None:
        return
    import pandas as pd

    parent.log_text(dump_yaml(cfg), "config.yaml")
    if summary:
        with warnings.catch_warnings():  # MLflow's own pandas call, about pandas 4's string dtype
            warnings.filterwarnings("ignore", message=".*select_dtypes.*")
            parent.client.log_table(parent.run_id, pd.DataFrame(summary), TABLE)
        pvalues = {f"p_vs_best.{s['variant']}": s["p_vs_best"] for s in summary if s.get("p_vs_best") is not None}
        parent.log_metrics(pvalues)
    if best is not None:
        parent.log_metrics({f"val_winner_{k}": best[k] for k in WINNER_KEYS if best.get(k) is not None})
    if isinstance(data, PreparedData):
        run_inputs.log_data(parent.run_id, data, tracking.file_hash(data.frame.path))
    if cfg.tracking.plots and summary:
        _log_charts(parent, rows, summary)


def _log_charts(parent, rows: list[Row], summary: list[dict]) -> None:
    from forecaster import plots

    per_seed = defaultdict(list)
    for row in rows:
        if row.value("mse") is not None:
            per_seed[row.variant].append(float(row.value("mse")))
    parent.log_figure(plots.seed_spread(dict(per_seed)), "plots/mse_by_seed.png")
    timed = [s for s in summary if s.get("mse") is not None]
    parent.log_figure(
        plots.accuracy_vs_time(
            [s["variant"] for s in timed], [s["mse"] for s in timed], [s.get("train_seconds") or 0.0 for s in timed]
        ),
        "plots/accuracy_vs_time.png",
    )
