"""The config's sections as nested dataclasses: the single source of truth of every setting.

Each dataclass is one section (`data`, `model`, `trainer`, `tracking`, `selection`); `Config` holds them,
the seed, the name, the YAML-only `variants:` and `search:`. Each field's docstring (the string under it)
is its one-line description in `--help` (`field_docs`, read by `forecaster.parser`); a field with a fixed
set of values is typed with a `Literal` of `forecaster.config.choices`. Values that follow from the data
(number of columns, head size) are computed elsewhere, never configured.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from forecaster.config.choices import (
    VARIANT_KEYS,
    AttentionPattern,
    Fill,
    Format,
    Loss,
    LossScale,
    Metric,
    ModelName,
    OutlierRule,
    Scheduler,
    Split,
    check_variant,
)
from forecaster.errors import out_of_range


def lightning(name: str | None = None, **kwargs) -> Any:
    """A TrainerConfig field that is also the Lightning Trainer's argument `name` (default: the field's)."""
    return field(metadata={"lightning": name}, **kwargs)


@dataclass
class DataConfig:
    """Where the series come from and how they are cut into windows."""

    path: str = "datasets/ETTh1.csv"
    """The CSV file of the series, wide (a column per series) or long (unique_id, ds, y); --data FILE for short."""
    format: Format = "auto"
    """The file's layout; auto detects it."""
    delimiter: str = ","
    """The character between the file's fields."""
    time_col: str | None = None
    """The timestamp column; detected when null."""
    id_col: str | None = None
    """Long layout: the column naming each series; detected when null."""
    value_col: str | None = None
    """Long layout: the column of the values to forecast; detected when null."""
    targets: list[str] | None = None
    """Wide layout: the columns to forecast; null: every numeric column."""
    covariates: list[str] | None = None
    """Columns read as inputs only; null: every other column (long layout), none (wide)."""
    fill: Fill = "error"
    """Missing values: refuse them, carry the last value forward or interpolate (filled cells are never targets)."""
    sort: bool = False
    """Sort the rows by time instead of refusing rows out of order."""
    dayfirst: bool | None = None
    """Numeric dates: true reads 13/01/2020 day-first, false 01/13/2020 month-first; null decides from the data."""
    drop_short: bool = False
    """Skip series too short for one window instead of refusing the file."""
    outliers: OutlierRule = "error"
    """Values far beyond their column's spread: refuse them, or clip them to the spread's bounds."""
    split: Split = "ratio"
    """Train / validation / test by row shares (ratios), ETT's borders, given borders, or each series' last horizon."""
    ratios: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])
    """split=ratio: the shares [train, val, test] of the rows, summing to 1."""
    borders: list[int] | None = None
    """split=borders: the rows [train_end, val_end, test_end]."""
    test_windows: int = 1
    """split=last: rolling test origins per series, one step apart."""
    val_windows: int = 1
    """Validation origins per series, val_step rows apart (forecaster/data/split.py)."""
    val_step: int = 0
    """Rows between validation origins; 0: the horizon (split=last), else 1."""
    context_len: int = 96
    """Input steps the model sees per window."""
    horizon: int = 24
    """Steps forecast per window."""
    batch_size: int = 64
    """Training windows per batch."""
    eval_batch_size: int = 256
    """Windows per batch when validating, testing and forecasting."""
    num_workers: int = 0
    """Data-loading worker processes (0: load in the training process)."""
    season_period: int | None = None
    """Seasonal period in steps (seasonal naive, MASE); null: from the frequency."""
    calendar: list[str] | None = None
    """Calendar features as sin/cos inputs, e.g. hour,dayofweek (forecaster/data/calendar.py)."""
    future_covariates: list[str] | None = None
    """Columns whose future values are known (predict's input holds them over the horizon)."""
    static: list[str] | None = None
    """Long layout: columns constant per series, numeric or categorical."""


