"""The MLflow pyfunc model: a thin wrapper around the model package directory.

`mlflow models serve -m <uri>` and `mlflow.pyfunc.load_model(uri).predict(df, params=...)` call
`predict` with recent history in the training CSV's layout (time column as text) and an optional
`horizon` parameter (at most the trained horizon); the answer is the forecast table that
`forecaster predict` writes.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

PACKAGE_ARTIFACT = "package"
MODEL_CODE = str(Path(__file__).with_name("pyfunc_model.py"))  # logged as code, never pickled


class ForecasterPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the package from the model's artifacts and forecasts with it."""

    def load_context(self, context) -> None:
        from forecaster.serving import ForecastPackage

        self.package = ForecastPackage.load(context.artifacts[PACKAGE_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return forecast_table(self.package, model_input, (params or {}).get("horizon"))


def forecast_table(package, model_input: pd.DataFrame, horizon: int | None = None) -> pd.DataFrame:
    """The forecast for a request table, timestamps as text (JSON-ready)."""
    out = package.forecast(package.read(model_input), horizon)
    time_col = package.schema.time_col
    out[time_col] = out[time_col].astype(str)
    return out
