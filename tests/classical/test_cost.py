"""What the classical variants cost (`forecaster.classical.cost`) and the rule that puts them in a
comparison without `--variants`: in for a few hundred short series, out for ETTh1."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import ETTH1, ROOT, run_cli

from forecaster.classical import cost
from forecaster.compare import comparison
from forecaster.config import CLASSICAL, VARIANTS, load


def test_the_laws_are_the_benchmark_s_fit():
    measured = json.loads((ROOT / "benchmarks" / "results" / "classical_cost.json").read_text())["laws"]
    for model, laws in cost.LAWS.items():
        for kind, coefficients in laws.items():
            fitted = measured[model][kind]
            assert coefficients == pytest.approx([fitted[k] for k in "cab"[: len(coefficients)]], rel=5e-3)


def test_a_fit_costs_more_with_a_longer_context_and_a_season():
    for model in CLASSICAL:
        short, long = (cost.seconds_per_fit(model, context_len=n, season=1) for n in (41, 336))
        assert short < long < cost.seconds_per_fit(model, context_len=336, season=24)
    assert cost.seconds_per_fit("arima", context_len=96, season=24) > 1  # seconds: the strict one


def test_the_rule_states_its_numbers_and_how_to_run_it_anyway():
    assert cost.left_out("theta", fits=718, context_len=41, season=1) is None
    note = cost.left_out("arima", fits=718, context_len=41, season=1)
    assert note.startswith("arima left out of the default variants: 718 fits") and "--variants" in note
    assert f"{cost.BUDGET_S:.0f} s" in note


def weekly_file(path, n_series=359, length=100):
    """A few hundred short weekly series, as M4 Weekly's shape: (validation + test) windows one each."""
    rng = np.random.default_rng(0)
    times = pd.date_range("2015-01-04", periods=length, freq="W-SUN").astype(str)
    parts = [
        pd.DataFrame({"unique_id": f"W{i}", "ds": times, "y": 100 + np.cumsum(rng.normal(size=length)).round(3)})
        for i in range(n_series)
    ]
    pd.concat(parts).to_csv(path, index=False)


def test_a_few_hundred_short_series_get_ets_and_theta_and_etth1_gets_none(tmp_path):
    weekly_file(tmp_path / "weekly.csv")
    overrides = {"data.path": str(tmp_path / "weekly.csv"), "data.split": "last", "data.context_len": 41}
    cfg = load(None, [*overrides.items(), ("data.horizon", 13), ("tracking.enabled", False)])
    notes = []
    kept = comparison.affordable(cfg, list(VARIANTS), {}, notes.append)
    assert {"ets", "theta"} <= set(kept) and "arima" not in kept  # ~70 s of AutoARIMA fits, 1-2 s of the others
    assert [v for v in VARIANTS if v not in CLASSICAL] == [v for v in kept if v not in CLASSICAL]
    assert len(notes) == 1 and "arima left out" in notes[0] and "718 fits" in notes[0]

    quick = load(ROOT / "configs" / "quick.yaml", [("data.path", str(ETTH1)), ("tracking.enabled", False)])
    notes = []
    assert comparison.affordable(quick, list(VARIANTS), {}, notes.append) == [v for v in VARIANTS if v not in CLASSICAL]
    assert len(notes) == 3 and all("x target columns" in n for n in notes)


def test_only_a_comparison_without_variants_applies_the_rule(monkeypatch, capsys, wide_csv):
    asked = {}

    def fake_compare(cfg, *, variants, **kwargs):
        asked.update(variants=variants, **kwargs)
        return [], []

    monkeypatch.setattr(comparison, "compare", fake_compare)
    base = ["compare", "--data", wide_csv, "--tracking.enabled", "false"]
    assert run_cli(capsys, *base)[0] == 0
    assert asked["classical_by_cost"] and set(CLASSICAL) <= set(asked["variants"])
    assert run_cli(capsys, *base, "--variants", "ets,naive")[0] == 0
    assert not asked["classical_by_cost"] and asked["variants"] == ["ets", "naive"]
