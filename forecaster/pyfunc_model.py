"""MLflow "models from code" entry point: MLflow copies this file into a logged model and runs it
to obtain the model object, so nothing is pickled (see forecaster.pyfunc)."""

import mlflow.models

from forecaster.pyfunc import ForecasterPyfunc

mlflow.models.set_model(ForecasterPyfunc())
