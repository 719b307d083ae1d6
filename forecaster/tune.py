"""`forecaster tune`: an Optuna study per variant, every trial a child MLflow run of one parent run.

Each variant is tuned in its own study, `<config name>-<variant>`, in a database: by default the
SQLite file `optuna.db` beside the MLflow store (`sqlite:///path/mlflow.db` -> `sqlite:///path/optuna.db`;
`./optuna.db` for other stores), or any SQLAlchemy URL (`--study-db`) to share a study between
machines. The sampler is TPE seeded from `cfg.seed`; a `MedianPruner` stops hopeless trials from
the validation loss reported after each epoch by optuna-integration's Lightning callback. The
objective is the trial's best validation loss: the test split is never read to choose.

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
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from lightning.pytorch.callbacks import Callback
from optuna.trial import TrialState
from optuna_integration import PyTorchLightningPruningCallback

from forecaster import store, tracking
from forecaster.config import Config, flatten, override, with_variant
from forecaster.errors import ConfigError, ForecasterError
from forecaster.interrupts import Interrupted
from forecaster.search import check_tunable, sample, space_for

KIND = "tune"  # the parent run's `kind` tag
STUDY_TAG = "optuna.study"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_S, GRACE_S = 60, 300  # another host's dead worker: its trials fail after GRACE_S without a beat


@dataclass
class Tuning:
    """What a tuning leaves: the studies by variant, the best config and the parent run."""

    studies: dict[str, Any]
    best: Config | None
    run_id: str | None
    trials_run: int = 0
    notes: list[str] = field(default_factory=list)


def default_study_db(uri: str | None) -> str:
    """`sqlite:///DIR/optuna.db` beside a SQLite MLflow store, else `sqlite:///optuna.db` (the working directory)."""
    database = store.sqlite_path(tracking.tracking_uri(uri))
    path = database.with_name("optuna.db") if database is not None else "optuna.db"
    return f"sqlite:///{path}"


def check_tune(cfg: Config, variants: list[str], trials: int, timeout: float | None) -> None:
    """Every option and every variant's base settings, before any file or run is written."""
    from forecaster.validation import check_at_least, check_trainable

    check_at_least("--trials", trials, 1)
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"--timeout must be a number of seconds > 0, got {timeout}")
    for variant in variants:
        check_trainable(with_variant(cfg, check_tunable(variant)))


def open_storage(url: str):
    """The study database at SQLAlchemy `url` (created if new), with Optuna's heartbeat for other hosts."""
    database = store.sqlite_path(url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
            return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)
    except Exception as exc:  # SQLAlchemy: a malformed URL, a missing driver, an unreachable server
        raise ConfigError(f"--study-db {url}: cannot open the study database ({exc})") from None


def open_study(storage, cfg: Config, variant: str, pruner=None):
    """Load or create `<name>-<variant>`; refuse one created with other base settings or another space."""
    vcfg = with_variant(cfg, variant)
    fixed = {k: v for k, v in flatten(vcfg).items() if not k.startswith(tracking.RESUME_FREE)}
    digest = json.dumps({"config": fixed, "space": space_for(cfg, variant)}, sort_keys=True, default=str)
    digest = hashlib.sha256(digest.encode()).hexdigest()[:16]
    name = f"{cfg.name}-{variant}"
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        direction="minimize",
        load_if_exists=True,
    )
    known = study.user_attrs.get("forecaster.settings")
    if known is None:
        study.set_user_attr("forecaster.settings", digest)
        study.set_user_attr("forecaster.variant", variant)
    elif known != digest:
        raise ConfigError(
            f"study '{name}' in the study database was run with other settings or another search space\n"
            "  fix: give the settings it was started with, or another --name (a new study), or another --study-db"
        )
    return study


def fail_dead_trials(study, *, own: bool = False) -> list[int]:
    """Mark FAIL the RUNNING trials whose process died (and this process's own ones when `own`).

    A trial records the host, pid and pid start time of the process that runs it (`store.process_tags`).
    This is safe: a trial is failed only when that process is known to be gone — same host and the
    pid no longer exists or was reused (the test `tracking.mark_dead_runs` applies to runs) — or it is
    this process, on its way out after a signal. A trial of a live process, or of another host, is
    never touched here; Optuna's heartbeat fails another host's trials once they miss GRACE_S seconds.
    """
    me = store.process_tags()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tags = trial.user_attrs
        mine = own and all(tags.get(k) == me[k] for k in (store.HOST_TAG, store.PID_TAG))
        if mine or store.process_died(tags):
            reason = "interrupted" if mine else f"process died (pid {tags.get(store.PID_TAG)})"
            study._storage.set_trial_user_attr(trial._trial_id, "forecaster.ended", reason)
            study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            failed.append(trial.number)
    return failed


