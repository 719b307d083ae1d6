"""Kept for models logged before the package had rooms: their MLflow code file imports
`forecaster.loading.load_any`. New code imports `forecaster.serve.loading`."""

from forecaster.serve.loading import load_any

__all__ = ["load_any"]
