"""The command line's contract: help everywhere, overrides, errors without tracebacks. Inspect's report:
tests/data/test_inspection.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ETTH1, ROOT, TINY, run_cli

import cli


@pytest.mark.parametrize(
    "command",
    [[], ["data", "inspect"], ["train"], ["compare"], ["tune"], ["cross-validation"], ["predict"], ["evaluate"]]
    + [["report"], ["ui"]],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, *command, "--help")
    assert info.value.code == 0
    assert "usage: forecaster" in capsys.readouterr().out


def test_unknown_override_is_named_and_exits_2(capsys):
    code, _, err = run_cli(capsys, "train", "--data", ETTH1, "--model.windw", "3")
    assert code == 2 and "unknown key 'model.windw'" in err and "window" in err and "Traceback" not in err


def test_unknown_variant_is_named(capsys):
    code, _, err = run_cli(capsys, "compare", "--data", ETTH1, "--variants", "local,sparse")
    assert code == 2 and "unknown variant 'sparse'; valid: global, causal" in err


def test_missing_config_file(capsys):
    code, _, err = run_cli(capsys, "train", "--config", "nope.yaml")
    assert code == 2 and "nope.yaml: config file not found" in err


def test_missing_model_package(capsys, tmp_path):
    code, _, err = run_cli(capsys, "predict", "--model", tmp_path, "--data", ETTH1)
    assert code == 2 and "not a forecaster model package" in err


def test_train_help_is_light():
    code = (
        f"import sys, io, contextlib; sys.path.insert(0, {str(ROOT)!r}); import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: cli.main(['train', '--help'])\n"
        "    except SystemExit: pass\n"
        "print(sorted(m for m in ('torch', 'pandas', 'mlflow', 'lightning') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["--data.context_len", "abc"], "error: 'data.context_len' must be int, got 'abc'\n"),
        (["--model.revin=maybe"], "error: 'model.revin' must be true or false, got 'maybe'\n"),
        (
            ["--trainer.windw", "3"],
            "error: command line: unknown key 'trainer.windw'; valid keys in 'trainer': max_epochs",
        ),
        (["--model.attention", "sparse"], "unknown model.attention 'sparse'; valid: global, causal"),
    ],
)
def test_bad_values_name_the_field_in_one_line(args, phrase, capsys):
    code, out, err = run_cli(capsys, "train", "--data", ETTH1, *args)
    assert code == 2 and phrase in err and len(err.splitlines()) == 1 and not out


def test_empty_config_file_is_an_error(capsys, tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    code, _, err = run_cli(capsys, "train", "--config", tmp_path / "empty.yaml")
    assert code == 2 and "empty.yaml: the config file is empty" in err


@pytest.mark.slow
def test_train_trains_what_compare_trains_for_the_variant(capsys, tmp_path, wide_csv):
    config = tmp_path / "c.yaml"
    config.write_text(
        "trainer:\n  max_epochs: 3\nvariants:\n  local:\n    trainer.max_epochs: 1\n    model.d_model: 8\n"
    )
    at = TINY.index("--trainer.max_epochs")
    tiny = TINY[:at] + TINY[at + 2 :]
    common = [
        "--config",
        config,
        "--data",
        wide_csv,
        *tiny,
        "--tracking.enabled",
        "false",
        "--seed",
        "3",
        "--model.d_model",
        "16",
    ]  # explicit values win over `variants:`, YAML loses to both
    code, _, err = run_cli(capsys, "train", *common, "--model.attention", "local", "--metrics-out", tmp_path / "t.json")
    assert code == 0, err
    code, _, err = run_cli(capsys, "compare", *common, "--variants", "local", "--metrics-out", tmp_path / "c.json")
    assert code == 0, err
    trained = json.loads((tmp_path / "t.json").read_text())
    (compared,) = json.loads((tmp_path / "c.json").read_text())
    assert trained["epochs"] == compared["epochs"] == 1
    for key in ("mse", "mae", "mse_original", "n_params"):
        assert trained[key] == compared[key], key


def test_ui_serves_a_sqlite_stores_artifacts_from_beside_it(capsys, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cli.os, "execv", lambda path, args: calls.append(args))
    code, _, err = run_cli(capsys, "ui", "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--port", "5055")
    assert code == 0 and "http://127.0.0.1:5055" in err
    (args,) = calls
    assert args[args.index("--artifacts-destination") + 1] == str(tmp_path / "mlartifacts")
    calls.clear()
    run_cli(capsys, "ui", "--tracking-uri", "http://server:5000")
    assert "--artifacts-destination" not in calls[0]  # a server's store: its artifacts are the server's business


OUTPUTS = {  # case: (command line after the command, phrase); `data.csv` and the folder `dir` exist
    "train --save onto a file": (["train", "--save", "data.csv"], "--save data.csv: is a file, not a folder"),
    "train --save under a file": (["train", "--save", "data.csv/pkg"], "data.csv is a file, not a folder"),
    "train --save over other files": (["train", "--save", "dir"], "--save dir: exists and is not a forecaster package"),
    "train --register a/b": (["train", "--register", "a/b"], "--register 'a/b': contains '/'"),
    "train --register ''": (["train", "--register="], "--register '': is blank"),
    "train --register ..": (["train", "--register", ".."], "reads as a relative path"),
    "train --register untracked": (
        ["train", "--register", "m", "--tracking.enabled", "false"],
        "--register needs tracking",
    ),
    "train --metrics-out a folder": (["train", "--metrics-out", "dir"], "--metrics-out dir: is a folder"),
    "compare --save-best onto a file": (["compare", "--save-best", "data.csv"], "--save-best data.csv: is a file"),
    "compare --register a:b": (["compare", "--register", "a:b"], "--register 'a:b': contains ':'"),
    "tune --best-out a folder": (["tune", "--best-out", "dir"], "--best-out dir: is a folder"),
    "tune --name ../../x": (["tune", "--name", "../../x"], "'name' must be a name without '/'"),
    "cross-validation --output a folder": (["cross-validation", "--output", "dir"], "--output dir: is a folder"),
    "predict --output a folder": (["predict", "--model", "dir", "--output", "dir"], "--output dir: is a folder"),
    "evaluate --metrics-out under a file": (
        ["evaluate", "--model", "dir", "--metrics-out", "data.csv/m.json"],
        "data.csv is a file, not a folder",
    ),
}


@pytest.mark.parametrize("case", list(OUTPUTS))
def test_unusable_outputs_are_refused_before_anything_runs(case, capsys, tmp_path, mlflow_uri):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "notes.txt").write_text("mine\n")
    (tmp_path / "data.csv").write_text("not read: the outputs are checked first\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    args, phrase = OUTPUTS[case]
    data = [] if args[0] in ("predict", "evaluate") else ["--auto"]  # --auto would read the file at once
    code, _, err = run_cli(capsys, *args, "--data", "data.csv", *data)
    assert code == 2 and phrase in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no store, no run, no file


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["--trainer.limit_train_batches", "0.0001"], "'trainer.limit_train_batches' 0.0001 of the "),
        (["--trainer.limit_val_batches", "0.001"], "'trainer.limit_val_batches' 0.001 of the "),
        (["--model.d_model", "100000"], "lower --model.d_model (100000), --model.d_ff (16)"),
        (["--model.d_model", "40000", "--data.batch_size", "1"], "needs more than"),  # the weights alone
        (["--model.name", "lstm", "--model.hidden_size", "200000"], "lower --model.hidden_size (200000)"),
        (["--model.name", "linear", "--model.moving_avg", "100000001"], "lower --model.moving_avg (100000001)"),
    ],
)
def test_what_the_data_decide_is_refused_before_the_run_opens(args, phrase, capsys, tmp_path, mlflow_uri, wide_csv):
    code, _, err = run_cli(capsys, "train", "--data", wide_csv, *TINY, *args)
    assert code == 2 and phrase in err and "Traceback" not in err, err
    assert not (tmp_path / "mlflow.db").exists()  # no store, so no run left FAILED
