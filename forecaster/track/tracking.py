"""MLflow runs: the tracking URI, runs, params, metrics and artifacts (the logged model is in
`forecaster.serve.pyfunc`).

One MLflow run per fit, opened here and written through one path (no Lightning logger, no autolog,
so no duplicate runs). A run that raises ends FAILED; one stopped by a signal (`Interrupted`) or
Ctrl-C ends KILLED, never RUNNING. A run killed outright (kill -9) is marked FAILED ("process
died") by the next run started on its experiment, and can be resumed: `start_run(resume=RUN_ID)`
reopens it (same run id, metrics continue) after checking that it is this kind of run, of this
experiment, not finished, and trained with the same settings. A run's checkpoint folder
(`forecaster.track.store`) is deleted when the run ends FINISHED. The embedded default store is
`sqlite:///mlflow.db` in the working directory (the `./mlruns` file store is deprecated);
`MLFLOW_TRACKING_URI` or `tracking.uri` point elsewhere, such as a team's tracking server. A new
SQLite store is created under a lock, so processes started together do not race on its schema.
Importing this module changes nothing: MLflow is configured by `configure_mlflow` when a run starts
or a model is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from forecaster.errors import ConfigError
from forecaster.interrupts import Interrupted
from forecaster.track import store

DEFAULT_URI = "sqlite:///mlflow.db"


def tracking_uri(configured: str | None = None) -> str:
    """`tracking.uri`, else `MLFLOW_TRACKING_URI`, else the embedded SQLite store."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


MODEL_NAME_LIMIT = 256  # the model registry's column for a registered model's name (String(256))


def check_model_name(name: str | None, *, tracked: bool, option: str = "--register") -> str | None:
    """`name` as a registered model's name, checked by MLflow's own rules before anything runs (MLflow
    checks it only when the model is registered, after the fit): not blank, no '/', ':', '\\' or '%'
    (mlflow.utils.validation._validate_model_name and the file store's additions), not a path that
    normalises to another name ('.', '..', 'a//b', 'a/..'), at most MODEL_NAME_LIMIT characters;
    and tracking on, since the registry is the tracking store's. None: nothing to register."""
    import posixpath

    if name is None:
        return None
    if not name.strip():
        problem = "is blank"
    elif bad := sorted(set("/:\\%") & set(name)):
        problem = f"contains {' '.join(repr(c) for c in bad)}"
    elif posixpath.normpath(name) != name or name.startswith(".."):
        problem = "reads as a relative path ('.' or '..')"
    elif len(name) > MODEL_NAME_LIMIT:
        problem = f"has {len(name)} characters, more than the registry's {MODEL_NAME_LIMIT}"
    else:
        problem = None
    if problem:
        raise ConfigError(
            f"{option} {name!r}: {problem}; a registered model's name is letters, digits and "
            "'-', '_', '.' or spaces (e.g. --register sales-forecast)"
        )
    if not tracked:
        raise ConfigError(f"{option} needs tracking: drop --tracking.enabled false, or save a package instead")
    return name


def configure_mlflow(uri: str | None) -> None:
    """Point MLflow at `tracking_uri(uri)`, without artifact progress bars (unless the user set them)."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri(uri))


def file_hash(path: str | Path) -> str:
    """A short content hash of a data file (or of an in-memory table: `forecaster.data.sources`), to
    tell datasets apart across runs."""
    from forecaster.data import sources

    held = sources.digest(str(path))
    if held is not None:
        return held
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("forecaster", "torch", "lightning", "mlflow", "pandas", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[f"version.{name}"] = version(name)
    return out


class Run:
    """Writes to one MLflow run; `checkpoint_dir` is where its fit keeps checkpoints."""

    def __init__(self, run_id: str, checkpoint_dir: Path | None = None):
        import mlflow

        self.run_id, self.checkpoint_dir = run_id, checkpoint_dir
        self.client = mlflow.MlflowClient()

    def log_params(self, params: dict[str, Any]) -> None:
        import mlflow

        mlflow.log_params({k: ("null" if v is None else v) for k, v in params.items()}, run_id=self.run_id)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        import mlflow

        clean = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
        mlflow.log_metrics(clean, step=step, run_id=self.run_id)

    def set_tags(self, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def log_text(self, text: str, path: str) -> None:
        self.client.log_text(self.run_id, text, path)

    def log_figure(self, figure, path: str) -> None:
        self.client.log_figure(self.run_id, figure, path)


@contextlib.contextmanager
def activate(run_id: str):
    """Make `run_id` the fluent API's active run for a call that needs one."""
    import mlflow

    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        yield
        return
    with mlflow.start_run(run_id=run_id, nested=active is not None):
        yield


