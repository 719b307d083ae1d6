"""MLflow "models from code" entry point: MLflow copies this file into a logged model and runs it
to obtain the model object, so nothing is pickled (see forecaster.serve.pyfunc)."""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import pandas as pd

from forecaster.serve.loading import load_any
from forecaster.serve.pyfunc import PACKAGE_ARTIFACT, forecast_table


class ForecasterPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the package (or ensemble package) from the model's artifacts and forecasts with it."""

    def load_context(self, context) -> None:
        self.package = load_any(context.artifacts[PACKAGE_ARTIFACT])  # a package or an ensemble

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        params = params or {}
        horizon, level, extend = params.get("horizon"), params.get("level"), params.get("extend") or "none"
        return forecast_table(self.package, model_input, horizon, level, extend)


mlflow.models.set_model(ForecasterPyfunc())
