"""The model package through MLflow: logged as a pyfunc model, loaded back from a model URI.

`mlflow models serve -m <uri>` and `mlflow.pyfunc.load_model(uri).predict(df, params=...)` call
the model (`pyfunc_model.py`, logged as code, never pickled) with recent history in the training
CSV's layout (time column as text) and an optional `horizon` parameter (at most the trained
horizon); the answer is the forecast table that `forecaster predict` writes. The model's signature
is inferred from a forecast by the in-memory package, before anything is written.

MLflow is imported where it is used, so `forecaster.package` can hand a URI here without paying
for MLflow on the local path.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecaster import tracking
from forecaster.errors import PackageError

PACKAGE_ARTIFACT = "package"
MODEL_NAME = "model"
MODEL_CODE = str(Path(__file__).with_name("pyfunc_model.py"))  # logged as code, never pickled


def forecast_table(package, model_input: pd.DataFrame, horizon: int | None = None) -> pd.DataFrame:
    """The forecast of a `ForecastPackage` for a request table, timestamps as text (JSON-ready)."""
    out = package.forecast(package.read(model_input), horizon)
    time_col = package.schema.time_col
    out[time_col] = out[time_col].astype(str)
    return out


def load_model_uri(uri: str):
    """The `ForecastPackage` behind an MLflow model URI (`models:/...`, `runs:/...`)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    tracking.configure_mlflow(None)
    try:
        return mlflow.pyfunc.load_model(uri).unwrap_python_model().package
    except (MlflowException, OSError) as exc:
        raise PackageError(f"{uri}: cannot load this MLflow model ({str(exc).splitlines()[0]})") from None


def log_model(
    run: tracking.Run, package, package_dir: str | Path, input_example: pd.DataFrame, *, register: str | None = None
) -> str:
    """Log the package saved in `package_dir` as `run`'s pyfunc model; optionally register it with
    alias `champion`.

    Args:
        package: the same package in memory (a `ForecastPackage`), to infer the signature from.

    Returns:
        the model's URI (`models:/<model_id>`).
    """
    import mlflow
    from mlflow.models import infer_signature

    output = forecast_table(package, input_example)
    signature = infer_signature(input_example, output, params={"horizon": package.schema.horizon})
    with tracking.activate(run.run_id):
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=MODEL_CODE,
            artifacts={PACKAGE_ARTIFACT: str(package_dir)},
            signature=signature,
            input_example=input_example,
            registered_model_name=register,
            pip_requirements=_requirements(),
        )
    if register:
        version = info.registered_model_version
        run.client.set_registered_model_alias(register, "champion", str(version))
        run.set_tags({"registered_model": f"{register}@champion (version {version})"})
    return info.model_uri


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("torch", "pandas", "numpy", "safetensors", "pyyaml", "mlflow")]
