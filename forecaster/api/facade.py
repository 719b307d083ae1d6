"""The Python API: the command line's pipeline over a pandas DataFrame, in neuralforecast's words.

    import forecaster as fc
    model = fc.fit(df, horizon=24, variant="causal", auto=True)   # df: long (unique_id, ds, y, ...) or wide
    model.predict(level=[80, 90])        # the steps after the history it was fit on; or model.predict(new_df)
    cmp = fc.compare(df, horizon=24, variants=["causal", "linear", "naive"], auto=True)
    cmp.table                            # the ranked table; cmp.best: the deployed model
    fc.cross_validation(df, horizon=24, variants=["causal", "linear"], n_windows=3)
    model.save("pkg"); fc.load("pkg")    # the package `forecaster train --save` writes

Each call is the command of the same name: the frame is read as a CSV of the same cells would be
(`forecaster.data.sources`: the same checks, errors and notes), `auto=True` is `--auto`, settings are
keyword arguments with the config's names (`forecaster.api.settings`), and the model is the one
`--save` deploys (refitted on every row unless `refit=False`). Forecast frames use neuralforecast's
columns: `unique_id`, `ds`, then the model's name and its `-lo-80` / `-hi-80` bands; a wide frame's
columns are its series (`unique_id` = the column's name).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from forecaster.api.settings import build, explicit, overrides
from forecaster.config import Config
from forecaster.data import sources


@dataclass
class Model:
    """A deployable model: its package, and the history it was fit on (what `predict()` continues)."""

    package: Any  # forecaster.serve.package.ForecastPackage (an EnsemblePackage for an ensemble)
    history: pd.DataFrame | None = None
    metrics: dict = field(default_factory=dict)  # the fit's test metrics (its held-out windows), as `train` prints
    run_id: str | None = None  # the fit's MLflow run, when tracked

    @property
    def name(self) -> str:
        """The model's column name in forecasts: its variant (`causal`, `linear`, ...) or `ensemble`."""
        from forecaster.serve.ensemble import EnsemblePackage

        return "ensemble" if isinstance(self.package, EnsemblePackage) else self.package.cfg.variant()

    def predict(
        self,
        df: pd.DataFrame | None = None,
        *,
        level: list[float] | None = None,
        horizon: int | None = None,
        device: str | None = None,
        extend: str = "none",
    ) -> pd.DataFrame:
        """The `horizon` steps (default: the trained horizon) after `df`, or after the history the model
        was fit on: `unique_id, ds, <name>[, <name>-lo-<level>, <name>-hi-<level>, ...]`. `device`
        (cpu, cuda, cuda:N, mps, auto) moves the model there first, and it stays; None: where it is.
        `extend="recursive"` forecasts beyond the trained horizon by feeding forecasts back as inputs
        (`forecaster.serve.extension`: errors compound; no intervals there)."""
        from forecaster.data.notes import report
        from forecaster.errors import ConfigError
        from forecaster.scores.intervals import parse_levels
        from forecaster.serve.devices import resolve

        if device is not None:
            self.package.to(resolve(device, option="device"))
        levels = parse_levels(",".join(str(v) for v in level)) if level else None
        source = df if df is not None else self.history
        if source is None:
            raise ConfigError("a loaded model has no history: pass the recent rows, model.predict(df)")
        frame = self.package.read(source)
        report(frame.diagnostics)
        return as_long(self.package.forecast(frame, horizon, levels, extend), self.package.schema, self.name)

    def save(self, directory: str | Path) -> Path:
        """Write the package (as `forecaster train --save DIR` does); `forecaster predict --model DIR` reads it."""
        return self.package.save(directory)

    def plot_forecasts(self, df: pd.DataFrame | None = None, *, n_windows: int = 3, level=(80, 90)):
        """Forecasts against actuals on `n_windows` windows of the test period of `df` (default: the
        history), timestamps on the axis, the `level` % intervals shaded (a matplotlib Figure)."""
        from forecaster import plots

        data = self._windows(df)
        calibration = self.package.calibration if level else None
        return plots.forecasts_on_test_windows(
            self.package.network, data, variant=self.name, n_windows=n_windows, calibration=calibration, levels=level
        )

    def plot_attention(self, df: pd.DataFrame | None = None):
        """The attention weights of every layer and head on one test window of `df` (default: the history)."""
        from forecaster import plots

        return plots.attention_on_test_window(self.package.network, self._windows(df), variant=self.name)

    def _windows(self, df: pd.DataFrame | None):
        """`df` (default: the history) split and windowed as the model's training data was."""
        from forecaster.serve.evaluation import windowed

        return windowed(self.package, df if df is not None else self.history)


