"""SIGINT and SIGTERM as one exception, so a stopped fit ends its MLflow runs KILLED and exits 130 / 143.

Left alone, Lightning turns Ctrl-C into `sys.exit(1)` and a SIGTERM (a container stop, a CI timeout)
into a silent `sys.exit(0)`, and the run ends FAILED. `handle_signals()` installs one handler for
both that raises `Interrupted`: a `BaseException` but not a `KeyboardInterrupt`, so Lightning tears
down and re-raises it, `tracking.start_run` ends each open run KILLED on the way out and notes the
outermost run's id on it, and the CLI prints one line and exits 128 + the signal number. Further
signals while that happens are ignored, so the runs are closed before the process ends (kill -9
still ends it at once, and the next command marks its runs FAILED). Standard library only.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The process got `signum`; `run_id` is the outermost MLflow run it ended KILLED (None if none)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.run_id: str | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process ended by it: 130 (SIGINT), 143 (SIGTERM)."""
        return 128 + self.signum


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Raise `Interrupted` on the first SIGINT or SIGTERM while the block runs; restore the handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    fired = []

    def handler(signum, frame):
        if fired:
            return  # already closing the runs: let that finish
        fired.append(signum)
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def run_script(main: Callable[[], int | None]) -> int | None:
    """A benchmark script's `main` under `handle_signals`: a stop ends its MLflow runs KILLED (a plain
    SIGTERM would end the process at once and leave them RUNNING) and returns 128 + the signal."""
    try:
        with handle_signals():
            return main()
    except Interrupted as exc:
        print(f"interrupted ({exc.name}): results already written are kept", file=sys.stderr)
        return exc.exit_code


def message(exc: Interrupted, command: list[str]) -> str:
    """The one line printed for an interrupted `command` (the argv after `forecaster`)."""
    import shlex

    if command[:1] == ["tune"]:  # its study and parent run are found again by name
        return f"interrupted ({exc.name}): the study is saved; resume it with: {shlex.join(['forecaster', *command])}"
    if exc.run_id is None:
        return f"interrupted ({exc.name}): no run was being tracked; nothing to resume"
    args = list(command)
    if "--resume" in args:  # rerunning a resumed command: replace its run id
        i = args.index("--resume")
        del args[i : i + 2]
    args = [a for a in args if not a.startswith("--resume=")]
    return (
        f"interrupted ({exc.name}): run {exc.run_id} marked KILLED; "
        f"resume with: {shlex.join(['forecaster', *args, '--resume', exc.run_id])}"
    )
