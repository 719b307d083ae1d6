"""The ranked summary of a comparison: means and spreads over seeds, ranks, and p-values vs the best."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from forecaster.compare import SUMMARY_KEYS, summarise, to_markdown
from forecaster.metrics import diebold_mariano

KEYS = tuple(k for k in SUMMARY_KEYS if k != "mse")


def _row(variant: str, seed: int, mse: float) -> dict:
    return {"variant": variant, "seed": seed, "mse": mse, **{k: 1.0 for k in KEYS}}


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
