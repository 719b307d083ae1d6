"""SIGINT / SIGTERM become one `Interrupted` exception, and the line that tells how to resume."""

from __future__ import annotations

import os
import signal
import time

import pytest

from forecaster.interrupts import Interrupted, handle_signals, message, run_script


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.5)  # the handler runs between bytecodes of this wait


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_raises_interrupted_and_the_old_handler_comes_back(signum, code):
    before = signal.getsignal(signum)
    with pytest.raises(Interrupted) as info, handle_signals():
        _deliver(signum)
    assert info.value.signum == signum and info.value.exit_code == code and info.value.run_id is None
    assert not isinstance(info.value, KeyboardInterrupt)  # Lightning would turn that into sys.exit(1)
    assert signal.getsignal(signum) is before


def test_a_second_signal_does_not_interrupt_the_clean_up():
    cleaned = False
    with handle_signals():
        try:
            _deliver(signal.SIGTERM)
        except Interrupted:
            _deliver(signal.SIGINT)  # a second Ctrl-C while the runs are being closed
            cleaned = True
    assert cleaned


def test_the_message_names_the_run_and_the_command_that_resumes_it():
    exc = Interrupted(signal.SIGTERM)
    exc.run_id = "ab" * 16
    line = message(exc, ["train", "--data", "my file.csv", "--resume", "cd" * 16, "--seed", "3"])
    assert line == (
        f"interrupted (SIGTERM): run {'ab' * 16} marked KILLED; "
        f"resume with: forecaster train --data 'my file.csv' --seed 3 --resume {'ab' * 16}"
    )
    assert "nothing to resume" in message(Interrupted(signal.SIGINT), ["train"])


def test_a_stopped_benchmark_script_ends_its_runs_killed_and_exits_143(mlflow_uri, capsys):
    import mlflow

    from forecaster.track import tracking

    def main():
        with tracking.start_run(uri=mlflow_uri, experiment="bench", run_name="compare"):
            _deliver(signal.SIGTERM)

    assert run_script(main) == 143
    runs = mlflow.MlflowClient(mlflow_uri).search_runs([mlflow.get_experiment_by_name("bench").experiment_id])
    assert [r.info.status for r in runs] == ["KILLED"]
    assert capsys.readouterr().err.startswith("interrupted (SIGTERM)")
    assert run_script(lambda: 0) == 0
