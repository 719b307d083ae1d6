"""The ranked summary of a comparison (means and spreads over seeds, ranks, p-values vs the best) and the
choice on validation: the validation winner, the ensemble's members, --save-best / --register."""

from __future__ import annotations

import json
import statistics

import mlflow
import numpy as np
import pytest
from conftest import TINY, run_cli, wide_frame

from forecaster.compare.comparison import compare
from forecaster.compare.selection import Fit, by_validation, members, winner
from forecaster.compare.table import SUMMARY_KEYS, Row, summarise, to_csv, to_markdown
from forecaster.config import load
from forecaster.scores.metrics import diebold_mariano
from forecaster.serve.loading import load_any

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
        _row("a", 1, 0.5, val_mse=0.2, smape=10.0),
        _row("a", 2, 0.7, val_mse=0.4, smape=12.0),
        _row("ensemble", 1, 0.6, epochs=None, val_mse=None, members=["a", "b"]),
    ]
    summary = summarise(rows)
    a, ens = summary
    assert a["val_mse"] == pytest.approx(0.3) and a["smape"] == pytest.approx(11.0)
    assert ens["val_mse"] is None and ens["smape"] is None and ens["epochs"] is None and ens["members"] == "a,b"
    assert "| 2 | ensemble | 0.6000 |" in to_markdown(summary) and "| - |" in to_markdown(summary)
    assert "members" in to_csv(summary).splitlines()[0]
    assert "smape" not in summarise([_row("a", 1, 0.5)])[0]  # M4 keys only when the split gives them


def _fit(variant: str, seed: int, val_mse: float | None, key: str = "d", network=True) -> Fit:
    return Fit(None, key, None, object() if network else None, Row(variant, seed, None, val_mse=val_mse))


def test_the_validation_winner_is_the_lowest_mean_validation_mse_never_the_test_rank():
    summary = [
        {"variant": "a", "mse": 0.1, "val_mse": 0.5},
        {"variant": "b", "mse": 0.2, "val_mse": 0.3},
        {"variant": "c", "mse": 0.3, "val_mse": 0.3},
        {"variant": "d", "mse": 0.4, "val_mse": None},
    ]
    assert winner(summary, ["c", "b", "a", "d"])["variant"] == "c"  # a tie keeps the order given
    assert winner(summary, ["a", "b", "c", "d"])["variant"] == "b"
    assert winner([{"variant": "a", "mse": 0.1, "val_mse": None}], ["a"]) is None


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


QUICK = [*TINY[: TINY.index("--trainer.max_epochs")], "--trainer.max_epochs", "1", "--trainer.progress_bar", "false"]


@pytest.mark.slow
def test_compare_names_saves_and_registers_the_validation_winner(mlflow_uri, wide_csv, tmp_path, capsys):
    best, metrics = tmp_path / "best", tmp_path / "rows.json"
    args = ["compare", "--data", wide_csv, *QUICK, "--variants", "naive,linear,causal", "--ensemble-k", "3"]
    code, out, err = run_cli(capsys, *args, "--save-best", best, "--register", "champ", "--metrics-out", metrics)
    assert code == 0, err
    rows = json.loads(metrics.read_text())  # still one row per fit (and per seed of the ensemble)
    assert {r["variant"] for r in rows} == {"naive", "linear", "causal", "ensemble"}
    chosen = min(rows, key=lambda r: r["val_mse"])
    assert all(r["val_winner"] == (r["variant"] == chosen["variant"]) for r in rows)
    assert f"Deploy: {chosen['variant']}" in out and "val loss" in out
    parent = mlflow.MlflowClient().search_runs(
        [mlflow.get_experiment_by_name("forecaster").experiment_id], "tags.kind = 'comparison'"
    )[0]
    assert parent.data.tags["val_winner"] == chosen["variant"]
    assert parent.data.tags["ensemble_members"] == next(",".join(r["members"]) for r in rows if r.get("members"))
    code, _, err = run_cli(capsys, "predict", "--model", best, "--data", wide_csv, "--output", tmp_path / "f.csv")
    assert code == 0, err
    registered = load_any("models:/champ@champion")
    assert registered.schema.horizon == 6 and type(registered) is type(load_any(str(best)))


def _choices(csv, split: list[str]) -> tuple[dict, str, list | None, dict]:
    cfg = load(None, dotted_pairs([*QUICK, *split, "--data.path", str(csv), "--tracking.enabled", "false"]))
    rows, summary = compare(cfg, variants=["naive", "linear", "causal"], ensemble_k=3)
    val = {(r.variant, r.seed): r.val_mse for r in rows}
    test = {(r.variant, r.seed): r.metrics["mse"] for r in rows}
    members = next((r.members for r in rows if r.variant == "ensemble"), None)
    return val, next(s["variant"] for s in summary if s["val_winner"]), members, test


def dotted_pairs(args: list[str]) -> list[tuple[str, str]]:
    return [(args[i].removeprefix("--"), args[i + 1]) for i in range(0, len(args), 2) if args[i] != "--tracking.plots"]


@pytest.mark.parametrize("split", [["--data.split", "ratio"], ["--data.split", "last", "--data.test_windows", "20"]])
def test_changing_test_rows_changes_no_choice(tmp_path, split):
    frame = wide_frame(300)
    n_test = 60 if split[1] == "ratio" else 6 + 20 - 1  # the rows whose values only the test windows see
    changed = frame.copy()
    changed.loc[len(frame) - n_test :, ["a", "b", "c"]] = changed[["a", "b", "c"]].iloc[-n_test:] * 3 + 5
    (tmp_path / "one.csv").write_text(frame.to_csv(index=False))
    (tmp_path / "two.csv").write_text(changed.to_csv(index=False))
    val1, winner1, members1, test1 = _choices(tmp_path / "one.csv", split)
    val2, winner2, members2, test2 = _choices(tmp_path / "two.csv", split)
    assert val1 == val2 and winner1 == winner2 and members1 == members2 and members1
    assert all(test1[k] != test2[k] for k in test1)
