"""Scoring a saved model package on a CSV: test-split metrics and a rolling-origin backtest.

The package reads the file as its schema says (layout, columns), its training config splits it
exactly as training did, and its scaler and schema encode it, so the test-split metrics reproduce
the training run's. The backtest scores the newest forecast origins of every series
(`split.last_windows`). Torch, pandas and numpy only: no Lightning, no MLflow.
"""

from __future__ import annotations

import numpy as np

from forecaster.data.split import last_windows
from forecaster.data.windows import WindowDataset, prepare
from forecaster.errors import DataError
from forecaster.scores.interval_metrics import interval_metrics
from forecaster.scores.metrics import evaluate
from forecaster.serve.package import ForecastPackage

BACKTEST_KEYS = ("mse", "mae", "mse_original", "mae_original")


def windowed(package: ForecastPackage, source):
    """`source` (a file or a DataFrame) split and windowed as the package's training data was: screened
    and filled as training read it, scaled by the package's scaler, its covariates encoded."""
    frame = package.read(source, fit_on_train=True)
    return prepare(package.cfg.data, frame=frame, scaler=package.scaler, fitted=package.schema)


def in_sample(package: ForecastPackage) -> bool:
    """Whether the package (or a member of an ensemble) was refitted on every row of its training
    file: scored on that file, its test and backtest windows are rows it was fitted on."""
    members = getattr(package, "members", {"": package})
    return any(m.schema.fitted_on == "every row" for m in members.values())


def evaluate_package(package: ForecastPackage, path: str, *, backtest_windows: int = 0, step: int = 1) -> dict:
    """Test-split metrics (the split recorded in the package), plus a rolling-origin backtest:
    the last `backtest_windows` forecast origins of every series, `step` steps apart. `in_sample`
    says whether the package was refitted on every row (see `in_sample`)."""
    data = windowed(package, path)
    batch = package.cfg.data.eval_batch_size
    metrics = evaluate(package.network, data.dataset("test"), data.scaler, batch_size=batch)
    if package.calibration is not None:  # the package's conformal intervals on the test windows
        metrics.update(interval_metrics(package.network, data, package.calibration, batch_size=batch))
    if backtest_windows > 0:
        dataset = backtest_dataset(data, path, windows=backtest_windows, step=step)
        back = evaluate(package.network, dataset, data.scaler, batch_size=batch)
        metrics.update({f"backtest_{k}": back[k] for k in BACKTEST_KEYS})
        metrics["backtest_windows"] = len(dataset)
    return {**metrics, "in_sample": in_sample(package)}


def backtest_dataset(data, path: str, *, windows: int, step: int) -> WindowDataset:
    """One window per rolling origin: the newest `windows` of each series, `step` rows apart."""
    if step < 1:
        raise DataError(f"--step must be at least 1, got {step}")
    s = data.schema
    lengths = np.diff(np.append(data.offsets, len(data.values)))
    per_series = [last_windows(int(n), s.context_len, s.horizon, count=windows, step=step) for n in lengths]
    if any(starts is None for starts in per_series):
        raise DataError(
            f"{windows} origins {step} steps apart need "
            f"{s.context_len + s.horizon + step * (windows - 1)} rows per series",
            file=path,
            fix="lower --backtest-windows or --step",
        )
    starts = np.concatenate([off + np.asarray(local) for off, local in zip(data.offsets, per_series)])
    return data.windows(starts, np.ones_like(starts))
