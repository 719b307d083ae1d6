"""Test metrics over every window, on scaled and original values. Torch only: training, the
comparison and `forecaster evaluate` all score with this one function.

MSE and MAE on scaled values follow the long-horizon literature; `*_original` are in the data's
own units. Each is the mean over every window, step and target column.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from forecaster.data.scaling import Scaler
from forecaster.data.windows import WindowDataset, collate_batch
from forecaster.errors import DataError


class NonFiniteMetrics(DataError):
    """A metric came out NaN or infinite: never reported as a result."""


@torch.no_grad()
def evaluate(
    network: nn.Module, dataset: WindowDataset, scaler: Scaler, *, batch_size: int = 256, keep_errors: bool = False
) -> dict:
    """Score `network` on every window of `dataset`.

    Returns:
        mse, mae, mse_original, mae_original, n_test_windows, predict_ms_per_window, and with
        `keep_errors` the per-window squared errors (`window_se`, a numpy array) for paired tests.

    Raises:
        NonFiniteMetrics: a metric is NaN or infinite (forecasts or targets overflow), so a fit
            never ends as a success with `inf` metrics.
    """
    was_training = network.training
    network.eval()
    scale = torch.as_tensor(scaler.scale[: dataset.n_targets], dtype=torch.float64)
    sums = torch.zeros(4, dtype=torch.float64)
    window_se, count, seconds = [], 0, 0.0
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_batch):
        start = time.perf_counter()
        pred = network(x)
        seconds += time.perf_counter() - start
        err = (pred - y).double()  # (B, H, T)
        sums += torch.stack(
            [err.square().sum(), err.abs().sum(), (err * scale).square().sum(), (err * scale).abs().sum()]
        )
        if keep_errors:
            window_se.append(err.square().mean(dim=(1, 2)).numpy())
        count += err.numel()
    network.train(was_training)
    mse, mae, mse_o, mae_o = (sums / max(count, 1)).tolist()
    _check_finite({"mse": mse, "mae": mae, "mse_original": mse_o, "mae_original": mae_o})
    out = {
        "mse": mse,
        "mae": mae,
        "mse_original": mse_o,
        "mae_original": mae_o,
        "n_test_windows": len(dataset),
        "predict_ms_per_window": 1000 * seconds / max(len(dataset), 1),
    }
    if keep_errors:
        out["window_se"] = np.concatenate(window_se) if window_se else np.zeros(0)
    return out


def _check_finite(metrics: dict[str, float]) -> None:
    bad = {k: v for k, v in metrics.items() if not np.isfinite(v)}
    if bad:
        shown = ", ".join(f"{k} {v}" for k, v in bad.items())
        raise NonFiniteMetrics(
            f"the test metrics are not finite ({shown}): the forecasts or the test values overflow",
            fix="check the data for extreme values, or lower --trainer.lr if the model diverged",
        )


def diebold_mariano(errors_a: np.ndarray, errors_b: np.ndarray, *, lag: int) -> tuple[float, float]:
    """Paired test of equal accuracy on per-window losses (Diebold & Mariano, 1995).

    The loss differential d = a - b is averaged; its variance uses a Newey-West (Bartlett)
    estimate with `lag` autocovariances, since overlapping windows (stride 1, horizon H) make
    neighbouring differentials correlated up to lag H - 1.

    Returns:
        (statistic, two-sided p-value); a negative statistic means `a` has lower loss.
    """
    import math

    d = np.asarray(errors_a, dtype=np.float64) - np.asarray(errors_b, dtype=np.float64)
    n = len(d)
    centred = d - d.mean()
    variance = centred @ centred / n
    for k in range(1, min(lag, n - 1) + 1):
        variance += 2 * (1 - k / (lag + 1)) * (centred[k:] @ centred[:-k]) / n
    if variance <= 0:
        return 0.0, 1.0
    stat = d.mean() / math.sqrt(variance / n)
    return float(stat), float(math.erfc(abs(stat) / math.sqrt(2)))
