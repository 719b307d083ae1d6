"""Reading a model package as untrusted input: every file checked before anything in it is used.

A package directory may have been edited, truncated or crafted, so it is read like any user file:
each field of `forecaster.json`, `schema.json`, `scaler.json` and `config.yaml` is checked for
type and range, the files are checked against one another, and the weights' names and shapes are
read from the safetensors header before the network is built. The network is built under an
allocation budget of what those weights hold, so sizes that the weights do not back (a crafted
`context_len` or `d_model`) are refused in milliseconds instead of allocating gigabytes, and its
shapes are compared with the header's before the weights are read. Values that pass their format's
checks but that no training could have written (a scale beyond float32, radii below zero) are refused
too: they would forecast garbage with exit 0. Every file must be a regular file before it is opened
(a FIFO in its place would block the reader forever). Every refusal is a `PackageError` naming the
file and the field.

Like `forecaster.serve.package`, this imports neither Lightning, MLflow nor scikit-learn.
"""

from __future__ import annotations

import json
import math
import os
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors  # the factories torch.device(...) redirects

from forecaster.config import Config, load
from forecaster.data.covariates import covariate_problems
from forecaster.data.io import FLOAT32_MAX
from forecaster.data.scaling import Scaler
from forecaster.data.schema import Schema
from forecaster.errors import ConfigError, PackageError
from forecaster.models import build_network
from forecaster.validation import check_config

MAX_STEPS = 1_000_000  # context_len, horizon, period: far beyond a trainable window, cheap to index
MAX_TEXT_BYTES = 64 << 20  # a JSON/YAML file of the package; a million series ids fit in ~30 MB
LAYOUTS = ("wide", "long")


def corrupted(file: Path, problem: str) -> PackageError:
    """The one message for a package file that cannot be used."""
    return PackageError(
        f"{file}: the package is incomplete or corrupted: {problem}; "
        "save the model again with `forecaster train ... --save DIR`"
    )


def check_regular(file: Path) -> os.stat_result:
    """The file's status, if it exists and is a regular file (or a link to one): opening a FIFO, a
    socket or a device to read it could block for ever or read without end."""
    try:
        found = file.stat()
    except FileNotFoundError:
        raise corrupted(file, "the file is missing") from None
    except OSError as exc:
        raise corrupted(file, f"cannot be read ({exc})") from None
    if not stat.S_ISREG(found.st_mode):
        kind = "a folder" if stat.S_ISDIR(found.st_mode) else "not a regular file (a FIFO, socket or device)"
        raise corrupted(file, f"is {kind}")
    return found


