"""Prediction intervals for any model: split-conformal calibration on the validation windows.

Method (split conformal prediction, Vovk et al. 2005; Lei et al. 2018). After a fit, every
validation window (rolling origin, one step apart, never a test row) is forecast and scored, per
horizon step h and target column k, by a nonconformity score divided by the window's scale s (the
mean absolute one-step change of its inputs, `metrics.error_scale`'s `naive` scale), so intervals
widen with the window's volatility and series of different levels pool fairly:

- a point forecaster (naive, seasonal naive, Naive2, any network trained for a point forecast):
  ``|y - ŷ| / s``; the interval is ``ŷ ± r·s``;
- a quantile forecaster (`forecaster.nn.quantiles`) whose quantiles hold the level's pair
  ``(1 - l/100)/2, (1 + l/100)/2``: conformalized quantile regression (CQR, Romano et al. 2019),
  ``max(lo - y, y - hi) / s``; the interval is ``[lo - r·s, hi + r·s]`` (r < 0 narrows a head that
  is too wide). Other levels of a quantile model use the residual score around its median.

r is the ⌈(n + 1)·l/100⌉-th smallest of the n scores (the finite-sample conformal quantile; when
that rank exceeds n, too few windows for the level, the largest score). Radii are kept per series
for every series with at least `MIN_SERIES_WINDOWS` validation windows and pooled over all windows
otherwise (series unseen in training use the pooled radii). Bounds always hold the point forecast
and are nested in the level (a higher level's interval contains a lower one's), by construction.

The levels calibrated are `CALIBRATED_LEVELS` plus `model.levels`; the radii are stored in the
model package as `intervals.json` (`Calibration.to_dict`, checked as untrusted input by
`Calibration.from_dict`). Torch and numpy only: `forecaster predict` uses this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from forecaster.data.windows import PreparedData, WindowDataset, collate_batch
from forecaster.errors import ConfigError, PackageError
from forecaster.nn.common import device_of, to_device
from forecaster.scores.metrics import error_scale

CALIBRATED_LEVELS = (50.0, 80.0, 90.0, 95.0)  # 95: MSIS; 50/80/90: the quantiles of `mql`
MIN_SERIES_WINDOWS = 50  # below this a series uses the radii pooled over every series
FILE = "intervals.json"
FORMAT_VERSION = 1
MAX_LEVELS = 32


def parse_levels(text: str | list) -> list[float]:
    """`--level 80,90` (or a list, from MLflow's params) as numbers in (0, 100).

    Raises:
        ConfigError: a value that is not a number strictly between 0 and 100.
    """
    items = [str(v).strip() for v in text] if isinstance(text, list | tuple) else str(text).split(",")
    levels = []
    for item in (i.strip() for i in items):
        try:
            level = float(item)
        except ValueError:
            level = math.nan
        if not 0 < level < 100:
            raise ConfigError(
                f"--level {item!r} is not a level: give percentages between 0 and 100, e.g. --level 80,90"
            )
        levels.append(level)
    if not levels or len(levels) > MAX_LEVELS:
        raise ConfigError(f"--level needs 1 to {MAX_LEVELS} levels, e.g. --level 80,90")
    return list(dict.fromkeys(levels))


def label(level: float) -> str:
    """A level as it appears in column and metric names: 80 -> '80', 97.5 -> '97.5'."""
    return f"{level:g}"


def tails(level: float) -> tuple[float, float]:
    """The quantiles bounding the central `level` % interval: 80 -> (0.1, 0.9)."""
    tail = round((1 - level / 100) / 2, 6)
    return tail, round(1 - tail, 6)


@dataclass
class Calibration:
    """Conformal radii per level: `pooled` (levels, H, K) and `series` id -> (levels, H, K), in
    units of each window's scale; `scores[i]` is "residual" or "cqr" for level i."""

    levels: tuple[float, ...]
    scores: tuple[str, ...]
    pooled: np.ndarray
    series: dict[str, np.ndarray]
    n_windows: int

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "method": "split-conformal",
            "levels": list(self.levels),
            "scores": list(self.scores),
            "n_windows": self.n_windows,
            "pooled": self.pooled.tolist(),
            "series": {sid: r.tolist() for sid, r in self.series.items()},
        }

    @classmethod
    def from_dict(cls, raw, *, horizon: int, n_targets: int, file: str = FILE) -> Calibration:
        """Read `intervals.json`'s data, every field checked (a PackageError names the field)."""

        def bad(problem: str) -> PackageError:
            return PackageError(f"{file}: the package's intervals are unusable: {problem}; save the model again")

        if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
            raise bad(f"expected an object with format_version {FORMAT_VERSION}")
        levels, scores = raw.get("levels"), raw.get("scores")
        if not isinstance(levels, list) or not 0 < len(levels) <= MAX_LEVELS:
            raise bad(f"'levels' must list 1 to {MAX_LEVELS} levels")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 100 for v in levels) or (
            levels != sorted(set(levels))
        ):
            raise bad("'levels' must be increasing numbers between 0 and 100")
        if not isinstance(scores, list) or len(scores) != len(levels) or not set(scores) <= {"residual", "cqr"}:
            raise bad("'scores' must name 'residual' or 'cqr' for each level")
        series = raw.get("series")
        if not isinstance(series, dict) or not isinstance(raw.get("n_windows"), int):
            raise bad("'series' must be an object and 'n_windows' an integer")
        shape = (len(levels), horizon, n_targets)

        def table(value, name: str) -> np.ndarray:
            try:
                out = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise bad(f"'{name}' is not a table of numbers") from None
            if out.shape != shape or not np.isfinite(out).all():
                raise bad(f"'{name}' must be finite numbers of shape {shape} (levels, horizon, targets)")
            return out

        return cls(
            levels=tuple(float(v) for v in levels),
            scores=tuple(scores),
            pooled=table(raw.get("pooled"), "pooled"),
            series={str(k): table(v, f"series.{k}") for k, v in series.items()},
            n_windows=raw["n_windows"],
        )

    def check_levels(self, levels: list[float]) -> None:
        """A ConfigError naming a level that was not calibrated and the ones that were."""
        missing = [v for v in levels if v not in self.levels]
        if missing:
            have = ", ".join(map(label, self.levels))
            raise ConfigError(
                f"--level {label(missing[0])} was not calibrated; this model has the levels {have}: "
                f"pick among them, or train again with --model.levels adding {label(missing[0])}"
            )


