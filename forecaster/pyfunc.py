"""Kept for models logged before the package had rooms: their MLflow code file imports
`forecaster.pyfunc.PACKAGE_ARTIFACT` and `forecast_table`. New code imports `forecaster.serve.pyfunc`."""

from forecaster.serve.pyfunc import PACKAGE_ARTIFACT, forecast_table

__all__ = ["PACKAGE_ARTIFACT", "forecast_table"]
