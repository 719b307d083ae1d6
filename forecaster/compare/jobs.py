"""What a fanned-out fit carries and how many threads it gets (`forecaster.compare.fanout` has the design).

Plain data and arithmetic, no Ray: `forecaster.compare.fanout` (the dispatch) and `forecaster.compare.ray_tasks`
(the Ray side) both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from forecaster.fit.threads import threads_per_fit

MAX_RETRIES = 2  # attempts after a worker died (not after an exception in the fit)
OBJECT_STORE_BYTES = 100 * 1024**2  # a local Ray holds only prepared data and networks: keep it small


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


def plan_threads(plan: Plan, configured: int | None) -> int:
    """Torch threads per fit under `plan`: its share of the cores on a local Ray (`threads_per_fit`;
    a smaller `trainer.threads` is kept), on a cluster `trainer.threads` or 1 (Ray counts the CPUs)."""
    if plan.address:
        return configured or 1
    share = threads_per_fit(plan.workers)
    return min(configured or share, share)


def task_env(threads: int) -> dict[str, str]:
    """The environment a task's worker process starts with: its thread count."""
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def with_threads(job: Job, threads: int) -> Job:
    """The job with `trainer.threads` at most `threads` (its share of the cores)."""
    cfg = replace(job.cfg, trainer=replace(job.cfg.trainer, threads=min(job.cfg.trainer.threads or threads, threads)))
    return replace(job, cfg=cfg)