@dataclass
class ModelConfig:
    """Which network, and its hyper-parameters (shared vocabulary across models)."""

    name: ModelName = "transformer"
    """The model family; transformer uses model.attention."""
    attention: AttentionPattern = "causal"
    """The transformer's attention pattern (forecaster/nn/patterns.py)."""
    d_model: int = 64
    """Width of the tokens."""
    n_heads: int = 4
    """Attention heads per layer (d_model must divide by it)."""
    n_layers: int = 2
    """Transformer blocks, or LSTM layers."""
    d_ff: int = 128
    """Width of the feed-forward layer in each block."""
    dropout: float = 0.1
    """Dropout on residual branches and the feed-forward."""
    attn_dropout: float = 0.0
    """Dropout on attention weights; 0 keeps SDPA's fused kernel (PatchTST's default too)."""
    head_dropout: float = 0.0
    """Dropout before the output head."""
    head_rank: int = 0
    """Encoder-only attention: 0: a full flatten head (PatchTST); r: through r values."""
    window: int = 8
    """Tokens a query sees, itself included (local, hybrid, dynamic)."""
    local_share: float = 0.5
    """hybrid: the share of heads that are local."""
    patch_len: int = 16
    """Time steps per token (1: a token per step)."""
    stride: int = 8
    """Steps between the starts of consecutive patches."""
    revin: bool = True
    """Normalise each window by its own mean and spread, and undo it on the forecast (RevIN)."""
    channel_independent: bool = True
    """Each column a series of its own (PatchTST), instead of all columns in each token."""
    decoder_layers: int = 1
    """cross: layers of the decoder."""
    linear_skip: bool = False
    """transformer: add a linear map of the (normalised) window to the output."""
    hidden_size: int = 128
    """lstm: width of the hidden state."""
    decompose: bool = True
    """linear: split the window into trend and seasonal parts first (DLinear)."""
    moving_avg: int = 25
    """linear: the trend's moving-average kernel, in steps."""
    global_share: float = 0.1
    """dynamic: the share of tokens that attend (and are seen) globally, at least one."""
    quantiles: list[float] | None = None
    """Trainable models: forecast these quantiles (pinball loss), the median added."""
    levels: list[float] | None = None
    """Central intervals to forecast, e.g. 80,90: their quantiles, the median added."""


@dataclass
class TrainerConfig:
    """Optimisation, and the Lightning Trainer's settings.

    The fields made with `lightning(...)` are also the Trainer's arguments (`lightning_kwargs`).
    """

    max_epochs: int = lightning(default=10)
    """Passes over the training windows at most."""
    max_steps: int = lightning(default=-1)
    """Optimiser steps at most (-1: no limit)."""
    lr: float = 1.0e-3
    """Peak learning rate (AdamW)."""
    weight_decay: float = 1.0e-4
    """AdamW's weight decay."""
    loss: Loss = "mse"
    """The training loss on the scaled values."""
    loss_scale: LossScale = "none"
    """naive: each window's errors over its inputs' mean one-step change (as MASE scales)."""
    scheduler: Scheduler = "onecycle"
    """The learning rate's schedule over the steps."""
    patience: int = 3
    """Epochs without a better validation loss before stopping early."""
    ema_decay: float = 0.0
    """0: off; else the decay of a moving average of the weights (over about 1 / (1 - decay) steps), which is kept."""
    gradient_clip_val: float = lightning(default=1.0)
    """Clip the gradients' norm to this (0: no clipping)."""
    limit_train_batches: float = lightning(default=1.0)
    """The share of training batches per epoch."""
    limit_val_batches: float = lightning(default=1.0)
    """The share of validation batches per epoch."""
    deterministic: bool = lightning(default=False)
    """Use deterministic algorithms only (slower; the same result on each run)."""
    accelerator: str = lightning(default="auto")
    """Lightning's accelerator: auto (a GPU when torch sees one, else the CPU), cpu, gpu, cuda or mps."""
    devices: int | str = lightning(default=1)
    """Devices to fit on: a count, -1 (all) or auto."""
    strategy: str = lightning(default="auto")
    """Lightning's strategy over several devices, e.g. ddp."""
    num_nodes: int = lightning(default=1)
    """Machines to fit on (with strategy ddp)."""
    precision: str = lightning(default="32-true")
    """Lightning's precision, e.g. 32-true, bf16-mixed."""
    progress_bar: bool = lightning("enable_progress_bar", default=True)
    """Show Lightning's progress bar."""
    threads: int | None = None
    """Torch threads of each fit; null: torch's default."""

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
    """Log runs to MLflow."""
    uri: str | None = None
    """The tracking store; null: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db."""
    experiment: str | None = None
    """The MLflow experiment; null: the config's name."""
    log_model: bool = True
    """Log the model package with each run."""
    plots: bool = True
    """Log the forecast and attention plots with each run."""


