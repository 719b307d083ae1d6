"""The ranked summary of a comparison: means and spreads over seeds, ranks, p-values against the best,
and the table as Markdown and CSV."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from forecaster.compare.table import SUMMARY_KEYS, Row, summarise, to_csv, to_markdown
from forecaster.scores.metrics import diebold_mariano

KEYS = tuple(k for k in SUMMARY_KEYS if k != "mse")


def _row(variant: str, seed: int, mse: float, **extra) -> Row:
    return Row.from_json({"variant": variant, "seed": seed, "mse": mse, **{k: 1.0 for k in KEYS}, **extra})


def test_summarise_ranks_by_mean_mse_with_the_spread_over_seeds():
    rows = [_row("a", 1, 0.5), _row("a", 2, 0.7), _row("b", 1, 0.4), _row("b", 2, 0.45), _row("c", 1, 0.9)]
    summary = summarise(rows)
    assert [s["variant"] for s in summary] == ["b", "a", "c"]
    assert [s["rank"] for s in summary] == [1, 2, 3]
    assert summary[1]["mse"] == pytest.approx(0.6)
    assert summary[1]["mse_std"] == pytest.approx(statistics.stdev([0.5, 0.7]))
    assert summary[2]["mse_std"] == 0.0 and summary[2]["seeds"] == 1
    assert all(s["p_vs_best"] is None for s in summary)  # no per-window errors given
    assert to_markdown(summary).count("\n") == 2 + len(summary)


def test_summarise_tests_the_best_against_each_other_on_seed_averaged_window_errors():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    errors = {"a": [base + 0.2, base + 0.4], "b": [base, base + 0.02]}
    rows = [_row("a", 1, 0.7), _row("a", 2, 0.9), _row("b", 1, 0.3), _row("b", 2, 0.32)]
    summary = summarise(rows, errors, lag=2)
    best, other = summary
    assert best["variant"] == "b" and best["p_vs_best"] is None
    expected = diebold_mariano(np.mean(errors["b"], axis=0), np.mean(errors["a"], axis=0), lag=2)[1]
    assert other["p_vs_best"] == pytest.approx(expected)


def test_summarise_averages_validation_and_m4_keys_when_present_and_shows_missing_as_a_dash():
    rows = [
        _row("a", 1, 0.5, val_score=0.2, smape=10.0),
        _row("a", 2, 0.7, val_score=0.4, smape=12.0),
        _row("ensemble", 1, 0.6, epochs=None, val_score=None, members=["a", "b"]),
    ]
    summary = summarise(rows)
    a, ens = summary
    assert a["val_score"] == pytest.approx(0.3) and a["smape"] == pytest.approx(11.0)
    assert ens["val_score"] is None and ens["smape"] is None and ens["epochs"] is None and ens["members"] == "a,b"
    assert "| 2 | ensemble | 0.6000 |" in to_markdown(summary) and "| - |" in to_markdown(summary)
    assert "members" in to_csv(summary).splitlines()[0]
    assert "smape" not in summarise([_row("a", 1, 0.5)])[0]  # M4 keys only when the split gives them
