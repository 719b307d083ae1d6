"""What a person sees while fits run: a live display in a terminal, one line per fit elsewhere.

`FitListener` is what any watcher of a fit implements, in plain Python: the display, and the tuner's
pruning and run tags (`forecaster.tune.trials`), so that no room but `fit/` needs Lightning;
`forecaster.fit.training.Listen` is the one Lightning callback that calls them.

`display(console, total=N)` opens the display of N fits (a comparison's variants x seeds, or the one
fit of `forecaster train`) and makes it `current()`; `experiment.train` finds it there, tells it
when a fit starts and ends, and hands it to the fit as a listener, told of every training batch
and validation loss. So no
function between the command and the Trainer carries it, and a fit run with no display open (a
test, a notebook, a tuning trial) shows nothing. In a terminal the display is rich's live progress:
the comparison as a whole (fits done, elapsed time, an ETA) and the running fit (variant and seed,
epoch and batch, the last validation loss); Lightning's own bar is off. When stdout is not a
terminal (CI, a log file) each fit prints one line as it ends, with the elapsed time and an ETA.
The display only reads what the fit reports: it changes no number of the fit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

_current: Display | None = None


class FitListener:
    """Told what a fit does (`forecaster.fit.training.fit(listeners=...)`); override what you need.
    Listeners only read: the fit is the same with or without them, unless `validated` stops it."""

    def on_fit_start(self) -> None:
        """The fit starts (its MLflow run, if any, is the active one)."""

    def batch(self, epoch: int, batch: int, batches: int) -> None:
        """Training batch `batch` of `batches` of epoch `epoch` (from 0) is done."""

    def validated(self, epoch: int, val_loss: float) -> bool:
        """Epoch `epoch` was validated; return True to stop training after it."""
        return False


def current() -> Display | None:
    """The display open now (see `display`), or None."""
    return _current


def skip() -> None:
    """Count a fit that needs no training (it finished before a resume) as done."""
    if _current is not None:
        _current.skip()


@contextlib.contextmanager
def display(console, *, total: int) -> Iterator[Display | None]:
    """Show the progress of `total` fits on `console` (a rich Console) while the block runs: live
    in a terminal, a line per fit otherwise. With no console, show nothing (and yield None)."""
    global _current
    if console is None:
        yield None
        return
    shown = LiveDisplay(console, total) if console.is_terminal else Display(console, total)
    previous, _current = _current, shown
    try:
        with shown:
            yield shown
    finally:
        _current = previous


def _duration(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on."""
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Display(FitListener):
    """Fits of a comparison, counted; prints one line as each fit ends (not a terminal)."""

    def __init__(self, console, total: int):
        self.console, self.total = console, max(total, 1)
        self.done, self.started = 0, time.perf_counter()
        self.name, self.max_epochs, self.fit_started = "", 1, self.started
        self.epoch, self.batch_no, self.batches, self.val_loss = 0, 0, 0, None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def start_fit(self, name: str, max_epochs: int) -> None:
        """A fit begins: `name` (variant and seed) for at most `max_epochs` epochs."""
        self.name, self.max_epochs, self.fit_started = name, max(max_epochs, 1), time.perf_counter()
        self.epoch, self.batch_no, self.batches, self.val_loss = 0, 0, 0, None

    def batch(self, epoch: int, batch: int, batches: int) -> None:
        """Training batch `batch` of `batches` (1-based) of epoch `epoch` (0-based) is done."""
        self.epoch, self.batch_no, self.batches = epoch, batch, batches

    def validated(self, epoch: int, val_loss: float) -> bool:
        """Epoch `epoch` (0-based) ended with validation loss `val_loss`."""
        self.epoch, self.val_loss = epoch, val_loss
        return False

    def end_fit(self, epochs: int | None = None) -> None:
        """The fit is done (trained `epochs` epochs; early stopping may end it before max_epochs)."""
        self.done += 1
        self.console.print(self.line(epochs), highlight=False)

    def skip(self) -> None:
        self.done += 1

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def eta(self) -> float | None:
        """Seconds until every fit is done, at the pace of the fits done so far."""
        return self.elapsed() / self.done * (self.total - self.done) if self.done else None

    def line(self, epochs: int | None) -> str:
        loss = "" if self.val_loss is None else f", val loss {self.val_loss:.4f}"
        trained = "no training" if not epochs else f"{epochs} epoch{'s' if epochs != 1 else ''}"
        eta = self.eta()
        return (
            f"[{self.done}/{self.total}] {self.name}: {trained}{loss}, "
            f"{time.perf_counter() - self.fit_started:.1f} s; elapsed {_duration(self.elapsed())}"
            + (f", ETA {_duration(eta)}" if eta is not None and self.done < self.total else "")
        )


class LiveDisplay(Display):
    """rich's live progress: the whole comparison (with an ETA) and the running fit."""

    def __init__(self, console, total: int):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        super().__init__(console, total)
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,  # the ranked table follows; the per-fit lines stay above it
        )
        self.all = self.bars.add_task("comparison", total=self.total)
        self.fit = self.bars.add_task("", total=1, visible=False)

    def __enter__(self):
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def start_fit(self, name: str, max_epochs: int) -> None:
        super().start_fit(name, max_epochs)
        self.bars.reset(self.fit, total=self.max_epochs, visible=True, description=self._what())

    def batch(self, epoch: int, batch: int, batches: int) -> None:
        super().batch(epoch, batch, batches)
        fraction = epoch + batch / max(batches, 1)  # epochs done, with the running one's share
        self.bars.update(self.fit, completed=fraction, description=self._what())
        self.bars.update(self.all, completed=self.done + min(fraction / self.max_epochs, 0.99))

    def validated(self, epoch: int, val_loss: float) -> bool:
        super().validated(epoch, val_loss)
        self.bars.update(self.fit, description=self._what())
        return False

    def end_fit(self, epochs: int | None = None) -> None:
        super().end_fit(epochs)  # the line stays above the bars
        self.bars.update(self.all, completed=self.done)
        self.bars.update(self.fit, visible=False)

    def skip(self) -> None:
        super().skip()
        self.bars.update(self.all, completed=self.done)

    def _what(self) -> str:
        loss = "" if self.val_loss is None else f" · val loss {self.val_loss:.4f}"
        where = f"epoch {self.epoch + 1}/{self.max_epochs} · batch {self.batch_no}/{self.batches or '?'}"
        return f"[bold]{self.name}[/] · {where}{loss}"
