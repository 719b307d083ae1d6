"""`forecaster tune`: an Optuna study per variant, every trial a child MLflow run of one parent run.

Each variant is tuned in its own study, `<config name>-<variant>`, in a database: by default the
SQLite file `optuna.db` beside the MLflow store (`sqlite:///path/mlflow.db` -> `sqlite:///path/optuna.db`;
`./optuna.db` for other stores), or any SQLAlchemy URL (`--study-db`) to share a study between
machines. The sampler is TPE seeded from `cfg.seed`; a `MedianPruner` stops hopeless trials from
the validation loss reported after each epoch (`forecaster.tune.trials.Pruning`). The
objective is the trial's validation score (`selection.metric`): the test split is never read to choose.

Every trial fits with the config's seed (so trials differ only by their settings) through
`experiment.train`, as a child run of the tuning's parent run, tagged with the study, the trial
number and the sampled values. A pruned trial stops training at once but its run ends FINISHED,
tagged `optuna.pruned=true` (it did not fail: it was judged hopeless). A sampled combination that
the normal validation rejects, or whose training diverges, is pruned too, its reason printed and
kept in the trial's user attribute `invalid`, so the study goes on and TPE learns to avoid it.

Running the same command again resumes: the studies are loaded, trials left RUNNING by a dead
process are marked FAIL (`fail_dead_trials`), only the trials missing to reach `--trials` finished
(complete or pruned) ones are run, and the parent run is found by its `optuna.study` tag and
reopened (MLflow runs left RUNNING by a dead process are marked FAILED by `tracking`).

Where things are: the studies' database and dead trials in `forecaster.tune.studies`, one trial in
`forecaster.tune.trials`, the trials as Ray tasks (`--workers`, `--ray-address`) in `forecaster.tune.fanout`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import optuna

from forecaster.config import Config, flatten, with_variant
from forecaster.errors import ConfigError
from forecaster.interrupts import Interrupted
from forecaster.track import tracking
from forecaster.tune.space import check_tunable
from forecaster.tune.studies import (
    FINISHED,
    STUDY_TAG,
    default_study_db,
    fail_dead_trials,
    finished,
    open_storage,
    open_study,
)
from forecaster.tune.trials import Objective

KIND = "tune"  # the parent run's `kind` tag


@dataclass
class Tuning:
    """What a tuning leaves: the studies by variant, the best config and the parent run."""

    studies: dict[str, Any]
    best: Config | None
    run_id: str | None
    trials_run: int = 0
    notes: list[str] = field(default_factory=list)


def check_tune(cfg: Config, variants: list[str], trials: int, timeout: float | None) -> None:
    """Every option and every variant's base settings, before any file or run is written."""
    from forecaster.fit.checks import check_trainable
    from forecaster.validation import check_at_least

    check_at_least("--trials", trials, 1)
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"--timeout must be a number of seconds > 0, got {timeout}")
    for variant in variants:
        check_trainable(with_variant(cfg, check_tunable(variant)))


def tune(
    cfg: Config,
    *,
    variants: list[str],
    trials: int = 20,
    timeout: float | None = None,
    study_db: str | None = None,
    console=None,
    pruner=None,
    plan=None,
) -> Tuning:
    """Run (or resume) each variant's study until it holds `trials` finished trials, or `timeout` seconds pass.

    `plan` (`forecaster.compare.jobs.Plan`): the trials run as Ray tasks (`forecaster.tune.fanout`); None: here.
    Returns the studies, the best config (None if no trial completed) and the parent run's id.
    """
    from forecaster.compare import fanout
    from forecaster.tune.report import best_config, log_best

    check_tune(cfg, variants, trials, timeout)
    study_db = study_db or default_study_db(cfg.tracking.uri)
    if plan is not None:
        fanout.check(plan, cfg.tracking.enabled, tracking.tracking_uri(cfg.tracking.uri), study_db)
    studies, notes = open_studies(cfg, variants, study_db, pruner)
    missing = {v: max(trials - finished(s), 0) for v, s in studies.items()}
    if not any(missing.values()):
        return Tuning(studies, best_config(cfg, studies), None, notes=notes)
    with open_parent(cfg, variants, studies) as run:
        run.set_tags({"trials": trials})
        before = sum(finished(s) for s in studies.values())
        if plan is not None and plan.parallel:
            from forecaster.tune import fanout as tune_fanout

            where = {"study_db": study_db, "parent": run.run_id, "pruner": pruner, "trials": trials}
            where["deadline"] = time.time() + timeout if timeout else None  # wall clock: the same on every node
            tune_fanout.optimize(cfg, studies, missing, plan=plan, where=where, console=console)
        else:
            _optimize(cfg, studies, missing, trials=trials, timeout=timeout, console=console)
        best = best_config(cfg, studies)
        log_best(run, studies, best)
    ran = sum(finished(s) for s in studies.values()) - before
    return Tuning(studies, best, run.run_id, trials_run=ran, notes=notes)


