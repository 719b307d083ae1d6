"""Where a run's local state lives, and who owns a run: the store's lock, checkpoint folders, process tags.

Light imports only (the standard library, `filelock`, `psutil`; no MLflow, no torch), so the CLI can
use it before anything heavy loads. Portable: no `fcntl`, no `/proc`, so it runs on Linux, macOS and Windows.

- A new SQLite store is created and migrated by MLflow on first use; two processes doing that at
  once race on the schema migration and one crashes. `store_lock(uri)` serialises that first use
  with a `filelock.FileLock` on a lock file beside the database (`mlflow.db.lock`); other stores (a
  tracking server) need no lock.
- A run's checkpoints are kept beside the store, so a run can be resumed after the process died:
  for `sqlite:///path/mlflow.db` in `path/checkpoints/<run_id>/`; for any other store (a tracking
  server) in `./checkpoints/<run_id>/`. `FORECASTER_CHECKPOINT_DIR` overrides the folder for every
  store. Never the system temp directory: a reboot or a cleaner must not take a resumable run.
- A SQLite store keeps its artifacts beside the database, in `path/mlartifacts/` (`artifact_root`),
  wherever the command runs from; MLflow's own default, `./mlruns` of the working directory, would
  scatter them. A tracking server keeps its own artifact location.
- A run records the host and the process (pid and its creation time, from `psutil`) that runs it, so
  the next command can tell a RUNNING run whose process died (kill -9, power loss) from one still going.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
from filelock import FileLock

CHECKPOINT_ENV = "FORECASTER_CHECKPOINT_DIR"
# The creation time is seconds since the epoch (psutil). Its tag is not the `forecaster.pid_start` of earlier
# versions (clock ticks since boot, from /proc): comparing the two would call a live run of an older version dead.
HOST_TAG, PID_TAG, PID_START_TAG = "forecaster.host", "forecaster.pid", "forecaster.pid_created"
# How far two readings of one process's creation time may differ: psutil derives it from the boot time,
# which shifts when the system clock is stepped. A reused pid belongs to a process started much later.
START_TOLERANCE_S = 2.0
RUN_ID = re.compile(r"[0-9a-f]{32}")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///...` URI (`sqlite:////abs` is absolute), else None."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock beside a SQLite database while the block runs (no-op for other stores).

    Blocks until another holder, in this process or another, is done; the OS releases the lock if
    its holder dies, so a killed process never leaves the store locked."""
    database = sqlite_path(uri)
    if database is None:
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    # thread_local=False: one lock object per call, so two threads contend like two processes do
    with FileLock(database.with_name(database.name + ".lock"), thread_local=False, is_singleton=False):
        yield


def artifact_root(uri: str) -> Path | None:
    """Where a SQLite store's artifacts go (`mlartifacts/` beside the database, absolute); None for
    any other store, which decides for itself."""
    database = sqlite_path(uri)
    return database.parent.absolute() / "mlartifacts" if database is not None else None


def experiment_artifacts(uri: str, experiment: str) -> str | None:
    """The artifact location of a new experiment `experiment` in the store at `uri` (a folder of
    `artifact_root` named after the experiment, as a file URI), or None: MLflow's default."""
    root = artifact_root(uri)
    if root is None:
        return None
    return (root / (re.sub(r"[^A-Za-z0-9._-]+", "_", experiment).strip("._") or "experiment")).as_uri()


def checkpoint_root(uri: str) -> Path:
    """The folder holding every run's checkpoint folder for the store at `uri` (absolute)."""
    if os.environ.get(CHECKPOINT_ENV):
        return Path(os.environ[CHECKPOINT_ENV]).absolute()
    database = sqlite_path(uri)
    return (database.parent if database is not None else Path.cwd()).absolute() / "checkpoints"


def checkpoint_dir(uri: str, run_id: str) -> Path:
    """`run_id`'s checkpoint folder; the id must be an MLflow run id (no path can be smuggled in)."""
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"not an MLflow run id: {run_id!r}")
    return checkpoint_root(uri) / run_id


def _created(pid: int) -> float | None:
    """The creation time of process `pid` (seconds since the epoch), to tell a reused pid apart; None if
    it is gone or cannot be read."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def process_tags() -> dict[str, str]:
    """Tags naming this process: host, pid and (where known) the pid's creation time."""
    created = _created(os.getpid())
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
        PID_START_TAG: f"{created:.3f}" if created is not None else "",
    }


def process_died(tags: dict[str, str]) -> bool:
    """Whether the process named by `process_tags()` tags is gone. Unknown (another host, no tags): False."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    pid = int(tags[PID_TAG])
    try:
        process = psutil.Process(pid)
        zombie = process.status() == psutil.STATUS_ZOMBIE  # exited, not yet reaped by its parent
        created = process.create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False  # alive but not ours to inspect (another user's, access denied): leave it
    try:
        started = float(tags.get(PID_START_TAG) or "nan")
    except ValueError:
        started = float("nan")  # unreadable: judge by existence alone
    return zombie or abs(created - started) > START_TOLERANCE_S  # NaN compares False: no start time known
