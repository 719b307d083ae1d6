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

from forecaster.config import YARDSTICKS
from forecaster.data.scaling import Scaler
from forecaster.data.windows import PreparedData, WindowDataset, collate_batch
from forecaster.errors import DataError
from forecaster.nn.common import device_of, to_device


class NonFiniteMetrics(DataError):
    """A metric came out NaN or infinite: never reported as a result."""


@torch.no_grad()
def evaluate(
    network: nn.Module, dataset: WindowDataset, scaler: Scaler, *, batch_size: int = 256, keep_errors: bool = False
) -> dict:
    """Score `network` on every window of `dataset`.

    Returns:
        mse, mae, mse_original, mae_original, n_test_windows, predict_ms_per_window, and with
        `keep_errors` the per-window squared errors (`window_se`, a numpy array) for paired tests
        and the forecasts (`predictions`, (windows, H, K) in scaled units).

    Raises:
        NonFiniteMetrics: a metric is NaN or infinite (forecasts or targets overflow), so a fit
            never ends as a success with `inf` metrics.
    """
    was_training = network.training
    network.eval()
    scale = torch.as_tensor(scaler.scale[: dataset.n_targets], dtype=torch.float64)
    sums = torch.zeros(4, dtype=torch.float64)
    window_se, predictions, count, seconds = [], [], 0, 0.0
    device = device_of(network)  # the inputs go where the network is (`forecaster evaluate --device`)
    for x, y, *covariates in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_batch):
        start = time.perf_counter()
        pred = network(*to_device((x, *covariates), device)).cpu()  # .cpu() waits for a GPU: timed with it
        seconds += time.perf_counter() - start
        err = (pred - y).double()  # (B, H, T), NaN where a target was filled: counted nowhere
        seen = ~torch.isnan(err)
        err = err.nan_to_num()
        sums += torch.stack(
            [err.square().sum(), err.abs().sum(), (err * scale).square().sum(), (err * scale).abs().sum()]
        )
        if keep_errors:
            per_window = err.square().sum(dim=(1, 2)) / seen.sum(dim=(1, 2)).clamp_min(1)
            window_se.append((per_window if not seen.all() else err.square().mean(dim=(1, 2))).numpy())
            predictions.append(pred.numpy())
        count += int(seen.sum())
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
        empty = np.zeros((0, dataset.horizon, dataset.n_targets), dtype=np.float32)
        out["predictions"] = np.concatenate(predictions) if predictions else empty
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
    """Diebold & Mariano's (1995) test that `a` forecasts better than `b`, on paired per-window losses.

    The loss differential d = a - b is averaged; its long-run variance is the Newey-West estimate
    with Bartlett weights 1 - k / (lag + 1) for k = 1..lag. Windows taken at stride 1 with horizon H
    overlap, so neighbouring differentials are correlated up to lag H - 1 (pass `lag=H - 1`); the
    Bartlett weights keep the estimate positive, where DM's original equal weights can make it
    negative at such lags.

    Returns:
        (statistic, p): the statistic is negative when `a` has the lower mean loss; p is the
        one-sided p-value of the hypothesis "a has the lower expected loss" (small p: `a` is
        significantly better), P(Z <= statistic) under the standard normal; a constant differential
        gives (0, 0) when `a` is lower and (0, 1) otherwise (identical losses: nothing to test).
    """
    import math

    d = np.asarray(errors_a, dtype=np.float64) - np.asarray(errors_b, dtype=np.float64)
    n = len(d)
    centred = d - d.mean()
    variance = centred @ centred / n
    for k in range(1, min(lag, n - 1) + 1):
        variance += 2 * (1 - k / (lag + 1)) * (centred[k:] @ centred[:-k]) / n
    if variance <= 0:  # d is constant: a is better in every window by the same amount, or never
        return 0.0, 0.0 if n and d.mean() < 0 else 1.0
    stat = d.mean() / math.sqrt(variance / n)
    return float(stat), float(0.5 * math.erfc(-stat / math.sqrt(2)))


