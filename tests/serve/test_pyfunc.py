"""The same model through MLflow: the registry alias and `mlflow models serve` over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, free_port, run_cli, wait_http

pytestmark = pytest.mark.slow  # real MLflow models, registry and model server


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


def test_unknown_mlflow_model_is_a_clear_error(mlflow_uri, wide_csv, capsys):
    code, _, err = run_cli(capsys, "predict", "--model", "models:/nobody@champion", "--data", wide_csv)
    assert code == 2 and "cannot load this MLflow model" in err


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


@pytest.mark.slow
def test_mlflow_models_serve_answers_like_forecaster_predict(registered, mlflow_uri, wide_csv, tmp_path, capsys):
    port = free_port()
    bin_dir = os.path.dirname(sys.executable)  # mlflow starts `uvicorn` from PATH, as in an activated venv
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            "models:/tiny@champion",
            "-p",
            str(port),
            "--host",
            "127.0.0.1",
            "--env-manager",
            "local",
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, seconds=120)
        recent = pd.read_csv(wide_csv).tail(40)
        split = recent.to_dict(orient="split", index=False)
        answer, bands = (
            _invoke(port, {"dataframe_split": split, "params": params})
            for params in ({"horizon": 4}, {"horizon": 4, "level": [80, 90]})
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    recent.to_csv(tmp_path / "recent.csv", index=False)
    code, out, err = run_cli(
        capsys, "predict", "--model", registered, "--data", tmp_path / "recent.csv", "--horizon", "4"
    )
    assert code == 0, err
    expected = pd.read_csv(pd.io.common.StringIO(out))
    assert answer["date"].tolist() == expected["date"].tolist()
    np.testing.assert_allclose(answer[["a", "b", "c"]].to_numpy(), expected[["a", "b", "c"]].to_numpy(), rtol=1e-6)
    code, out, err = run_cli(
        capsys,
        "predict",
        "--model",
        registered,
        "--data",
        tmp_path / "recent.csv",
        "--horizon",
        "4",
        "--level",
        "80,90",
    )
    assert code == 0, err
    expected = pd.read_csv(pd.io.common.StringIO(out))
    assert list(bands.columns) == list(expected.columns) and "a-lo-80" in bands and "c-hi-90" in bands
    columns = [c for c in expected.columns if c != "date"]
    np.testing.assert_allclose(bands[columns].to_numpy(), expected[columns].to_numpy(), rtol=1e-6)


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
