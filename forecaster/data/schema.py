"""The data's records: the one `Schema`, the validated `SeriesFrame`, and typed `Diagnostic`s.

The schema is the one record of what a dataset is: layout, columns, frequency, series, and the
window sizes.

Every other object derives these facts from a `Schema` instead of holding its own copy: a
`SeriesFrame` is a schema plus the series' rows; `prepare()` adds the window facts (`context_len`,
`horizon`, `period`) and `PreparedData` exposes that schema; the DataModule exposes it; a model
package stores it as `schema.json`. Its `n_features`, `n_targets`, `context_len`, `horizon` and
`period` attributes are what a network is sized by. Nothing here imports torch or pandas.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


COVARIATE_FIELDS = ("future_covariates", "calendar", "static", "static_categories", "static_mean", "static_scale")


@dataclass(frozen=True, kw_only=True)
class Schema:
    """What a dataset holds and, once windows are chosen, what a model reads and writes.

    Attributes:
        layout: ``wide`` (one column per variable) or ``long`` (``unique_id, ds, y`` rows).
        time_col: the time column.
        id_col: the series id column (long layout), else None.
        columns: the feature columns F, targets first, then input-only covariates.
        n_targets: the first `n_targets` columns are forecast (K).
        freq: the pandas frequency string of every series.
        context_len: input steps L (None until windows are chosen).
        horizon: forecast steps H (None until windows are chosen).
        period: seasonal period in steps (None until windows are chosen).
        series_ids: one id per series (a wide file's single series is named after the file).
        tz: the time stamps' convention: ``naive``, one offset ``+HH:MM``, or ``varying`` offsets
            (a zone with daylight saving); None when not recorded (packages saved before it was).
            Stamps with offsets are held as UTC; forecasts are written back in this convention
            (`forecaster.data.times`).
        dayfirst: the order numeric day/month dates were read in: True (13/01/2020), False
            (01/13/2020); None when not decided (year-first dates) or not recorded. `predict` reads new
            files in this order (`forecaster.data.dates`).
        future_covariates: the columns whose future values are known; the last of `columns`.
        calendar: calendar features (`forecaster.data.calendar`), each two input features (sin,
            cos) after `columns`; known over the horizon too.
        static: per-series constant columns (long layout), not among `columns`.
        static_categories: for each static column, its categories (embedded), or [] for a number.
        static_mean, static_scale: a numeric static column's standardisation (0 and 1 for a
            categorical one), fitted on the training series.
        fitted_on: the rows a model's network was fitted on: ``train`` (the training split), or
            ``every row`` (refitted before deploying, the validation and test periods included: its
            scores on those rows are in-sample).
    """

    layout: str
    time_col: str
    id_col: str | None
    columns: list[str]
    n_targets: int
    freq: str
    context_len: int | None = None
    horizon: int | None = None
    period: int | None = None
    series_ids: list[str] = field(default_factory=list)
    tz: str | None = None
    dayfirst: bool | None = None
    future_covariates: list[str] = field(default_factory=list)
    calendar: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)
    static_categories: list[list[str]] = field(default_factory=list)
    static_mean: list[float] = field(default_factory=list)
    static_scale: list[float] = field(default_factory=list)
    fitted_on: Literal["train", "every row"] = "train"

    @property
    def n_features(self) -> int:
        """F: the file's columns, then two per calendar feature."""
        return len(self.columns) + 2 * len(self.calendar)

    @property
    def n_future(self) -> int:
        """Input features known over the horizon: the last `n_future` of the F (user columns, calendar)."""
        return len(self.future_covariates) + 2 * len(self.calendar)

    @property
    def static_cardinalities(self) -> list[int]:
        """Per static column: its number of categories, or 0 for a numeric one."""
        return [len(c) for c in self.static_categories]

    @property
    def targets(self) -> list[str]:
        return self.columns[: self.n_targets]

    @property
    def covariates(self) -> list[str]:
        return self.columns[self.n_targets :]

    def with_windows(self, *, context_len: int, horizon: int, period: int) -> Schema:
        """This schema with the window sizes a model is trained for."""
        return replace(self, context_len=context_len, horizon=horizon, period=period)

    def with_series(self, series_ids: list[str]) -> Schema:
        """This schema for a subset (or another set) of series."""
        return replace(self, series_ids=list(series_ids))

    def to_json(self) -> str:
        """`schema.json` of a model package (format version 1). The covariate fields are written
        only when a dataset has covariates, `dayfirst` only for day/month dates, `fitted_on` only
        for a refit, so a package without them reads as before."""
        fields = asdict(self)
        unset = {k for k in COVARIATE_FIELDS if not fields[k]} | ({"dayfirst"} if self.dayfirst is None else set())
        unset |= {"fitted_on"} if self.fitted_on == "train" else set()
        raw = {k: v for k, v in fields.items() if k not in unset}
        return json.dumps(raw, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Read `to_json`'s output, every field checked against its annotation.

        The check is read from the dataclass's type hints, so a new field needs no new code here.
        Ranges (a known layout, a valid frequency, positive lengths) are the package loader's.

        Raises:
            ValueError: the text is not JSON.
            TypeError: not a JSON object, or an unknown, missing or ill-typed field (named).
        """
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise TypeError(f"expected a JSON object of fields, got a JSON {_json_kind(raw)}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, value in raw.items():
            if name not in fields:
                raise TypeError(f"unknown field '{name}'; valid: {', '.join(fields)}")
            if not _matches(value, hints[name]):
                raise TypeError(f"field '{name}' must be {_describe(hints[name])}, got {json.dumps(value)[:80]}")
        required = [n for n, f in fields.items() if f.default is f.default_factory is dataclasses.MISSING]
        missing = [n for n in required if n not in raw]
        if missing:
            raise TypeError(f"missing field '{missing[0]}'")
        return cls(**raw)


def _matches(value: Any, hint: Any) -> bool:
    """Whether a JSON value is of the annotated type (str, int, float, bool, None, list[...], unions)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_matches(v, args[0]) for v in value)
    if origin is Literal:
        return isinstance(value, str) and value in args
    if hint is type(None):
        return value is None
    if hint is float:  # JSON writes 1.0 as 1
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint in (int, str):
        return isinstance(value, hint) and not isinstance(value, bool)  # bool is an int to Python, not to us
    if hint is bool:
        return isinstance(value, bool)
    raise TypeError(f"Schema.from_json cannot check a field annotated {hint!r}; extend _matches")


