"""The model package: a directory that forecasts on its own, without the training data.

Layout (all plain files, format version in `forecaster.json`):

    forecaster.json     format version, forecaster version, variant
    config.yaml         the resolved config the model was trained with
    schema.json         layout, time/id columns, feature columns (targets first), frequency,
                        context length, horizon, seasonal period, series ids
    scaler.json         per-column mean and scale fitted on the training rows
    weights.safetensors the network's weights (safetensors: loading never unpickles)

This module imports neither Lightning nor MLflow: `forecaster predict` on a local package pays
for torch and pandas only. Saving writes to a temporary sibling directory and renames it into
place, so a failed save leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from forecaster import __version__
from forecaster.config import Config, DataConfig, dump_yaml, load
from forecaster.data.io import SeriesFrame, frame_from_dataframe, read_frame
from forecaster.data.scaling import Scaler
from forecaster.errors import ConfigError, DataError, PackageError
from forecaster.models import DataShape, build_network

FORMAT_VERSION = 1
META, CONFIG, SCHEMA, SCALER, WEIGHTS = (
    "forecaster.json", "config.yaml", "schema.json", "scaler.json", "weights.safetensors")


@dataclass
class Schema:
    """What a package expects of its input and promises of its output."""

    layout: str
    time_col: str
    id_col: str | None
    columns: list[str]
    n_targets: int
    freq: str
    context_len: int
    horizon: int
    period: int
    series_ids: list[str]

    @property
    def targets(self) -> list[str]:
        return self.columns[: self.n_targets]

    def shape(self) -> DataShape:
        return DataShape(len(self.columns), self.n_targets, self.context_len, self.horizon, self.period)

    @classmethod
    def of(cls, frame: SeriesFrame, cfg: DataConfig, period: int) -> "Schema":
        return cls(frame.layout, frame.time_col, frame.id_col, list(frame.columns), frame.n_targets,
                   frame.freq, cfg.context_len, cfg.horizon, period, list(frame.ids))


def save_package(directory: str | Path, *, cfg: Config, network: nn.Module, scaler: Scaler,
                 schema: Schema) -> Path:
    """Write the package to `directory` (replacing an earlier package there)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / META).is_file():
        raise PackageError(f"{directory}: exists and is not a forecaster package; choose another --save directory")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        meta = {"format_version": FORMAT_VERSION, "forecaster_version": __version__, "variant": cfg.variant()}
        (tmp / META).write_text(json.dumps(meta, indent=2))
        (tmp / CONFIG).write_text(dump_yaml(cfg))
        (tmp / SCHEMA).write_text(json.dumps(asdict(schema), indent=2))
        (tmp / SCALER).write_text(json.dumps(scaler.to_dict(), indent=2))
        state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS))
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory


