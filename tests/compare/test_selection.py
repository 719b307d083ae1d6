"""The choice on validation: the validation winner, the ensemble's members and how it combines them
(median or greedy weights), never the test rank; the ensemble deployed with covariates and intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETWORK, TINY, run_cli, wide_frame

from forecaster.compare.ensembling import Combination, ValidationForecasts, choose, combine, greedy_weights
from forecaster.compare.selection import (
    ENSEMBLE,
    Fit,
    best_package,
    by_validation,
    ensemble_rows,
    members,
    validation_mse,
    winner,
)
from forecaster.compare.table import Row
from forecaster.config import load, with_variant
from forecaster.data.windows import prepare
from forecaster.models import build_network


def _fit(variant: str, seed: int, val_score: float | None, key: str = "d", network=True) -> Fit:
    return Fit(None, key, None, object() if network else None, Row(variant, seed, None, val_score=val_score))


def test_the_validation_winner_is_the_lowest_mean_validation_mse_never_the_test_rank():
    summary = [
        {"variant": "a", "mse": 0.1, "val_score": 0.5},
        {"variant": "b", "mse": 0.2, "val_score": 0.3},
        {"variant": "c", "mse": 0.3, "val_score": 0.3},
        {"variant": "d", "mse": 0.4, "val_score": None},
    ]
    assert winner(summary, ["c", "b", "a", "d"])["variant"] == "c"  # a tie keeps the order given
    assert winner(summary, ["a", "b", "c", "d"])["variant"] == "b"
    assert winner([{"variant": "a", "mse": 0.1, "val_score": None}], ["a"]) is None


def test_ensemble_members_are_the_k_best_on_validation_that_read_the_same_windows():
    fits = [
        _fit("a", 1, 0.5),
        _fit("a", 2, 0.7),  # mean 0.6
        _fit("b", 1, 0.2, key="other"),
        _fit("b", 2, 0.2, key="other"),  # best: its data settings define the windows
        _fit("c", 1, 0.3, key="other"),
        _fit("c", 2, 0.3, key="other"),
        _fit("d", 1, 0.4),
        _fit("d", 2, 0.4),
    ]
    assert [v for v, _ in by_validation(fits)] == ["b", "c", "d", "a"]
    chosen, notes = members(fits, 2)
    assert chosen == ["b", "c"] and notes == []
    chosen, notes = members(fits, 3)
    assert chosen == ["b", "c"] and len(notes) == 2 and "left out 'd'" in notes[0]
    resumed = [_fit("a", 1, 0.1, network=False), _fit("b", 1, 0.2), _fit("c", 1, 0.3)]
    chosen, notes = members(resumed, 2)
    assert chosen == ["b", "c"] and "'a': finished before the resume" in notes[0]
    assert members(fits, 1) == ([], []) and members(fits, 0) == ([], [])


def _targets(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(40, 6, 2))  # (windows, H, K)


def _mse(y: np.ndarray):
    return lambda predictions: float(np.mean(np.square(predictions - y)))


def test_greedy_weights_favour_the_clearly_better_member_and_reproduce_a_perfect_one():
    y, rng = _targets(), np.random.default_rng(1)
    good, poor = y + 0.1 * rng.normal(size=y.shape), y + 1.0 * rng.normal(size=y.shape)
    weights, score = greedy_weights([poor, good], _mse(y))
    assert weights[1] > 0.8 and weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    assert score <= _mse(y)(good)  # never worse than the best member on validation
    weights, score = greedy_weights([poor, y, good], _mse(y))
    assert weights.tolist() == [0.0, 1.0, 0.0] and score == 0.0  # all weight on a perfect member
    np.testing.assert_array_equal(combine([poor, y, good], weights), y)  # ... reproduces it


def test_greedy_weights_cancel_opposite_errors_where_the_median_cannot():
    y, e = _targets(), np.random.default_rng(2).normal(size=(40, 6, 2))
    members = [y + e, y - e, y + 5 * e]  # the median is y + e; the mean of the first two is y
    weights, score = greedy_weights(members, _mse(y))
    assert weights.tolist() == [0.5, 0.5, 0.0] and score == pytest.approx(0.0, abs=1e-24)


def _validation(members: list[np.ndarray], y: np.ndarray) -> ValidationForecasts:
    return ValidationForecasts(members)  # `y` is the score's (`_mse(y)`)


def test_the_rule_is_the_one_with_the_lower_validation_score_and_both_are_kept():
    y, e = _targets(), np.random.default_rng(3).normal(size=(40, 6, 2))
    cancelling = _validation([y + e, y - e, y + 5 * e], y)
    (chosen,) = choose(["a", "b", "c"], [(cancelling, _mse(y))])
    assert chosen.rule == "weighted" and chosen.weights == {"a": 0.5, "b": 0.5, "c": 0.0}
    assert chosen.val_weighted < chosen.val_median == pytest.approx(_mse(y)(y + e))
    spikes = []
    for k in range(3):  # each member far off on its own third of the windows: the median is y everywhere
        member = y.copy()
        member[k::3] += 10.0
        spikes.append(member)
    (chosen,) = choose(["a", "b", "c"], [(_validation(spikes, y), _mse(y))])
    assert chosen.rule == "median" and chosen.val_median == 0.0 < chosen.val_weighted
    assert chosen.network_weights() is None and Combination.from_json(chosen.to_json()) == chosen


def _network_fits(csv, variants: list[str], *overrides) -> list[Fit]:
    """Fits of untrained (seeded) networks on `csv`: what `compare` hands the ensemble, without training."""
    cfg = load(
        None, [("data.path", str(csv)), ("data.context_len", 24), ("data.horizon", 6), *SMALL_NETWORK, *overrides]
    )
    data = prepare(cfg.data)
    fits = []
    for k, variant in enumerate(variants):
        vcfg = with_variant(cfg, variant)
        torch.manual_seed(k)
        network = build_network(vcfg.model, data.schema).eval()
        row = Row(
            variant,
            cfg.seed,
            None,
            {"n_params": 1, "train_seconds": 0.0},
            val_score=validation_mse(network, data, vcfg),
        )
        fits.append(Fit(vcfg, "d", data, network, row))
    return fits


def test_a_saved_ensemble_with_calendar_covariates_predicts_with_intervals(wide_csv, tmp_path, capsys):
    fits = _network_fits(wide_csv, ["causal", "linear", "naive"], ("data.calendar", ["hour"]))
    assert fits[0].data.schema.calendar == ["hour"]
    rows, errors = ensemble_rows(fits, ["causal", "linear", "naive"])
    (row,) = rows
    assert row.members == ["causal", "linear", "naive"] and len(errors) == 1 and "coverage_80" in row.metrics
    assert set(row.ensemble) == {"rule", "weights", "val_median", "val_weighted"}
    package = best_package(fits, ENSEMBLE, rows)  # the ensemble saved as if it had won
    target = package.save(tmp_path / "best")
    saved = json.loads((target / "ensemble.json").read_text())
    assert saved["rule"] == row.ensemble["rule"] and (saved.get("weights") is None) == (saved["rule"] == "median")
    out = tmp_path / "f.csv"
    code, _, err = run_cli(
        capsys, "predict", "--model", target, "--data", wide_csv, "--level", "80,90", "--output", out
    )
    assert code == 0, err
    assert {"a-lo-80", "a-hi-90", "c-hi-90"} <= set(pd.read_csv(out).columns)
    import copy

    refitted = {}  # a stand-in refit: a copy of each network with other weights, recorded per member

    def refit(fit):
        network = copy.deepcopy(fit.network)
        for p in network.parameters():
            p.data += 0.1
        refitted[fit.row.variant] = network
        return network

    deployed = best_package(fits, ENSEMBLE, rows, refit=refit)
    assert set(refitted) == {"causal", "linear", "naive"}
    assert all(deployed.members[name].network is refitted[name] for name in refitted)  # the refitted networks
    assert deployed.calibration.to_dict() == package.calibration.to_dict()  # intervals from the validated ensemble


def test_the_ensemble_choice_reads_no_test_row(tmp_path):
    frame = wide_frame(300)
    changed = frame.copy()
    changed.loc[240:, ["a", "b", "c"]] = changed[["a", "b", "c"]].iloc[240:] * 3 + 5  # the ratio split's test rows
    (tmp_path / "one.csv").write_text(frame.to_csv(index=False))
    (tmp_path / "two.csv").write_text(changed.to_csv(index=False))
    names = ["seasonal_naive", "linear", "naive"]
    one, two = (ensemble_rows(_network_fits(tmp_path / f, names), names)[0][0] for f in ("one.csv", "two.csv"))
    assert one.ensemble == two.ensemble and one.val_score == two.val_score and one.members == two.members
    assert one.metrics["mse"] != two.metrics["mse"]  # the test split did change


@pytest.mark.slow  # trains linear and causal for an epoch: ~6 s
def test_a_calendar_comparison_with_the_default_ensemble_deploys_a_winner_with_intervals(wide_csv, tmp_path, capsys):
    best, rows = tmp_path / "best", tmp_path / "rows.json"
    args = ["compare", "--data", wide_csv, *TINY, "--data.calendar", "[hour]", "--variants", "linear,causal"]
    code, _, err = run_cli(
        capsys,
        *args,
        "--trainer.max_epochs",
        "1",
        "--tracking.enabled",
        "false",
        "--save-best",
        best,
        "--metrics-out",
        rows,
    )
    assert code == 0, err
    ensemble = [r for r in json.loads(rows.read_text()) if r["variant"] == ENSEMBLE]
    assert len(ensemble) == 1 and ensemble[0]["ensemble"]["rule"] in ("median", "weighted")
    code, _, err = run_cli(capsys, "predict", "--model", best, "--data", wide_csv, "--level", "80,90")
    assert code == 0, err
