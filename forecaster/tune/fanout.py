"""`tune --workers N` / `--ray-address ADDR`: a study's missing trials shared among Ray tasks.

Optuna's way to run one study on many processes is many `study.optimize` calls on one storage:
each worker asks the storage's sampler state for its next trial, so TPE sees every finished trial,
whichever worker ran it. Here each Ray task is one such worker (`share`): it loads the study from
the study database, runs its share of the missing trials (the shares add up to exactly the missing
count, so no trial is run beyond `--trials`; `MaxTrialsCallback` stops a retried task once the study
holds enough), and fits each trial as a child MLflow run of the tuning's parent run
(`tracking.under_parent`, as `compare`'s Ray tasks do).

- Samplers: worker i samples with TPE seeded `seed + i`: with one seed every worker would propose
  the same first (random start-up) trials. The study's settings digest is computed from the config
  as given, so a tuning can be resumed with or without workers.
- Threads: as `compare` (`forecaster.compare.fanout`): cores / workers per trial on a local Ray, one per
  trial on a cluster unless `trainer.threads` asks for more, set before torch starts.
- A worker that dies: Ray retries its task; the retry first marks the trial the dead process left
  RUNNING as FAIL (`fail_dead_trials`: same host, pid gone; another host's trial fails by Optuna's
  heartbeat), then goes on. Its MLflow run was left RUNNING and is marked FAILED by `tracking`.
- Stopped by Ctrl-C: the tasks are cancelled (their workers killed) and their RUNNING trials marked
  FAIL, so the same command resumes the study.
"""

from __future__ import annotations

import time
from dataclasses import replace

import optuna

from forecaster.compare.jobs import Plan, plan_threads
from forecaster.config import Config
from forecaster.interrupts import Interrupted
from forecaster.track import tracking
from forecaster.tune.studies import FINISHED, fail_dead_trials, finished, open_storage, open_study
from forecaster.tune.trials import Objective


def shares(missing: int, workers: int) -> list[int]:
    """`missing` trials split among at most `workers` workers, as evenly as possible (none empty)."""
    base, extra = divmod(missing, max(1, workers))
    return [base + (i < extra) for i in range(min(workers, missing))]


def optimize(cfg: Config, studies: dict, missing: dict[str, int], *, plan: Plan, where: dict, console=None) -> None:
    """Every study's missing trials on Ray; `where`: the study database URL (`study_db`), the
    parent run id (`parent`), the pruner, `trials` per study and the `deadline` (`time.time()`, or None)."""
    from forecaster.compare import ray_tasks  # Ray is imported only here

    threads = plan_threads(plan, cfg.trainer.threads)
    width = plan.workers or max(missing.values())  # a cluster without --workers: one task per trial
    calls, names = [], []
    for variant, study in studies.items():
        split = shares(missing[variant], width)
        for worker, n in enumerate(split):
            calls.append((cfg, variant, threads, n, worker, where))
            names.append(f"{study.study_name}-worker{worker}")
        if console is not None and split:
            console.print(
                f"[bold]{variant}[/]: {missing[variant]} trials on Ray in {len(split)} tasks, "
                f"{threads} thread{'s' * (threads > 1)} each ..."
            )
    try:
        ray_tasks.map_calls(share, calls, plan=plan, threads=threads, names=names)
    except (Interrupted, KeyboardInterrupt):
        for study in studies.values():
            fail_dead_trials(study)  # the cancelled tasks' workers are gone: their trials left RUNNING
        raise


def share(cfg: Config, variant: str, threads: int, n_trials: int, worker: int, where: dict) -> int:
    """One Ray task: `n_trials` trials of the variant's study, each a child run of `where["parent"]`.
    Returns the number of trials this task finished."""
    left = None if where["deadline"] is None else where["deadline"] - time.time()
    if left is not None and left <= 0:
        return 0  # queued past the tuning's --timeout
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(where["study_db"])
    study = open_study(storage, cfg, variant, where["pruner"], seed=cfg.seed + worker)
    fail_dead_trials(study)  # a retried task: the trial its dead worker left RUNNING
    before = finished(study)
    tcfg = replace(cfg, trainer=replace(cfg.trainer, threads=threads))
    with tracking.under_parent(where["parent"]):
        study.optimize(
            Objective(tcfg, variant, study.study_name),
            n_trials=n_trials,
            timeout=left,
            callbacks=[optuna.study.MaxTrialsCallback(where["trials"], states=FINISHED)],
        )
    return finished(study) - before
