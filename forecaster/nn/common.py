"""Pieces shared by the networks: the `Network` base and its capability declarations, RevIN,
patching, a cheap dropout, the argument rules they share, and a parameter count."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

CAPABILITIES = ("TRAINABLE", "HAS_QUANTILES", "NEEDS_UNITS", "SHOWS_ATTENTION", "COVARIATES")
COVARIATE_KINDS = frozenset({"past", "future", "static"})


class Network(nn.Module):
    """A forecasting network: x (B, L, F) [, future (B, H, Fk), static (B, Z)] -> (B, H, K).

    What a network can do is declared on its class, and callers read the declaration instead of
    probing for methods (in the spirit of neuralforecast's `EXOGENOUS_FUTR`, ...). Every subclass
    declares all of `CAPABILITIES` (a class that leaves one out is a TypeError when it is defined),
    and `tests/nn/test_capabilities.py` checks each declaration of every registered network against
    what the network does. Read them on the instance: a wrapper (`QuantileForecaster`) forwards
    its inner network's where they pass through it.

    TRAINABLE: it has weights that a fit trains. False (the naive baselines): `fit` returns at once.
    HAS_QUANTILES: `quantile_forecast(x, *covariates)` gives (B, H, K, Q), non-decreasing along Q, at
        `quantiles` (increasing, the median among them; () for every other network), `median` the
        median's index and `levels` the quantiles as a tensor; the forward is the median.
    NEEDS_UNITS: `set_units(mean, scale)` must be given the scaler's statistics of the K target columns
        (K,) before it forecasts (Naive2 decomposes in the data's own units).
    SHOWS_ATTENTION: `attention_weights(x, *covariates)` gives one (B', nh, N, S) tensor of weights per
        attention layer, for inspection and plots.
    COVARIATES: the kinds of covariate it reads, of `COVARIATE_KINDS`: "past" (the F - K input columns
        after the targets), "future" (future-known features over the horizon: its constructor takes
        `n_future`) and "static" (per-series covariates: it takes `static_cardinalities`). Empty: it
        reads the targets' history only; it still accepts `future` and `static`, and ignores them.
    """

    TRAINABLE: ClassVar[bool]
    HAS_QUANTILES: ClassVar[bool]
    NEEDS_UNITS: ClassVar[bool]
    SHOWS_ATTENTION: ClassVar[bool]
    COVARIATES: ClassVar[frozenset[str]]
    quantiles: tuple[float, ...] = ()  # the quantiles it forecasts (HAS_QUANTILES); () for a point forecast

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        missing = [name for name in CAPABILITIES if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"{cls.__name__} must declare {', '.join(missing)} (forecaster.nn.common.Network)")


def device_of(module: nn.Module) -> torch.device:
    """Where `module` runs: the device of its first parameter or buffer; the CPU for a module with
    neither (a classical model, whose numpy forward takes its input from any device)."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def to_device(tensors, device: torch.device) -> list:
    """`tensors` (a network's inputs, None for a covariate it is not given) on `device`. The callers
    (scoring, the package's forecast) move inputs to the network, never the network itself."""
    return [None if t is None else t.to(device) for t in tensors]


def raise_first(problems: list[str]) -> None:
    """The first of `problems` (messages of what is wrong with a network's arguments) as a ValueError."""
    if problems:
        raise ValueError(problems[0])


def dropout_problems(p: float, *, name: str = "dropout") -> list[str]:
    """A dropout probability out of [0, 1); `name` names the argument (`forecaster.models`: the config key)."""
    return [] if 0.0 <= p < 1.0 else [f"{name} must be in [0, 1), got {p}"]


def patch_problems(*, context_len: int, patch_len: int, stride: int, prefix: str = "") -> list[str]:
    """Patches that do not fit the window; `prefix` goes before the arguments' names ("model.": the config keys)."""
    if 1 <= patch_len <= context_len and stride >= 1:
        return []
    return [
        f"need 1 <= {prefix}patch_len <= context_len ({context_len}) and {prefix}stride >= 1, "
        f"got patch_len {patch_len}, stride {stride}"
    ]


class RevIN(nn.Module):
    """Reversible instance normalisation (Kim et al., ICLR 2022): each window is standardised per
    channel before the network and the forecast is mapped back with the same statistics.

    Args:
        n_features: channels.
        affine: learn a per-channel scale and shift.
    """

    def __init__(self, n_features: int, *, affine: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(n_features)) if affine else None

    def normalize(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x: (B, L, F) -> normalised x and the (mean, std) statistics, each (B, 1, F)."""
        mean = x.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        x = (x - mean) / std
        if self.weight is not None:
            x = x * self.weight + self.bias
        return x, (mean, std)

    def denormalize(self, y: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """y: (B, H, C) for the first C <= F channels -> original scale of the window."""
        mean, std = stats
        c = y.shape[-1]
        if self.weight is not None:
            y = (y - self.bias[:c]) / (self.weight[:c] + self.eps * self.eps)
        return y * std[..., :c] + mean[..., :c]


class Patcher(nn.Module):
    """Cuts (B * F, L) channel sequences into overlapping patches (B * F, N, P).

    The end is padded with `stride` copies of the last value (as PatchTST does) so the newest
    steps always fall in a full patch. `patch_len=1, stride=1` gives one token per step.
    """

    def __init__(self, *, context_len: int, patch_len: int, stride: int):
        super().__init__()
        raise_first(patch_problems(context_len=context_len, patch_len=patch_len, stride=stride))
        self.patch_len, self.stride = patch_len, stride
        self.pad = stride if patch_len > 1 else 0
        self.n_patches = (context_len + self.pad - patch_len) // stride + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            x = F.pad(x.unsqueeze(1), (0, self.pad), mode="replicate").squeeze(1)  # (B * F, L + pad)
        return x.unfold(-1, self.patch_len, self.stride)  # (B * F, N, P)


class Dropout(nn.Module):
    """Inverted dropout that draws its mask cheaply on CPU, where `nn.Dropout`'s `bernoulli_` is a
    large part of a small transformer's step (benchmarks/README.md, "Training step").

    One 64-bit random integer gives four 16-bit draws, so the mask costs a quarter of the random
    numbers `uniform_` would; an element is kept when its draw is at or above the `p` quantile.
    `p` is thereby rounded to a multiple of 1/65,536 and kept elements are scaled by the exact
    1 / P(keep), so the expectation is unchanged. Other devices use `F.dropout`.
    """

    LEVELS = 1 << 16

    def __init__(self, p: float = 0.0):
        super().__init__()
        raise_first(dropout_problems(p))
        self.p = p
        dropped = min(round(p * self.LEVELS), self.LEVELS - 1)
        self.threshold = dropped - self.LEVELS // 2  # as a signed 16-bit draw
        self.scale = self.LEVELS / (self.LEVELS - dropped)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        n = x.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(1 << 63), None)
        keep = bits.view(torch.int16)[:n].view(x.shape) >= self.threshold
        return x * keep.to(x.dtype).mul_(self.scale)  # a float mask: the cheapest product to differentiate


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