class NullRun:
    """Stands in for `Run` when tracking is off: every call does nothing."""

    run_id = None
    checkpoint_dir = None

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


_PARENT: ContextVar[str | None] = ContextVar("forecaster_parent_run", default=None)


@contextlib.contextmanager
def under_parent(run_id: str | None):
    """Runs started `nested` in this block, with no active run, are children of `run_id`: a parent
    that another process holds open (a comparison whose fits run as Ray tasks, `forecaster.compare.fanout`)."""
    token = _PARENT.set(run_id)
    try:
        yield
    finally:
        _PARENT.reset(token)


KIND_TAG = "kind"
COMPARISON = "comparison"
DIED_TAG = "forecaster.ended"
# Settings that may differ when a run is resumed: they change no number of the fit.
RESUME_FREE = ("data.path", "trainer.progress_bar", "tracking.")


def open_experiment(uri: str | None, experiment: str) -> str:
    """Point MLflow at the store, create the store and `experiment` if needed, mark dead runs FAILED.

    Creating (and migrating) a new SQLite store happens under `store.store_lock`, so processes
    started together on a store that does not exist yet do not race. A new experiment of a SQLite
    store keeps its artifacts beside the database (`store.experiment_artifacts`); experiments made
    before keep theirs. Returns the experiment's id.
    """
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    configure_mlflow(uri)
    with store.store_lock(tracking_uri(uri)):
        if mlflow.get_experiment_by_name(experiment) is None:  # a new one: artifacts beside a SQLite store
            mlflow.create_experiment(experiment, store.experiment_artifacts(tracking_uri(uri), experiment))
        experiment_id = mlflow.set_experiment(experiment).experiment_id
        mark_dead_runs(experiment_id)
    return experiment_id


def mark_dead_runs(experiment_id: str) -> list[str]:
    """End FAILED every RUNNING run of the experiment whose process (on this host) is gone."""
    import mlflow

    client, dead = mlflow.MlflowClient(), []
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=1000):
        if store.process_died(run.data.tags):
            pid = run.data.tags[store.PID_TAG]
            client.set_tag(run.info.run_id, DIED_TAG, f"process died (pid {pid} on {run.data.tags[store.HOST_TAG]})")
            client.set_terminated(run.info.run_id, "FAILED")
            print(
                f"note: run {run.info.run_id} was left RUNNING by process {pid}, which died: marked FAILED",
                file=sys.stderr,
            )
            dead.append(run.info.run_id)
    return dead