def no_calibration(where: str) -> ConfigError:
    """The error for intervals asked of a package saved without them."""
    return ConfigError(
        f"{where}: this model package has no calibrated intervals (it was saved before forecaster "
        "calibrated them): train and save the model again (`forecaster train ... --save DIR`, or "
        "`forecaster compare ... --save-best DIR` for an ensemble) to use --level"
    )


@dataclass
class Forecasts:
    """A network's forecasts of windows, scaled units: y, point (N, H, K); quantiles (N, H, K, Q)
    or None; scale (N, 1, K); series index (N,)."""

    y: np.ndarray
    point: np.ndarray
    quantiles: np.ndarray | None
    scale: np.ndarray
    series: np.ndarray


@torch.no_grad()
def forecast_batch(
    network, x: torch.Tensor, *covariates, n_targets: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Point forecasts (B, H, K), quantile forecasts (B, H, K, Q) or None, and scales (B, 1, K) of
    windows x (B, L, F) with their covariates, float64. `network` (a `forecaster.nn.common.Network`)
    must be in eval mode; x and the covariates go to the network's device, the forecasts come back."""
    inputs = to_device((x, *covariates), device_of(network))
    if network.HAS_QUANTILES:
        q = network.quantile_forecast(*inputs).cpu()
        point, quantiles = q[..., network.median].double().numpy(), q.double().numpy()
    else:
        point, quantiles = network(*inputs).cpu().double().numpy(), None
    return point, quantiles, np.asarray(error_scale(x, n_targets, "naive"), dtype=np.float64)


def window_forecasts(network, dataset: WindowDataset, offsets: np.ndarray, *, batch_size: int = 256) -> Forecasts:
    """Forecast every window of `dataset` (in order) and note its scale and series."""
    was_training = network.training
    network.eval()
    parts: dict[str, list] = {"y": [], "point": [], "quantiles": [], "scale": []}
    for x, y, *covariates in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_batch):
        point, quantiles, scale = forecast_batch(network, x, *covariates, n_targets=dataset.n_targets)
        for key, value in zip(parts, (y.double().numpy(), point, quantiles, scale)):
            parts[key].append(value)
    network.train(was_training)
    starts = dataset.start_rows(torch.arange(len(dataset))).numpy()
    quantile = parts["quantiles"] and parts["quantiles"][0] is not None
    return Forecasts(
        y=np.concatenate(parts["y"]),
        point=np.concatenate(parts["point"]),
        quantiles=np.concatenate(parts["quantiles"]) if quantile else None,
        scale=np.concatenate(parts["scale"]),
        series=np.searchsorted(offsets, starts, side="right") - 1,
    )


