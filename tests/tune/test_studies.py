"""`tune`'s Optuna studies: where they live, and the trials of dead processes."""

from __future__ import annotations

import os
import subprocess
import sys

import optuna

from forecaster.tune.studies import default_study_db


def test_the_study_lives_beside_the_mlflow_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_study_db("sqlite:////data/runs/mlflow.db") == "sqlite:////data/runs/optuna.db"
    assert default_study_db("sqlite:///runs/mlflow.db") == "sqlite:///runs/optuna.db"
    assert default_study_db("http://127.0.0.1:5000") == "sqlite:///optuna.db"
    assert default_study_db(None) == "sqlite:///optuna.db"


def test_only_trials_of_dead_processes_or_of_this_one_when_asked_are_failed(tmp_path):
    from forecaster.track import store
    from forecaster.tune.studies import fail_dead_trials

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    for pid in (dead.pid, os.getpid()):
        trial_id = study.ask()._trial_id  # a RUNNING trial
        for key, value in {**store.process_tags(), store.PID_TAG: str(pid)}.items():
            study._storage.set_trial_user_attr(trial_id, key, value)
    assert fail_dead_trials(study) == [0]  # the dead process's trial; this process's one is running
    assert fail_dead_trials(study, own=True) == [1]  # on the way out after a signal
    assert [t.state.name for t in study.get_trials()] == ["FAIL", "FAIL"]
    assert study.get_trials()[0].user_attrs["forecaster.ended"] == f"process died (pid {dead.pid})"
