"""Signals, crashes and resuming, with real `forecaster` processes on tiny data and a temp SQLite store.

A process stopped by SIGINT or SIGTERM ends its run KILLED and exits 130 / 143 with one line; one
killed outright (kill -9) leaves a run the next command marks FAILED and a checkpoint beside the
store, from which `--resume` reaches the metrics of an uninterrupted fit exactly; two processes
creating a new store at once both succeed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, TINY, run_cli, wide_frame
from mlflow import MlflowClient

pytestmark = pytest.mark.slow  # every test starts real training processes

SLOW_EPOCHS = [  # small batches on a longer series: an epoch lasts long enough to be interrupted
    *TINY,
    "--data.batch_size",
    "4",
    "--trainer.max_epochs",
    "3",
    "--trainer.patience",
    "5",
    "--trainer.threads",
    "1",
    "--tracking.plots",
    "false",
    "--tracking.log_model",
    "false",
    "--model.attention",
    "hybrid",
]


@pytest.fixture
def long_csv(tmp_path) -> Path:
    path = tmp_path / "series.csv"
    wide_frame(n=1200).to_csv(path, index=False)
    return path


def forecaster(tmp_path: Path, *args, store: str = "mlflow.db") -> subprocess.Popen:
    """Start `forecaster ARGS` in `tmp_path` against the SQLite store `tmp_path/store`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / store}"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_for_checkpoint(tmp_path: Path, proc: subprocess.Popen, timeout: float = 300) -> Path:
    """The first `last.ckpt` the process writes (its first epoch is over and checkpointed)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = list((tmp_path / "checkpoints").glob("*/last.ckpt"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise TimeoutError("no checkpoint written")


def runs(tmp_path: Path, experiment: str, store: str = "mlflow.db"):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / store}")
    exp = client.get_experiment_by_name(experiment)
    return client, client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_run_killed_with_one_line_and_128_plus_the_signal(tmp_path, long_csv, signum):
    args = ["train", "--data", long_csv, *SLOW_EPOCHS, "--trainer.max_epochs", "50", "--tracking.experiment", "sig"]
    proc = forecaster(tmp_path, *args)
    checkpoint = wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code == 128 + signum, err
    name = signal.Signals(signum).name
    _, (run,) = runs(tmp_path, "sig")
    run_id = run.info.run_id
    (line,) = err.strip().splitlines()
    assert line.startswith(f"interrupted ({name}): run {run_id} marked KILLED; resume with: forecaster train --data ")
    assert line.endswith(f" --tracking.experiment sig --resume {run_id}") and "Traceback" not in err
    assert run.info.status == "KILLED"
    assert checkpoint.parent.name == run_id and checkpoint.is_file()  # kept, to resume from


def test_kill_9_then_resume_reaches_the_metrics_of_an_uninterrupted_fit(tmp_path, long_csv):
    from forecaster.track import tracking

    args = ["train", "--data", long_csv, *SLOW_EPOCHS, "--tracking.experiment", "resume"]
    reference = forecaster(tmp_path, *args, "--metrics-out", "reference.json", store="reference/mlflow.db")
    proc = forecaster(tmp_path, *args)
    checkpoint = wait_for_checkpoint(tmp_path, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert finish(reference)[0] == 0
    client, (run,) = runs(tmp_path, "resume")
    assert run.info.status == "RUNNING" and checkpoint.parent.name == run.info.run_id

    tracking.configure_mlflow(f"sqlite:///{tmp_path / 'mlflow.db'}")  # what the next command does first
    assert tracking.mark_dead_runs(run.info.experiment_id) == [run.info.run_id]
    died = client.get_run(run.info.run_id)
    assert died.info.status == "FAILED" and "process died" in died.data.tags[tracking.DIED_TAG]

    code, _, err = finish(forecaster(tmp_path, *args, "--metrics-out", "resumed.json", "--resume", run.info.run_id))
    assert code == 0, err
    expected, resumed = (json.loads((tmp_path / f).read_text()) for f in ("reference.json", "resumed.json"))
    for key in ("mse", "mae", "mse_original", "mae_original", "best_val_loss", "epochs"):
        assert resumed[key] == expected[key], key
    _, (again,) = runs(tmp_path, "resume")  # the same run, continued
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert {m.step for m in client.get_metric_history(run.info.run_id, "train_loss")} == {0, 1, 2}
    assert not checkpoint.parent.exists()  # deleted when the run finished


def test_resume_refuses_unknown_finished_and_foreign_runs(mlflow_uri, long_csv, capsys):
    args = ["--data", long_csv, *TINY, "--trainer.max_epochs", "1", "--tracking.experiment", "ids"]
    args += ["--tracking.log_model", "false", "--tracking.plots", "false"]
    assert run_cli(capsys, "train", *args)[0] == 0
    (run,) = runs(Path.cwd(), "ids")[1]
    for run_id, says in [("0" * 32, "no such run"), ("../../etc", "no such run"), (run.info.run_id, "FINISHED")]:
        code, _, err = run_cli(capsys, "train", *args, "--resume", run_id)
        assert code == 2 and says in err and "Traceback" not in err, err
    code, _, err = run_cli(capsys, "compare", *args, "--variants", "naive", "--resume", run.info.run_id)
    assert code == 2 and "not a comparison" in err, err
    code, _, err = run_cli(capsys, "train", *args, "--tracking.enabled", "false", "--resume", run.info.run_id)
    assert code == 2 and "needs tracking" in err, err


def test_compare_resume_skips_finished_children_and_resumes_the_killed_one(tmp_path, long_csv):
    args = ["compare", "--data", long_csv, *SLOW_EPOCHS, "--tracking.experiment", "cmp"]
    args += ["--variants", "linear,hybrid,naive"]
    proc = forecaster(tmp_path, *args)
    deadline, hybrid = time.time() + 300, None
    while hybrid is None:  # kill it once `linear` has finished and `hybrid` has checkpointed an epoch
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.1)
        if not (tmp_path / "mlflow.db").exists() or not list((tmp_path / "checkpoints").glob("*/last.ckpt")):
            continue
        client, found = runs(tmp_path, "cmp")
        by_name = {r.info.run_name: r for r in found}
        if by_name.get("linear-seed42") and by_name["linear-seed42"].info.status == "FINISHED":
            child = by_name.get("hybrid-seed42")
            if child and (tmp_path / "checkpoints" / child.info.run_id / "last.ckpt").exists():
                hybrid = child
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    parent = next(r for r in runs(tmp_path, "cmp")[1] if r.info.run_name.startswith("compare-"))
    linear_end = by_name["linear-seed42"].info.end_time

    code, out, err = finish(forecaster(tmp_path, *args, "--resume", parent.info.run_id))
    assert code == 0, err
    assert "linear[/]" not in out and "finished earlier" in out
    client, found = runs(tmp_path, "cmp")
    assert all(r.info.status == "FINISHED" for r in found)
    by_name = {r.info.run_name: r for r in found}
    assert len(found) == 4 and set(by_name) == {parent.info.run_name, "linear-seed42", "hybrid-seed42", "naive-seed42"}
    assert by_name["linear-seed42"].info.end_time == linear_end  # not refitted
    assert by_name["hybrid-seed42"].info.run_id == hybrid.info.run_id  # resumed, not started again
    rows = json.loads(Path(client.download_artifacts(parent.info.run_id, "metrics.json", str(tmp_path))).read_text())
    assert [r["variant"] for r in rows] == ["linear", "hybrid", "naive", "ensemble"]  # of the networks in memory
    assert sorted(next(r for r in rows if r["variant"] == "ensemble")["members"]) == ["hybrid", "naive"]


def test_two_processes_create_a_new_store_together(tmp_path, long_csv):
    args = ["train", "--data", long_csv, *TINY, "--trainer.max_steps", "2", "--tracking.experiment", "race"]
    args += ["--tracking.plots", "false", "--tracking.log_model", "false"]
    procs = [forecaster(tmp_path, *args) for _ in range(2)]
    for proc in procs:
        code, _, err = finish(proc)
        assert code == 0, err
    _, found = runs(tmp_path, "race")
    assert len(found) == 2 and all(r.info.status == "FINISHED" for r in found)
