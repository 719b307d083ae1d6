"""A test plugin that kills a Ray worker mid-fit, so that a test sees Ray retry the fit and resume it.

Nothing in `forecaster` knows of it. Lightning builds every Trainer with the callbacks that
installed packages offer through the `lightning.pytorch.callbacks_factory` entry point group
(https://lightning.ai/docs/pytorch/stable/extensions/entry_points.html); this folder holds such a
package's metadata (`forecaster_test_plugins-0.dist-info/entry_points.txt`, naming `callbacks`
below), which `importlib.metadata` finds in any folder on `sys.path`. A test puts this folder on
the `PYTHONPATH` its Ray workers start with and sets `MARKER_ENV`: then, in each worker, every
Trainer gets `DieOnce`, and the first fit anywhere to end a training epoch kills its process.
Processes without this folder on their path (pytest itself, the sequential fits) never see it.
"""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.callbacks import Checkpoint

MARKER_ENV = "FORECASTER_TEST_DIE_ONCE"  # a marker file's path: the first fit to create it dies
EXIT_CODE = 17


class DieOnce(Checkpoint):
    """Exits the process at the end of the first training epoch of the first fit to create `marker`.

    A `Checkpoint`, so Lightning runs it after the other callbacks, `ResumePoint` among them: the
    epoch is saved before the process dies, and the retried fit resumes from it."""

    def __init__(self, marker: str):
        self.marker = Path(marker)

    def on_train_epoch_end(self, trainer, module) -> None:
        try:
            self.marker.touch(exist_ok=False)  # atomic: one fit wins, later ones (the retry) live
        except FileExistsError:
            return
        os._exit(EXIT_CODE)


def callbacks() -> list:
    """The entry point: `DieOnce` when `MARKER_ENV` names a marker file, else nothing."""
    marker = os.environ.get(MARKER_ENV)
    return [DieOnce(marker)] if marker else []