@dataclass
class Comparison:
    """`compare`'s result: the ranked table, every fit's row, and the deployed model."""

    table: pd.DataFrame  # one row per variant, ranked (the command's table)
    rows: pd.DataFrame  # one row per fit (variant x seed), as `--metrics-out` writes them
    best: Model | None  # the validation winner (refitted unless refit=False), as `--save-best` deploys it
    models: dict[str, Model] = field(default_factory=dict)  # each variant's validated fit (its first seed)


def fit(
    df: pd.DataFrame,
    *,
    horizon: int | None = None,
    variant: str | None = None,
    auto: bool = False,
    refit: bool = True,
    config: Config | str | Path | None = None,
    **settings,
) -> Model:
    """Train `variant` (default: the config's, `causal`) on `df`, as `forecaster train --save` does."""
    from forecaster.auto.rules import as_records
    from forecaster.config import with_variant
    from forecaster.fit.checks import check_trainable
    from forecaster.fit.experiment import train
    from forecaster.serve.loading import load_local

    with sources.in_memory(df) as path, tempfile.TemporaryDirectory(prefix="forecaster-") as tmp:
        cfg, derived = _config(path, horizon, config, settings, auto=auto, refit=refit)
        cfg = check_trainable(with_variant(cfg, variant or cfg.variant()))
        outcome = train(cfg, save=Path(tmp) / "model", quiet=True, derived=as_records(derived))
        package = load_local(Path(tmp) / "model")
    return Model(package, df, outcome.metrics, outcome.run_id)


def compare(
    df: pd.DataFrame,
    *,
    horizon: int | None = None,
    variants: list[str] | None = None,
    seeds: int = 1,
    ensemble_k: int = 3,
    auto: bool = False,
    refit: bool = True,
    config: Config | str | Path | None = None,
    **settings,
) -> Comparison:
    """Compare `variants` (default: every one, the classical ones where affordable) over `seeds`, choose on
    validation and deploy the winner, as `forecaster compare --save-best` does."""
    from forecaster.compare.comparison import compare as run
    from forecaster.compare.comparison import parse_variants
    from forecaster.serve.loading import load_local

    names = parse_variants(",".join(variants) if variants else None)
    fits: list = []
    with sources.in_memory(df) as path, tempfile.TemporaryDirectory(prefix="forecaster-") as tmp:
        cfg, derived = _config(path, horizon, config, settings, auto=auto, refit=refit)
        best = Path(tmp) / "best"
        rows, summary = run(
            cfg, variants=names, seeds=seeds, ensemble_k=ensemble_k, save_best=best, derived=derived,
            classical_by_cost=not variants, fits_out=fits,
        )  # fmt: skip
        package = load_local(best) if best.exists() else None
    winner = next((r for r in rows if r.val_winner), None)
    model = None if package is None else Model(package, df, dict(winner.metrics) if winner else {}, None)
    table = pd.DataFrame(summary)
    return Comparison(table, pd.DataFrame([r.to_json() for r in rows]), model, validated_models(fits, df))


