"""The model package: a directory that forecasts on its own, without the training data.

Layout (all plain files, format version in `forecaster.json`):

    forecaster.json     format version, forecaster version, variant
    config.yaml         the resolved config the model was trained with
    schema.json         the data's `Schema`: layout, time/id columns, feature columns (targets
                        first), frequency, context length, horizon, seasonal period, series ids
    scaler.json         per-column mean and scale fitted on the training rows
    weights.safetensors the network's weights (safetensors: loading never unpickles); empty for the
                        classical references (`ets`, `theta`, `arima`: they fit on the window of
                        history `predict` is given, in the units of scaler.json)
    intervals.json      optional: conformal interval radii from the validation split
                        (`forecaster.scores.intervals`); a package without it loads, and `--level`
                        then says to save the model again

A package is read as untrusted input: `load` checks every file (`forecaster.serve.checks`)
before anything in it is used. This module imports neither Lightning, MLflow nor scikit-learn:
`forecaster predict` on a local package pays for torch and pandas only (an MLflow URI is handed
to `forecaster.serve.pyfunc`, which downloads the package and nothing else). Saving
builds the package in a temporary sibling directory and swaps it into place
(`forecaster.atomic.replace_dir`), so a failed save leaves the earlier package, never half of one.
Backtests and test-split metrics of a package are in `forecaster.serve.evaluation`; `forecaster.serve.loading`
loads a package, an ensemble of packages (`forecaster.serve.ensemble`) or an MLflow model URI.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from forecaster import __version__
from forecaster.atomic import asides, check_folder, replace_dir, write_file
from forecaster.config import Config, dump_yaml
from forecaster.data.future import model_inputs, read_input
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.data.times import localize, same_freq, steps_after
from forecaster.errors import DataError, PackageError
from forecaster.nn.common import device_of, to_device
from forecaster.scores import intervals
from forecaster.serve import checks, extension
from forecaster.serve.devices import resolve

FORMAT_VERSION = 1
META, CONFIG, SCHEMA, SCALER, WEIGHTS = (
    "forecaster.json",
    "config.yaml",
    "schema.json",
    "scaler.json",
    "weights.safetensors",
)
ENSEMBLE = "ensemble.json"  # marks an ensemble of packages (`forecaster.serve.ensemble`)


def save_package(
    directory: str | Path,
    *,
    cfg: Config,
    network: nn.Module,
    scaler: Scaler,
    schema: Schema,
    calibration: intervals.Calibration | None = None,
) -> Path:
    """Write the package to `directory` (replacing an earlier package there), with the interval
    `calibration` as `intervals.json` when given."""
    from safetensors.torch import save_file

    directory = Path(directory)
    check_target(directory)

    def build(tmp: Path) -> None:
        meta = {"format_version": FORMAT_VERSION, "forecaster_version": __version__, "variant": cfg.variant()}
        (tmp / META).write_text(json.dumps(meta, indent=2))
        (tmp / CONFIG).write_text(dump_yaml(cfg))
        (tmp / SCHEMA).write_text(schema.to_json())
        (tmp / SCALER).write_text(json.dumps(scaler.to_dict(), indent=2))
        state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS))
        if calibration is not None:
            (tmp / intervals.FILE).write_text(json.dumps(calibration.to_dict()))

    return replace_dir(directory, build)


def check_target(directory: str | Path, option: str = "--save") -> Path:
    """A package may replace an earlier package or ensemble package, never other files, and goes to a
    folder that can be made (`forecaster.atomic.check_folder`). Checked before the fit (`option`: the
    command's flag, named in the message) and again when saving."""
    directory = check_folder(directory, option)
    is_package = (directory / META).is_file() or (directory / ENSEMBLE).is_file()
    if directory.exists() and any(directory.iterdir()) and not is_package:
        raise PackageError(
            f"{option} {directory}: exists and is not a forecaster package; choose another folder (or empty it)"
        )
    return directory


def check_present(directory: str | Path) -> Path:
    """`directory` as a Path; a PackageError when it is missing, naming what an interrupted save left."""
    path = Path(directory)
    left = [] if path.exists() else asides(path)
    if left:
        raise PackageError(
            f"{path}: missing; a save that was interrupted left the previous package at {left[0]}: "
            f"rename it to {path} (`mv {left[0]} {path}`) or save the model again"
        )
    return path


class ForecastPackage:
    """A package: config, schema, scaler and network (in eval mode), loaded from `path` or, with
    `path=None`, assembled in memory from a fit; `calibration`: its conformal intervals, if any."""

    def __init__(
        self,
        cfg: Config,
        schema: Schema,
        scaler: Scaler,
        network: nn.Module,
        path: Path | None,
        calibration: intervals.Calibration | None = None,
    ):
        self.cfg, self.schema, self.scaler, self.network, self.path = cfg, schema, scaler, network, path
        self.calibration = calibration

    def save(self, directory: str | Path) -> Path:
        """Write this package to `directory` (see `save_package`)."""
        return save_package(
            directory,
            cfg=self.cfg,
            network=self.network,
            scaler=self.scaler,
            schema=self.schema,
            calibration=self.calibration,
        )

    @classmethod
    def load(cls, directory: str | Path) -> ForecastPackage:
        """Read and check a package (`forecaster.serve.checks`): nothing in it is used before
        every file is checked, and the weights' shapes are checked before the network is built.

        Raises:
            PackageError: naming the file and field that cannot be used.
        """
        path = check_present(directory)
        if not (path / META).is_file():
            raise PackageError(
                f"{path}: not a forecaster model package (no {META}); "
                "pass a directory written by `forecaster train --save DIR` or an MLflow model URI"
            )
        meta = checks.read_meta(path / META, format_version=FORMAT_VERSION, reader=__version__)
        cfg = checks.read_config(path / CONFIG)
        schema = checks.read_schema(path / SCHEMA)
        scaler = checks.read_scaler(path / SCALER, schema)
        checks.check_agreement(path, meta, cfg, schema)
        network = checks.build_checked(path / WEIGHTS, cfg, schema, config_file=path / CONFIG)
        if network.NEEDS_UNITS:  # from the scaler: a classical model saves no weights, so no units either
            k = schema.n_targets
            network.set_units(torch.as_tensor(scaler.mean[:k]), torch.as_tensor(scaler.scale[:k]))
        return cls(cfg, schema, scaler, network.eval(), path, calibration=read_calibration(path, schema))

    def to(self, device: str | torch.device) -> ForecastPackage:
        """Forecast on `device` (cpu, cuda, cuda:N, mps or auto: `forecaster.serve.devices.resolve`,
        which refuses one this machine lacks): the network moves there, its inputs follow it. A
        classical model has no weights to move: it fits on the CPU wherever its inputs are."""
        self.network.to(resolve(device) if isinstance(device, str) else device)
        return self

    def read(self, source: str | Path | pd.DataFrame, *, fit_on_train: bool = False) -> SeriesFrame:
        """Read and validate recent history as the schema says (its layout, columns and time-stamp
        convention; the training config says how to read: delimiter, fill, sort, outliers);
        `fit_on_train`: a file to score on the training split, read as training read it."""
        frame = read_input(source, self.schema, self.cfg.data, fit_on_train=fit_on_train)  # future rows split off
        self._check(frame)
        return frame

    def _check(self, frame: SeriesFrame) -> None:
        s = self.schema
        expected = [s.time_col] + ([s.id_col] if s.id_col else []) + s.columns + s.static
        extra = [c for c in frame.header if c not in expected]
        if extra:
            raise DataError(
                f"columns {extra} were not in the training data; the model expects {expected}",
                file=frame.path,
                row=1,
                fix="drop the extra columns",
            )
        freq = frame.schema.freq
        if not same_freq(freq, s.freq):
            raise DataError(
                f"the data's frequency is '{freq}' but the model was trained on '{s.freq}'",
                file=frame.path,
                column=s.time_col,
                fix=f"resample the data to '{s.freq}'",
            )
        for sid, times, _ in frame.series():
            if len(times) < s.context_len:
                who = f"series '{sid}' has" if s.layout == "long" else "the file has"
                raise DataError(
                    f"{who} {len(times)} rows; the model needs the last {s.context_len} (its context length)",
                    file=frame.path,
                    fix=f"give at least {s.context_len} rows of recent history per series",
                )

    def inputs(self, frame: SeriesFrame) -> list[torch.Tensor | None]:
        """The network's inputs for every series, encoded as training encoded its file
        (`forecaster.data.inputs.encode`): x, its last `context_len` rows (series, L, F), and its
        covariates (future (series, H, Fk) and static (series, Z), or None) when it has them."""
        return model_inputs(self.schema, self.scaler, frame)

    @torch.no_grad()
    def predict_array(self, frame: SeriesFrame, horizon: int | None = None) -> np.ndarray:
        """Forecasts on the original scale: (series, H, K)."""
        h = self._horizon(horizon)
        inputs = to_device(self.inputs(frame), device_of(self.network))  # x (series, L, F) [, future, static]
        was_training = self.network.training  # an in-memory package's network may still be in train mode
        self.network.eval()
        try:
            pred = self.network(*inputs)[:, :h].cpu().numpy().astype(np.float64)  # (series, h, K)
        finally:
            self.network.train(was_training)
        return self.scaler.inverse(pred)

    def predict_intervals(self, frame: SeriesFrame, horizon: int | None, levels: list[float]):
        """Forecasts (series, H, K) and level -> (lo, hi) interval bounds, on the original scale.

        Raises:
            ConfigError: the package has no calibration, or none for one of `levels`.
        """
        if self.calibration is None:
            raise intervals.no_calibration(str(self.path or "the model"))
        self.calibration.check_levels(levels)
        h = self._horizon(horizon)
        was_training = self.network.training
        self.network.eval()
        try:
            point, quantiles, scale = intervals.forecast_batch(
                self.network, *self.inputs(frame), n_targets=self.schema.n_targets
            )
        finally:
            self.network.train(was_training)
        ids = [str(sid) for sid in frame.schema.series_ids]
        f = intervals.Forecasts(point[:, :h], point[:, :h], None, scale, np.arange(len(ids)))
        f.quantiles = None if quantiles is None else quantiles[:, :h]
        found = intervals.bounds(self.calibration, f, ids, levels, tuple(self.network.quantiles))
        unscale = self.scaler.inverse
        return unscale(f.point), {v: (unscale(lo), unscale(hi)) for v, (lo, hi) in found.items()}

    def forecast(
        self,
        frame: SeriesFrame,
        horizon: int | None = None,
        levels: list[float] | None = None,
        extend: str = "none",
    ) -> pd.DataFrame:
        """The next `horizon` steps of every series, in the input's layout, with future timestamps
        in the input's convention (naive, its one UTC offset, or UTC for varying offsets). With
        `levels` (e.g. [80, 90]), `<col>-lo-80`, `<col>-hi-80`, ... follow each target column.
        A horizon beyond the trained one needs `extend="recursive"` (`forecaster.serve.extension`)."""
        s = self.schema
        h = extension.checked_horizon(s, horizon, extend, levels)
        if levels:
            pred, bands = self.predict_intervals(frame, h, levels)
        elif h > s.horizon:
            pred, bands = extension.recursive(self.predict_array, frame, h), {}
        else:
            pred, bands = self.predict_array(frame, h), {}
        columns = [s.columns[0]] if s.layout == "long" else s.targets
        parts = []
        for i, (sid, times) in enumerate(zip(frame.schema.series_ids, frame.times)):
            future = steps_after(times[-1], pred.shape[1], frame.schema.freq)
            cells = {c: pred[i, :, k] for k, c in enumerate(columns)}
            for level, (lo, hi) in bands.items():
                for k, c in enumerate(columns):
                    cells[f"{c}-lo-{intervals.label(level)}"], cells[f"{c}-hi-{intervals.label(level)}"] = (
                        lo[i, :, k],
                        hi[i, :, k],
                    )
            part = pd.DataFrame({name: cells[name] for name in intervals.interval_columns(columns, list(bands))})
            part.insert(0, s.time_col, localize(future, frame.schema.tz))
            if s.layout == "long":
                part.insert(0, s.id_col, sid)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def _horizon(self, horizon: int | None) -> int:
        return extension.checked_horizon(self.schema, horizon)  # at most the trained horizon here


def read_calibration(path: Path, schema: Schema) -> intervals.Calibration | None:
    """`intervals.json`, checked, or None for a package saved without intervals."""
    file = path / intervals.FILE
    if not (file.exists() or file.is_symlink()):
        return None
    try:
        raw = json.loads(checks.read_text(file))  # a FIFO or a folder in its place is refused, not waited on
    except ValueError as exc:
        raise checks.corrupted(file, f"not valid JSON ({exc})") from None
    shape = {"horizon": schema.horizon, "n_targets": schema.n_targets}
    calibration = intervals.Calibration.from_dict(raw, **shape, file=str(file))
    checks.check_calibration(file, calibration)
    return calibration


def write_csv(table: pd.DataFrame, output: str | Path) -> None:
    """Write a forecast table as CSV, atomically."""
    write_file(output, lambda tmp: table.to_csv(tmp, index=False, float_format="%.8g"))
