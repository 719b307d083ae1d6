"""`forecaster tune`: search spaces from YAML, studies in a database, trials as child MLflow runs,
resuming after kill -9, and choices that never read the test split. One trial and its pruning:
test_trials.py; the trials shared among Ray workers: test_trial_fanout.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import ROOT, TINY, run_cli, wide_frame
from mlflow import MlflowClient

from forecaster.config import load, override
from forecaster.errors import ConfigError
from forecaster.tune.space import check_tunable

FAST = [*TINY, "--tracking.plots", "false", "--tracking.log_model", "false", "--trainer.threads", "1"]
SMALL_SPACE = {  # few, cheap values: every trial trains in about a second
    "transformer": {
        "model.d_model": {"type": "categorical", "choices": [8, 16]},
        "model.n_heads": {"type": "categorical", "choices": [1, 2]},
        "model.n_layers": None,
        "model.d_ff": None,
        "model.patch_len": {"type": "categorical", "choices": [4, 6]},
        "trainer.lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True},
    }
}


def test_untrainable_variants_and_bad_options_exit_2_before_anything_is_written(mlflow_uri, wide_csv, capsys):
    with pytest.raises(ConfigError, match="'naive2' has nothing to train"):
        check_tunable("naive2")
    for args, says in [
        (["--variants", "naive"], "variant 'naive' has nothing to train, so nothing to tune; tunable variants: global"),
        (["--variants", "sparse"], "unknown variant 'sparse'"),
        (["--trials", "0"], "--trials must be an integer ≥ 1, got 0"),
        (["--timeout", "0"], "--timeout must be a number of seconds > 0"),
        (["--model.patch_len", "99"], "patch_len"),
    ]:
        code, _, err = run_cli(capsys, "tune", "--data", wide_csv, *TINY, *args)
        assert code == 2 and says in err and "Traceback" not in err, err
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["wide.csv"]  # no store, study or YAML


def test_an_interrupted_tuning_says_the_same_command_resumes_it():
    from forecaster.interrupts import Interrupted, message

    line = message(Interrupted(signal.SIGTERM), ["tune", "--config", "c.yaml", "--trials", "5"])
    assert (
        line == "interrupted (SIGTERM): the study is saved; resume it with: forecaster tune --config c.yaml --trials 5"
    )


def _runs(experiment: str):
    client = MlflowClient()
    found = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    parents = [r for r in found if r.data.tags.get("kind") == "tune"]
    return parents, [r for r in found if r.data.tags.get("kind") != "tune"]


def _tune_args(tmp_path: Path, name: str, data, *extra) -> list:
    """`tune` on `data` with a config named `name` holding the small search space."""
    config = tmp_path / "space.yaml"
    config.write_text(yaml.safe_dump({"name": name, "search": SMALL_SPACE}))
    return ["tune", "--config", config, "--data", data, *FAST, *extra]


@pytest.mark.slow
def test_a_study_of_3_trials_writes_a_best_config_that_train_reproduces(mlflow_uri, wide_csv, capsys, tmp_path):
    args = _tune_args(tmp_path, "small", wide_csv, "--trials", "3", "--metrics-out", "tune.json")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "small: trials" in out and "forecaster train --config out/tune-small.yaml" in out
    summary = json.loads(Path("tune.json").read_text())
    causal = summary["variants"]["causal"]
    assert causal["study"] == "small-causal" and len(causal["trials"]) == 3
    keys = {"model.d_model", "model.n_heads", "model.patch_len", "trainer.lr", "model.dropout", "trainer.weight_decay"}
    assert all(set(t["params"]) == keys for t in causal["trials"])
    assert all(t["epochs"] >= 1 for t in causal["trials"] if t["state"] == "COMPLETE")  # the pruning callback reports
    (parent,), children = _runs("small")
    assert parent.info.status == "FINISHED" and len(children) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert all(r.info.status == "FINISHED" for r in children)
    assert sorted(r.data.tags["optuna.trial"] for r in children) == ["0", "1", "2"]
    assert parent.data.metrics["best_val_loss"] == pytest.approx(causal["best_val_loss"])
    best_yaml = MlflowClient().download_artifacts(parent.info.run_id, "best.yaml", str(tmp_path))
    assert Path(best_yaml).read_text() == Path("out/tune-small.yaml").read_text()

    code, _, err = run_cli(capsys, "train", "--config", "out/tune-small.yaml", "--metrics-out", "train.json")
    assert code == 0, err
    assert json.loads(Path("train.json").read_text())["best_val_loss"] == pytest.approx(causal["best_val_loss"])
    assert run_cli(capsys, *args)[0] == 0  # the same command again: nothing missing, no new run
    assert len(_runs("small")[1]) == 3 + 1  # the `train` run above


def _study(path: Path, name: str):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{path}")


@pytest.mark.slow
def test_kill_9_then_the_same_command_resumes_the_study(tmp_path):
    wide_frame(n=400).to_csv(tmp_path / "series.csv", index=False)
    args = ["tune", "--data", "series.csv", *FAST, "--data.batch_size", "8", "--trials", "3", "--name", "kill"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    start = lambda: subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    proc, deadline = start(), time.time() + 300
    while True:  # kill it once a trial has finished and the next one is running
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
        try:
            states = [t.state.name for t in _study(tmp_path / "optuna.db", "kill-causal").get_trials()]
        except (KeyError, ValueError, optuna.exceptions.StorageInternalError):
            continue  # the study does not exist yet
        if "COMPLETE" in states and states[-1] == "RUNNING":
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    rerun = start()
    assert rerun.wait(timeout=300) == 0, rerun.communicate()
    trials = _study(tmp_path / "optuna.db", "kill-causal").get_trials()
    states = [t.state.name for t in trials]
    assert sum(s in ("COMPLETE", "PRUNED") for s in states) == 3 and "RUNNING" not in states
    failed = [t for t in trials if t.state.name == "FAIL"]  # the trial the kill interrupted
    assert len(failed) == 1 and "process died" in failed[0].user_attrs["forecaster.ended"]
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    parents, children = _runs("kill")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"  # reopened, not a second parent
    assert not [r for r in children if r.info.status == "RUNNING"]
    assert sum(r.info.status == "FINISHED" for r in children) == 3


@pytest.mark.slow
def test_changing_the_test_rows_changes_no_choice(tmp_path):
    from forecaster.tune.tuner import tune

    frame = wide_frame(n=300)
    changed = frame.copy()
    tail = slice(int(0.8 * len(frame)), None)
    changed.iloc[tail, 1:] = wide_frame(n=300, seed=7).iloc[tail, 1:].to_numpy()[::-1]  # the test rows only
    outcomes = []
    for name, data in (("same", frame), ("changed", changed)):
        data.to_csv(tmp_path / f"{name}.csv", index=False)
        cfg = load(None, [("data.path", str(tmp_path / f"{name}.csv")), ("tracking.enabled", False)])
        cfg = override(cfg, [(k.lstrip("-"), v) for k, v in zip(FAST[::2], FAST[1::2])])
        cfg.search = SMALL_SPACE
        study = tune(cfg, variants=["causal"], trials=2, study_db=f"sqlite:///{tmp_path / name}.db").studies["causal"]
        outcomes.append([(t.params, t.value, t.intermediate_values) for t in study.get_trials()] + [study.best_params])
    assert outcomes[0] == outcomes[1]


@pytest.mark.slow  # starts a local Ray: 2 workers share 4 trials
def test_tune_with_workers_runs_one_study_on_ray_with_every_trial_a_child_run(
    mlflow_uri, wide_csv, capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # Ray's workers import this checkout
    args = _tune_args(tmp_path, "fan", wide_csv, "--trials", "4", "--workers", "2")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "causal: 4 trials on Ray in 2 tasks, 1 thread each" in out and "forecaster train --config" in out
    trials = _study(Path("optuna.db"), "fan-causal").get_trials()
    assert sorted(t.state.name for t in trials) == ["COMPLETE"] * 4
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) > 1  # the workers' samplers differ
    (parent,), children = _runs("fan")
    assert parent.info.status == "FINISHED" and len(children) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert all(r.info.status == "FINISHED" for r in children)
    assert sorted(r.data.tags["optuna.trial"] for r in children) == ["0", "1", "2", "3"]
    assert run_cli(capsys, *args)[0] == 0  # the same command again: nothing missing, no new run
    assert len(_runs("fan")[1]) == 4
