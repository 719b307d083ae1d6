"""Resumable checkpoints: everything a fit needs to continue exactly where it stopped.

`ResumePoint` writes `last.ckpt` into the run's checkpoint folder after every epoch (atomically:
a temporary sibling renamed into place): Lightning's full checkpoint (weights, optimiser,
scheduler, the early-stopping and best-checkpoint callbacks' state, epoch and step) plus what
Lightning leaves out, the torch / numpy / Python random generators' states (the training loader
shuffles with torch's global generator, dropout draws from it too) and whether early stopping had
asked to stop. Saving draws no random number, so a fit that checkpoints gives the numbers of one
that does not; restoring the states makes a resumed fit bit-identical to an uninterrupted one on CPU.

The generators' states are stored as tensors, strings and ints, so a checkpoint holds nothing but
tensors and plain containers and loads with `torch.load(weights_only=True)` (no pickled class).
Checkpoints are only ever read from the folder the run's own id names (`forecaster.track.store`).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint

LAST = "last.ckpt"


def rng_state() -> dict:
    """The global generators' states, as tensors and ints (loadable with weights_only=True)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "rest": [pos, has_gauss, gauss]},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state()` returned."""
    torch.set_rng_state(state["torch"])
    pos, has_gauss, gauss = state["numpy"]["rest"]
    keys = state["numpy"]["keys"].numpy().astype(np.uint32)
    np.random.set_state((state["numpy"]["kind"], keys, int(pos), int(has_gauss), float(gauss)))
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class ResumePoint(Checkpoint):
    """Saves `dirpath/last.ckpt` at the end of every training epoch, with the generators' states.

    A `Checkpoint` subclass, so Lightning runs it after the other callbacks (the best-weights
    `ModelCheckpoint`, listed before it, has already recorded this epoch).
    """

    def __init__(self, dirpath: Path):
        self.path = Path(dirpath) / LAST
        self._stopped = False
        self._trainer: pl.Trainer | None = None

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._trainer = trainer
        tmp = self.path.with_name(f".{LAST}.tmp")
        trainer.save_checkpoint(tmp)
        os.replace(tmp, self.path)

    def state_dict(self) -> dict:
        stopped = bool(self._trainer is not None and self._trainer.should_stop)
        return {"rng": rng_state(), "stopped": stopped}

    def load_state_dict(self, state_dict: dict) -> None:
        set_rng_state(state_dict["rng"])
        self._stopped = bool(state_dict["stopped"])

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if self._stopped:  # early stopping had ended the fit before the process died
            trainer.should_stop = True


def resume_path(dirpath: Path) -> Path | None:
    """`dirpath/last.ckpt` if a fit saved one there; otherwise clear what a dead fit left (None)."""
    path = Path(dirpath) / LAST
    if path.is_file():
        return path
    if Path(dirpath).is_dir():
        for stale in Path(dirpath).iterdir():  # a best.ckpt saved before the first last.ckpt
            stale.unlink()
    return None
