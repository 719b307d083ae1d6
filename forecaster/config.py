"""Typed configuration: nested dataclasses are the single source of truth.

YAML files in ``configs/`` and dotted command-line overrides (``--data.context_len 336``) fill the same
dataclasses, parsed and typed by jsonargparse from their type hints (as litgpt does; nothing here imports
Lightning). This module adds what jsonargparse does not say: an unknown key is an error naming the valid
ones, an ill-typed value names the field, variant names are checked in one place (`check_variant`).
Values that follow from the data (number of columns, head size) are computed elsewhere, never configured.
Per-variant settings live in ``variants:`` (variant name -> dotted overrides, applied by `with_variant`).
Precedence: the YAML's sections < ``variants[variant]`` < values given explicitly as overrides.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from forecaster.errors import ConfigError
from forecaster.nn.patterns import PATTERNS

ATTENTION_PATTERNS = tuple(PATTERNS)  # the pattern table's names (forecaster.nn.patterns imports nothing)
BASELINES = ("lstm", "naive", "seasonal_naive", "naive2", "linear")
CLASSICAL = ("ets", "theta", "arima")  # statsforecast's AutoETS, AutoTheta, AutoARIMA (forecaster.classical)
VARIANTS = ATTENTION_PATTERNS + BASELINES + CLASSICAL
MODEL_NAMES = ("transformer",) + BASELINES + CLASSICAL
LOSS_SCALES = ("none", "naive")  # forecaster.scores.metrics.error_scale


def check_variant(name: str, *, valid: tuple[str, ...] = VARIANTS, key: str = "variant") -> str:
    """`name` if it is one of `valid`, else a ConfigError naming it and the valid ones: the one check for
    every place a variant is named (`--variants`, `with_variant`, `variants:`, `model.name`, `model.attention`)."""
    if name not in valid:
        raise ConfigError(f"unknown {key} '{name}'; valid: {', '.join(valid)}")
    return name


def lightning(name: str | None = None, **kwargs) -> Any:
    """A TrainerConfig field that is also the Lightning Trainer's argument `name` (default: the field's)."""
    return field(metadata={"lightning": name}, **kwargs)


@dataclass
class DataConfig:
    """Where the series come from and how they are cut into windows."""

    path: str = "datasets/ETTh1.csv"
    format: str = "auto"  # auto | wide | long
    delimiter: str = ","
    time_col: str | None = None  # detected when None
    id_col: str | None = None  # long format; detected when None
    value_col: str | None = None  # long format target; detected when None
    targets: list[str] | None = None  # wide: target columns, default all numeric columns
    covariates: list[str] | None = None  # input-only columns; long default: all other columns, wide: none
    fill: str = "error"  # error | ffill | interpolate: what to do with missing values
    sort: bool = False  # sort rows by time instead of failing on out-of-order rows
    drop_short: bool = False  # skip series too short for a window instead of failing
    outliers: str = "error"  # error | clip: values far beyond a column's spread (forecaster/data/outliers.py)
    split: str = "ratio"  # ratio | ett | borders | last (per series: test = last horizon, val = the one before)
    ratios: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])
    borders: list[int] | None = None  # [train_end, val_end, test_end] rows, with split=borders
    test_windows: int = 1  # split=last: rolling test origins, one step apart
    val_windows: int = 1  # split=last: validation origins per series, val_step apart (forecaster/data/split.py)
    val_step: int = 0  # rows between validation origins; 0 = the horizon (split=last), 1 (other splits)
    context_len: int = 96
    horizon: int = 24
    batch_size: int = 64
    eval_batch_size: int = 256
    num_workers: int = 0
    season_period: int | None = None  # seasonal period in steps; from the frequency when None
    calendar: list[str] | None = None  # future-known calendar features (forecaster/data/calendar.py), sin/cos
    future_covariates: list[str] | None = None  # columns whose future values are known (predict's input has them)
    static: list[str] | None = None  # long format: per-series constant columns, numeric or categorical


@dataclass
class ModelConfig:
    """Which network, and its hyper-parameters (shared vocabulary across models)."""

    name: str = "transformer"  # transformer | lstm | naive | seasonal_naive | naive2 | linear
    attention: str = "causal"  # a name of forecaster.nn.patterns.PATTERNS (ATTENTION_PATTERNS)
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 128
    dropout: float = 0.1  # on residual branches and the feed-forward
    attn_dropout: float = 0.0  # on attention weights; 0 keeps SDPA's fused kernel (PatchTST's default too)
    head_dropout: float = 0.0
    head_rank: int = 0  # encoder-only attention: 0 = a full flatten head (PatchTST); r = through r values
    window: int = 8  # tokens a query sees, itself included (local / hybrid / dynamic)
    local_share: float = 0.5  # share of heads that are local in `hybrid`
    patch_len: int = 16  # 1 = one token per time step
    stride: int = 8
    revin: bool = True
    channel_independent: bool = True
    decoder_layers: int = 1  # `cross`: layers of the decoder
    linear_skip: bool = False  # transformer: add a linear map of the (normalised) window to the output
    hidden_size: int = 128  # lstm
    decompose: bool = True  # linear: trend/seasonal decomposition (DLinear)
    moving_avg: int = 25  # linear: trend kernel
    global_share: float = 0.1  # `dynamic`: share of tokens that attend (and are seen) globally, at least one
    quantiles: list[float] | None = None  # trainable models: forecast these quantiles (pinball loss), median added
    levels: list[float] | None = None  # e.g. [80, 90]: the quantiles of these central intervals, median added


@dataclass
class TrainerConfig:
    """Optimisation, and the Lightning Trainer's settings (fields made with `lightning(...)`)."""

    max_epochs: int = lightning(default=10)
    max_steps: int = lightning(default=-1)
    lr: float = 1.0e-3
    weight_decay: float = 1.0e-4
    loss: str = "mse"  # mse | mae | huber
    loss_scale: str = "none"  # none | naive: each window's errors over its inputs' mean one-step change (MASE's)
    scheduler: str = "onecycle"  # onecycle | cosine | none
    patience: int = 3
    # 0: off, else the decay of a moving average of the weights (Lightning's EMAWeightAveraging, over about
    # 1 / (1 - decay) optimiser steps), which is what is validated, checkpointed and kept
    ema_decay: float = 0.0
    gradient_clip_val: float = lightning(default=1.0)  # 0 turns clipping off
    limit_train_batches: float = lightning(default=1.0)
    limit_val_batches: float = lightning(default=1.0)
    deterministic: bool = lightning(default=False)
    accelerator: str = lightning(default="cpu")
    devices: int | str = lightning(default=1)  # a count, or "auto"
    strategy: str = lightning(default="auto")
    num_nodes: int = lightning(default=1)
    precision: str = lightning(default="32-true")
    progress_bar: bool = lightning("enable_progress_bar", default=True)
    threads: int | None = None  # torch intra-op threads; torch's default when None

    def lightning_kwargs(self) -> dict[str, Any]:
        """The Lightning Trainer's keyword arguments held by this config, under the Trainer's names."""
        return {
            f.metadata["lightning"] or f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if "lightning" in f.metadata
        }


