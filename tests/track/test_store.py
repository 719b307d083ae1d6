"""Where a run's local state lives (checkpoints beside the store), the store's lock, and dead processes."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from forecaster.track import store


def test_the_database_of_a_sqlite_uri():
    assert store.sqlite_path("sqlite:///mlflow.db") == Path("mlflow.db")
    assert store.sqlite_path("sqlite:////abs/dir/m.db") == Path("/abs/dir/m.db")
    assert store.sqlite_path("http://127.0.0.1:5000") is None
    assert store.sqlite_path("sqlite:///:memory:") is None


def test_checkpoints_live_beside_the_store_never_in_the_temp_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(store.CHECKPOINT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    run_id = "0123456789abcdef" * 2
    assert store.checkpoint_dir(f"sqlite:///{tmp_path}/db/mlflow.db", run_id) == tmp_path / "db/checkpoints" / run_id
    assert store.checkpoint_dir("sqlite:///mlflow.db", run_id) == tmp_path / "checkpoints" / run_id
    assert store.checkpoint_dir("http://server:5000", run_id) == tmp_path / "checkpoints" / run_id
    monkeypatch.setenv(store.CHECKPOINT_ENV, str(tmp_path / "elsewhere"))
    assert store.checkpoint_dir("http://server:5000", run_id) == tmp_path / "elsewhere" / run_id
    for bad in ("../../etc", "x" * 32, run_id + "/.."):
        with pytest.raises(ValueError):
            store.checkpoint_dir("sqlite:///mlflow.db", bad)


def test_the_store_lock_makes_a_second_holder_wait(tmp_path):
    uri, events = f"sqlite:///{tmp_path / 'mlflow.db'}", []

    def second():
        with store.store_lock(uri):
            events.append("second")

    with store.store_lock(uri):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        events.append("first done")
    thread.join(5)
    assert events == ["first done", "second"] and (tmp_path / "mlflow.db.lock").exists()


def test_a_run_whose_process_is_gone_is_told_from_a_live_one():
    assert not store.process_died(store.process_tags())  # this process
    proc = subprocess.Popen(["true"])
    proc.wait()
    gone = {**store.process_tags(), store.PID_TAG: str(proc.pid), store.PID_START_TAG: ""}
    assert store.process_died(gone)
    assert store.process_died({**store.process_tags(), store.PID_START_TAG: "1"})  # the pid was reused
    assert not store.process_died({**gone, store.HOST_TAG: "another-host"})  # cannot tell: leave it
    assert not store.process_died({})


def test_a_sqlite_stores_artifacts_are_beside_it_wherever_the_command_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store.artifact_root(f"sqlite:///{tmp_path}/db/mlflow.db") == tmp_path / "db" / "mlartifacts"
    assert store.artifact_root("sqlite:///mlflow.db") == tmp_path / "mlartifacts"  # absolute, from here
    assert store.artifact_root("http://server:5000") is None  # a server keeps its own
    location = store.experiment_artifacts(f"sqlite:///{tmp_path}/mlflow.db", "my exp/../x")
    assert location == (tmp_path / "mlartifacts" / "my_exp_.._x").as_uri()  # one folder, inside the root
    assert store.experiment_artifacts("http://server:5000", "e") is None
