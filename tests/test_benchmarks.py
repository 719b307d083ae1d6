"""The benchmark scripts' own arithmetic (their fits are run by hand, not by the tests)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from forecaster.scores.metrics import diebold_mariano

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


def test_etth1_auto_p_tests_the_seed_averaged_row_against_the_tuned_linear_rows_of_its_seeds(tmp_path):
    auto = _module("etth1_auto")
    auto.TUNED = tmp_path / "etth1.json"
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 0.2, size=400)
    linear = {"96/linear/1": base, "96/linear/2": base * 1.02, "96/linear/3": base * 0.5}
    np.savez(tmp_path / "etth1_errors.npz", **linear)
    errors = {"hybrid/1": base * 0.97, "hybrid/2": base * 0.96 + rng.normal(0, 0.02, 400)}
    group = [{"variant": "hybrid", "seed": 1}, {"variant": "hybrid", "seed": 2}]
    expected = diebold_mariano(
        np.mean([errors["hybrid/1"], errors["hybrid/2"]], axis=0), np.mean([base, base * 1.02], axis=0), lag=95
    )[1]
    assert auto.p_vs_linear(group, errors) == ("<0.001" if expected < 0.001 else f"{expected:.3f}")
    assert expected < 0.05  # the row is better: small p (seed 3's linear errors, half as large, are not used)
    assert auto.p_vs_linear([*group, {"variant": "hybrid", "seed": 4}], errors) == "-"  # no linear seed 4


def test_etth1_rows_of_ensembles_over_other_members_do_not_replace_each_other(tmp_path):
    etth1 = _module("etth1")
    fits = [
        {"variant": "ensemble", "members": ["linear", "causal", "dynamic"]},
        {"variant": "ensemble", "members": ["seasonal_naive", "naive"]},
    ]
    names = [etth1.row_name(f, None) for f in fits]
    assert names == ["ensemble (causal, dynamic, linear)", "ensemble (naive, seasonal_naive)"]
    assert etth1.row_name({"variant": "causal"}, "r16") == "causal r16"
    results = tmp_path / "etth1.json"
    results.write_text(json.dumps([_row(names[0], 1, 0.3)]))
    assert len(etth1.merge([_row(names[1], 1, 0.9)], results)) == 2  # a naive-only run keeps the attention ensemble


def _cv_frame(peer, drop_last_window: bool = False):
    """neuralforecast's cross_validation layout over the protocol's test windows: 7 columns x 2,785 cutoffs x 96."""
    import pandas as pd

    cutoffs = np.arange(peer.VAL_END - 1, peer.TEST_END - peer.HORIZON)[: -1 if drop_last_window else None]
    steps = np.arange(1, peer.HORIZON + 1)
    ids = [f"c{i}" for i in range(7)]
    cutoff = np.tile(np.repeat(cutoffs, peer.HORIZON), len(ids))
    y = np.ones(cutoff.size)
    return pd.DataFrame(
        {
            "unique_id": np.repeat(ids, cutoffs.size * peer.HORIZON),
            "cutoff": cutoff,
            "ds": cutoff + np.tile(steps, cutoffs.size * len(ids)),
            "y": y,
            "PatchTST": y + 0.5,
        }
    )


def test_peer_score_counts_every_test_window_and_refuses_a_missing_one():
    peer = _module("peer_neuralforecast")
    assert peer.N_TEST_WINDOWS == 2785
    assert peer.score(_cv_frame(peer), "PatchTST") == {"mse": 0.25, "mae": 0.5, "n_test_windows": 2785}
    with pytest.raises(SystemExit, match="2785 windows"):
        peer.score(_cv_frame(peer, drop_last_window=True), "PatchTST")


def test_peer_our_command_trains_the_variant_untracked_with_the_threads(tmp_path):
    peer = _module("peer_neuralforecast")
    args = type("Args", (), {"config": "configs/etth1.yaml", "threads": 2, "ours_epochs": None})()
    linear = peer.our_command("py", "linear", 2022, args, tmp_path / "m.json")
    assert linear[linear.index("--model.name") + 1] == "linear" and "--model.attention" not in linear
    assert linear[linear.index("--seed") + 1] == "2022" and linear[linear.index("--trainer.threads") + 1] == "2"
    assert linear[linear.index("--tracking.enabled") + 1] == "false" and "--trainer.max_epochs" not in linear
    args.ours_epochs = 1
    causal = peer.our_command("py", "causal", 2021, args, tmp_path / "m.json")
    assert causal[causal.index("--model.attention") + 1] == "causal"
    assert causal[causal.index("--trainer.max_epochs") + 1] == "1"


def test_peer_table_ranks_by_mse_and_times_against_our_causal():
    peer = _module("peer_neuralforecast")
    ours = {"library": "forecaster", "n_params": 1, "epochs": 8, "n_test_windows": 2785}
    nf = {"library": "neuralforecast", "n_params": 1, "steps": 5000, "val_seconds": 100.0, "n_test_windows": 2785}
    rows = [
        {**ours, "model": "causal", "seed": s, "mse": 0.37, "mae": 0.39, "train_seconds": 100.0} for s in (1, 2)
    ] + [{**nf, "model": "patchtst", "seed": 1, "mse": 0.38, "mae": 0.40, "train_seconds": 300.0}]
    machine = {"cpu": "cpu", "cpu_count": 2, "threads": 2}
    lines = peer.table({"rows": rows, "machine": machine, "command": "c"}).splitlines()
    assert lines[2].startswith("| forecaster | causal | 0.3700 ± 0.0000 |") and lines[2].endswith("| 1.00 |")
    assert lines[3].startswith("| neuralforecast | patchtst |")
    assert lines[3].endswith("| 5,000 steps | 300 | 100 | 3.00 |")  # 100 of its 300 s validating


def test_etth1_auto_chooses_like_compare_among_every_row_the_ensemble_included(tmp_path):
    auto = _module("etth1_auto")
    auto.TUNED = tmp_path / "etth1.json"
    tuned = [
        {**_row(v, s, m, horizon=96), "val_mse": vm}
        for v, m, vm in [("causal", 0.37, 0.69), ("hybrid", 0.38, 0.68)]
        for s in (1, 2)
    ]
    auto.TUNED.write_text(json.dumps(tuned))
    rows = [
        {"variant": "hybrid", "seed": 1, "mse": 0.36, "mae": 0.3, "val_mse": 0.68, "best_val_loss": 0.67},
        {"variant": "causal", "seed": 1, "mse": 0.35, "mae": 0.3, "val_mse": 0.69, "best_val_loss": 0.69},
        {"variant": "ensemble", "seed": 1, "mse": 0.37, "mae": 0.3, "val_mse": 0.66},  # lowest on validation
    ]
    assert auto.validation_winner(rows) == "ensemble"  # not hybrid, the best attention row on validation
    text = auto.table({"rows": rows}, {})
    winner = "Validation winner (lowest mean val_mse, the ensemble included): ensemble, test MSE 0.3700"
    assert f"{winner}; regret +5.7 % over the best test row (causal)." in text  # 0.37 / 0.35 - 1
    assert "Tuned attention rows: best on test causal 0.3700 (p -); their validation pick hybrid 0.3800 (p -)" in text
    old = [{k: v for k, v in r.items() if k != "val_mse"} for r in rows]  # rows written before val_mse was kept
    assert auto.validation_winner(old) is None
    text = auto.table({"rows": old}, {})
    assert "Validation winner: not recomputable from this file" in text
    assert "Among the attention rows alone, without the ensemble (trainer's validation loss): hybrid" in text


def _printed_tables() -> dict[str, str]:
    """Each benchmark's table as its `--print-only` prints it from the committed results files."""
    results = ROOT / "benchmarks" / "results"
    load = lambda name: json.loads((results / name).read_text())
    errors = lambda name: dict(np.load(results / name))
    long_context = load("long_context.json")
    return {
        "etth1": _module("etth1").table(load("etth1.json"), errors("etth1_errors.npz")),
        "etth1_auto": _module("etth1_auto").table(load("etth1_auto.json"), errors("etth1_auto_errors.npz")),
        "etth1_intervals": _module("etth1_intervals").table(load("etth1.json")),
        "m4_weekly": _module("m4_weekly").table(load("m4_weekly.json")),
        "fanout": _module("fanout").table(load("fanout.json")),
        "attention_scaling": _module("attention_scaling").table(load("attention_scaling.json")),
        "many_series": _module("many_series").table(load("many_series.json")),
        "extend_horizon": _module("extend_horizon").table(load("extend_horizon.json")["rows"]),
        "gpu": _module("gpu").table(load("gpu_cpu.json")),
        "long_context": _module("long_context").table(
            long_context["rows"], list(dict.fromkeys(r["pattern"] for r in long_context["rows"]))
        ),
    }


def test_every_benchmark_table_in_the_readmes_is_what_its_results_file_prints(monkeypatch):
    """The READMEs' tables are the scripts' `--print-only` output from the committed files, line for
    line (a number edited by hand, or a results file changed without its table, fails here)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # etth1_intervals imports etth1
    readme, tables = (ROOT / "benchmarks" / "README.md").read_text(), _printed_tables()
    for name, printed in tables.items():
        missing = [line for line in printed.splitlines() if line and line not in readme]
        assert not missing, (name, missing)
    intervals = tables["etth1_intervals"].splitlines()
    assert all(line in (ROOT / "README.md").read_text() for line in intervals)  # the README's own copy
