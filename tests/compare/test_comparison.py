"""A comparison end to end: the validation winner named, saved and registered (--save-best, --register),
and no choice that a test row can change."""

from __future__ import annotations

import json

import mlflow
import pytest
from conftest import TINY, long_frame, run_cli, wide_frame

from forecaster.compare.comparison import compare
from forecaster.config import load
from forecaster.serve.loading import load_any

QUICK = [*TINY[: TINY.index("--trainer.max_epochs")], "--trainer.max_epochs", "1", "--trainer.progress_bar", "false"]


@pytest.mark.slow
def test_compare_names_saves_and_registers_the_validation_winner(mlflow_uri, wide_csv, tmp_path, capsys):
    best, metrics = tmp_path / "best", tmp_path / "rows.json"
    args = ["compare", "--data", wide_csv, *QUICK, "--variants", "naive,linear,causal", "--ensemble-k", "3"]
    code, out, err = run_cli(capsys, *args, "--save-best", best, "--register", "champ", "--metrics-out", metrics)
    assert code == 0, err
    rows = json.loads(metrics.read_text())  # still one row per fit (and per seed of the ensemble)
    assert {r["variant"] for r in rows} == {"naive", "linear", "causal", "ensemble"}
    chosen = min(rows, key=lambda r: r["val_score"])
    assert all(r["val_winner"] == (r["variant"] == chosen["variant"]) for r in rows)
    assert f"Deploy: {chosen['variant']}" in out and "lowest validation score" in out
    parent = mlflow.MlflowClient().search_runs(
        [mlflow.get_experiment_by_name("forecaster").experiment_id], "tags.kind = 'comparison'"
    )[0]
    assert parent.data.tags["val_winner"] == chosen["variant"]
    assert parent.data.tags["ensemble_members"] == next(",".join(r["members"]) for r in rows if r.get("members"))
    assert parent.data.tags["ensemble_rule"] in ("median", "weighted")  # what the report's winner line names
    code, _, err = run_cli(capsys, "predict", "--model", best, "--data", wide_csv, "--output", tmp_path / "f.csv")
    assert code == 0, err
    registered = load_any("models:/champ@champion")
    assert registered.schema.horizon == 6 and type(registered) is type(load_any(str(best)))


def _choices(csv, split: list[str]) -> tuple[dict, str, tuple | None, dict]:
    cfg = load(None, dotted_pairs([*QUICK, *split, "--data.path", str(csv), "--tracking.enabled", "false"]))
    rows, summary = compare(cfg, variants=["naive", "linear", "causal"], ensemble_k=3)
    val = {(r.variant, r.seed): r.val_score for r in rows}
    test = {(r.variant, r.seed): r.metrics["mse"] for r in rows}
    members = next(((r.members, r.ensemble) for r in rows if r.variant == "ensemble"), None)  # and its weights
    return val, next(s["variant"] for s in summary if s["val_winner"]), members, test


def dotted_pairs(args: list[str]) -> list[tuple[str, str]]:
    return [(args[i].removeprefix("--"), args[i + 1]) for i in range(0, len(args), 2) if args[i] != "--tracking.plots"]


@pytest.mark.parametrize(
    "split",
    [
        ["--data.split", "ratio"],
        ["--data.split", "last", "--data.test_windows", "20"],
        ["--data.split", "last", "--data.test_windows", "20", "--data.val_windows", "3", "--selection.metric", "mase"],
    ],
)
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


def test_compare_save_best_deploys_the_winner_refitted_on_every_row(mlflow_uri, long_csv, tmp_path, capsys):
    args = ["compare", "--data", long_csv, *QUICK, "--variants", "linear", "--ensemble-k", "0"]
    args += ["--data.split", "last", "--data.val_windows", "3", "--tracking.plots", "false"]
    code, out, err = run_cli(capsys, *args, "--save-best", tmp_path / "best", "--metrics-out", tmp_path / "rows.json")
    assert code == 0, err
    rows = json.loads((tmp_path / "rows.json").read_text())
    winner = next(r for r in rows if r["val_winner"])
    client = mlflow.MlflowClient()
    runs = client.search_runs([mlflow.get_experiment_by_name("forecaster").experiment_id])
    parent = next(r for r in runs if r.data.tags.get("kind") == "comparison")
    (refit,) = [r for r in runs if r.info.run_name.endswith("-refit")]
    assert refit.data.tags["mlflow.parentRunId"] == parent.info.run_id  # a child of the comparison
    assert refit.data.tags["refit_of"] == winner["run_id"] and "refitted on every row" in out
    (dataset,) = client.get_run(refit.info.run_id).inputs.dataset_inputs
    assert json.loads(dataset.dataset.profile)["rows"] == len(long_frame())  # every row of the file