def _score_kind(network, level: float) -> str:
    have = network.quantiles
    return "cqr" if all(t in have for t in tails(level)) else "residual"


def _bases(f: Forecasts, kind: str, level: float, model_quantiles: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The interval before conformal widening: (lo, hi), each (N, H, K)."""
    if kind == "residual":
        return f.point, f.point
    lo, hi = (model_quantiles.index(t) for t in tails(level))
    return f.quantiles[..., lo], f.quantiles[..., hi]


def conformal_quantile(scores: np.ndarray, level: float) -> np.ndarray:
    """The ⌈(n + 1)·level/100⌉-th smallest score over axis 0 (capped at n): (n, ...) -> (...). NaN
    scores (a filled target: `forecaster.data.windows.PreparedData.targets`) are not scores: n counts
    the others, per cell."""
    missing = np.isnan(scores)
    if not missing.any():
        n = len(scores)
        rank = min(math.ceil((n + 1) * level / 100), n)
        return np.partition(scores, rank - 1, axis=0)[rank - 1]
    n = (~missing).sum(axis=0)  # (...)
    rank = np.clip(np.minimum(np.ceil((n + 1) * level / 100), n), 1, None).astype(np.int64)
    ordered = np.sort(scores, axis=0)  # NaN last
    return np.take_along_axis(ordered, (rank - 1)[None], axis=0)[0]


def calibrate(network, data: PreparedData, *, levels=(), batch_size: int = 256) -> Calibration | None:
    """Conformal radii from the validation windows of `data` for `CALIBRATED_LEVELS` and `levels`;
    None when the validation split has no window."""
    dataset = data.dataset("val")
    if len(dataset) == 0:
        return None
    f = window_forecasts(network, dataset, data.offsets, batch_size=batch_size)
    all_levels = tuple(sorted(set(CALIBRATED_LEVELS) | {float(v) for v in levels or ()}))
    kinds = tuple(_score_kind(network, v) for v in all_levels)
    have = tuple(network.quantiles)
    scores = []
    for level, kind in zip(all_levels, kinds):
        lo, hi = _bases(f, kind, level, have)
        scores.append(np.maximum(lo - f.y, f.y - hi) / f.scale)  # (N, H, K); |y - ŷ| / s when lo = hi
    radii = lambda rows: np.stack([conformal_quantile(s[rows], v) for s, v in zip(scores, all_levels)])
    ids = data.schema.series_ids
    counts = np.bincount(f.series, minlength=len(ids))
    per_series = {}
    if len(ids) > 1:  # one series: its radii are the pooled ones
        per_series = {ids[i]: radii(f.series == i) for i in np.flatnonzero(counts >= MIN_SERIES_WINDOWS)}
    return Calibration(all_levels, kinds, radii(slice(None)), per_series, len(dataset))


def bounds(
    calibration: Calibration, f: Forecasts, series_ids: list[str], levels: list[float], model_quantiles: tuple = ()
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Interval bounds (scaled units, (N, H', K) for the first H' steps) of forecasts `f` per level.

    `series_ids[f.series[i]]` names window i's series (its own radii if calibrated, else pooled).
    """
    calibration.check_levels(levels)
    h = f.point.shape[1]
    radii = np.stack([calibration.series.get(sid, calibration.pooled) for sid in series_ids])  # (S, levels, H, K)
    out, lo_prev, hi_prev = {}, f.point, f.point
    for i, level in enumerate(calibration.levels):  # ascending: each interval contains the ones before
        kind = calibration.scores[i] if f.quantiles is not None else "residual"
        lo, hi = _bases(f, kind, level, model_quantiles)
        r = radii[f.series, i, :h] * f.scale  # (N, H', K)
        lo_prev, hi_prev = np.minimum(lo - r, lo_prev), np.maximum(hi + r, hi_prev)
        out[level] = (lo_prev, hi_prev)
    return {level: out[level] for level in levels}


def interval_columns(columns: list[str], levels: list[float]) -> list[str]:
    """`col`, `col-lo-80`, `col-hi-80`, ... for each target column, in that order."""
    return [name for c in columns for name in [c, *(f"{c}-{s}-{label(v)}" for v in levels for s in ("lo", "hi"))]]
