"""Which columns of a table are read, and as what: one `Columns` record.

A training file's columns are detected or named by the data config (`from_config`): the layout,
the time column, a long file's id column, the value columns (targets first, the future-known
covariates last) and the static columns. A model's input is read with the columns its `Schema`
recorded when it was trained (`from_schema`), never with a config rebuilt from them. A missing
column is a `DataError` naming the file, the columns there are and the flag that names it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forecaster.config import DataConfig
from forecaster.data.schema import Schema
from forecaster.data.times import looks_like_times
from forecaster.errors import DataError

TIME_NAMES = ("ds", "date", "datetime", "timestamp", "time")
ID_NAMES = ("unique_id", "series_id", "item_id", "series", "id")
VALUE_NAMES = ("y", "value", "target")


@dataclass(frozen=True)
class Columns:
    """The columns of a table that make its series."""

    layout: str  # wide | long
    time_col: str
    id_col: str | None  # long layout only
    targets: list[str]
    covariates: list[str]  # input-only, the future-known ones last (Schema.n_future)
    static: list[str]  # per-series constants (long layout), not among the value columns


def from_config(table: pd.DataFrame, cfg: DataConfig, path: str) -> Columns:
    """The columns of a training file: detected, or named by `cfg`."""
    layout = _detect_layout(table, cfg, path)
    time_col = _time_column(table, cfg, path)
    id_col = _id_column(table, cfg, path) if layout == "long" else None
    targets, covariates = _value_columns(table, cfg, path, layout, time_col, id_col)
    return Columns(layout, time_col, id_col, targets, covariates, list(cfg.static or []))


def from_schema(table: pd.DataFrame, schema: Schema, path: str) -> Columns:
    """The columns a model of `schema` reads, each checked to be in `table` (with the messages and
    flags `from_config` gives)."""
    time_col = _need_column(table, schema.time_col, "time", "--data.time_col", path)
    id_col = _need_column(table, schema.id_col, "series id", "--data.id_col", path) if schema.id_col else None
    for k, col in enumerate(schema.columns):  # a long file's one target is named by --data.value_col
        flag = "--data.value_col" if schema.layout == "long" and k == 0 else "--data.targets / --data.covariates"
        _need_column(table, col, "value", flag, path)
    return Columns(schema.layout, time_col, id_col, schema.targets, schema.covariates, list(schema.static))


def _find(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in table.columns}
    return next((lower[n] for n in names if n in lower), None)


def _detect_layout(table: pd.DataFrame, cfg: DataConfig, path: str) -> str:
    if cfg.format not in ("auto", "wide", "long"):
        raise DataError(f"unknown format '{cfg.format}'", file=path, fix="use --data.format auto|wide|long")
    if cfg.format != "auto":
        return cfg.format
    return "long" if cfg.id_col or _find(table, ID_NAMES) else "wide"


def _need_column(table: pd.DataFrame, name: str, what: str, flag: str, path: str) -> str:
    if name not in table.columns:
        raise DataError(
            f"no {what} column '{name}'; columns are {list(table.columns)}",
            file=path,
            row=1,
            fix=f"name the {what} column with {flag}",
        )
    return name


def _time_column(table: pd.DataFrame, cfg: DataConfig, path: str) -> str:
    if cfg.time_col:
        return _need_column(table, cfg.time_col, "time", "--data.time_col", path)
    found = _find(table, TIME_NAMES)
    if found:
        return found
    first = table.columns[0]
    if looks_like_times(table[first].head(20)):
        return first
    raise DataError(
        f"no time column found (looked for {', '.join(TIME_NAMES)} and a first column of "
        f"timestamps); columns are {list(table.columns)}",
        file=path,
        row=1,
        fix="name it with --data.time_col",
    )


def _id_column(table: pd.DataFrame, cfg: DataConfig, path: str) -> str:
    if cfg.id_col:
        return _need_column(table, cfg.id_col, "series id", "--data.id_col", path)
    found = _find(table, ID_NAMES)
    if not found:
        raise DataError(
            f"a long file needs a series id column (one of {', '.join(ID_NAMES)}); columns are {list(table.columns)}",
            file=path,
            row=1,
            fix="name it with --data.id_col, or use --data.format wide",
        )
    return found


def _value_columns(
    table: pd.DataFrame, cfg: DataConfig, path: str, layout: str, time_col: str, id_col: str | None
) -> tuple[list[str], list[str]]:
    covariates, future, static = list(cfg.covariates or []), list(cfg.future_covariates or []), cfg.static or []
    if layout == "long":
        value = cfg.value_col or _find(table, VALUE_NAMES)
        if value is None:
            raise DataError(
                f"a long file needs a value column (one of {', '.join(VALUE_NAMES)}); columns "
                f"are {list(table.columns)}",
                file=path,
                row=1,
                fix="name it with --data.value_col",
            )
        targets = [_need_column(table, value, "value", "--data.value_col", path)]
        if cfg.covariates is None:  # every other column is an input-only covariate
            covariates = [c for c in table.columns if c not in (time_col, id_col, value, *static)]
    else:
        taken = {time_col, *covariates, *future}
        targets = list(cfg.targets or [c for c in table.columns if c not in taken])
    covariates = [c for c in covariates if c not in future] + future  # future-known last (Schema.n_future)
    for col in targets + covariates:
        _need_column(table, col, "value", "--data.targets / --data.covariates", path)
    if not targets:
        raise DataError(
            "no value columns besides the time column", file=path, row=1, fix="add at least one numeric column"
        )
    return targets, covariates
