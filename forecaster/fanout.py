"""A comparison's fits: one after another in this process, or at the same time as Ray tasks.

`run_fits(jobs, fit_one, plan=...)` is the one place that decides where fits run. With no plan
(neither `--workers` nor `--ray-address`) every fit runs here, in order, exactly as before, and Ray
is never imported. With `--workers N` a local Ray starts on this machine and runs N fits at once;
with `--ray-address ADDR` the fits go to an existing cluster (`ray start --head` on one machine,
`ray start --address ADDR` on the others). Ray is an existing engine: no scheduler of our own.

Design:

- Threads: a fit with more torch threads than its share of the cores slows down by several times
  once another process competes for them, so each fit gets `threads_per_fit` = the cores this
  process may use (`os.sched_getaffinity`) divided by the parallel fits (at least 1; a smaller
  `trainer.threads` is kept). The count reaches the worker before torch starts its thread pools:
  as `OMP_NUM_THREADS` / `MKL_NUM_THREADS` in the task's `runtime_env` (Ray starts a worker process
  per environment) and `torch.set_num_threads`. Each task asks Ray for that many CPUs, so Ray
  never places more fits on a node than it has cores.
- MLflow: each task logs its own child run under the comparison's parent (`tracking.under_parent`),
  at the driver's tracking URI, from the driver's working directory where that exists. A cluster
  with remote nodes needs a tracking server every node reaches: a SQLite file is refused (`check`).
- Same seeds, same numbers: a task runs the very function the sequential path runs
  (`compare._fit_job`) on the same prepared data (sent once per data setting through Ray's object
  store), so its metrics equal the sequential run's with the same thread count.
- A worker that dies mid-fit: Ray retries the task (`MAX_RETRIES`). The retry finds its child run
  by name under the parent; the dead attempt left it RUNNING, so it is marked FAILED and then
  resumed (same run id, continued from its last checkpoint where the store keeps checkpoints, as
  `compare --resume` does), ending FINISHED: one FINISHED child per variant and seed, no stray run.
  A Python exception in a fit is not retried (it would fail again) and fails the comparison.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from forecaster.errors import ConfigError

MAX_RETRIES = 2  # attempts after a worker died (not after an exception in the fit)
OBJECT_STORE_BYTES = 100 * 1024**2  # a local Ray holds only prepared data and networks: keep it small
DIE_ONCE_ENV = "FORECASTER_FANOUT_DIE_ONCE"  # tests: the first fit to finish an epoch kills its worker
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Plan:
    """Where a comparison's fits run: `workers` parallel fits on a local Ray, or on the Ray cluster
    at `address` (at most `workers` at once when given). Neither: in this process, in order."""

    workers: int = 0
    address: str | None = None

    @property
    def parallel(self) -> bool:
        return bool(self.workers) or bool(self.address)


@dataclass
class Job:
    """One fit of a comparison: its config, data settings key and prepared data, the child run a
    stopped comparison left for it (None: none), and `--auto`'s derived settings."""

    cfg: Any
    key: str
    data: Any
    earlier: Any = None
    derived: list | None = None

    @property
    def name(self) -> str:
        """The child run's name, as `experiment.train` names it."""
        return f"{self.cfg.variant()}-seed{self.cfg.seed}"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_fit(parallel: int, cores: int | None = None) -> int:
    """Torch threads for each of `parallel` fits sharing `cores` (default: `available_cores()`)."""
    return max(1, (cores or available_cores()) // max(1, parallel))


def check(plan: Plan, tracking_enabled: bool, uri: str) -> None:
    """Refuse a plan that cannot work before any run opens: a negative worker count, or a cluster
    whose nodes cannot all reach a local SQLite (or file) store."""
    if plan.workers < 0:
        raise ConfigError(f"--workers must be 0 (fits in this process) or more, got {plan.workers}")
    if not (plan.address and tracking_enabled) or urlparse(uri).scheme in ("http", "https", "postgresql", "mysql"):
        return
    host = urlparse(plan.address if "://" in plan.address else f"ray://{plan.address}").hostname
    if plan.address != "auto" and host in LOOPBACK:
        return  # a head on the loopback address: every node is this machine
    raise ConfigError(
        f"--ray-address {plan.address}: the runs would go to {uri}, a file on this machine that the "
        "cluster's other nodes cannot reach\n  fix: start a tracking server every node reaches and give "
        "--tracking.uri http://HOST:5000 (README: 'A team tracking server'), or use --workers N on one machine"
    )


def run_fits(jobs: list[Job], fit_one: Callable, *, plan: Plan | None = None, parent: str | None = None, console=None):
    """`fit_one(job, console=..., callbacks=...)` for every job, in the jobs' order: here, one after
    another, without a plan; as Ray tasks with one (children of the run `parent`). Returns the results
    in the jobs' order."""
    if plan is None or not plan.parallel:
        return [fit_one(job, console=console) for job in jobs]
    from forecaster import ray_tasks  # Ray is imported only here

    return ray_tasks.run(jobs, fit_one, plan=plan, parent=parent, console=console)


def task_env(threads: int) -> dict[str, str]:
    """The environment a task's worker process starts with: its thread count, and the test hook."""
    env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if os.environ.get(DIE_ONCE_ENV):
        env[DIE_ONCE_ENV] = os.environ[DIE_ONCE_ENV]
    return env


def with_threads(job: Job, threads: int) -> Job:
    """The job with `trainer.threads` at most `threads` (its share of the cores)."""
    cfg = replace(job.cfg, trainer=replace(job.cfg.trainer, threads=min(job.cfg.trainer.threads or threads, threads)))
    return replace(job, cfg=cfg)


def die_once_callback():
    """A Lightning callback that kills its process after the first epoch (checkpointed) of the first
    fit that reaches one, when `DIE_ONCE_ENV` names a marker file that does not exist yet; else None."""
    marker = os.environ.get(DIE_ONCE_ENV)
    if not marker:
        return None
    from lightning.pytorch.callbacks import Checkpoint

    class DieOnce(Checkpoint):  # a Checkpoint: Lightning runs it after ResumePoint has saved the epoch
        def on_train_epoch_end(self, trainer, module) -> None:
            try:
                Path(marker).touch(exist_ok=False)  # atomic: one fit wins, later attempts live
            except FileExistsError:
                return
            os._exit(17)

    return DieOnce()