def format_p(p: float | None) -> str:
    """A p-value for a table: three decimals, "<0.001" below that, "-" where there is none."""
    return "-" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def observed(pred: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`pred` and `y` at the target cells the file gave: a cell `data.fill` made up is NaN in `y`
    (`forecaster.data.windows.PreparedData.targets`) and counts in no loss. pred: (B, H, K) or
    (B, H, K, Q); y: (B, H, K). Unchanged, not copied, when every cell was observed."""
    keep = ~torch.isnan(y)
    return (pred, y) if bool(keep.all()) else (pred[keep], y[keep])


SCALE_FLOOR = 1e-4  # in standardised units: a flat window's errors are not divided by ~0


def error_scale(x: torch.Tensor, n_targets: int, loss_scale: str) -> torch.Tensor | float:
    """What each window's errors are divided by: (B, L, F) -> (B, 1, K), or 1.0 for `none`.

    `naive` is MASE's denominator over the window's inputs: the mean absolute one-step change of
    each target column, so windows of large and small series weigh alike in the loss and in the
    validation loss (a series-scale-free objective when a file holds many series of different levels).
    """
    if loss_scale == "none":
        return 1.0
    steps = x[:, 1:, :n_targets] - x[:, :-1, :n_targets]  # (B, L-1, K)
    return steps.abs().mean(dim=1, keepdim=True).clamp_min(SCALE_FLOOR)


@torch.no_grad()
def validation_loss(network: nn.Module, dataset: WindowDataset, loss_scale: str, *, batch_size: int = 256) -> float:
    """The trainer's validation loss (MSE of the scaled errors) of `network` over every window of `dataset`:
    the one number every variant, trained or not, is chosen by."""
    was_training = network.training
    network.eval()
    total, count = 0.0, 0
    for x, y, *covariates in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_batch):
        err = ((network(x, *covariates) - y) / error_scale(x, dataset.n_targets, loss_scale)).double()
        total += float(err.nan_to_num().square().sum())  # NaN: a filled target, counted nowhere
        count += int((~torch.isnan(err)).sum())
    network.train(was_training)
    return total / max(count, 1)


def selection_metric(metric: str, data: PreparedData) -> str:
    """The yardstick `selection.metric` names; `auto` is `mase` for a long file of several series (a
    scale-free error, each series weighing alike, whatever its level), else `mse` (a wide file's columns
    are each standardised, so MSE on scaled values already weighs them alike, as the benchmarks score)."""
    if metric != "auto":
        return metric
    s = data.schema
    return "mase" if s.layout == "long" and len(s.series_ids) > 1 else "mse"


@torch.no_grad()
def forecasts(network: nn.Module, dataset: WindowDataset, *, batch_size: int = 256) -> np.ndarray:
    """`network`'s forecasts of every window of `dataset`, in order: (windows, H, K), scaled units."""
    was_training = network.training
    network.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_batch)
    parts = [network(x, *covariates).double().numpy() for x, _y, *covariates in loader]
    network.train(was_training)
    return np.concatenate(parts) if parts else np.zeros((0, dataset.horizon, dataset.n_targets))


def validation_score(network: nn.Module, data: PreparedData, metric: str, *, batch_size: int = 256) -> float:
    """The yardstick every choice is made by (`selection.metric`), over the validation windows."""
    predictions = forecasts(network, data.dataset("val"), batch_size=batch_size)
    return yardstick(selection_metric(metric, data), predictions, data, "val")


def yardstick(metric: str, predictions: np.ndarray, data: PreparedData, split: str = "val") -> float:
    """Score forecasts (windows, H, K; scaled) of `data.dataset(split)`'s windows by `metric` (see `scorer`)."""
    return scorer(metric, data, split)(predictions)


