"""One fit over several processes: who is rank 0, what the other ranks skip, and a real 2-process CPU
DDP fit (gloo) that leaves one FINISHED MLflow run and one loadable package."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
import pytest
from conftest import ROOT, TINY

from forecaster.config import Config
from forecaster.errors import ConfigError
from forecaster.fit import distributed
from forecaster.serve.loading import load_any


@pytest.fixture
def no_launcher(monkeypatch):
    for name in (*distributed.RANK_VARS, "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_process_is_rank_zero_only_when_every_launcher_rank_is_zero(no_launcher):
    assert distributed.is_rank_zero()
    no_launcher.setenv("LOCAL_RANK", "0")
    no_launcher.setenv("NODE_RANK", "1")  # the first process of the second machine
    assert not distributed.is_rank_zero()
    no_launcher.setenv("NODE_RANK", "0")
    no_launcher.setenv("RANK", "0")
    assert distributed.is_rank_zero()


def test_other_ranks_train_without_tracking_or_package_and_share_the_cores(no_launcher):
    cfg = Config()
    assert distributed.for_this_rank(cfg, "pkg", "name", None) == (cfg, "pkg", "name")  # one process: unchanged
    cfg.trainer.devices, cfg.trainer.strategy = 2, "ddp"
    zero, save, register = distributed.for_this_rank(cfg, "pkg", "name", None)
    assert zero.tracking.enabled and (save, register) == ("pkg", "name")
    assert zero.trainer.threads == max(1, len(os.sched_getaffinity(0)) // 2)
    no_launcher.setenv("LOCAL_RANK", "1")
    other, save, register = distributed.for_this_rank(cfg, "pkg", "name", None)
    assert not other.tracking.enabled and save is None and register is None
    with pytest.raises(ConfigError, match="one-process"):
        distributed.for_this_rank(cfg, None, None, "0" * 32)
    with pytest.raises(SystemExit) as left:
        distributed.leave_unless_rank_zero()
    assert left.value.code == 0


@pytest.mark.slow  # two processes that each import torch, Lightning and MLflow
def test_a_two_process_cpu_ddp_fit_logs_one_finished_run_and_saves_one_package(tmp_path, wide_csv, no_launcher):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ddp = ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "train", "--data.path", str(wide_csv), *TINY, *ddp]
        + ["--tracking.plots", "false", "--model.attention", "causal", "--save", str(tmp_path / "pkg")],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("variant: causal") == 1  # rank 1 left quietly after the fit
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert [(r.info.status, r.data.params["trainer.devices"]) for r in runs] == [("FINISHED", "2")]
    assert float(runs[0].data.metrics["epochs"]) == 2
    package = load_any(str(tmp_path / "pkg"))
    forecast = package.forecast(package.read(wide_csv))
    assert len(forecast) == 6 and np.isfinite(forecast[["a", "b", "c"]].to_numpy()).all()


def test_the_default_accelerator_auto_is_the_cpu_where_torch_sees_no_gpu(monkeypatch):
    """Where it runs decides whether DDP processes share the cores: auto is the CPU without a GPU."""
    trainer = Config().trainer
    assert trainer.accelerator == "auto" and distributed.on_cpu(trainer)
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    assert not distributed.on_cpu(trainer)
    trainer.accelerator = "cpu"
    assert distributed.on_cpu(trainer)
    trainer.accelerator = "gpu"
    assert not distributed.on_cpu(trainer)
