"""Cross-validation: forecasts from several cutoffs per series, each by a network that never read
a row at or after its cutoff — the table neuralforecast users know (`forecaster.compare.cutoffs`:
the cutoffs, the table, the scores).

Each fit is the normal pipeline (`forecaster.fit.experiment.train`, an MLflow child run) on the
file cut before its cutoff (`SeriesFrame.head`): the config's own split divides those rows (train
rows fit the network and the scaler, validation rows stop it early and calibrate its intervals,
test rows score it), so cross-validation measures what `train` with this config would have
forecast at each cutoff. Fixed-border splits (`ett`, `borders`) do not move with a cutoff and are
refused. Each window is forecast as `predict` forecasts (`ForecastPackage.predict_array`, or
`predict_intervals` with `model.levels`) from the rows before its origin, with the future-known
covariates of its horizon rows. With tracking, one parent run (tag `kind` = `cross_validation`)
holds a child run per fit, the table (`cross_validation.csv`), the scores (`scores.json`) and
each variant's scores as metrics `<score>.<variant>`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster import progress
from forecaster.atomic import check_file, write_file
from forecaster.compare import cutoffs
from forecaster.config import Config, DataConfig, with_variant
from forecaster.data import notes
from forecaster.data.io import read_frame
from forecaster.data.schema import Diagnostic, SeriesFrame
from forecaster.data.split import rows_needed
from forecaster.data.windows import check_lengths, prepare, season_period
from forecaster.errors import ConfigError, DataError
from forecaster.fit.checks import check_trainable
from forecaster.fit.experiment import experiment_name, train
from forecaster.scores.m4 import m4_frequency
from forecaster.serve.package import ForecastPackage
from forecaster.track import tracking
from forecaster.validation import check_at_least

KIND = "cross_validation"  # the parent run's `kind` tag
FORMATS = (".csv", ".parquet")
# Data settings a variant may change: they shape its windows and fit, not the series or the horizon
FIT_ONLY = ("context_len", "split", "ratios", "borders", "test_windows", "batch_size", "eval_batch_size")
FIT_ONLY += ("num_workers", "season_period", "calendar")


@dataclass
class CrossValidation:
    """The table, each variant's scores over every window, and the parent run's id (None: untracked)."""

    table: pd.DataFrame
    scores: dict[str, dict[str, float]]
    run_id: str | None


def cross_validation(cfg: Config, **settings) -> pd.DataFrame:
    """`run(cfg, **settings)`'s table: `unique_id, ds, cutoff, y, <variant>, <variant>-lo-80, ...`."""
    return run(cfg, **settings).table


def run(
    cfg: Config,
    *,
    variants: list[str] | None = None,
    n_windows: int = 3,
    step: int | None = None,
    refit: int = 0,
    console=None,
) -> CrossValidation:
    """The cross-validation of `variants` (default: the config's) on `cfg.data`'s file: the table
    `unique_id, ds, cutoff, y, <variant>, <variant>-lo-80, ...` (see `forecaster.compare.cutoffs`), each
    variant's scores over every window and the parent run's id.

    Args:
        n_windows: forecast windows per series, the newest ending at the series' end.
        step: rows between consecutive windows (default: the horizon).
        refit: fit a network before every `refit`-th window (1: before each); 0: fit once, before
            the oldest, and forecast every window with it.
        console: a rich Console for the fits' progress (None: quiet).

    Raises:
        ConfigError: a setting out of range, a fixed-border split, or variants that read other series.
        DataError: the file, or a series too short for the windows and the fit before the oldest.
    """

    configs = check_request(cfg, variants or [cfg.variant()], n_windows, step, refit)
    step, horizon = step or cfg.data.horizon, cfg.data.horizon
    frame = read_frame(cfg.data)
    notes.report(frame.diagnostics)
    frame, at = usable(frame, list(configs.values()), n_windows=n_windows, step=step)
    groups = cutoffs.fit_windows(n_windows, refit)
    settings = {"variants": ",".join(configs), "n_windows": n_windows, "step": step, "refit": refit}
    with (
        open_parent(cfg, settings, frame) as parent,
        progress.display(console, total=len(configs) * len(groups)),
    ):
        found = {variant: _variant(vcfg, frame, at, groups) for variant, vcfg in configs.items()}
        table = cutoffs.table(frame, at, horizon, found)
        scores = cutoffs.scores(frame, at, horizon, found, _mase_period(frame, cfg.data))
        _log(parent, table, scores)
    return CrossValidation(table, scores, parent.run_id)