@dataclass
class SelectionConfig:
    """How a model is chosen and deployed.

    The validation yardstick every choice reads, and whether the deployed model is fitted again on every row.
    """

    metric: Metric = "auto"
    """The validation yardstick of every choice; auto: mase for a long file of several series, else mse."""
    refit: bool = True
    """--save / --save-best / --register deploy the chosen settings fitted again on every row."""


@dataclass
class Config:
    """One experiment: data, model, trainer, tracking, selection, and the seed."""

    data: DataConfig = field(default_factory=DataConfig)
    """Where the series come from and how they are cut into windows."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Which network, and its hyper-parameters."""
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    """Optimisation and the Lightning Trainer."""
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    """MLflow: where runs go and what is logged."""
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    """How a model is chosen and deployed."""
    seed: int = 42
    """Seed of every random generator; compare's --seeds N fits seed, seed+1, ..."""
    name: str = "forecaster"
    """Names the runs and the MLflow experiment; a --config file's stem by default."""
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    """YAML only: variant name -> dotted settings that variant trains with."""
    search: dict[str, dict[str, Any]] = field(default_factory=dict)
    """YAML only: tune's search spaces per family or variant (forecaster/tune/space.py)."""

    def variant(self) -> str:
        """The variant name this config trains (`local`, `lstm`, ...)."""
        return self.model.attention if self.model.name == "transformer" else self.model.name


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(Config) if f.type.endswith("Config")}
COMMAND_LINE_KEYS = (*SECTIONS, "seed", "name")  # `variants`, `search` are YAML only: `--variants` lists names
YAML_ONLY = ("variants", "search")
# dotted key -> the values of every field typed with a Literal (forecaster.config.choices)
CHOICES = {
    f"{section}.{name}": typing.get_args(hint)
    for section, cls in SECTIONS.items()
    for name, hint in typing.get_type_hints(cls).items()
    if typing.get_origin(hint) is typing.Literal
}


def check_choice(key: str, value: Any) -> Any:
    """`value` if it is one of the field `key`'s choices, else a ConfigError naming the field, the value and
    the choices: the one message of a bad choice, from the command line, a YAML file, `variants:` or Python."""
    valid = CHOICES[key]
    if value in valid:
        return value
    if key in VARIANT_KEYS:
        check_variant(value, valid=valid, key=key)
    raise out_of_range(key, value, f"one of {', '.join(valid)}")


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


@lru_cache(maxsize=1)
def field_docs() -> dict[str, str]:
    """Dotted key (`data.fill`, `seed`) -> the docstring under that field in this module, on one line.

    Read from this file's syntax tree once: cheaper than jsonargparse's attribute docstrings (which
    parse each class's source again for every subcommand) and without a docstring parser."""
    prefixes = {cls.__name__: f"{name}." for name, cls in SECTIONS.items()} | {Config.__name__: ""}
    docs = {}
    for node in ast.parse(Path(__file__).read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name in prefixes:
            for field_node, doc in zip(node.body, node.body[1:]):
                if isinstance(field_node, ast.AnnAssign) and isinstance(doc, ast.Expr):
                    text = doc.value.value if isinstance(doc.value, ast.Constant) else None
                    if isinstance(text, str):
                        docs[prefixes[node.name] + field_node.target.id] = " ".join(text.split())
    return docs