def scorer(metric: str, data: PreparedData, split: str = "val"):
    """`score(predictions) -> float` of forecasts (windows, H, K; scaled) of `data.dataset(split)`'s
    windows by `metric`, lower is better; the targets and scales are gathered once, so scoring many
    candidates (the ensemble's greedy rounds) reads the data once.

    `mse` and `mae` are the means over every window, step and target on scaled values (as the test
    `mse` / `mae`). `mase` and `smape` are per series first (each window's mean over steps and targets;
    MASE divides by the mean absolute one-step change of the series' rows before the window's origin,
    M4's in-sample scale; sMAPE on the data's own units), then the mean over series, so a series with
    more windows does not weigh more.
    """
    if metric not in YARDSTICKS:
        raise ValueError(f"unknown yardstick {metric!r}; valid: {', '.join(YARDSTICKS)}")
    dataset = data.dataset(split)
    starts = dataset.start_rows(torch.arange(len(dataset))).numpy()
    s = data.schema
    values = data.values[:, : s.n_targets].double().numpy()  # filled cells included: the in-sample scale's rows
    targets = values if data.targets is None else data.targets.double().numpy()  # NaN where filled
    origins = starts + s.context_len
    actual = targets[origins[:, None] + np.arange(s.horizon)]  # (N, H, K), NaN where filled: counted nowhere
    series = np.searchsorted(data.offsets, starts, side="right") - 1
    counts = np.bincount(series, minlength=len(data.offsets))
    scale = _insample_scale(values, data.offsets[series], origins)[:, None, :] if metric == "mase" else None
    y = data.scaler.inverse(actual)[..., : s.n_targets] if metric == "smape" else None

    def per_series(per_window: np.ndarray) -> float:
        sums = np.bincount(series, weights=per_window, minlength=len(data.offsets))
        return float(np.mean(sums[counts > 0] / counts[counts > 0]))

    def score(predictions: np.ndarray) -> float:
        err = np.asarray(predictions, dtype=np.float64) - actual
        if metric in ("mse", "mae"):
            return float(np.nanmean(err**2) if metric == "mse" else np.nanmean(np.abs(err)))
        if metric == "mase":
            return per_series(np.nanmean(np.abs(err) / scale, axis=(1, 2)))
        f = data.scaler.inverse(np.asarray(predictions, np.float64))[..., : s.n_targets]
        denominator = np.abs(y) + np.abs(f)
        ratio = np.divide(2 * np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
        ratio[np.isnan(y)] = np.nan
        return per_series(100 * np.nanmean(ratio, axis=(1, 2)))

    return score


def _insample_scale(values: np.ndarray, firsts: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """(N, K): the mean absolute one-step change of each window's series over its rows before the
    origin (rows [first, origin)), floored at `SCALE_FLOOR` (a flat history does not divide by ~0)."""
    steps = np.abs(np.diff(values, axis=0, prepend=values[:1]))  # row t: |v[t] - v[t-1]| (0 at row 0)
    cumulative = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(steps, axis=0)])
    total = cumulative[origins] - cumulative[firsts + 1]  # changes at rows first+1 .. origin-1, within the series
    count = np.maximum(origins - firsts - 1, 1)[:, None]
    return np.maximum(total / count, SCALE_FLOOR)


def m4_metrics(data: PreparedData, predictions: np.ndarray) -> dict[str, float]:
    """M4's `smape`, `mase` and `owa` of test forecasts, in the data's own units.

    Each (test window, target column) is one M4 series: its actuals and forecasts are unscaled,
    its MASE scale is the mean seasonal difference of every row before the forecast origin
    (M4's in-sample values; period m of the M4 frequency, else the schema's season) and Naive2,
    for OWA, is forecast from those rows too (`forecaster.scores.seasonality.naive2`, M4's reference).
    A series whose in-sample differences are all 0 has no MASE: MASE and OWA average the others,
    and `m4_series_without_scale` says how many were left out. Naive2 of a seasonal series with a
    value <= 0 (no multiplicative decomposition; M4's series are positive) is its last value.

    Args:
        data: the prepared data the forecasts were made on.
        predictions: (windows, H, K) forecasts of `data.dataset("test")`'s windows, in order, scaled.
    """
    from forecaster.scores.m4 import m4_frequency, mase, mase_scale, owa, smape

    s, test = data.schema, data.dataset("test")
    m4 = m4_frequency(s.freq)
    period = m4.period if m4 else max(s.period or 1, 1)
    starts = test.start_rows(torch.arange(len(test))).numpy()
    series = np.searchsorted(data.offsets, starts, side="right") - 1
    actual, history = [], []
    for row, i in zip(starts, series):
        origin = int(row - data.offsets[i]) + s.context_len
        values = data.frame.values[i]
        seen = data.frame.observed[i] if data.frame.observed is not None else None
        for k in range(s.n_targets):
            target = values[origin : origin + s.horizon, k]
            actual.append(target if seen is None else np.where(seen[origin : origin + s.horizon, k], target, np.nan))
            history.append(values[:origin, k])
    actual = np.asarray(actual, dtype=float)  # (windows * K, H)
    forecast = data.scaler.inverse(predictions.astype(np.float64)).transpose(0, 2, 1).reshape(len(actual), -1)
    base = np.stack([_naive2(h, s.horizon, period) for h in history])
    scale = np.array([mase_scale(h, period) for h in history])
    ok = np.isfinite(scale)
    out = {"smape": float(smape(actual, forecast).mean()), "m4_series_without_scale": int((~ok).sum())}
    if ok.any():
        out["mase"] = float(mase(actual[ok], forecast[ok], scale[ok]).mean())
        base_mase = float(mase(actual[ok], base[ok], scale[ok]).mean())
        base_smape = float(smape(actual, base).mean())
        out["owa"] = owa(out["smape"], out["mase"], smape_naive2=base_smape, mase_naive2=base_mase)
    return out


def _naive2(history: np.ndarray, horizon: int, period: int) -> np.ndarray:
    from forecaster.scores.seasonality import naive2

    try:
        return naive2(history, horizon, period)
    except ValueError:  # a seasonal series with a value <= 0, or too short to decompose
        return np.full(horizon, float(history[-1]))