def read_text(file: Path) -> str:
    """The file's text, if it exists, is a regular file of a plausible size and is UTF-8."""
    try:
        size = check_regular(file).st_size
        if size > MAX_TEXT_BYTES:
            raise corrupted(file, f"{size} bytes, more than the {MAX_TEXT_BYTES} a package file may have")
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise corrupted(file, "the file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise corrupted(file, f"cannot be read ({exc})") from None


def read_meta(file: Path, *, format_version: int, reader: str) -> dict[str, Any]:
    """`forecaster.json`: an object whose `format_version` this forecaster reads, with string
    `forecaster_version` and `variant` (`reader` names this forecaster's version in messages)."""
    try:
        meta = json.loads(read_text(file))
    except ValueError as exc:
        raise corrupted(file, f"not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise corrupted(file, f"expected a JSON object, got a JSON {type(meta).__name__}")
    version = meta.get("format_version")
    if version != format_version or isinstance(version, bool):
        raise PackageError(
            f"{file.parent}: package format version {version!r} is not supported "
            f"(this forecaster {reader} reads version {format_version})"
        )
    for name in ("forecaster_version", "variant"):
        if not isinstance(meta.get(name), str):
            raise corrupted(file, f"field '{name}' must be a string, got {json.dumps(meta.get(name))}")
    return meta


def read_config(file: Path) -> Config:
    """`config.yaml`, through the config loader (unknown keys, bad types and ranges refused)."""
    read_text(file)  # missing, oversized or not text: the same message as the other files
    try:
        return check_config(load(file))  # the same ranges every command checks
    except ConfigError as exc:
        raise corrupted(file, str(exc).removeprefix(f"{file}: ")) from None


def read_schema(file: Path) -> Schema:
    """`schema.json`: every field typed (`Schema.from_json`) and in range (`check_schema`)."""
    try:
        schema = Schema.from_json(read_text(file))
    except TypeError as exc:
        raise corrupted(file, str(exc)) from None
    except ValueError as exc:
        raise corrupted(file, f"not valid JSON ({exc})") from None
    problem = next(schema_problems(schema), None)
    if problem:
        raise corrupted(file, problem)
    return schema


def _offset(freq: Any):
    """pandas' offset for `freq`, or None if it is none. A deprecated alias (``H``, ``T``, ``M``) is
    none either: pandas 3 refuses it, pandas 2 accepts it with a FutureWarning; the package writes
    only current aliases, so one of these means a tampered package, whatever the pandas version."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        try:
            return pd.tseries.frequencies.to_offset(freq)
        except (ValueError, TypeError, FutureWarning):
            return None


def schema_problems(s: Schema):
    """What makes a package's schema unusable, first problem first (a generator of messages)."""
    if s.layout not in LAYOUTS:
        yield f"field 'layout' must be one of {', '.join(LAYOUTS)}, got {s.layout!r}"
    if (s.id_col is None) != (s.layout == "wide"):
        yield f"field 'id_col' must be {'null' if s.layout == 'wide' else 'a column name'} for the {s.layout} layout"
    if not s.columns or len(set(s.columns)) != len(s.columns):
        yield f"field 'columns' must name each feature column once, got {s.columns}"
    if {s.time_col, s.id_col} & set(s.columns):
        yield "field 'columns' must not repeat the time or id column"
    top = 1 if s.layout == "long" else len(s.columns)
    if not 1 <= s.n_targets <= top:
        yield f"field 'n_targets' must be between 1 and {top}, got {s.n_targets}"
    step = _offset(s.freq)
    if step is None:
        yield f"field 'freq' is not a pandas frequency: {s.freq!r}"
    elif getattr(step, "n", 1) < 1:
        yield f"field 'freq' must be a positive pandas frequency, got {s.freq!r}"
    for name in ("context_len", "horizon", "period"):
        value = getattr(s, name)
        if value is None or not 1 <= value <= MAX_STEPS:
            yield f"field '{name}' must be an integer between 1 and {MAX_STEPS}, got {json.dumps(value)}"
    yield from covariate_problems(s)


def read_scaler(file: Path, schema: Schema) -> Scaler:
    """`scaler.json`: finite means, finite positive scales, one per feature column."""
    try:
        scaler = Scaler.from_dict(json.loads(read_text(file)))
    except ValueError as exc:
        raise corrupted(file, str(exc)) from None
    if len(scaler.mean) != len(schema.columns):  # calendar features are not scaled
        raise corrupted(file, f"{len(scaler.mean)} columns, but schema.json has {len(schema.columns)} feature columns")
    problem = next(scaler_problems(scaler), None)
    if problem:
        raise corrupted(file, problem)
    return scaler


def scaler_problems(scaler: Scaler):
    """What no training could have fitted (the data are refused beyond float32: `forecaster.data.io`),
    though `Scaler.from_dict` accepts it as finite: a mean or scale beyond FLOAT32_MAX, or a scale
    below the rounding error of its mean (a fitted scale is 1.0 or above it: `Scaler.fit`)."""
    for name, values in (("mean", abs(scaler.mean)), ("scale", scaler.scale)):
        if (values > FLOAT32_MAX).any():
            i = int((values > FLOAT32_MAX).argmax())
            yield f"field '{name}' entry {i} is {values[i]:g}, beyond any value a data file may hold ({FLOAT32_MAX:g})"
    tiny = scaler.scale < abs(scaler.mean) * float(np.finfo(np.float64).eps)
    if tiny.any():
        i = int(tiny.argmax())
        yield f"field 'scale' entry {i} is {scaler.scale[i]:g}, below the rounding error of its mean {scaler.mean[i]:g}"


def check_calibration(file: Path, calibration) -> None:
    """Radii that no calibration could have made: a residual level's radius is a quantile of absolute
    errors, so never below zero (a negative one would shrink its interval to the point forecast; a CQR
    level's may be negative: it narrows the model's own quantiles)."""
    for i, kind in enumerate(calibration.scores):
        if kind != "residual":
            continue
        tables = [("pooled", calibration.pooled), *((f"series.{k}", r) for k, r in calibration.series.items())]
        for where, radii in tables:
            if (radii[i] < 0).any():
                raise corrupted(file, f"field '{where}' has a negative radius for the level {calibration.levels[i]:g}")


def check_agreement(directory: Path, meta: dict[str, Any], cfg: Config, schema: Schema) -> None:
    """The files describe one model: the same variant and window sizes everywhere."""
    pairs = [
        ("forecaster.json", "variant", meta["variant"], "config.yaml", "model", cfg.variant()),
        ("schema.json", "context_len", schema.context_len, "config.yaml", "data.context_len", cfg.data.context_len),
        ("schema.json", "horizon", schema.horizon, "config.yaml", "data.horizon", cfg.data.horizon),
    ]
    for file, field, value, other, other_field, other_value in pairs:
        if value != other_value:
            problem = f"{field} {value!r} disagrees with {other}'s {other_field} {other_value!r}"
            raise corrupted(directory / file, problem)


def build_checked(weights: Path, cfg: Config, schema: Schema, *, config_file: Path) -> nn.Module:
    """The network the package describes, filled with its weights.

    The weights' names and shapes are read from the safetensors header first; the network is then
    built under an `AllocationBudget` of about what those weights hold, so sizes in config.yaml
    or schema.json that the weights do not back are refused before any large tensor exists. (Not
    built on torch's "meta" device: its elementwise kernels import torch._dynamo, seconds that
    every `forecaster predict` would pay.)
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    check_regular(weights)
    try:
        with safe_open(str(weights), framework="pt") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (header only)
    except (OSError, SafetensorError, RuntimeError, ValueError) as exc:
        raise refused(weights, f"not a valid safetensors file ({str(exc).splitlines()[0]})") from None
    held = sum(math.prod(shape) for shape in found.values())
    try:
        with AllocationBudget(2 * held + 4 * MAX_STEPS):  # buffers (index vectors) may add a few steps' worth
            network = build_network(cfg.model, schema)
    except ConfigError as exc:
        raise corrupted(config_file, f"cannot build its model for schema.json ({exc})") from None
    except OverBudget as exc:
        sizes = f"config.yaml and schema.json describe a network of more than {exc.asked} values"
        raise refused(weights, f"{sizes}, the file holds {held}") from None
    problem = _mismatch({k: tuple(v.shape) for k, v in network.state_dict().items()}, found)
    if problem:
        raise refused(weights, f"{problem}, for the model that config.yaml and schema.json describe")
    try:
        network.load_state_dict(load_file(str(weights)), strict=True)
    except (OSError, SafetensorError, RuntimeError, ValueError) as exc:
        raise refused(weights, f"not a valid safetensors file for this model ({str(exc).splitlines()[0]})") from None
    return network


class OverBudget(Exception):
    """A tensor constructor asked for more values than an `AllocationBudget` allows."""

    def __init__(self, asked: int):
        super().__init__(f"{asked} values")
        self.asked = asked


class AllocationBudget(TorchFunctionMode):
    """Within this context, tensor constructors (`torch.empty`, `randn`, `zeros`, `arange`, ...: the
    ones `torch.device(...)` redirects) may create at most `limit` values in all; the size of each
    request is worked out on the meta device first, so the one over the limit raises `OverBudget`
    before it allocates."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.used = limit, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _device_constructors():
            self.used += _numel(func, args, kwargs)
            if self.used > self.limit:
                raise OverBudget(self.used)
        return func(*args, **kwargs)


def _numel(constructor, args: tuple, kwargs: dict) -> int:
    """The number of values `constructor(*args, **kwargs)` would create, from a meta-device call.

    `rand` and `randn` are sized by `empty` (the same size arguments) and `arange` by arithmetic:
    their meta kernels are written in Python and import sympy, seconds a forecast should not pay."""
    if constructor is torch.arange:  # arange(end), arange(start, end[, step]), or by keyword
        named = dict(zip(("start", "end", "step"), args if len(args) > 1 or "end" in kwargs else (0, *args)))
        named.update({k: kwargs[k] for k in ("start", "end", "step") if k in kwargs})
        start, end, step = (float(named.get(k, default)) for k, default in (("start", 0), ("end", 0), ("step", 1)))
        return max(0, math.ceil((end - start) / step))
    if constructor in (torch.rand, torch.randn):
        constructor, kwargs = torch.empty, {k: v for k, v in kwargs.items() if k != "generator"}
    return constructor(*args, **{**kwargs, "device": "meta"}).numel()


def refused(weights: Path, problem: str) -> PackageError:
    return PackageError(f"{weights}: refused: {problem}")


def _mismatch(expected: dict[str, tuple], found: dict[str, tuple]) -> str | None:
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing:
        return f"tensor '{missing[0]}' is missing"
    if extra:
        return f"tensor '{extra[0]}' is not part of the model"
    for name, shape in expected.items():
        if found[name] != shape:
            return f"tensor '{name}' has shape {list(found[name])}, expected {list(shape)}"
    return None
