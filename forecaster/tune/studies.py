"""The Optuna studies of `forecaster tune`: where they live, how they are opened, and their dead trials.

Each variant is tuned in its own study, `<config name>-<variant>`, in a database: by default the
SQLite file `optuna.db` beside the MLflow store, or any SQLAlchemy URL (`--study-db`) to share a
study between processes and machines (`tune --workers`, several `tune` commands on one database).
"""

from __future__ import annotations

import hashlib
import json
import warnings

import optuna
from optuna.trial import TrialState

from forecaster.config import Config, flatten, with_variant
from forecaster.errors import ConfigError
from forecaster.track import store, tracking
from forecaster.tune.space import space_for

STUDY_TAG = "optuna.study"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_S, GRACE_S = 60, 300  # another host's dead worker: its trials fail after GRACE_S without a beat


def default_study_db(uri: str | None) -> str:
    """`sqlite:///DIR/optuna.db` beside a SQLite MLflow store, else `sqlite:///optuna.db` (the working directory)."""
    database = store.sqlite_path(tracking.tracking_uri(uri))
    path = database.with_name("optuna.db") if database is not None else "optuna.db"
    return f"sqlite:///{path}"


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


def open_study(storage, cfg: Config, variant: str, pruner=None, *, seed: int | None = None):
    """Load or create `<name>-<variant>`; refuse one created with other base settings or another space.
    Its TPE sampler is seeded `seed` (default: the config's; `tune --workers` gives each worker its own)."""
    vcfg = with_variant(cfg, variant)
    fixed = {k: v for k, v in flatten(vcfg).items() if not k.startswith(tracking.RESUME_FREE)}
    digest = json.dumps({"config": fixed, "space": space_for(cfg, variant)}, sort_keys=True, default=str)
    digest = hashlib.sha256(digest.encode()).hexdigest()[:16]
    name = f"{cfg.name}-{variant}"
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=cfg.seed if seed is None else seed),
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