def _describe(hint: Any) -> str:
    """`int | None` -> 'an integer or null', for messages."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin is list:
        return f"a list of {_describe(args[0]).split(' ', 1)[1]}s"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    names = {type(None): "null", int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return names.get(hint, str(hint))


def _json_kind(value: Any) -> str:
    kinds = {list: "list", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


DIAGNOSTIC_KINDS = ("sorted", "filled_gaps", "filled_missing", "dropped_short", "clipped", "short_validation")


@dataclass(frozen=True)
class Diagnostic:
    """A lenient choice that changed the data, reported rather than silent.

    Attributes:
        kind: one of `DIAGNOSTIC_KINDS`.
        series: the series concerned (a wide file's single series is named after the file).
        message: the sentence shown to the user.
    """

    kind: str
    series: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class SeriesFrame:
    """Validated series: the file's schema, and one time index and (rows, F) array per series.

    `times[i]` and `values[i]` belong to `schema.series_ids[i]`; the columns of `values` are
    `schema.columns` (targets first, then covariates).
    """

    schema: Schema
    path: str
    header: list[str]  # the input's column names, as read
    times: list[pd.DatetimeIndex]
    values: list[np.ndarray]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    static: list[list[str]] | None = None  # per series, its value of each `schema.static` column, as text
    future: list[np.ndarray] | None = None  # predict: per series, (H, future covariates) known values
    # per series, (rows, n_targets): True where the file gave the target's value, False where `data.fill`
    # (or a filled gap) made it up; None when every target cell was observed. Filled cells are inputs,
    # never targets: no loss, yardstick, metric or conformal score counts them (forecaster.data.windows)
    observed: list[np.ndarray] | None = None

    @property
    def n_rows(self) -> int:
        return sum(len(t) for t in self.times)

    def series(self):
        """(id, times, values) of each series."""
        return zip(self.schema.series_ids, self.times, self.values)

    def keep(self, indices: list[int], diagnostics: list[Diagnostic] = ()) -> SeriesFrame:
        """A new frame of the series at `indices`, with `diagnostics` added to this frame's."""
        return SeriesFrame(
            self.schema.with_series([self.schema.series_ids[i] for i in indices]),
            self.path,
            self.header,
            [self.times[i] for i in indices],
            [self.values[i] for i in indices],
            [*self.diagnostics, *diagnostics],
            None if self.static is None else [self.static[i] for i in indices],
            None if self.future is None else [self.future[i] for i in indices],
            None if self.observed is None else [self.observed[i] for i in indices],
        )

    def head(self, rows: list[int]) -> SeriesFrame:
        """A new frame of the first `rows[i]` rows of each series i (what a fit or a forecast before
        a cutoff may read; `forecaster.compare.cross_validation`); ids, static values and notes kept."""
        if len(rows) != len(self.times) or any(not 0 < n <= len(t) for n, t in zip(rows, self.times)):
            raise ValueError(f"rows must give 1..length rows for each of the {len(self.times)} series, got {rows}")
        return dataclasses.replace(
            self,
            times=[t[:n] for t, n in zip(self.times, rows)],
            values=[v[:n] for v, n in zip(self.values, rows)],
            future=None,
            observed=None if self.observed is None else [m[:n] for m, n in zip(self.observed, rows)],
        )
