"""A team tracking server: PostgreSQL (Debian's `postgresql`, which `.ci/run` installs) behind
`mlflow server`, two `compare` commands against it at the same time, and a `tune` whose Optuna study
lives in the same PostgreSQL. Skipped, saying why, only where PostgreSQL's binaries are missing."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import pytest
from conftest import ROOT, TINY, free_port, wait_http

from forecaster.track import tracking


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server binaries (`initdb`, `postgres`): Debian's newest, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def as_postgres(cmd: list[str]) -> list[str]:
    """`cmd` run as the `postgres` user when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _wait_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "postgres exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"no PostgreSQL on port {port}")


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL on 127.0.0.1 (trust auth, no fsync) with databases `mlflow` and `optuna`;
    yields its base URL `postgresql://postgres@127.0.0.1:PORT`."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb): .ci/run installs Debian's postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL cannot be started as root")
    home = Path(tempfile.mkdtemp(prefix="forecaster-pg-"))  # not under pytest's root-only tmp: postgres reads it
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    port = free_port()
    data = home / "data"
    init = as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"])
    subprocess.run(init, check=True, capture_output=True, timeout=120)
    log = open(home / "postgres.log", "w")  # noqa: SIM115 (the server's, not a pipe: an unread full pipe blocks it)
    server = subprocess.Popen(
        as_postgres([str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port)])
        + ["-k", str(home), "-F", "-c", "max_connections=50"],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_port(port, server)
        for name in ("mlflow", "optuna"):
            _createdb(bindir, port, name)
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGINT)  # PostgreSQL's fast shutdown; the group is runuser and postgres
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


def _createdb(bindir: Path, port: int, name: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    cmd = [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name]
    while (result := subprocess.run(cmd, capture_output=True, text=True, check=False)).returncode != 0:
        if time.time() > deadline:  # the port opens a moment before connections are accepted
            raise RuntimeError(result.stderr)
        time.sleep(0.5)


@pytest.fixture
def team_server(postgres, tmp_path):
    """`mlflow server` on 127.0.0.1 with its runs in PostgreSQL and its artifacts in a folder."""
    port = free_port()
    log = open(tmp_path / "mlflow-server.log", "w")  # noqa: SIM115 (not a pipe: its migration logs would fill one)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        + ["--backend-store-uri", f"{postgres}/mlflow", "--artifacts-destination", str(tmp_path / "artifacts")],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, seconds=180)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow  # PostgreSQL, an MLflow server and three commands that train
def test_two_comparisons_and_a_tuning_at_once_on_a_postgresql_tracking_server(
    postgres, team_server, wide_csv, tmp_path
):
    env = {**os.environ, "MLFLOW_TRACKING_URI": team_server, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, str(ROOT / "cli.py")]
    common = ["--data.path", str(wide_csv), *TINY, "--trainer.max_epochs", "1", "--trainer.threads", "1"]
    commands = [
        [*cli, "compare", *common, "--variants", "linear,causal", "--name", name] for name in ("team-a", "team-b")
    ]
    commands.append(
        [*cli, "tune", *common, "--variants", "linear", "--trials", "2", "--study-db", f"{postgres}/optuna"]
    )
    procs = [
        subprocess.Popen(c, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for c in commands
    ]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-3000:]
    mlflow.set_tracking_uri(team_server)
    client = mlflow.MlflowClient()
    for name in ("team-a", "team-b"):
        experiment = client.get_experiment_by_name(name)
        runs = client.search_runs([experiment.experiment_id])
        (parent,) = [r for r in runs if r.data.tags.get(tracking.KIND_TAG) == tracking.COMPARISON]
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert parent.info.status == "FINISHED"
        assert sorted((r.info.run_name, r.info.status) for r in children) == [
            ("causal-seed42", "FINISHED"),
            ("linear-seed42", "FINISHED"),
        ]
        assert "| rank |" in mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/comparison.md")
        for child in children:  # every child's artifacts download from the server
            assert tracking.load_json(child.info.run_id, "metrics.json")["seed"] == 42
            target = mlflow.artifacts.download_artifacts(run_id=child.info.run_id, dst_path=str(tmp_path / "dl"))
            assert (Path(target) / "config.yaml").is_file()
    import optuna

    study = optuna.load_study(study_name="forecaster-linear", storage=f"{postgres}/optuna")
    assert len(study.trials) == 2