def check_request(cfg: Config, variants: list[str], n_windows: int, step: int | None, refit: int) -> dict:
    """Each variant's config (its fits log no model), every setting checked before a file is read."""
    check_at_least("--n-windows", n_windows, 1)
    if step is not None:
        check_at_least("--step", step, 1)
    check_at_least("--refit", refit, 0)
    configs = {}
    for variant in variants:
        vcfg = check_trainable(with_variant(cfg, variant))
        if vcfg.data.split in ("ett", "borders"):
            raise ConfigError(
                f"cross-validation fits on the rows before each cutoff, which the '{vcfg.data.split}' split's "
                "fixed row borders do not follow; pass --data.split ratio (shares of those rows) or --data.split last"
            )
        differ = [f.name for f in dataclasses.fields(DataConfig) if f.name not in FIT_ONLY]
        differ = [name for name in differ if getattr(vcfg.data, name) != getattr(cfg.data, name)]
        if differ:
            raise ConfigError(
                f"variants.{variant} sets data.{differ[0]}: every variant of a cross-validation reads the same "
                f"series with the same horizon (only {', '.join(f'data.{n}' for n in FIT_ONLY)} may differ); "
                f"drop it from the config's variants: entry, or cross-validate {variant} on its own"
            )
        configs[variant] = replace(vcfg, tracking=replace(vcfg.tracking, log_model=False))
    return configs


def usable(frame: SeriesFrame, configs: list[Config], *, n_windows: int, step: int) -> tuple[SeriesFrame, np.ndarray]:
    """The frame (without its short series with `data.drop_short`) and each window's origin
    (series, W): a series needs the rows of its windows after the oldest origin and, before it,
    the rows the fit of every variant needs (`rows_needed`: context, horizon and split)."""
    data = configs[0].data
    needs = [rows_needed(c.data) for c in configs]
    if None in needs:  # no length gives a window in every split: the message says why
        check_lengths(frame, configs[needs.index(None)].data)
    need, after = max(needs), data.horizon + step * (n_windows - 1)
    lengths = np.array([len(t) for t in frame.times])
    short = [i for i, n in enumerate(lengths) if n < need + after]
    if short and (not data.drop_short or len(short) == len(lengths)):
        raise _too_short(frame, lengths, short, (need, after, n_windows, step), data)
    if short:
        ids = frame.schema.series_ids
        why = f"rows < {need + after}: {n_windows} windows {step} rows apart and a fit before them"
        dropped = [
            Diagnostic("dropped_short", ids[i], f"dropped series '{ids[i]}' ({lengths[i]} {why})") for i in short
        ]
        notes.report(dropped)
        frame = frame.keep([i for i in range(len(lengths)) if i not in short], dropped)
        lengths = np.array([len(t) for t in frame.times])
    return frame, cutoffs.origins(lengths, horizon=data.horizon, n_windows=n_windows, step=step)


def _too_short(frame: SeriesFrame, lengths, short: list[int], sizes: tuple, data: DataConfig) -> DataError:
    need, after, n_windows, step = sizes
    i = short[0]
    who = f"series '{frame.schema.series_ids[i]}' has" if frame.schema.layout == "long" else "the file has"
    fixes = ["lower --n-windows or --step", "lower --data.context_len / --data.horizon"]
    if frame.schema.layout == "long":
        fixes.append("pass --data.drop_short true to skip short series")
    return DataError(
        f"{who} {lengths[i]} rows; {n_windows} windows of horizon {data.horizon}, {step} rows apart, take the last "
        f"{after}, and the fit before the oldest needs {need} (context_len {data.context_len} + horizon "
        f"{data.horizon} with the '{data.split}' split): at least {need + after} rows per series"
        + (f" ({len(short)} series too short)" if len(short) > 1 else ""),
        file=frame.path,
        fix=", or ".join(fixes),
    )


def _variant(cfg: Config, frame: SeriesFrame, at: np.ndarray, groups: list[list[int]]) -> cutoffs.Forecasts:
    """One variant's forecasts of every window: a fit per group of windows, on the rows before the
    group's first origin; each window forecast from the rows before its own."""
    points, bands, scales = [], {}, []
    for windows in groups:
        package = _fit(cfg, frame, at[:, windows[0]], windows)
        for j in windows:
            point, found = _forecast(package, frame, at[:, j], cfg.model.levels)
            points.append(point)
            scales.append(package.scaler.scale[: frame.schema.n_targets])
            for level, bounds in found.items():
                bands.setdefault(level, []).append(bounds)
    stacked = {level: tuple(np.stack(side) for side in zip(*b)) for level, b in bands.items()}
    return cutoffs.Forecasts(np.stack(points), stacked, np.stack(scales))


