"""forecaster: which attention forecasts your series best, and at what cost.

Importing the package is cheap: submodules are imported where they are used, so that the
forecast path never pays for Lightning or MLflow.
"""

__version__ = "0.1.0"