class ForecastPackage:
    """A loaded package: config, schema, scaler and network (in eval mode)."""

    def __init__(self, cfg: Config, schema: Schema, scaler: Scaler, network: nn.Module, path: Path):
        self.cfg, self.schema, self.scaler, self.network, self.path = cfg, schema, scaler, network, path

    @classmethod
    def load(cls, directory: str | Path) -> "ForecastPackage":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(directory)
        if not (path / META).is_file():
            raise PackageError(f"{path}: not a forecaster model package (no {META}); "
                               "pass a directory written by `forecaster train --save DIR` or an MLflow model URI")
        try:
            meta = json.loads((path / META).read_text())
            version = meta.get("format_version")
            if version != FORMAT_VERSION:
                raise PackageError(f"{path}: package format version {version!r} is not supported "
                                   f"(this forecaster {__version__} reads version {FORMAT_VERSION})")
            cfg = load(path / CONFIG)
            schema = Schema(**json.loads((path / SCHEMA).read_text()))
            scaler = Scaler.from_dict(json.loads((path / SCALER).read_text()))
        except (OSError, ValueError, TypeError, KeyError, ConfigError) as exc:
            raise PackageError(f"{path}: the package is incomplete or corrupted ({exc})") from None
        network = build_network(cfg.model, schema.shape())
        try:
            state = load_file(str(path / WEIGHTS))
            network.load_state_dict(state, strict=True)
        except (OSError, SafetensorError, RuntimeError, ValueError) as exc:
            raise PackageError(f"{path / WEIGHTS}: refused: not a valid safetensors file for this "
                               f"model ({str(exc).splitlines()[0]})") from None
        return cls(cfg, schema, scaler, network.eval(), path)

    def data_config(self, path: str | None = None) -> DataConfig:
        """The training data config, pinned to the schema's layout and columns."""
        s = self.schema
        cfg = DataConfig(**asdict(self.cfg.data))
        cfg.path = path or cfg.path
        cfg.format, cfg.time_col, cfg.id_col = s.layout, s.time_col, s.id_col
        cfg.covariates = s.columns[s.n_targets:]
        if s.layout == "long":
            cfg.value_col, cfg.targets = s.columns[0], None
        else:
            cfg.targets = s.targets
        return cfg

    def read(self, source: str | Path | pd.DataFrame) -> SeriesFrame:
        """Read and validate recent history against the schema."""
        cfg = self.data_config(None if isinstance(source, pd.DataFrame) else str(source))
        if isinstance(source, pd.DataFrame):
            frame = frame_from_dataframe(source, cfg, source="request")
        else:
            frame = read_frame(cfg, source)
        self._check(frame)
        return frame

    def _check(self, frame: SeriesFrame) -> None:
        s = self.schema
        expected = [s.time_col] + ([s.id_col] if s.id_col else []) + s.columns
        extra = [c for c in frame.header if c not in expected]
        if extra:
            raise DataError(f"columns {extra} were not in the training data; the model expects "
                            f"{expected}", file=frame.path, row=1, fix="drop the extra columns")
        if pd.tseries.frequencies.to_offset(frame.freq) != pd.tseries.frequencies.to_offset(s.freq):
            raise DataError(f"the data's frequency is '{frame.freq}' but the model was trained on "
                            f"'{s.freq}'", file=frame.path, column=s.time_col,
                            fix=f"resample the data to '{s.freq}'")
        for sid, times in zip(frame.ids, frame.times):
            if len(times) < s.context_len:
                who = f"series '{sid}' has" if s.layout == "long" else "the file has"
                raise DataError(f"{who} {len(times)} rows; the model needs the last {s.context_len} "
                                "(its context length)", file=frame.path,
                                fix=f"give at least {s.context_len} rows of recent history per series")

    @torch.no_grad()
    def predict_array(self, frame: SeriesFrame, horizon: int | None = None) -> np.ndarray:
        """Forecasts on the original scale: (series, horizon, n_targets)."""
        h = self._horizon(horizon)
        C = self.schema.context_len
        x = np.stack([self.scaler.transform(v[-C:]) for v in frame.values]).astype(np.float32)
        pred = self.network(torch.from_numpy(x))[:, :h].numpy().astype(np.float64)
        return self.scaler.inverse(pred)

    def forecast(self, frame: SeriesFrame, horizon: int | None = None) -> pd.DataFrame:
        """The next `horizon` steps of every series, in the input's layout, with future timestamps."""
        s = self.schema
        pred = self.predict_array(frame, horizon)
        parts = []
        for sid, times, values in zip(frame.ids, frame.times, pred):
            future = pd.date_range(times[-1], periods=len(values) + 1, freq=frame.freq)[1:]
            if s.layout == "long":
                parts.append(pd.DataFrame({s.id_col: sid, s.time_col: future, s.columns[0]: values[:, 0]}))
            else:
                part = pd.DataFrame(values, columns=s.targets)
                part.insert(0, s.time_col, future)
                parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def _horizon(self, horizon: int | None) -> int:
        if horizon is None:
            return self.schema.horizon
        if not 1 <= int(horizon) <= self.schema.horizon:
            raise DataError(f"horizon {horizon} is outside 1..{self.schema.horizon} (the trained horizon)",
                            fix=f"ask for at most {self.schema.horizon} steps")
        return int(horizon)


def write_csv(table: pd.DataFrame, output: str | Path) -> None:
    """Write `table` atomically: a temporary file renamed into place."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}-", dir=output.parent)
    os.close(fd)
    try:
        table.to_csv(tmp, index=False, float_format="%.8g")
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def is_mlflow_uri(model: str) -> bool:
    return model.startswith(("models:/", "runs:/", "mlflow-artifacts:/")) or "://" in model


def load_any(model: str) -> ForecastPackage:
    """A package from a local directory, or through MLflow from a model URI."""
    if Path(model).exists() or not is_mlflow_uri(model):
        return ForecastPackage.load(model)
    import mlflow
    from mlflow.exceptions import MlflowException

    from forecaster.tracking import tracking_uri

    mlflow.set_tracking_uri(tracking_uri())
    try:
        return mlflow.pyfunc.load_model(model).unwrap_python_model().package
    except (MlflowException, OSError) as exc:
        raise PackageError(f"{model}: cannot load this MLflow model ({str(exc).splitlines()[0]})") from None


def evaluate_package(package: ForecastPackage, path: str, *, backtest_windows: int = 0, step: int = 1) -> dict:
    """Test-split metrics (the split recorded in the package), plus a rolling-origin backtest:
    the last `backtest_windows` forecast origins of every series, `step` steps apart."""
    from forecaster.data.windows import WindowDataset, prepare
    from forecaster.metrics import evaluate

    frame = package.read(path)
    data = prepare(package.data_config(path), frame=frame, scaler=package.scaler)
    batch = package.cfg.data.eval_batch_size
    metrics = evaluate(package.network, data.dataset("test"), data.scaler, batch_size=batch)
    if backtest_windows > 0:
        if step < 1:
            raise DataError(f"--step must be at least 1, got {step}")
        C, H = data.context_len, data.horizon
        lengths = np.diff(np.append(data.offsets, len(data.values)))
        starts = np.concatenate([off + n - C - H - step * np.arange(backtest_windows)
                                 for off, n in zip(data.offsets, lengths)])
        if (starts < data.offsets.repeat(backtest_windows)).any():
            raise DataError(f"{backtest_windows} origins {step} steps apart need "
                            f"{C + H + step * (backtest_windows - 1)} rows per series", file=path,
                            fix="lower --backtest-windows or --step")
        dataset = WindowDataset(data.values, starts, np.ones_like(starts), context_len=C, horizon=H,
                                n_targets=data.n_targets)
        back = evaluate(package.network, dataset, data.scaler, batch_size=batch)
        metrics.update({f"backtest_{k}": back[k] for k in ("mse", "mae", "mse_original", "mae_original")})
        metrics["backtest_windows"] = len(dataset)
    return metrics