def _fit(cfg: Config, frame: SeriesFrame, rows: np.ndarray, windows: list[int]) -> ForecastPackage:
    """A network fitted (a child run, tagged with the windows it forecasts) on the first `rows` rows
    of each series, as the package `predict` would load."""
    seen = replace(frame.head([int(n) for n in rows]), diagnostics=[])  # the parent run holds the notes
    data = prepare(cfg.data, frame=seen)
    outcome = train(cfg, prepared=data, nested=True, quiet=True)
    if outcome.run_id is not None:
        last = [t[-1] for t in seen.times]
        tags = {"cv.windows": ",".join(map(str, windows)), "cv.last_seen": f"{min(last)} .. {max(last)}"}
        tracking.Run(outcome.run_id).set_tags(tags)
    return ForecastPackage(cfg, data.schema, data.scaler, outcome.network, path=None, calibration=outcome.calibration)


def _forecast(package: ForecastPackage, frame: SeriesFrame, rows: np.ndarray, levels: list[float] | None):
    """Every series' forecast (series, h, K) from its first `rows` rows, and level -> (lo, hi) bounds;
    a model with future-known covariates reads their values over the horizon rows, as `predict` does."""
    seen = frame.head([int(n) for n in rows])
    s = package.schema
    if s.future_covariates:
        first = len(s.columns) - len(s.future_covariates)
        future = [v[o : o + s.horizon, first:] for v, o in zip(frame.values, rows)]
        seen = replace(seen, future=future)
    if levels:
        return package.predict_intervals(seen, None, list(levels))
    return package.predict_array(seen), {}


def _mase_period(frame: SeriesFrame, data: DataConfig) -> int:
    """MASE's seasonal period: M4's for its frequencies, else the data's season (as the fits' `m4_metrics`)."""
    m4 = m4_frequency(frame.schema.freq)
    return m4.period if m4 else max(season_period(frame.schema.freq, data), 1)


def open_parent(cfg: Config, settings: dict, frame: SeriesFrame):
    """The cross-validation's parent run (tag `kind` = `cross_validation`), with its settings and the data's notes."""
    tags = {tracking.KIND_TAG: KIND, **settings, "dataset": Path(frame.path).name, **notes.as_tags(frame.diagnostics)}
    return tracking.start_run(
        uri=cfg.tracking.uri,
        experiment=experiment_name(cfg),
        run_name=f"cross-validation-{cfg.name}",
        enabled=cfg.tracking.enabled,
        tags=tags,
        params={**settings, "config": cfg.name},
    )


def _log(parent, table: pd.DataFrame, scores: dict) -> None:
    if parent.run_id is None:
        return
    parent.log_text(table.to_csv(index=False), "cross_validation.csv")
    tracking.log_json(parent, scores, "scores.json")
    parent.log_metrics({f"{name}.{variant}": value for variant, row in scores.items() for name, value in row.items()})


def check_output(path: str | Path) -> Path:
    """`--output`: a file ending in .csv or .parquet (checked before any fit)."""
    path = Path(path)
    if path.is_dir() or str(path).endswith(("/", "\\")):
        raise ConfigError(f"--output {path}: is a folder; give a file name ending in {' or '.join(FORMATS)}")
    check_file(path, "--output")  # and no file where one of its folders should be
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(
            f"--output {path}: unknown format '{path.suffix}'; give a file name ending in {' or '.join(FORMATS)}"
        )
    return path


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the table as CSV or Parquet (by the suffix), atomically."""
    path = check_output(path)
    if path.suffix.lower() == ".parquet":
        return write_file(path, lambda tmp: table.to_parquet(tmp, index=False))
    return write_file(path, lambda tmp: table.to_csv(tmp, index=False))


def rich_scores(scores: dict, title: str):
    """The scores as a rich Table: a row per variant."""
    from rich.table import Table

    keys = [k for k in next(iter(scores.values()), {}) if k not in ("windows", "m4_series_without_scale")]
    shown = Table(title=title)
    for name in ["variant", *keys, "windows"]:
        shown.add_column(name, justify="left" if name == "variant" else "right")
    for variant, row in scores.items():
        shown.add_row(variant, *(f"{row[k]:.4f}" for k in keys), str(row["windows"]))
    return shown
