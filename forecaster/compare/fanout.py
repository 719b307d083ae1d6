"""A comparison's fits: one after another in this process, or at the same time as Ray tasks.

`run_fits(jobs, fit_one, plan=...)` is the one place that decides where fits run. With no plan
(neither `--workers` nor `--ray-address`) every fit runs here, in order, exactly as before, and Ray
is never imported. With `--workers N` a local Ray starts on this machine and runs N fits at once;
with `--ray-address ADDR` the fits go to an existing cluster (`ray start --head` on one machine,
`ray start --address ADDR` on the others). Ray is an existing engine: no scheduler of our own.

Design:

- Threads: a fit with more torch threads than its share of the cores slows down by several times
  once another process competes for them, so each fit gets `forecaster.fit.threads.threads_per_fit` = the cores this
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

The plan and the jobs are plain data (`forecaster.compare.jobs`); the Ray side is `forecaster.compare.ray_tasks`.
`tune --workers` shares a study's trials among Ray tasks through the same module (`forecaster.tune.fanout`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlparse

from forecaster.compare.jobs import Job, Plan
from forecaster.errors import ConfigError

__all__ = ["Job", "Plan", "check", "run_fits"]
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVERS = ("http", "https", "postgresql", "mysql")  # stores every node can reach (SQLAlchemy: postgresql+psycopg too)


def check(plan: Plan, tracking_enabled: bool, uri: str, study_db: str | None = None) -> None:
    """Refuse a plan that cannot work before any run opens: a negative worker count, or a cluster
    whose nodes cannot all reach a local SQLite (or file) store, or (`tune`) study database."""
    if plan.workers < 0:
        raise ConfigError(f"--workers must be 0 (fits in this process) or more, got {plan.workers}")
    if tracking_enabled and not _reachable(plan, uri):
        raise ConfigError(
            f"--ray-address {plan.address}: the runs would go to {uri}, a file on this machine that the "
            "cluster's other nodes cannot reach\n  fix: start a tracking server every node reaches and give "
            "--tracking.uri http://HOST:5000 (README: 'A team tracking server'), or use --workers N on one machine"
        )
    if study_db is not None and not _reachable(plan, study_db):
        raise ConfigError(
            f"--ray-address {plan.address}: the study would live in {study_db}, a file on this machine that the "
            "cluster's other nodes cannot reach\n  fix: give --study-db postgresql://USER@HOST/DB (a database every "
            "node reaches), or use --workers N on one machine"
        )


def _reachable(plan: Plan, url: str) -> bool:
    """Whether every node of the plan's cluster reaches the store at `url` (always, without a cluster)."""
    if not plan.address or urlparse(url).scheme.split("+")[0] in SERVERS:
        return True
    host = urlparse(plan.address if "://" in plan.address else f"ray://{plan.address}").hostname
    return plan.address != "auto" and host in LOOPBACK  # a head on the loopback address: every node is this machine


def run_fits(jobs: list[Job], fit_one: Callable, *, plan: Plan | None = None, parent: str | None = None, console=None):
    """`fit_one(job, console=...)` for every job, in the jobs' order: here, one after
    another, without a plan; as Ray tasks with one (children of the run `parent`). Returns the results
    in the jobs' order."""
    if plan is None or not plan.parallel:
        return [fit_one(job, console=console) for job in jobs]
    from forecaster.compare import ray_tasks  # Ray is imported only here

    return ray_tasks.run(jobs, fit_one, plan=plan, parent=parent, console=console)