def resumable(
    run_id: str,
    *,
    experiment_id: str,
    kind: str | None,
    params: dict[str, Any],
    parent: str | None = None,
    tags: dict[str, Any] | None = None,
):
    """The MLflow run `run_id` if it can be resumed as asked, else a `ConfigError` saying why.

    It must exist, be of `experiment_id`, of `kind` (the `kind` tag: None for a single fit), a child
    of `parent` (or of no run when None), not FINISHED nor still running, and have been logged with
    the same `params` (except `RESUME_FREE` ones) and the same data (`dataset_hash` in `tags`).
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        run = mlflow.MlflowClient().get_run(run_id) if store.RUN_ID.fullmatch(run_id) else None
    except MlflowException:
        run = None
    if run is None:
        raise ConfigError(f"--resume {run_id}: no such run in {mlflow.get_tracking_uri()}")
    logged = run.data.tags
    if run.info.experiment_id != experiment_id:
        raise ConfigError(f"--resume {run_id}: the run belongs to another experiment (id {run.info.experiment_id})")
    if logged.get(KIND_TAG) != kind or logged.get("mlflow.parentRunId") != parent:
        what = "a comparison" if kind == COMPARISON else "a single fit"
        fix = f"forecaster {'compare' if logged.get(KIND_TAG) == COMPARISON else 'train'} ... --resume {run_id}"
        if logged.get("mlflow.parentRunId") and kind is None:
            fix = f"forecaster compare ... --resume {logged['mlflow.parentRunId']} (its comparison)"
        raise ConfigError(f"--resume {run_id}: the run is not {what}\n  fix: resume it with {fix}")
    if run.info.status == "FINISHED":
        raise ConfigError(f"--resume {run_id}: the run has already FINISHED; nothing to resume")
    if run.info.status == "RUNNING" and not store.process_died(logged):
        raise ConfigError(f"--resume {run_id}: the run is still RUNNING (pid {logged.get(store.PID_TAG, '?')})")
    _check_same_params(run_id, run.data.params, params)
    given = (tags or {}).get("dataset_hash")
    if given is not None and logged.get("dataset_hash") not in (None, str(given)):
        raise ConfigError(f"--resume {run_id}: the data file differs from the one the run was trained on")
    return run


def _check_same_params(run_id: str, logged: dict[str, str], params: dict[str, Any]) -> None:
    wanted = {k: "null" if v is None else str(v) for k, v in params.items() if not k.startswith(RESUME_FREE)}
    differ = sorted(k for k, v in wanted.items() if logged.get(k) != v)
    if differ:
        shown = ", ".join(f"{k} (run: {logged.get(k)}, now: {wanted[k]})" for k in differ[:5])
        raise ConfigError(
            f"--resume {run_id}: the run was trained with other settings: {shown}\n"
            "  fix: give the command the run was started with (see its config.yaml artifact)"
        )


@contextlib.contextmanager
def start_run(
    *,
    uri: str | None,
    experiment: str,
    run_name: str,
    enabled: bool = True,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    resume: str | None = None,
) -> Iterator[Run | NullRun]:
    """Open a run (a child of the active run when `nested`); close it FINISHED, FAILED or KILLED.

    A new run gets `tags` and `params`; `resume` reopens that run instead, after `resumable` checks
    it against `params`. The run is tagged with this host and process (see `mark_dead_runs`).
    """
    if not enabled:
        if resume:
            raise ConfigError("--resume needs tracking: drop --tracking.enabled false")
        yield NullRun()
        return
    import mlflow

    experiment_id = open_experiment(uri, experiment)
    active = mlflow.active_run()
    parent = (active.info.run_id if active is not None else _PARENT.get()) if nested else None
    if resume:
        kind = (tags or {}).get(KIND_TAG)
        resumable(resume, experiment_id=experiment_id, kind=kind, params=params or {}, parent=parent, tags=tags)
        run = mlflow.start_run(run_id=resume, nested=nested)
    else:
        all_tags = {**{k: str(v) for k, v in (tags or {}).items()}, **store.process_tags()}
        run = mlflow.start_run(run_name=run_name, nested=nested, parent_run_id=parent, tags=all_tags)
    run_id = run.info.run_id
    try:
        handle = Run(run_id, store.checkpoint_dir(tracking_uri(uri), run_id))
        if resume:
            handle.set_tags(store.process_tags())
        elif params:
            handle.log_params(params)
        yield handle
    except (Interrupted, KeyboardInterrupt) as exc:
        mlflow.end_run(status="KILLED")
        if isinstance(exc, Interrupted):
            exc.run_id = run_id  # the outermost run wins: the one to resume
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")
    shutil.rmtree(handle.checkpoint_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        handle.checkpoint_dir.parent.rmdir()  # the checkpoints folder, once no run needs it


def log_json(run: Run | NullRun, data: Any, path: str) -> None:
    run.log_text(json.dumps(data, indent=2, default=float), path)


def load_json(run_id: str, path: str) -> Any:
    """A JSON artifact that `log_json` wrote to run `run_id`."""
    import mlflow

    return json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/{path}"))


def find_run(run_id: str):
    """The MLflow run `run_id` (its info, data and tags), or None when the id is malformed or unknown."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if not store.RUN_ID.fullmatch(run_id):
        return None
    try:
        return mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        return None


def load_text(run_id: str, path: str) -> str | None:
    """A text artifact of run `run_id`, or None when the run has none at `path`."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{path}")
    except (MlflowException, OSError):
        return None


def artifact_files(run_id: str, folder: str, keep) -> dict[str, bytes]:
    """The files directly under `folder` of the run's artifacts whose path `keep` accepts, read."""
    import tempfile

    import mlflow

    client = mlflow.MlflowClient()
    with tempfile.TemporaryDirectory(prefix="forecaster-artifacts-") as tmp:
        return {
            a.path: Path(client.download_artifacts(run_id, a.path, tmp)).read_bytes()
            for a in client.list_artifacts(run_id, folder)
            if keep(a.path)
        }


def child_runs(parent_id: str) -> dict:
    """The child runs of `parent_id` by run name; a FINISHED one wins over others of the same name."""
    import mlflow

    client = mlflow.MlflowClient()
    parent = client.get_run(parent_id)
    found = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", max_results=10000
    )
    out: dict = {}
    for run in sorted(found, key=lambda r: (r.info.status == "FINISHED", r.info.start_time)):
        out[run.info.run_name] = run  # sorted so that the last one written wins
    return out
