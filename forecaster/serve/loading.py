"""Load any model: a package directory, an ensemble directory or an MLflow model URI.

The one entry point of `forecaster predict`, `forecaster evaluate` and the MLflow pyfunc model. It
sits above `forecaster.serve.package` and `forecaster.serve.ensemble` (an ensemble package holds packages), so
neither imports the other's loader. Torch and pandas only on the local path: an MLflow URI is
handed to `forecaster.serve.pyfunc`, which downloads the package and nothing else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from forecaster.serve.devices import resolve
from forecaster.serve.ensemble import ENSEMBLE, EnsemblePackage
from forecaster.serve.package import ForecastPackage


def is_mlflow_uri(model: str) -> bool:
    return model.startswith(("models:/", "runs:/", "mlflow-artifacts:/")) or "://" in model


def load_any(model: str | Path, *, device: str = "cpu", option: str = "--device") -> ForecastPackage:
    """A package, or an ensemble of packages (a directory with `ensemble.json`), from a local
    directory or from an MLflow model URI (`forecaster.serve.pyfunc` downloads its package artifact, and
    nothing else, to a temporary directory). Either is checked as untrusted input before use. It
    forecasts on `device` (`forecaster.serve.devices`), checked before anything is read (`option`:
    the setting's name in the message)."""
    target = resolve(device, option=option)
    if Path(model).exists() or not is_mlflow_uri(str(model)):
        return load_local(model).to(target)
    from forecaster.serve.pyfunc import download_package

    with tempfile.TemporaryDirectory(prefix="forecaster-model-") as tmp:
        package = load_local(download_package(str(model), tmp))
    package.path = None  # the download is gone: the package lives in memory
    return package.to(target)


def load_local(directory: str | Path) -> ForecastPackage:
    """The package or ensemble package in `directory`."""
    path = Path(directory)
    return EnsemblePackage.load(path) if (path / ENSEMBLE).is_file() else ForecastPackage.load(path)
