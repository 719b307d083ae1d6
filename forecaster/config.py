"""Typed configuration: nested dataclasses are the single source of truth.

YAML files in ``configs/`` and dotted command-line overrides (``--data.context_len 336``) fill the
same dataclasses; an unknown key is an error naming the key and the valid ones, and a value that
cannot be converted to the field's type is an error naming the field. Values that follow from the
data (number of columns, head size) are computed elsewhere, never configured.

Per-variant settings live in ``variants:``, a mapping from variant name to dotted overrides applied
when that variant is trained (``forecaster compare``), so one file can hold a fair setting for each.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecaster.errors import ConfigError

ATTENTION_PATTERNS = ("global", "causal", "local", "hybrid", "dynamic", "cross")
BASELINES = ("lstm", "naive", "seasonal_naive", "linear")
VARIANTS = ATTENTION_PATTERNS + BASELINES


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
    split: str = "ratio"  # ratio | ett | borders
    ratios: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])
    borders: list[int] | None = None  # [train_end, val_end, test_end] rows, with split=borders
    context_len: int = 96
    horizon: int = 24
    batch_size: int = 64
    eval_batch_size: int = 256
    num_workers: int = 0
    season_period: int | None = None  # seasonal period in steps; from the frequency when None


@dataclass
class ModelConfig:
    """Which network, and its hyper-parameters (shared vocabulary across models)."""

    name: str = "transformer"  # transformer | lstm | naive | seasonal_naive | linear
    attention: str = "causal"  # global | causal | local | hybrid | dynamic | cross
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 128
    dropout: float = 0.1  # on residual branches and the feed-forward
    attn_dropout: float = 0.0  # on attention weights; 0 keeps SDPA's fused kernel (PatchTST's default too)
    head_dropout: float = 0.0
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


@dataclass
class TrainerConfig:
    """Optimisation and the Lightning Trainer's settings (passed through where they exist)."""

    max_epochs: int = 10
    max_steps: int = -1
    lr: float = 1.0e-3
    weight_decay: float = 1.0e-4
    loss: str = "mse"  # mse | mae | huber
    scheduler: str = "onecycle"  # onecycle | cosine | none
    patience: int = 3
    gradient_clip_val: float = 1.0
    limit_train_batches: float = 1.0
    limit_val_batches: float = 1.0
    deterministic: bool = False
    accelerator: str = "cpu"
    devices: str = "1"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    progress_bar: bool = True
    threads: int | None = None  # torch intra-op threads; torch's default when None


@dataclass
class TrackingConfig:
    """MLflow: where runs go and what is logged."""

    enabled: bool = True
    uri: str | None = None  # MLFLOW_TRACKING_URI, else sqlite:///mlflow.db
    experiment: str | None = None  # the config file's stem when None
    log_model: bool = True
    plots: bool = True


@dataclass
class Config:
    """One experiment: data, model, trainer, tracking, and the seed."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    seed: int = 42
    name: str = "forecaster"
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def variant(self) -> str:
        """The variant name this config trains (`local`, `lstm`, ...)."""
        return self.model.attention if self.model.name == "transformer" else self.model.name


SECTIONS = ("data", "model", "trainer", "tracking")


def to_dict(cfg: Config) -> dict[str, Any]:
    """The config as nested plain data (YAML/JSON-ready)."""
    return dataclasses.asdict(cfg)


def flatten(cfg: Config) -> dict[str, Any]:
    """Dotted name -> value for every field (MLflow params); `variants` is left out."""
    out: dict[str, Any] = {}
    for key, value in to_dict(cfg).items():
        if key == "variants":
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def from_dict(raw: dict[str, Any], *, source: str = "config") -> Config:
    """Build a Config from nested data, rejecting unknown keys and ill-typed values."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(raw).__name__}")
    cfg = Config()
    for key, value in raw.items():
        set_value(cfg, key, value, source=source)
    return cfg


def set_value(cfg: Config, dotted: str, value: Any, *, source: str = "override") -> None:
    """Set one field by its dotted name (`data.context_len`), converting to the field's type."""
    head, _, rest = dotted.partition(".")
    top = {f.name: f for f in dataclasses.fields(Config)}
    if head not in top:
        raise ConfigError(f"{source}: unknown key '{dotted}'; valid top-level keys: {', '.join(top)}")
    if head in SECTIONS and not rest:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{head}' must be a mapping of its fields")
        for key, sub in value.items():
            set_value(cfg, f"{head}.{key}", sub, source=source)
        return
    if head in SECTIONS:
        section = getattr(cfg, head)
        fields = {f.name: f for f in dataclasses.fields(section)}
        if rest not in fields:
            raise ConfigError(
                f"{source}: unknown key '{dotted}'; valid keys in '{head}': {', '.join(fields)}"
            )
        hints = typing.get_type_hints(type(section))
        setattr(section, rest, _coerce(value, hints[rest], f"{source}: '{dotted}'"))
        return
    if rest:
        raise ConfigError(f"{source}: '{head}' has no field '{rest}'")
    if head == "variants":
        setattr(cfg, head, _variants(value, source))
        return
    hints = typing.get_type_hints(Config)
    setattr(cfg, head, _coerce(value, hints[head], f"{source}: '{dotted}'"))


def _variants(value: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: 'variants' must map a variant name to overrides")
    for name, overrides in value.items():
        if name not in VARIANTS:
            raise ConfigError(
                f"{source}: unknown variant '{name}' in 'variants'; valid: {', '.join(VARIANTS)}"
            )
        probe = Config()
        for key, sub in (overrides or {}).items():
            set_value(probe, key, sub, source=f"{source}: variants.{name}")
    return {name: dict(overrides or {}) for name, overrides in value.items()}


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Convert `value` (YAML data or a command-line string) to the type `hint`."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none")):
            return None
        return _coerce(value, args[0], where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [_coerce(v, item, where) for v in value]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if hint in (int, float):
        try:
            number = hint(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or (hint is int and isinstance(value, float) and value != int(value)):
            raise ConfigError(f"{where} must be {hint.__name__}, got {value!r}")
        return number
    if hint is str:
        return str(value)
    return value


def load(path: str | Path | None, overrides: list[tuple[str, str]] = ()) -> Config:
    """Read a YAML config (or the defaults when `path` is None) and apply dotted overrides."""
    import yaml

    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    cfg = from_dict(raw, source=source)
    if path is not None and "name" not in raw:
        cfg.name = path.stem
    for key, value in overrides:
        set_value(cfg, key, _yaml_scalar(value), source=f"--{key}")
    return cfg


def _yaml_scalar(text: str) -> Any:
    """Command-line values are read like YAML scalars, so `--data.targets null` means None."""
    import yaml

    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def with_variant(cfg: Config, variant: str) -> Config:
    """A copy of `cfg` set up to train `variant`, with its `variants:` overrides applied."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant '{variant}'; valid: {', '.join(VARIANTS)}")
    out = from_dict(to_dict(cfg), source="config")
    if variant in ATTENTION_PATTERNS:
        out.model.name, out.model.attention = "transformer", variant
    else:
        out.model.name = variant
    for key, value in cfg.variants.get(variant, {}).items():
        set_value(out, key, value, source=f"variants.{variant}")
    return out


def dump_yaml(cfg: Config) -> str:
    """The resolved config as YAML text."""
    import yaml

    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
