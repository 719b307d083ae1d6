"""The Ray side of fan-out (`forecaster.compare.ray_tasks`): fits on a local Ray (`compare --workers`) or
a running cluster (`--ray-address`) give the sequential metrics and one FINISHED child run per variant
and seed, even when a worker dies mid-fit and Ray retries its task. Each test starts a small local Ray
(2 CPUs, a small object store, no dashboard). Where fits run and what is refused: test_fanout.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import mlflow
import pytest
from conftest import ROOT, free_port, run_cli
from plugins import die_once
from test_fanout import SMALL

from forecaster.compare import jobs
from forecaster.track import tracking


def _children(uri: str) -> dict[str, list]:
    """Every comparison's child runs (run name, status), by parent run id."""
    mlflow.set_tracking_uri(uri)
    out: dict[str, list] = {}
    for run in mlflow.search_runs(search_all_experiments=True, output_format="list"):
        if run.data.tags.get(tracking.KIND_TAG) == tracking.COMPARISON:
            out.setdefault(run.info.run_id, [])
    for run in mlflow.search_runs(search_all_experiments=True, output_format="list"):
        if run.data.tags.get("mlflow.parentRunId") in out:
            out[run.data.tags["mlflow.parentRunId"]].append((run.info.run_name, run.info.status, run.info.run_id))
    return out


def _same_metrics(a: list[dict], b: list[dict]) -> None:
    assert [(r["variant"], r["seed"]) for r in a] == [(r["variant"], r["seed"]) for r in b]
    for x, y in zip(a, b):
        for key in ("mse", "mae", "val_score", "mse_original", "epochs"):
            assert x.get(key) == y.get(key), (x["variant"], x["seed"], key)


@pytest.mark.slow  # starts a local Ray and fits 4 tiny models twice
def test_workers_give_the_sequential_metrics_and_one_finished_child_each_even_when_a_worker_dies(
    mlflow_uri, wide_csv, tmp_path, capsys, monkeypatch
):
    # Ray's workers import this checkout, and find the test plugin that kills one (tests/plugins/die_once.py)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "tests" / "plugins")]))
    common = ["compare", "--data.path", wide_csv, *SMALL, "--seeds", "2"]
    code, _, err = run_cli(capsys, *common, "--trainer.threads", "1", "--metrics-out", tmp_path / "seq.json")
    assert code == 0, err
    marker = tmp_path / "died"
    monkeypatch.setenv(die_once.MARKER_ENV, str(marker))  # the first fit to end an epoch kills its worker
    code, _, err = run_cli(capsys, *common, "--workers", "2", "--metrics-out", tmp_path / "par.json")
    assert code == 0, err
    assert marker.exists(), "no worker was killed"
    _same_metrics(*(json.loads((tmp_path / f"{n}.json").read_text()) for n in ("seq", "par")))
    parents = _children(mlflow_uri)
    assert len(parents) == 2
    for children in parents.values():
        names = sorted(name for name, _, _ in children)
        assert names == ["causal-seed42", "causal-seed43", "linear-seed42", "linear-seed43"]
        assert {status for _, status, _ in children} == {"FINISHED"}
    died = [
        r
        for r in mlflow.search_runs(search_all_experiments=True, output_format="list")
        if tracking.DIED_TAG in r.data.tags
    ]
    assert len(died) == 1 and died[0].info.status == "FINISHED"  # the dead attempt's run, resumed by Ray's retry


@pytest.mark.slow  # starts `ray start --head` and fits 2 tiny models twice
def test_ray_address_joins_a_running_cluster_and_gives_the_sequential_metrics(
    mlflow_uri, wide_csv, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # Ray's default for `ray start --head`; the driver must opt in
    common = ["compare", "--data.path", wide_csv, *SMALL, "--variants", "linear", "--seeds", "2"]
    code, _, err = run_cli(capsys, *common, "--trainer.threads", "1", "--metrics-out", tmp_path / "seq.json")
    assert code == 0, err
    port = free_port()
    head = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "ray"), "start", "--head", "--block"]
        + ["--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false"]
        + ["--object-store-memory", str(jobs.OBJECT_STORE_BYTES), "--disable-usage-stats"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # the cluster's workers import this checkout
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port, head)
        code, _, err = run_cli(
            capsys, *common, "--ray-address", f"127.0.0.1:{port}", "--metrics-out", tmp_path / "ray.json"
        )
        assert code == 0, err
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head and the workers it started: its process group
        head.wait(timeout=60)
    _same_metrics(*(json.loads((tmp_path / f"{n}.json").read_text()) for n in ("seq", "ray")))
    for children in _children(mlflow_uri).values():
        assert sorted(s[:2] for s in children) == [("linear-seed42", "FINISHED"), ("linear-seed43", "FINISHED")]


def _wait_port(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    """Until the Ray head started by `proc` listens on `port`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, "ray start --head exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise TimeoutError(f"no Ray head on port {port}")
