"""Shared fixtures: small real CSV files, a temporary MLflow store, and the CLI run in-process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# The suite runs on the CPU even on a GPU machine: `trainer.accelerator` defaults to auto, so hide CUDA
# from torch before it is imported, here and in every command a test starts (they inherit the
# environment). FORECASTER_TEST_GPU=1 keeps the GPUs visible (the tests of `--device cuda` then run).
if not os.environ.get("FORECASTER_TEST_GPU"):
    os.environ["CUDA_VISIBLE_DEVICES"] = ""

import numpy as np
import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ETTH1 = ROOT / "datasets" / "ETTh1.csv"
sys.path.insert(0, str(ROOT))

import cli  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_threads(monkeypatch):
    if not os.environ.get("FORECASTER_TEST_GPU"):  # Apple's GPU has no variable to hide it: in-process only
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(1)  # tests run single-threaded: stable timings, no oversubscription


def wide_frame(n: int = 300, columns=("a", "b", "c"), freq: str = "h", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    data = {"date": pd.date_range("2020-01-01", periods=n, freq=freq).astype(str)}
    for k, c in enumerate(columns):
        data[c] = np.round(10 * k + np.sin(2 * np.pi * t / 24 + k) + 0.1 * rng.normal(size=n), 5)
    return pd.DataFrame(data)


def long_frame(lengths=(200, 150, 260), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k, n in enumerate(lengths):
        t = np.arange(n)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{k}",
                    "ds": pd.date_range("2021-03-01", periods=n, freq="D").astype(str),
                    "y": np.round(5 * k + np.sin(2 * np.pi * t / 7) + 0.1 * rng.normal(size=n), 5),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def write(tmp_path, frame: pd.DataFrame, name: str = "data.csv") -> Path:
    """`frame` written as the CSV `name` in `tmp_path` (no index column)."""
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def wide_csv(tmp_path) -> Path:
    path = tmp_path / "wide.csv"
    wide_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def long_csv(tmp_path) -> Path:
    path = tmp_path / "long.csv"
    long_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def mlflow_uri(tmp_path, monkeypatch) -> str:
    """A fresh SQLite MLflow store; the working directory is the temp dir (no stray mlflow.db)."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run `forecaster ARGS` in-process; returns (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


SMALL_NETWORK = [  # every family small enough to train in a second, as (dotted key, value) overrides
    ("model.d_model", "16"),
    ("model.n_heads", "2"),
    ("model.n_layers", "1"),
    ("model.d_ff", "32"),
    ("model.patch_len", "4"),
    ("model.stride", "4"),
    ("model.hidden_size", "16"),
    ("model.dropout", "0.0"),
]
TINY = [  # a tiny but complete training setting, used by CLI tests
    "--data.context_len",
    "24",
    "--data.horizon",
    "6",
    "--data.batch_size",
    "32",
    "--model.d_model",
    "16",
    "--model.n_heads",
    "2",
    "--model.n_layers",
    "1",
    "--model.d_ff",
    "16",
    "--model.patch_len",
    "4",
    "--model.stride",
    "4",
    "--model.window",
    "2",
    "--model.hidden_size",
    "16",
    "--trainer.max_epochs",
    "2",
    "--trainer.progress_bar",
    "false",
    "--tracking.plots",
    "true",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend and its own artifact folder."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--workers",
            "1",
        ],
        stdout=open(tmp_path / "mlflow-server.log", "w"),  # noqa: SIM115 (the server's; an unread pipe that fills blocks it)
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