def open_studies(cfg: Config, variants: list[str], study_db: str, pruner) -> tuple[dict[str, Any], list[str]]:
    """Each variant's study (created or reopened), and a note per trial a dead process left RUNNING
    (marked FAIL, and printed)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own one line per trial instead
    storage = open_storage(study_db)
    studies = {v: open_study(storage, cfg, v, pruner) for v in variants}
    notes = [
        f"{v}: trial {n}, left RUNNING by a process that died, marked FAIL"
        for v, s in studies.items()
        for n in fail_dead_trials(s)
    ]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return studies, notes


def open_parent(cfg: Config, variants: list[str], studies: dict[str, Any]):
    """The tuning's parent run: the stopped one of the same studies and settings reopened, else a new one."""
    from forecaster.fit.experiment import experiment_name

    tag = ",".join(s.study_name for s in studies.values())
    params = {**flatten(cfg), "tune.variants": ",".join(variants)}
    parent = find_parent(cfg, tag, params) if cfg.tracking.enabled else None
    return tracking.start_run(
        uri=cfg.tracking.uri,
        experiment=experiment_name(cfg),
        run_name=f"tune-{cfg.name}",
        enabled=cfg.tracking.enabled,
        tags={tracking.KIND_TAG: KIND, STUDY_TAG: tag, "variants": ",".join(variants)},
        params=params,
        resume=parent,
    )


def _optimize(cfg: Config, studies: dict, missing: dict[str, int], *, trials: int, timeout: float | None, console):
    """Run each study's missing trials in turn, within `timeout` seconds for them all."""
    deadline = time.monotonic() + timeout if timeout else None
    for variant, study in studies.items():
        left = None if deadline is None else deadline - time.monotonic()
        if missing[variant] == 0 or (left is not None and left <= 0):
            continue
        try:
            study.optimize(
                Objective(cfg, variant, study.study_name, console),
                n_trials=missing[variant],
                timeout=left,
                callbacks=[optuna.study.MaxTrialsCallback(trials, states=FINISHED)],  # other workers' count too
            )
        except (Interrupted, KeyboardInterrupt):
            fail_dead_trials(study, own=True)  # optuna leaves the trial RUNNING on a BaseException
            raise


def find_parent(cfg: Config, tag: str, params: dict[str, Any]) -> str | None:
    """The latest parent run of this tuning if it did not finish (killed, or its process died) and
    was started with the same settings: it is reopened. Else None: a new parent run is started."""
    import mlflow

    from forecaster.fit.experiment import experiment_name

    experiment_id = tracking.open_experiment(cfg.tracking.uri, experiment_name(cfg))  # marks dead runs FAILED
    runs = mlflow.MlflowClient().search_runs(
        [experiment_id],
        f"tags.{tracking.KIND_TAG} = '{KIND}' and tags.`{STUDY_TAG}` = '{tag}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs or runs[0].info.status not in ("FAILED", "KILLED"):
        return None
    try:
        tracking.resumable(runs[0].info.run_id, experiment_id=experiment_id, kind=KIND, params=params)
    except ConfigError:
        return None
    return runs[0].info.run_id
