"""One fit over several processes (DDP): which process is rank 0, and what the others must not do.

`--trainer.strategy ddp --trainer.devices N` makes Lightning run the fit in N processes (gloo on
CPU, NCCL on GPUs); Lightning starts them by running the same command again, and `torchrun` or
SLURM's `srun` start one command per process themselves. Every process then runs all of
`experiment.train`, so the command itself must say who does what: rank 0 alone opens the MLflow run,
logs, evaluates and saves the package; the other ranks train without tracking and leave once the fit
ends (`leave_unless_rank_zero`). A rank is read from the variables the launchers set (`RANK`,
`LOCAL_RANK`, `NODE_RANK`, `SLURM_PROCID`): a process is rank 0 only when all that are set are 0.

All processes of one fit must build the same Lightning callbacks (a checkpoint save is a collective
step), so a multi-process fit keeps no per-epoch resume checkpoint (`forecaster.fit.checkpoints` is for
one-process fits); its best weights still are, on rank 0. On CPU each process gets its share of
the cores (`forecaster.fit.threads.threads_per_fit`), so N processes do not oversubscribe them (`on_cpu`:
`trainer.accelerator` cpu, or its default auto on a machine without a GPU).
"""

from __future__ import annotations

import os
from dataclasses import replace

from forecaster.errors import ConfigError

RANK_VARS = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID")


def is_rank_zero() -> bool:
    """Whether this process is rank 0 of its fit (True for a one-process fit)."""
    return all(os.environ.get(name, "0") == "0" for name in RANK_VARS)


def processes(trainer) -> tuple[int, int]:
    """(processes on this machine, processes in all) of the fit of `trainer` (a `TrainerConfig`):
    (1, 1) unless it asks for several devices or nodes, or a launcher (torchrun) started several."""
    devices = trainer.devices
    if str(devices).isdigit():
        here = int(devices)
    else:  # "auto": every GPU, one CPU process
        import torch

        here = torch.cuda.device_count() if trainer.accelerator in ("auto", "gpu", "cuda") else 1
    here = max(here, 1)
    return here, max(here * trainer.num_nodes, int(os.environ.get("WORLD_SIZE") or 1))


def on_cpu(trainer) -> bool:
    """Whether the fit of `trainer` (a `TrainerConfig`) runs on the CPU: `accelerator` cpu, or auto
    where torch sees no GPU (Lightning's own choice: CUDA, then Apple's MPS, then the CPU)."""
    if trainer.accelerator != "auto":
        return trainer.accelerator == "cpu"
    import torch

    return not (torch.cuda.is_available() or torch.backends.mps.is_available())


def for_this_rank(cfg, save, register, resume):
    """`(cfg, save, register)` as this process of the fit should use them: unchanged for a
    one-process fit; without tracking, package or registration on ranks other than 0. A
    multi-process CPU fit gets cores / processes threads per process. `resume` (a run id) is
    refused for a multi-process fit, which keeps no resume checkpoint."""
    here, total = processes(cfg.trainer)
    if total == 1:
        return cfg, save, register
    if resume:
        raise ConfigError("--resume continues one-process fits only: drop --trainer.devices / --trainer.num_nodes")
    if on_cpu(cfg.trainer):
        from forecaster.fit.threads import threads_per_fit

        cfg = replace(cfg, trainer=replace(cfg.trainer, threads=threads_per_fit(here)))
    if is_rank_zero():
        return cfg, save, register
    return replace(cfg, tracking=replace(cfg.tracking, enabled=False)), None, None


def leave_unless_rank_zero() -> None:
    """End this process quietly (exit 0) if it is not rank 0: its share of the fit is done, and rank 0
    alone evaluates, logs and saves."""
    if not is_rank_zero():
        raise SystemExit(0)
