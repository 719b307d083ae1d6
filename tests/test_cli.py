"""The command line's contract: help everywhere, inspect's report, overrides, errors without tracebacks."""

from __future__ import annotations

import pytest

from conftest import ETTH1, run_cli


@pytest.mark.parametrize("command", [[], ["data", "inspect"], ["train"], ["compare"], ["predict"], ["evaluate"], ["ui"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, *command, "--help")
    assert info.value.code == 0
    assert "usage: forecaster" in capsys.readouterr().out


def test_inspect_etth1_reports_the_benchmark_split(capsys):
    code, out, _ = run_cli(capsys, "data", "inspect", ETTH1, "--context-len", "336", "--horizon", "96")
    assert code == 0
    assert "rows:         17,420" in out and "frequency:    h" in out and "targets:      7" in out
    assert "ett                      train 8,209 / validation 2,785 / test 2,785" in out


def test_unknown_override_is_named_and_exits_2(capsys):
    code, _, err = run_cli(capsys, "train", "--data", ETTH1, "--model.windw", "3")
    assert code == 2 and "unknown key 'model.windw'" in err and "window" in err and "Traceback" not in err


def test_unknown_variant_is_named(capsys):
    code, _, err = run_cli(capsys, "compare", "--data", ETTH1, "--variants", "local,sparse")
    assert code == 2 and "unknown variants ['sparse']" in err


def test_missing_config_file(capsys):
    code, _, err = run_cli(capsys, "train", "--config", "nope.yaml")
    assert code == 2 and "nope.yaml: config file not found" in err


def test_missing_model_package(capsys, tmp_path):
    code, _, err = run_cli(capsys, "predict", "--model", tmp_path, "--data", ETTH1)
    assert code == 2 and "not a forecaster model package" in err