@dataclass
class TrackingConfig:
    """MLflow: where runs go and what is logged."""

    enabled: bool = True
    uri: str | None = None  # MLFLOW_TRACKING_URI, else sqlite:///mlflow.db
    experiment: str | None = None  # the config file's stem when None
    log_model: bool = True
    plots: bool = True


@dataclass
class SelectionConfig:
    """How a model is chosen and deployed: the validation yardstick of every choice (forecaster.scores.metrics:
    mse | mae | mase | smape; auto = mase for a long file of several series, else mse) and the refit on every row."""

    metric: str = "auto"
    refit: bool = True  # --save / --save-best / --register deploy the chosen settings fitted on every row


@dataclass
class Config:
    """One experiment: data, model, trainer, tracking, selection, and the seed."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    seed: int = 42
    name: str = "forecaster"
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    search: dict[str, dict[str, Any]] = field(default_factory=dict)  # `tune`'s spaces: forecaster.tune.space

    def variant(self) -> str:
        """The variant name this config trains (`local`, `lstm`, ...)."""
        return self.model.attention if self.model.name == "transformer" else self.model.name


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(Config) if f.type.endswith("Config")}
COMMAND_LINE_KEYS = (*SECTIONS, "seed", "name")  # `variants`, `search` are YAML only: `--variants` lists names
YAML_ONLY = ("variants", "search")


def add_arguments(parser, *, variants: bool = False) -> None:
    """Every config field on a jsonargparse parser: `--data.context_len`, `--seed`, ... with type and default."""
    parser.add_class_arguments(Config, as_group=False, skip=None if variants else set(YAML_ONLY))


@lru_cache(maxsize=1)
def _parser():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    add_arguments(parser, variants=True)
    return parser


to_dict = dataclasses.asdict  # the config as nested plain data (YAML/JSON-ready)


def flatten(cfg: Config) -> dict[str, Any]:
    """Dotted name -> value for every field (MLflow params); `variants` and `search` are left out."""
    return dict(dotted({k: v for k, v in to_dict(cfg).items() if k not in YAML_ONLY}))


def dotted(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """(`section.field`, value) pairs of nested config data; top-level fields keep their name."""
    return [
        (f"{key}.{k}", v)
        for key, value in values.items()
        if key in SECTIONS and isinstance(value, dict)
        for k, v in value.items()
    ] + [(k, v) for k, v in values.items() if k not in SECTIONS]


def from_dict(raw: dict[str, Any], *, source: str = "config") -> Config:
    """Build a Config from nested data, rejecting unknown keys and ill-typed values."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(raw).__name__}")
    return _apply(Config(), raw, source)


