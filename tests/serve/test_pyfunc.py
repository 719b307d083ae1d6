"""The same model through MLflow: the registry alias, `mlflow models serve` over HTTP (in the
developer's venv and in a fresh environment built from the logged model alone), the model's
requirements, and models logged by earlier versions."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT, TINY, free_port, run_cli, wait_http


@pytest.fixture
def registered(mlflow_uri, wide_csv, capsys):
    code, out, err = run_cli(
        capsys,
        "train",
        "--data",
        wide_csv,
        *TINY,
        "--model.attention",
        "dynamic",
        "--tracking.experiment",
        "serve",
        "--register",
        "tiny",
    )
    assert code == 0, err
    uri = next(line.split(": ", 1)[1] for line in out.splitlines() if line.strip().startswith("model:"))
    return uri


@pytest.mark.slow  # real MLflow models and registry
def test_register_points_champion_at_the_new_version(registered, wide_csv, tmp_path, capsys):
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version_by_alias("tiny", "champion")
    assert str(version.version) == "1"
    code, _, err = run_cli(
        capsys, "predict", "--model", "models:/tiny@champion", "--data", wide_csv, "--output", tmp_path / "a.csv"
    )
    assert code == 0, err
    code, _, err = run_cli(capsys, "predict", "--model", registered, "--data", wide_csv, "--output", tmp_path / "b.csv")
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


@pytest.mark.slow  # real MLflow models and registry
def test_unknown_mlflow_model_is_a_clear_error(mlflow_uri, wide_csv, capsys):
    code, _, err = run_cli(capsys, "predict", "--model", "models:/nobody@champion", "--data", wide_csv)
    assert code == 2 and "cannot load this MLflow model" in err


def test_the_model_requires_forecasters_runtime_dependencies_pinned_and_brings_forecaster_as_code():
    """What a fresh environment installs: every runtime dependency pyproject.toml declares (no
    extras; the checkout's, as the code the model carries is the checkout's), pinned to the installed
    version without a local label (`torch==2.13.0`, not `+cpu`: the environment's index picks the
    build), and never `forecaster` itself (the model's code_paths bring the package folder; an
    index could hold another project of that name)."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from packaging.version import Version

    import forecaster
    from forecaster.serve.pyfunc import SOURCE, requirements

    lines = requirements(SimpleNamespace(network=torch.nn.Linear(2, 2)))
    pins = dict(line.split("==") for line in lines)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {Requirement(r).name for r in project["dependencies"]} - {"statsforecast"}  # classical models only
    extras = {Requirement(r).name for extra in project["optional-dependencies"].values() for r in extra}
    assert set(pins) == runtime and {"torch", "mlflow", "pandas", "safetensors", "psutil"} <= set(pins)
    assert not extras & set(pins)  # ray, pytest, ...
    assert pins["torch"] == Version(version("torch")).public and "+" not in pins["torch"]
    assert "forecaster" not in pins and Path(SOURCE) == Path(forecaster.__file__).parent == ROOT / "forecaster"


OLD_MODEL_CODE = """import mlflow.models
import mlflow.pyfunc

from forecaster.loading import load_any
from forecaster.pyfunc import PACKAGE_ARTIFACT, forecast_table


class ForecasterPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.package = load_any(context.artifacts[PACKAGE_ARTIFACT])

    def predict(self, context, model_input, params=None):
        params = params or {}
        return forecast_table(self.package, model_input, params.get("horizon"), params.get("level"))


mlflow.models.set_model(ForecasterPyfunc())
"""


@pytest.mark.slow  # real MLflow models
def test_a_model_logged_before_the_rooms_still_loads_and_forecasts(mlflow_uri, wide_csv, tmp_path, capsys):
    """Models registered by earlier versions carry this code file (top-level `forecaster.loading` and
    `forecaster.pyfunc`), no code/ and no forecaster requirement: they load from the installed one."""
    import mlflow
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ParamSchema, ParamSpec

    code, _, err = run_cli(capsys, "train", "--data", wide_csv, *TINY, "--save", tmp_path / "pkg")
    assert code == 0, err
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "pyfunc_model.py").write_text(OLD_MODEL_CODE)
    recent = pd.read_csv(wide_csv).tail(40)
    params = ParamSchema([ParamSpec("horizon", "long", 6), ParamSpec("level", "double", [], (-1,))])
    mlflow.set_tracking_uri(mlflow_uri)
    mlflow.set_experiment("old")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(tmp_path / "old" / "pyfunc_model.py"),
            artifacts={"package": str(tmp_path / "pkg")},
            pip_requirements=["torch", "pandas", "numpy", "safetensors", "pyyaml", "mlflow"],
            signature=ModelSignature(infer_signature(recent).inputs, params=params),
        )
    capsys.readouterr()
    answer = mlflow.pyfunc.load_model(info.model_uri).predict(recent, params={"horizon": 4, "level": [80]})
    recent.to_csv(tmp_path / "recent.csv", index=False)
    args = ("--data", tmp_path / "recent.csv", "--horizon", "4", "--level", "80")
    code, out, err = run_cli(capsys, "predict", "--model", info.model_uri, *args)
    assert code == 0, err
    expected = pd.read_csv(pd.io.common.StringIO(out))
    assert list(answer.columns) == list(expected.columns) and "a-lo-80" in answer
    columns = [c for c in expected.columns if c != "date"]
    np.testing.assert_allclose(answer[columns].to_numpy(), expected[columns].to_numpy(), rtol=1e-6)


class _Payload:
    """A cloudpickled model's stand-in for a shell payload: loading or calling it creates `marker`."""

    def __init__(self, marker):
        import mlflow.pyfunc

        class Model(mlflow.pyfunc.PythonModel):
            def load_context(self, context):
                open(marker, "w").close()

            def predict(self, context, model_input, params=None):
                open(marker, "w").close()
                return model_input

        self.model = Model()