def finished(study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


class Pruning(PyTorchLightningPruningCallback):
    """optuna-integration's callback, but a pruned trial stops its fit instead of raising in it, so
    the run ends normally (FINISHED, tagged pruned) and the objective raises `TrialPruned` itself."""

    def __init__(self, trial, monitor: str = "val_loss"):
        super().__init__(trial, monitor)
        self.pruned_at: int | None = None

    def on_validation_end(self, trainer, pl_module) -> None:
        try:
            super().on_validation_end(trainer, pl_module)
        except optuna.TrialPruned:
            self.pruned_at = pl_module.current_epoch
            trainer.should_stop = True


class TrialTags(Callback):
    """Tags the trial's MLflow run (the active one while it fits) with the study, trial and values."""

    def __init__(self, trial, study: str, values: dict[str, Any]):
        self.trial, self.study, self.values = trial, study, values

    def on_fit_start(self, trainer, pl_module) -> None:
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return
        tags = {STUDY_TAG: self.study, "optuna.trial": self.trial.number, "mlflow.runName": self.name()}
        tags.update({f"optuna.param.{k}": v for k, v in self.values.items()})
        tracking.Run(run.info.run_id).set_tags(tags)
        self.trial.set_user_attr("mlflow.run_id", run.info.run_id)

    def name(self) -> str:
        return f"{self.study}-trial{self.trial.number}"


class Objective:
    """One trial: sample, validate, fit as a child run, return the best validation loss."""

    def __init__(self, cfg: Config, variant: str, study: str, console=None):
        self.cfg, self.variant, self.study, self.console = cfg, variant, study, console
        self.space, self.cache = space_for(cfg, variant), {}

    def __call__(self, trial) -> float:
        from forecaster.experiment import train
        from forecaster.training import TrainingDiverged

        for key, value in store.process_tags().items():
            trial.set_user_attr(key, value)
        values = sample(trial, self.space)
        tcfg, data = self._prepare(trial, values)
        pruning = Pruning(trial)
        try:
            outcome = train(
                tcfg, prepared=data, nested=True, quiet=True, callbacks=[pruning, TrialTags(trial, self.study, values)]
            )
        except TrainingDiverged as exc:
            self._invalid(trial, str(exc).splitlines()[0])
        if pruning.pruned_at is not None:
            if outcome.run_id is not None:
                tracking.Run(outcome.run_id).set_tags({"optuna.pruned": "true"})
            self._say(trial, f"pruned after epoch {pruning.pruned_at}")
            raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at}")
        value = outcome.metrics.get("best_val_loss")
        if value is None:
            self._invalid(trial, "no validation loss")
        self._say(trial, f"validation loss {value:.6g}")
        return value

    def _prepare(self, trial, values: dict[str, Any]):
        """The trial's config (checked as `train` checks one) and its prepared data, or the trial pruned as invalid."""
        from forecaster.data.windows import prepare
        from forecaster.validation import check_trainable

        quiet = [("tracking.log_model", False), ("tracking.plots", False)]  # the best is retrained from its YAML
        try:
            tcfg = check_trainable(with_variant(override(self.cfg, [*values.items(), *quiet]), self.variant))
            key = json.dumps(tcfg.data.__dict__, sort_keys=True, default=str)
            if key not in self.cache:
                self.cache[key] = prepare(tcfg.data)
        except ForecasterError as exc:
            self._invalid(trial, str(exc).splitlines()[0])
        return tcfg, self.cache[key]

    def _invalid(self, trial, reason: str):
        trial.set_user_attr("invalid", reason)
        self._say(trial, f"invalid, pruned: {reason}")
        raise optuna.TrialPruned(f"invalid: {reason}")

    def _say(self, trial, text: str) -> None:
        if self.console is not None:
            self.console.print(f"[bold]{self.variant}[/] trial {trial.number}: {text}")


def tune(
    cfg: Config,
    *,
    variants: list[str],
    trials: int = 20,
    timeout: float | None = None,
    study_db: str | None = None,
    console=None,
    pruner=None,
) -> Tuning:
    """Run (or resume) each variant's study until it holds `trials` finished trials, or `timeout` seconds pass.

    Returns the studies, the best config (None if no trial completed) and the parent run's id.
    """
    from forecaster.experiment import experiment_name
    from forecaster.tune_report import best_config, log_best

    check_tune(cfg, variants, trials, timeout)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own one line per trial instead
    storage = open_storage(study_db or default_study_db(cfg.tracking.uri))
    studies = {v: open_study(storage, cfg, v, pruner) for v in variants}
    notes = [
        f"{v}: trial {n}, left RUNNING by a process that died, marked FAIL"
        for v, s in studies.items()
        for n in fail_dead_trials(s)
    ]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    missing = {v: max(trials - finished(s), 0) for v, s in studies.items()}
    if not any(missing.values()):
        return Tuning(studies, best_config(cfg, studies), None, notes=notes)
    tag = ",".join(s.study_name for s in studies.values())
    params = {**flatten(cfg), "tune.variants": ",".join(variants)}
    parent = find_parent(cfg, tag, params) if cfg.tracking.enabled else None
    with tracking.start_run(
        uri=cfg.tracking.uri,
        experiment=experiment_name(cfg),
        run_name=f"tune-{cfg.name}",
        enabled=cfg.tracking.enabled,
        tags={tracking.KIND_TAG: KIND, STUDY_TAG: tag, "variants": ",".join(variants)},
        params=params,
        resume=parent,
    ) as run:
        run.set_tags({"trials": trials})
        before = sum(finished(s) for s in studies.values())
        _optimize(cfg, studies, missing, trials=trials, timeout=timeout, console=console)
        best = best_config(cfg, studies)
        log_best(run, studies, best)
    ran = sum(finished(s) for s in studies.values()) - before
    return Tuning(studies, best, run.run_id, trials_run=ran, notes=notes)


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

    from forecaster.experiment import experiment_name

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
