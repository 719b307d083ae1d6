"""The config's sections as nested dataclasses: the single source of truth of every setting.

Each dataclass is one section (`data`, `model`, `trainer`, `tracking`, `selection`); `Config` holds them,
the seed, the name, the YAML-only `variants:` and `search:`. Values that follow from the data (number of
columns, head size) are computed elsewhere, never configured.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


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