def _apply(cfg: Config, changes: dict[str, Any], source: str) -> Config:
    """A copy of `cfg` with nested `changes` applied, their keys checked and values typed."""
    _check_keys(changes, source)
    typed = _typed(changes, source)
    try:
        for name in typed.get("variants", {}):
            check_variant(name)
        values = _merge(to_dict(cfg), typed)
        check_variant(values["model"]["name"], valid=MODEL_NAMES, key="model.name")
        check_variant(values["model"]["attention"], valid=ATTENTION_PATTERNS, key="model.attention")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if "variants" in typed:
        values["variants"] = {
            name: _variant_overrides(entry, f"{source}: variants.{name}") for name, entry in typed["variants"].items()
        }
    return Config(**{k: SECTIONS[k](**v) if k in SECTIONS else v for k, v in values.items()})


def _variant_overrides(entry: dict[str, Any] | None, source: str) -> dict[str, Any]:
    """One `variants:` entry, checked and typed, as dotted overrides."""
    return dict(dotted(_typed(_nest(dotted(entry or {}), source), source)))


def _typed(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """`raw` (nested config data, keys checked) converted to the fields' types by jsonargparse."""
    from jsonargparse import ArgumentError

    try:  # defaults=False: only the given values are parsed, far cheaper than the whole config
        typed = _parser().parse_object(copy.deepcopy(raw), defaults=False).as_dict()
    except ArgumentError as exc:
        raise argument_error(str(exc), source=source) from None
    for key, value in dotted(typed):  # jsonargparse lets None pass as "not given"
        section, _, name = key.rpartition(".")
        hint = typing.get_type_hints(SECTIONS.get(section, Config))[name]
        if value is None and type(None) not in typing.get_args(hint):
            raise ConfigError(f"{source}: '{key}' must be {_describe(hint)}, got None")
    return typed


def _check_keys(raw: dict[str, Any], source: str) -> None:
    top = [f.name for f in dataclasses.fields(Config)]
    for key, value in raw.items():
        if key not in top:
            raise ConfigError(f"{source}: unknown key '{key}'; valid top-level keys: {', '.join(top)}")
        if key not in SECTIONS:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping of its fields")
        valid = [f.name for f in dataclasses.fields(SECTIONS[key])]
        for sub in value:
            if sub not in valid:
                raise ConfigError(f"{source}: unknown key '{key}.{sub}'; valid keys in '{key}': {', '.join(valid)}")


def _nest(pairs: Iterable[tuple[str, Any]], source: str) -> dict[str, Any]:
    """Dotted (`data.context_len`, value) pairs as nested data; command-line text `a,b` in a list field is a list."""
    nested: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition(".")
        if rest and head not in SECTIONS:
            top = ", ".join(f.name for f in dataclasses.fields(Config))
            raise ConfigError(f"{source}: unknown key '{key}'; valid top-level keys: {top}")
        if rest:
            nested.setdefault(head, {})[rest] = list_value(head, rest, value)
        else:
            nested[head] = value
    _check_keys(nested, source)
    return nested


def list_value(section: str, name: str, value: Any) -> Any:
    hint = typing.get_type_hints(SECTIONS[section]).get(name)
    is_list = list in (typing.get_origin(hint), *map(typing.get_origin, typing.get_args(hint)))
    if is_list and isinstance(value, str) and not value.lstrip().startswith("[") and value.strip() != "null":
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**base, **{k: _merge(base[k], v) if k in SECTIONS else v for k, v in changes.items()}}


