"""Both notebooks run top to bottom (small settings), show what their text says they show, and are
committed with outputs cleared."""

from __future__ import annotations

import ast
import math
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import mlflow
import nbformat
import pytest
from conftest import ROOT
from nbclient import NotebookClient

from forecaster.config import ATTENTION_PATTERNS

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ETTH1_LAST = datetime(2018, 6, 26, 19)  # the last row of datasets/ETTh1.csv
QUICK_VARIANTS = {"local", "hybrid", "global", "linear", "naive"}
QUICK_HEADS = 2 * 4  # configs/quick.yaml: n_layers x n_heads panels in an attention figure


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_every_notebook_has_its_checks():
    assert sorted(CHECKS) == [p.stem for p in NOTEBOOKS]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_and_shows_its_results(path, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FORECASTER_NOTEBOOK_EPOCHS", "1")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    assert stdout(cell(nb, 'print("runs go to"')) == f"runs go to {uri}\n"
    CHECKS[path.stem](nb, uri)


def check_quickstart(nb, uri: str) -> None:
    inspected = stdout(cell(nb, "fc.inspect(df"))
    for fact in ("format: +wide", "frequency: +h ", rf"rows: +17,420 \(2016-07-01 00:00:00 \.\. {ETTH1_LAST}\)"):
        assert re.search(f"^{fact}", inspected, re.M), (fact, inspected)
    assert "targets:      7 (HUFL, HULL, MUFL, MULL, LUFL, LULL, OT)" in inspected
    assert figures(cell(nb, 'raw["OT"].iloc[-24 * 28 :]')) == [1]

    # the comparison table: every variant once, ranked by test MSE, the numbers its MLflow run logged
    header, *rows = html_table(cell(nb, 'cmp.table[["rank"'))
    assert header == ["", "rank", "variant", "mse", "mae", "n_params", "seconds_per_epoch", "p_vs_best"]
    runs = logged_runs(uri)
    assert {f"{v}-seed42" for v in QUICK_VARIANTS} <= set(runs)
    assert len([name for name in runs if name.endswith("-seed42-refit")]) == 1  # the deployed model, refitted
    assert {row[2] for row in rows} == QUICK_VARIANTS and [int(row[1]) for row in rows] == [1, 2, 3, 4, 5]
    for _, rank, variant, mse, mae, n_params, _, p in rows:
        logged = runs[f"{variant}-seed42"].data.metrics
        assert float(mse) == pytest.approx(logged["mse"], abs=5e-7)  # pandas shows six decimals
        assert float(mae) == pytest.approx(logged["mae"], abs=5e-7)
        assert float(n_params) == logged["n_params"]
        assert math.isnan(float(p)) if rank == "1" else 0 <= float(p) <= 1
    assert [float(row[3]) for row in rows] == sorted(float(row[3]) for row in rows)
    assert figures(cell(nb, "plots.metric_bars(")) == [1]

    assert figures(cell(nb, 'cmp.models["local"].plot_forecasts(level=None)')) == [3]
    banded = cell(nb, "local.plot_forecasts(level=[80, 90])")
    local = runs["local-seed42"]
    shown = ast.literal_eval(stdout(banded))  # a dict of rounded metrics
    assert shown == {k: round(local.data.metrics[k], 3) for k in ("coverage_80", "coverage_90", "msis")}
    assert figures(banded) == [3]
    assert figures(cell(nb, "cmp.models[v].plot_attention()")) == [QUICK_HEADS] * 3
    artifacts = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(local.info.run_id, "plots")}
    assert artifacts == {"plots/forecast.png", "plots/attention.png"}  # what a fit logs (fit.experiment.log_plots)

    # the deployed package's forecast: the first hours after the data's last row, with intervals
    shown = cell(nb, "future.head()")
    name = re.search(r"deployed: (\S+)", stdout(shown)).group(1)
    header, *rows = html_table(shown)
    bands = [f"{name}-{side}-{level}" for level in (80, 90) for side in ("lo", "hi")]
    assert header == ["", "unique_id", "ds", name, *bands]
    assert [row[1] for row in rows] == ["HUFL"] * 5
    assert [row[2] for row in rows] == [str(ETTH1_LAST + timedelta(hours=h)) for h in range(1, 6)]
    assert all(math.isfinite(float(v)) for row in rows for v in row[3:])
    assert all(float(r[4]) <= float(r[3]) <= float(r[5]) for r in rows)  # the 80 % band holds the forecast
    assert figures(cell(nb, 'raw["OT"].iloc[-96:]')) == [1]


def check_attention_patterns(nb, uri: str) -> None:
    assert figures(cell(nb, "plots.pattern_figure(")) == [len(ATTENTION_PATTERNS) + 1]  # hybrid: two panels
    lines = stdout(cell(nb, "learned = {")).splitlines()
    assert [line.split(":")[0].strip() for line in lines] == list(ATTENTION_PATTERNS)
    assert all(0 < float(line.rsplit(" ", 1)[1]) < 2 for line in lines), lines  # scaled MSE after one short epoch
    attention = figures(cell(nb, "learned[v].plot_attention()"))
    assert len(attention) == len(ATTENTION_PATTERNS) and all(n % 4 == 0 for n in attention)  # layers x 4 heads
    assert figures(cell(nb, "benchmarks/results/attention_scaling.json")) == [2]


def test_the_notebooks_use_only_the_public_api():
    """`import forecaster as fc`, `forecaster.plots` and the config's names: no module of a room."""
    for path in NOTEBOOKS:
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        imported = re.findall(r"^\s*(?:from|import) (forecaster[\w.]*)", source, re.M)
        assert set(imported) <= {"forecaster", "forecaster.config"}, (path.name, imported)


CHECKS = {"attention_patterns": check_attention_patterns, "quickstart": check_quickstart}


def cell(nb, snippet: str):
    """The one code cell whose source holds `snippet`."""
    found = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(found) == 1, f"{len(found)} code cells hold {snippet!r}"
    return found[0]


def stdout(c) -> str:
    return "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def figures(c) -> list[int]:
    """The axes count of each picture the cell shows (matplotlib's text form: '<Figure ... with N Axes>')."""
    shown = [o.data for o in c.outputs if "image/png" in o.get("data", {})]
    return [int(re.search(r"with (\d+) Axes", d["text/plain"]).group(1)) for d in shown]


def html_table(c) -> list[list[str]]:
    """The rows (header first) of the DataFrame the cell shows, as the texts of their cells."""
    (html,) = [o.data["text/html"] for o in c.outputs if "text/html" in o.get("data", {})]
    reader = _Table()
    reader.feed(html)
    return reader.rows


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def logged_runs(uri: str) -> dict:
    """The runs in the store at `uri`, by name."""
    mlflow.set_tracking_uri(uri)
    return {r.info.run_name: r for r in mlflow.search_runs(search_all_experiments=True, output_format="list")}
