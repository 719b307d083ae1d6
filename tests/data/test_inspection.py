"""`forecaster data inspect` (`forecaster.data.inspection`): what is detected in a file, and its windows."""

from __future__ import annotations

from conftest import ETTH1, run_cli


def test_inspect_etth1_reports_the_benchmark_split(capsys):
    code, out, _ = run_cli(capsys, "data", "inspect", ETTH1, "--context-len", "336", "--horizon", "96")
    assert code == 0
    assert "rows:         17,420" in out and "frequency:    h" in out and "targets:      7" in out
    assert "ett                      train 8,209 / validation 2,785 / test 2,785" in out
