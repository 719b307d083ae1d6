"""Where a package forecasts (`forecaster.serve.devices`): the names `--device` takes, a device this
machine lacks refused with what torch sees (exit 2, nothing written), inputs that follow the network.
The conftest hides GPUs, so `auto` is the CPU here; FORECASTER_TEST_GPU=1 runs the GPU test too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import run_cli
from test_ensemble import _members

import forecaster as fc
from forecaster.errors import ConfigError
from forecaster.nn.common import device_of, to_device
from forecaster.serve.devices import available, resolve
from forecaster.serve.ensemble import EnsemblePackage
from forecaster.serve.loading import load_any


def test_cpu_and_auto_resolve_to_the_cpu_without_a_gpu_and_other_names_are_refused():
    assert available() == ["cpu"]
    assert resolve("cpu") == resolve("auto") == resolve(" CPU ") == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"--device 'tpu' is not a device; use one of cpu, cuda, cuda:N, mps, auto"):
        resolve("tpu")
    with pytest.raises(ConfigError, match=r"'cuda' is not available here \(torch.cuda.is_available\(\) is False"):
        resolve("cuda")
    with pytest.raises(ConfigError, match=r"'mps' is not available here .*available: cpu\. Use cpu or auto"):
        resolve("mps")


def test_a_gpu_index_beyond_those_torch_sees_is_refused_naming_them(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve("cuda:0") == torch.device("cuda:0") and resolve("auto") == torch.device("cuda")
    with pytest.raises(ConfigError, match=r"'cuda:1' is not available here \(torch sees 1 GPU\(s\), cuda:0 to"):
        resolve("cuda:1")


def test_inputs_follow_the_network_and_a_module_without_weights_runs_on_the_cpu():
    assert device_of(torch.nn.Linear(2, 2).to("meta")) == torch.device("meta")
    assert device_of(torch.nn.Identity()) == torch.device("cpu")  # a classical model: numpy inside
    x, none = to_device([torch.ones(2), None], torch.device("meta"))
    assert x.device == torch.device("meta") and none is None


def test_predict_and_evaluate_refuse_a_missing_device_before_reading_and_write_nothing(wide_csv, tmp_path, capsys):
    _members(wide_csv, ("linear",))["linear"].save(tmp_path / "pkg")
    for command, more in (
        ("predict", ["--output", tmp_path / "f.csv"]),
        ("evaluate", ["--metrics-out", tmp_path / "m.json"]),
    ):
        code, _, err = run_cli(
            capsys, command, "--model", tmp_path / "pkg", "--data", wide_csv, "--device", "cuda", *more
        )
        assert code == 2 and "--device 'cuda' is not available here" in err and "available: cpu" in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "f.csv").exists() and not (tmp_path / "m.json").exists()
    code, out, err = run_cli(capsys, "predict", "--model", tmp_path / "pkg", "--data", wide_csv, "--device", "auto")
    assert code == 0 and len(out.splitlines()) == 7, err
    with pytest.raises(ConfigError, match="device 'cuda:0' is not available here"):
        fc.load(tmp_path / "pkg", device="cuda:0")
    with pytest.raises(ConfigError, match="device 'mps' is not available here"):
        fc.load(tmp_path / "pkg").predict(device="mps")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (FORECASTER_TEST_GPU=1 on a GPU machine)")
def test_on_a_gpu_a_package_and_an_ensemble_with_a_naive_member_forecast_as_on_the_cpu(wide_csv, tmp_path):
    members = _members(wide_csv, ("causal", "linear", "naive"))
    EnsemblePackage(members).save(tmp_path / "ens")
    frame = members["causal"].read(wide_csv)
    on_cpu = load_any(tmp_path / "ens").predict_array(frame)
    package = load_any(tmp_path / "ens", device="cuda")
    assert device_of(package.members["causal"].network).type == "cuda"
    np.testing.assert_allclose(package.predict_array(frame), on_cpu, rtol=1e-4, atol=1e-4)