def validated_models(fits: list, df: pd.DataFrame) -> dict[str, Model]:
    """Each variant's first fit with a network, as an in-memory package calibrated on its validation windows."""
    from forecaster.scores.intervals import calibrate
    from forecaster.serve.package import ForecastPackage

    models: dict[str, Model] = {}
    for fit in fits:
        variant = fit.cfg.variant()
        if variant in models or fit.network is None:
            continue
        calibration = calibrate(fit.network, fit.data)
        package = ForecastPackage(fit.cfg, fit.data.schema, fit.data.scaler, fit.network, None, calibration)
        models[variant] = Model(package, df, dict(fit.row.metrics), fit.row.run_id)
    return models


def inspect(df: pd.DataFrame, *, auto: bool = False, config: Config | str | Path | None = None, **settings) -> str:
    """What `forecaster data inspect` prints for `df`: layout, time column, frequency, series, windows."""
    from forecaster.data.inspection import inspect_file

    with sources.in_memory(df) as path:
        cfg, _ = _config(path, None, config, settings, auto=auto, refit=True, probe=False)
        return inspect_file(path, cfg.data)


def cross_validation(
    df: pd.DataFrame,
    *,
    horizon: int | None = None,
    variants: list[str] | None = None,
    n_windows: int = 3,
    step: int | None = None,
    refit: int = 0,
    auto: bool = False,
    config: Config | str | Path | None = None,
    **settings,
) -> pd.DataFrame:
    """`unique_id, ds, cutoff, y, <variant>, <variant>-lo-80, ...` for `n_windows` cutoffs per series, as
    `forecaster cross-validation` writes it (`refit`: fit again every `refit` cutoffs; 0: once)."""
    from forecaster.compare import cross_validation as cv

    with sources.in_memory(df) as path:
        cfg, _ = _config(path, horizon, config, settings, auto=auto, refit=True, probe=False)
        return cv.run(cfg, variants=variants, n_windows=n_windows, step=step, refit=refit).table


def load(model: str | Path, *, device: str = "cpu") -> Model:
    """A package folder (`save`, `--save`, `--save-best`) or an MLflow model URI (`models:/name@champion`),
    forecasting on `device`: cpu (a forecast is a small batch), cuda, cuda:N, mps or auto."""
    from forecaster.serve.loading import load_any

    return Model(load_any(model, device=device, option="device"))


def _config(path: str, horizon: int | None, config, settings: dict, *, auto: bool, refit: bool, probe: bool = True):
    """(the checked config for `df` at `path`, the settings `auto` derived)."""
    given = [("data.horizon", horizon)] if horizon is not None else []  # None: the config's
    pairs = [("data.path", path), *given, ("selection.refit", refit), *overrides(settings)]
    cfg = build(config, pairs)
    if not auto:
        return cfg, []
    from forecaster.auto.apply import apply

    return apply(cfg, explicit(config, pairs), probe=probe)


def as_long(table: pd.DataFrame, schema, name: str) -> pd.DataFrame:
    """A forecast in the input's layout (`ForecastPackage.forecast`) in neuralforecast's columns:
    `unique_id, ds, <name>, <name>-lo-80, ...`; a wide layout's target columns become series."""
    if schema.layout == "long":
        value = schema.columns[0]
        renamed = {schema.id_col: "unique_id", schema.time_col: "ds", value: name}
        renamed |= {c: name + c[len(value) :] for c in table.columns if c.startswith(f"{value}-")}
        return table.rename(columns=renamed)
    parts = []
    for target in schema.targets:
        own = [c for c in table.columns if c == target or c.startswith(f"{target}-")]
        part = table[[schema.time_col, *own]].rename(columns={c: name + c[len(target) :] for c in own})
        parts.append(part.rename(columns={schema.time_col: "ds"}).assign(unique_id=target))
    out = pd.concat(parts, ignore_index=True)
    return out[["unique_id", *[c for c in out.columns if c != "unique_id"]]]