def argument_error(message: str, *, source: str | None = None) -> ConfigError:
    """jsonargparse's error `message` as one line that names the field and, for a typo, the valid keys."""
    prefix = f"{source}: " if source else ""
    unknown = re.search(r"unrecognized arguments: --([^\s=]+\.[^\s=]+)", message)
    if unknown:
        try:
            _nest([(unknown.group(1), None)], source or "command line")
        except ConfigError as exc:
            return exc
    key = re.match(r'Parser key "([^"]+)"', message)
    got = re.search(r"(?:Got|Given) value: (.*)$", message)
    if key:
        section, _, name = key.group(1).rpartition(".")
        hints = typing.get_type_hints(SECTIONS.get(section, Config))
        expected = re.search(r"Expected a <class '(\w+)'>", message)
        wanted = _describe(hints[name]) if name in hints else expected.group(1) if expected else "valid"
        value = f", got {got.group(1)!r}" if got else ""
        return ConfigError(f"{prefix}'{key.group(1)}' must be {wanted}{value}")
    return ConfigError(prefix + " ".join(line.strip() for line in message.splitlines()))


def _describe(hint: Any) -> str:
    named = getattr(hint, "__name__", None) if isinstance(hint, type) else str(hint).replace("typing.", "")
    return "true or false" if hint is bool else named


def load(path: str | Path | None, overrides: Iterable[tuple[str, Any]] = ()) -> Config:
    """Read a YAML config (or the defaults when `path` is None) and apply dotted overrides.

    Overrides (`("data.context_len", "336")`, values as command-line text or typed) win over the
    file's `variants:` entries too: a key given here is dropped from every entry.
    """
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path, source = Path(path), str(path)
        raw = read_yaml(path)
    cfg = from_dict(raw, source=source)
    if path is not None and "name" not in raw:
        cfg.name = path.stem
    return override(cfg, overrides)


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if raw is None:
        raise ConfigError(f"{path}: the config file is empty; write the settings to change (see configs/)")
    return raw


def override(
    cfg: Config, overrides: Iterable[tuple[str, Any]], *, source: str = "overrides", under_variants: bool = False
) -> Config:
    """A copy of `cfg` with dotted overrides applied; they also win over its `variants:` entries
    unless `under_variants` (values `--auto` derives: a variant's own settings still win)."""
    pairs = list(overrides)
    out = _apply(cfg, _nest(pairs, source), source)
    if under_variants:
        return out
    given = {key for key, _ in pairs}
    out.variants = {name: {k: v for k, v in entry.items() if k not in given} for name, entry in out.variants.items()}
    return out


def with_variant(cfg: Config, variant: str) -> Config:
    """A copy of `cfg` set up to train `variant`, with its `variants:` overrides applied."""
    check_variant(variant)
    model = {"name": "transformer", "attention": variant} if variant in ATTENTION_PATTERNS else {"name": variant}
    changes = _nest(cfg.variants.get(variant, {}).items(), f"variants.{variant}")
    changes["model"] = {**model, **changes.get("model", {})}
    return _apply(cfg, changes, f"variants.{variant}")


def dump_yaml(cfg: Config) -> str:
    """The resolved config as YAML text (floats as `0.001` or `1.0e-05`, which YAML reads back as floats)."""
    import yaml

    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
