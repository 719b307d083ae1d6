"""The benchmark scripts' own arithmetic (their fits are run by hand, not by the tests)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from forecaster.metrics import diebold_mariano

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(variant: str, seed: int, mse: float, horizon: int = 4) -> dict:
    return {
        "variant": variant,
        "horizon": horizon,
        "seed": seed,
        "mse": mse,
        "mae": mse,
        "n_params": 1,
        "epochs": 1,
        "seconds_per_epoch": 1.0,
        "train_seconds": 1.0,
    }


def test_etth1_table_p_is_one_sided_dm_on_errors_averaged_over_every_seed(tmp_path):
    etth1 = _module("etth1")
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 0.2, size=300)
    errors = {
        "4/a/1": base * 0.9,
        "4/a/2": base * 0.95,
        "4/b/1": base,
        "4/b/2": base + rng.normal(0, 0.05, 300),
    }
    rows = [_row("a", 1, 0.30), _row("a", 2, 0.31), _row("b", 1, 0.4), _row("b", 2, 0.41), _row("c", 1, 0.5)]
    groups = {(4, v): [r for r in rows if r["variant"] == v] for v in "abc"}
    p = etth1.p_values(groups, errors)
    expected = diebold_mariano(
        np.mean([errors["4/a/1"], errors["4/a/2"]], axis=0), np.mean([errors["4/b/1"], errors["4/b/2"]], axis=0), lag=3
    )[1]
    assert p[(4, "b")] == pytest.approx(expected) and p[(4, "b")] < 0.01  # a is better: small p
    assert p[(4, "c")] is None  # c's errors were never stored: no p, not a made-up one
    assert (4, "a") not in p

    results = tmp_path / "etth1.json"
    results.write_text(json.dumps([{**_row("b", 9, 0.5), "p_vs_best": 0.2}]))
    merged = etth1.merge(rows[:1], results)
    assert all("p_vs_best" not in r for r in merged) and len(merged) == 2
    etth1.merge_errors({"4/a/1": errors["4/a/1"]}, etth1.errors_path(results))
    etth1.merge_errors({"4/b/1": errors["4/b/1"]}, etth1.errors_path(results))
    assert set(np.load(etth1.errors_path(results))) == {"4/a/1", "4/b/1"}
