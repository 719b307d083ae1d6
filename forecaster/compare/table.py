"""A comparison's results as records and tables: one `Row` per fit, the ranked summary per variant
(means and spreads over seeds, ranks, Diebold-Mariano p-values against the best), and the same
table as Markdown, CSV, a rich table and HTML cells (`forecaster.compare.report`).

A `Row` is made once, where its fit ends (`forecaster.compare.comparison`) or where the ensemble is
scored (`forecaster.compare.selection`); `mark` sets the choice on validation (`val_winner`) and the
p-values on rows and summary items in one place. `Row.to_json` is what `--metrics-out` writes.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forecaster.scores.metrics import diebold_mariano, format_p


@dataclass
class Row:
    """One fit of a comparison (a variant and a seed), or one seed of the ensemble.

    `metrics` are the fit's test metrics and costs as it logged them (`mse`, `mae`, ...,
    `train_seconds`, `n_params`); `val_score` its validation yardstick (None for a child that finished
    before a resume that predates it); `members` the ensemble's variants and `ensemble` how it
    combines them (`forecaster.compare.ensembling.Combination.to_json`: the rule used, the greedy
    weights per member, the validation scores of the median and of the weighted mean).
    """

    variant: str
    seed: int
    run_id: str | None
    metrics: dict[str, Any] = field(default_factory=dict)
    val_score: float | None = None
    members: list[str] | None = None
    ensemble: dict[str, Any] | None = None
    val_winner: bool = False
    p_vs_best: float | None = None

    def value(self, key: str) -> Any:
        """A metric of the row (`val_score` included), None when it has none."""
        return self.val_score if key == "val_score" else self.metrics.get(key)

    def to_json(self) -> dict[str, Any]:
        """The row as `--metrics-out` and the parent run's `metrics.json` hold it (one flat object)."""
        members = {"members": list(self.members)} if self.members else {}
        if self.ensemble:
            members["ensemble"] = dict(self.ensemble)
        head = {"variant": self.variant, "seed": self.seed, "run_id": self.run_id, **members}
        tail = {"val_score": self.val_score, "val_winner": self.val_winner, "p_vs_best": self.p_vs_best}
        return {**head, **self.metrics, **tail}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Row:
        """A row from its JSON (a child's `metrics.json` has no run id, validation or choice yet)."""
        known = {k: raw[k] for k in ROW_FIELDS if k in raw}
        return cls(**{"run_id": None, **known}, metrics={k: v for k, v in raw.items() if k not in ROW_FIELDS})


ROW_FIELDS = (
    "variant",
    "seed",
    "run_id",
    "val_score",
    "members",
    "ensemble",
    "val_winner",
    "p_vs_best",
)  # the rest: metrics


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
    "val_score",
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


def summarise(rows: list[Row], errors: dict[str, list] | None = None, *, lag: int = 0) -> list[dict]:
    """Mean and standard deviation over seeds per variant, ranked by mean test MSE.

    A key that a variant's rows lack (an ensemble has no epochs, a resumed fit may have no
    `val_score`) is None for it; `M4_KEYS` are summarised when any row has them. With per-window
    errors, each variant also gets `p_vs_best`: the one-sided Diebold-Mariano p-value of "the best
    variant on test (the first row) forecasts better than this one" (seed-averaged per-window
    squared errors, Newey-West lag `lag`; see `forecaster.scores.metrics.diebold_mariano`).
    """
    groups = defaultdict(list)
    for row in rows:
        groups[row.variant].append(row)
    optional = (k for k in (*M4_KEYS, *INTERVAL_KEYS) if any(r.value(k) is not None for r in rows))
    keys = [*SUMMARY_KEYS, *optional]
    out = []
    for variant, group in groups.items():
        item = {"variant": variant, "seeds": len(group)}
        for key in keys:
            values = [float(r.value(key)) for r in group if r.value(key) is not None]
            item[key] = float(np.mean(values)) if values else None
            item[f"{key}_std"] = (statistics.stdev(values) if len(values) > 1 else 0.0) if values else None
        if group[0].members:
            item["members"] = ",".join(group[0].members)
        if group[0].ensemble:
            item.update(_combination(group))
        out.append(item)
    out.sort(key=lambda r: r["mse"])
    for i, item in enumerate(out, 1):
        item["rank"] = i
        item["p_vs_best"] = None
        if errors and i > 1 and errors.get(item["variant"]) and errors.get(out[0]["variant"]):
            best, this = (np.mean(errors[v], axis=0) for v in (out[0]["variant"], item["variant"]))
            item["p_vs_best"] = diebold_mariano(best, this, lag=lag)[1] if len(best) == len(this) else None
    return out


def _combination(group: list[Row]) -> dict:
    """The ensemble's rule, its first seed's weights (what `--save-best` deploys) and both rules'
    mean validation scores, as summary fields."""
    first = group[0].ensemble
    weights = ",".join(f"{name}:{w:.3g}" for name, w in first["weights"].items())
    means = {
        f"val_score_{k[4:]}": float(np.mean([r.ensemble[k] for r in group])) for k in ("val_median", "val_weighted")
    }
    return {"ensemble_rule": first["rule"], "ensemble_weights": weights, **means}


def mark(rows: list[Row], summary: list[dict], best: dict | None) -> None:
    """Name the validation winner (`val_winner`) on rows and summary items, and copy each variant's
    p-value against the best to its rows: the one place a comparison's results are changed."""
    for item in summary:
        item["val_winner"] = best is not None and item["variant"] == best["variant"]
    p_values = {item["variant"]: item["p_vs_best"] for item in summary}
    for row in rows:
        row.val_winner = best is not None and row.variant == best["variant"]
        row.p_vs_best = p_values.get(row.variant)


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
        pm("val_score", ".4f"),
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
    "val score",
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
    if best.get("ensemble_rule") == "weighted":  # both rules were measured on validation: say the other's
        members = f" (weighted mean of {best['ensemble_weights']}; their median: {best['val_score_median']:.4f})"
    elif best.get("ensemble_rule") == "median":
        members = f" (median of {best['members']}; their weighted mean: {best['val_score_weighted']:.4f})"
    return (
        f"Deploy: [bold]{best['variant']}[/]{members} (lowest validation score {best['val_score']:.4f}; "
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
