"""`forecaster report PARENT_RUN_ID --output report.html`: a comparison as one file to share.

For people without access to the MLflow server: one self-contained HTML file (inline CSS, every
picture a base64 `data:` URI, no script, nothing fetched when it opens) built from what the
comparison's parent run and its children logged: the validation winner, the ranked table with
the Diebold-Mariano p-values, the parent's charts (`plots/*.png`: MSE by variant and seed,
accuracy against training time, the forecasts overlaid), each child's forecast pictures
(`plots/forecast*.png`, with their bands where the run logged intervals) and the config. Nothing
is refitted or recomputed: a report of an old comparison shows what that comparison logged.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from forecaster.compare.summary import TABLE
from forecaster.compare.table import headers, table_row
from forecaster.errors import ConfigError
from forecaster.track import tracking

ORDER = ("mse_by_seed.png", "mse_by_variant.png", "accuracy_vs_time.png", "forecast_overlay.png")  # charts first
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1d2733; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.meta { color: #5a6875; font-size: 0.9rem; }
.winner { background: #eef6ee; border-left: 4px solid #3a8d3a; padding: 0.6rem 1rem; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #dde3e8; text-align: right; }
th { background: #f3f6f8; } td:nth-child(2), th:nth-child(2) { text-align: left; }
tr.win td { font-weight: 600; background: #f4faf4; }
figure { margin: 1rem 0; } figcaption { color: #5a6875; font-size: 0.85rem; }
img { max-width: 100%; border: 1px solid #eef1f4; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
"""


def build(run_id: str, *, uri: str | None = None) -> str:
    """The HTML report of the comparison whose parent run is `run_id`.

    Raises:
        ConfigError: no such run, or a run that is not a comparison's parent.
    """
    parent = _parent(run_id, uri)
    children = sorted(
        tracking.child_runs(run_id).values(),
        key=lambda r: (r.data.tags.get("variant", ""), r.data.tags.get("seed", "")),
    )
    name = html.escape(parent.info.run_name or run_id)
    parts = [
        f"<h1>{name}</h1>",
        f'<p class="meta">MLflow run {run_id} · {len(children)} fits · {html.escape(tracking.tracking_uri(uri))}</p>',
        _winner(parent),
        "<h2>Ranked on the test split</h2>",
        _table(run_id, parent.data.tags.get("val_winner")),
        "<h2>Charts</h2>",
        *_pictures(run_id, "plots", lambda p: True),
        "<h2>Forecasts of each fit</h2>",
    ]
    for child in children:
        caption = child.info.run_name or child.info.run_id
        parts += _pictures(child.info.run_id, "plots", lambda p: Path(p).name.startswith("forecast"), caption)
    config = tracking.load_text(run_id, "config.yaml") or "(not logged)"
    parts += ["<h2>Config</h2>", f"<pre>{html.escape(config)}</pre>"]
    body = "\n".join(p for p in parts if p)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{name}: forecaster comparison</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def write(run_id: str, output: str | Path, *, uri: str | None = None) -> Path:
    """Build the report of `run_id` and write it to `output` (atomically: all or nothing)."""
    from forecaster.atomic import write_text

    return write_text(output, build(run_id, uri=uri))


def _parent(run_id: str, uri: str | None):
    tracking.configure_mlflow(uri)
    run = tracking.find_run(run_id)
    if run is None:
        raise ConfigError(f"report {run_id}: no such run in {tracking.tracking_uri(uri)}")
    if run.data.tags.get(tracking.KIND_TAG) != tracking.COMPARISON:
        raise ConfigError(
            f"report {run_id}: the run is not a comparison's parent run\n"
            "  fix: give the id of a `compare-...` run (the line `forecaster compare` prints, or the runs table)"
        )
    return run


def _winner(parent) -> str:
    best, metrics = parent.data.tags.get("val_winner"), parent.data.metrics
    if not best:
        return ""
    shown = [f"{k} {metrics[f'val_winner_{k}']:.4f}" for k in ("mse", "mae") if f"val_winner_{k}" in metrics]
    what = f"<b>{html.escape(best)}</b>" + (ensemble_label(parent.data.tags) if best == "ensemble" else "")
    return (
        f'<div class="winner">Validation winner (what to deploy): {what}; test {", ".join(shown)}. '
        "It is chosen on the validation loss; the test ranking below is for reporting.</div>"
    )


def ensemble_label(tags: dict) -> str:
    """How an ensemble winner combines its members, from the comparison's tags: " (median of a,b)",
    " (weighted mean of a,b)", or " (of a,b)" for a comparison logged before the rule was tagged."""
    members = tags.get("ensemble_members")
    if not members:
        return ""
    rule = {"median": "median of ", "weighted": "weighted mean of "}.get(tags.get("ensemble_rule"), "of ")
    return f" ({rule}{html.escape(members)})"


def _table(run_id: str, winner: str | None) -> str:
    text = tracking.load_text(run_id, TABLE)
    if text is None:
        return "<p>(no ranked table logged)</p>"
    table = json.loads(text)
    items = [{k: _clean(v) for k, v in zip(table["columns"], row)} for row in table["data"]]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers(items))
    rows = []
    for item in items:
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in table_row(item, items))
        rows.append(f"<tr{' class=win' if item['variant'] == winner else ''}>{cells}</tr>")
    return f'<table id="ranking"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _clean(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def _pictures(run_id: str, folder: str, keep, caption: str = "") -> list[str]:
    """Every PNG under `folder` of the run that `keep(path)` accepts, as an inline figure."""
    found = tracking.artifact_files(run_id, folder, lambda p: p.endswith(".png") and keep(p))
    paths = sorted(found, key=lambda p: (ORDER.index(Path(p).name) if Path(p).name in ORDER else len(ORDER), p))
    out = []
    for path in paths:
        label = html.escape(f"{caption}: {Path(path).name}" if caption else Path(path).name)
        out.append(
            f'<figure><img alt="{label}" src="data:image/png;base64,{base64.b64encode(found[path]).decode()}">'
            f"<figcaption>{label}</figcaption></figure>"
        )
    return out
