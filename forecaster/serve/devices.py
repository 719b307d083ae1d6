"""Where a package forecasts: `--device` of `forecaster predict` / `evaluate`, `fc.load(..., device=)`.

cpu, cuda (the first GPU), cuda:N, mps (Apple's GPU) or auto (CUDA, else MPS, else the CPU). The
commands default to the CPU: a forecast is one small batch, for which starting CUDA (a second or
more, and a few hundred MB) costs more than the GPU saves; scoring many windows (`evaluate`), a large
ensemble or a long context is where `--device auto` pays. A device this machine lacks is refused
before the package is read, naming what torch sees. A package runs in float32 wherever it runs:
its weights are float32 (a `bf16-mixed` fit trains float32 master weights) and no autocast is applied.
"""

from __future__ import annotations

import re

import torch

from forecaster.errors import ConfigError

DEVICES = ("cpu", "cuda", "cuda:N", "mps", "auto")


def available() -> list[str]:
    """The devices torch sees here, by the names `resolve` takes."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def resolve(name: str, *, option: str = "--device") -> torch.device:
    """The torch device `name` means here (`option`: how the user named the setting, for messages).

    Raises:
        ConfigError: `name` is not a device of `DEVICES`, or this machine lacks it.
    """
    text = str(name).strip().lower()
    if text == "auto":
        return torch.device(next((d for d in ("cuda", "mps") if d in available()), "cpu"))
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", text):
        raise ConfigError(f"{option} '{name}' is not a device; use one of {', '.join(DEVICES)}")
    if text not in available():
        raise ConfigError(
            f"{option} '{name}' is not available here ({_why_not(text)}); available: {', '.join(available())}. "
            "Use cpu or auto, or install a CUDA build of torch (README: GPUs)"
        )
    return torch.device(text)


def _why_not(name: str) -> str:
    """What torch says about the device `name` it lacks."""
    if name == "mps":
        return "torch.backends.mps.is_available() is False"
    if not torch.cuda.is_available():
        build = "a CPU build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        return f"torch.cuda.is_available() is False; torch {torch.__version__} is {build}"
    return f"torch sees {torch.cuda.device_count()} GPU(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}"
