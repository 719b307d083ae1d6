"""MLflow runs: the tracking URI, runs, params, metrics and artifacts (the logged model is in
`forecaster.pyfunc`).

One MLflow run per fit, opened here and written through one path (no Lightning logger, no autolog,
so no duplicate runs). A run that raises ends FAILED, one interrupted by Ctrl-C ends KILLED, never
RUNNING. The embedded default store is `sqlite:///mlflow.db` in the working directory (the
`./mlruns` file store is deprecated); `MLFLOW_TRACKING_URI` or `tracking.uri` point elsewhere, such
as a team's tracking server. Importing this module changes nothing: MLflow is configured by
`configure_mlflow` when a run starts or a model is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_URI = "sqlite:///mlflow.db"


def tracking_uri(configured: str | None = None) -> str:
    """`tracking.uri`, else `MLFLOW_TRACKING_URI`, else the embedded SQLite store."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def configure_mlflow(uri: str | None) -> None:
    """Point MLflow at `tracking_uri(uri)`, without artifact progress bars (unless the user set them)."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri(uri))


def file_hash(path: str | Path) -> str:
    """A short content hash of a data file, to tell datasets apart across runs."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("forecaster", "torch", "pytorch-lightning", "mlflow", "pandas", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            out[f"version.{name}"] = version(name)
    return out


class Run:
    """Writes to one MLflow run."""

    def __init__(self, run_id: str):
        import mlflow

        self.run_id = run_id
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

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@contextlib.contextmanager
def start_run(
    *,
    uri: str | None,
    experiment: str,
    run_name: str,
    enabled: bool = True,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
) -> Iterator[Run | NullRun]:
    """Open a run (a child of the active run when `nested`); close it FINISHED, FAILED or KILLED."""
    if not enabled:
        yield NullRun()
        return
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    configure_mlflow(uri)
    mlflow.set_experiment(experiment)
    run = mlflow.start_run(run_name=run_name, nested=nested, tags={k: str(v) for k, v in (tags or {}).items()})
    try:
        yield Run(run.info.run_id)
    except KeyboardInterrupt:
        mlflow.end_run(status="KILLED")
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")


def log_json(run: Run | NullRun, data: Any, path: str) -> None:
    run.log_text(json.dumps(data, indent=2, default=float), path)