@pytest.mark.slow  # real MLflow models and registry
def test_a_cloudpickled_model_behind_a_uri_is_refused_and_never_loaded(mlflow_uri, wide_csv, tmp_path, capsys):
    import mlflow

    marker = tmp_path / "payload-ran"
    mlflow.set_tracking_uri(mlflow_uri)  # earlier tests in this process may have pointed MLflow elsewhere
    mlflow.set_experiment("untrusted")
    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(name="model", python_model=_Payload(str(marker)).model, registered_model_name="evil")
    mlflow.MlflowClient().set_registered_model_alias("evil", "champion", "1")
    marker.unlink(missing_ok=True)
    capsys.readouterr()  # MLflow's logging while the model was logged
    for uri in ("models:/evil@champion", f"runs:/{run.info.run_id}/model"):
        for command in ("predict", "evaluate"):
            code, out, err = run_cli(capsys, command, "--model", uri, "--data", wide_csv)
            assert code == 2 and out == "" and "Traceback" not in err, err
            assert f"{uri}: refused: this MLflow model is a python_function model" in err
            assert "loader 'mlflow.pyfunc.model' (a cloudpickled Python model)" in err
            assert "forecaster loads only the packages it logs itself" in err
            assert not marker.exists()
    mlflow.pyfunc.load_model("models:/evil@champion")  # what `predict` did before: the payload runs
    assert marker.exists()


def _fresh_env_manager() -> str:
    """MLflow's manager for a fresh environment built from the model's python_env.yaml: `virtualenv`
    installs the model's Python with pyenv (MLflow refuses it without pyenv), `uv` with uv."""
    if shutil.which("pyenv"):
        return "virtualenv"
    if shutil.which("uv"):
        return "uv"
    pytest.skip("neither pyenv (for --env-manager virtualenv) nor uv (for --env-manager uv) is on PATH")


@pytest.mark.slow
@pytest.mark.parametrize("fresh", [False, True], ids=["local-venv", "fresh-env"])
def test_mlflow_models_serve_answers_like_forecaster_predict(fresh, registered, mlflow_uri, wide_csv, tmp_path, capsys):
    """`local-venv` serves in this venv (forecaster installed); `fresh-env` builds an environment
    from the logged model alone (its python_env.yaml, requirements and code/): minutes, packages
    from the configured index (MLFLOW_ENV_ROOT in tmp_path: nothing cached from an earlier run)."""
    port = free_port()
    bin_dir = os.path.dirname(sys.executable)  # mlflow starts `uvicorn` from PATH, as in an activated venv
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    manager = "local"
    if fresh:
        manager, env["MLFLOW_ENV_ROOT"] = _fresh_env_manager(), str(tmp_path / "envs")
        _prepare_env(manager, env, tmp_path, capsys)
    serve = ["models", "serve", "-m", "models:/tiny@champion", "-p", str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", *serve, "--env-manager", manager, "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, seconds=240 if fresh else 120)
        recent = pd.read_csv(wide_csv).tail(40)
        split = recent.to_dict(orient="split", index=False)
        answer, bands, extended = (
            _invoke(port, {"dataframe_split": split, "params": params})
            for params in ({"horizon": 4}, {"horizon": 4, "level": [80, 90]}, {"horizon": 9, "extend": "recursive"})
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    recent.to_csv(tmp_path / "recent.csv", index=False)
    asked = [(answer, ["--horizon", "4"]), (bands, ["--horizon", "4", "--level", "80,90"])]
    for answered, args in [*asked, (extended, ["--horizon", "9", "--extend", "recursive"])]:  # trained: 6
        code, out, err = run_cli(capsys, "predict", "--model", registered, "--data", tmp_path / "recent.csv", *args)
        assert code == 0, err
        expected = pd.read_csv(pd.io.common.StringIO(out))
        assert list(answered.columns) == list(expected.columns)
        assert answered["date"].tolist() == expected["date"].tolist()
        columns = [c for c in expected.columns if c != "date"]
        np.testing.assert_allclose(answered[columns].to_numpy(), expected[columns].to_numpy(), rtol=1e-6)
    assert "a-lo-80" in bands and "c-hi-90" in bands


def _prepare_env(manager: str, env: dict, tmp_path, capsys) -> None:
    """Build the model's environment (`mlflow models prepare-env`) and check that it came from the
    model alone: forecaster is not installed there (the model's code/ brings it) and torch is the
    build the configured index gave (here pip's find-links: the CPU wheel)."""
    cmd = [sys.executable, "-m", "mlflow", "models", "prepare-env", "-m", "models:/tiny@champion"]
    proc = subprocess.run([*cmd, "--env-manager", manager], env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    (python,) = glob.glob(str(tmp_path / "envs" / "*" / "bin" / "python"))
    probe = "import importlib.util, torch; print(importlib.util.find_spec('forecaster'), torch.__version__)"
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert found.returncode == 0, found.stderr[-3000:]
    with capsys.disabled():  # to the terminal, not into the `predict` output that the test reads
        print(f"\n{manager} environment: forecaster spec, torch = {found.stdout.strip()}")
    assert found.stdout.startswith("None "), found.stdout


def _invoke(port: int, body: dict) -> pd.DataFrame:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return pd.DataFrame(json.loads(response.read())["predictions"])


@pytest.mark.slow
def test_forecaster_ui_serves_the_store(mlflow_uri):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "ui", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": str(__import__("conftest").ROOT)},
        start_new_session=True,  # the UI's server workers share the group, so the whole group is stopped
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc, seconds=120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200 and b"MLflow" in page.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine can take longer to stop the workers
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
