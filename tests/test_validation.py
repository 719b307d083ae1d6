"""Every setting checked before anything is read or written (issue 12, cases 4, 5 and 8), through the CLI:
exit 2, one clear message naming the field, the value and the valid range, no traceback, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ETTH1, run_cli, wide_frame

from forecaster.config import (
    ATTENTION_PATTERNS,
    CHOICES,
    METRICS,
    Config,
    DataConfig,
    ModelConfig,
    TrainerConfig,
    flatten,
    load,
)
from forecaster.errors import ConfigError
from forecaster.validation import RULES, check_config

QUICK = ["--trainer.max_steps", "2", "--trainer.progress_bar", "false"]
NAIVE = ["--model.name", "naive", "--data.context_len", "24", "--data.horizon", "6"]


def nothing_written(tmp_path: Path) -> bool:
    """No MLflow store, no artifacts, no package, no metrics: the working directory holds only the inputs."""
    return sorted(p.name for p in tmp_path.iterdir()) == sorted(["data.csv"])


@pytest.fixture
def data_csv(tmp_path) -> Path:
    path = tmp_path / "data.csv"
    wide_frame(n=300).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["--data.horizon", "0"], "'data.horizon' must be an integer ≥ 1, got 0"),
        (["--data.horizon", "-5"], "'data.horizon' must be an integer ≥ 1, got -5"),
        (["--data.context_len", "0"], "'data.context_len' must be an integer ≥ 1, got 0"),
        (["--trainer.lr", ".nan"], "'trainer.lr' must be a finite number > 0, got nan"),
        (["--trainer.lr", "-1"], "'trainer.lr' must be a finite number > 0, got -1.0"),
        (["--data.batch_size", "0"], "'data.batch_size' must be an integer ≥ 1, got 0"),
        (["--seed", "-1"], "'seed' must be an integer in [0, 4294967295], got -1"),
        (["--seed", str(2**32)], "'seed' must be an integer in [0, 4294967295]"),
        (["--trainer.max_epochs", "0"], "'trainer.max_epochs' must be an integer ≥ 1, got 0"),
        (["--trainer.max_steps", "0"], "'trainer.max_steps' must be -1 (no limit) or an integer ≥ 1, got 0"),
        (["--trainer.patience", "-1"], "'trainer.patience' must be an integer ≥ 0"),
        (["--trainer.ema_decay", "1"], "'trainer.ema_decay' must be a number in [0, 1), got 1"),
        (["--trainer.weight_decay", "-0.1"], "'trainer.weight_decay' must be a finite number ≥ 0"),
        (["--trainer.gradient_clip_val", "-1"], "'trainer.gradient_clip_val' must be a finite number ≥ 0"),
        (["--trainer.limit_train_batches", "0"], "'trainer.limit_train_batches' must be a share of the batches"),
        (["--data.ratios", "0.5,0.6,0.1"], "'data.ratios' must be three non-negative shares"),
        (["--data.split", "borders", "--data.borders", "200,100,300"], "'data.borders' must be three increasing"),
        (["--data.split", "random"], "'data.split' must be one of ratio, ett, borders, last, got 'random'"),
        (["--data.fill", "mean"], "'data.fill' must be one of error, ffill, interpolate"),
        (["--data.outliers", "drop"], "'data.outliers' must be one of error, clip"),
        (["--data.delimiter", ";;"], "'data.delimiter' must be one character"),
        (["--model.n_heads", "0"], "model.n_heads must be at least 1, got 0"),
        (["--model.attn_dropout", "1"], "model.attn_dropout must be in [0, 1), got 1.0"),
        (["--model.quantiles", "[0.5,1.5]"], "model.quantiles must be in (0, 1), got [0.5, 1.5]"),
        (["--model.head_rank", "-1"], "'model.head_rank' must be an integer ≥ 0, got -1"),
        (["--model.n_heads", "3"], "model.d_model (64) must be divisible by model.n_heads (3)"),
        (["--model.dropout", "1.5"], "dropout must be in [0, 1), got 1.5"),
        (["--model.window", "0"], "model.window must be at least 1, got 0"),
        (["--model.patch_len", "0"], "need 1 <= model.patch_len <= context_len"),
        (["--trainer.loss", "l3"], "'trainer.loss' must be one of mse, mae, huber"),
        (["--trainer.scheduler", "step"], "'trainer.scheduler' must be one of onecycle, cosine, none"),
        (["--trainer.accelerator", "gpu"], "--trainer.accelerator ('gpu')"),
    ],
)
def test_train_refuses_a_setting_out_of_range_before_anything_is_written(args, phrase, capsys, mlflow_uri, data_csv):
    code, out, err = run_cli(capsys, "train", "--data", data_csv, *QUICK, *args, "--save", "pkg", "--metrics-out", "m")
    assert code == 2, err
    assert err.startswith("error: ") and phrase in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out and nothing_written(data_csv.parent)


def test_the_message_gives_the_range_and_the_flag(capsys, mlflow_uri, data_csv):
    _, _, err = run_cli(capsys, "train", "--data", data_csv, "--data.horizon", "0")
    assert err == (
        "error: 'data.horizon' must be an integer ≥ 1, got 0 (set --data.horizon or data.horizon in the config file)\n"
    )


def test_a_config_file_is_checked_like_the_command_line(capsys, mlflow_uri, data_csv):
    (data_csv.parent / "c.yaml").write_text("trainer:\n  lr: -1.0e-3\n")
    code, _, err = run_cli(capsys, "train", "--config", data_csv.parent / "c.yaml", "--data", data_csv)
    assert code == 2 and "'trainer.lr' must be a finite number > 0, got -0.001" in err
    assert not (data_csv.parent / "mlflow.db").exists()


@pytest.mark.parametrize(
    "yaml_text, phrase",
    [
        ("data:\n  fill: mean\n", "c.yaml: 'data.fill' must be one of error, ffill, interpolate, got 'mean'"),
        ("trainer:\n  scheduler: step\n", "'trainer.scheduler' must be one of onecycle, cosine, none, got 'step'"),
        (
            "variants:\n  local:\n    selection.metric: rmse\n",
            "c.yaml: variants.local: 'selection.metric' must be one of auto, mse, mae, mase, smape, got 'rmse'",
        ),
        ("model:\n  attention: sparse\n", "c.yaml: unknown model.attention 'sparse'; valid: global, causal,"),
    ],
)
def test_a_bad_choice_in_a_config_file_names_the_field_the_value_and_the_choices(
    yaml_text, phrase, capsys, mlflow_uri, data_csv
):
    (data_csv.parent / "c.yaml").write_text(yaml_text)
    code, out, err = run_cli(capsys, "train", "--config", data_csv.parent / "c.yaml", "--data", data_csv)
    assert code == 2 and phrase in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out and not (data_csv.parent / "mlflow.db").exists()


@pytest.mark.parametrize(
    "section, field, value, phrase",
    [
        (DataConfig, "format", "tall", "'data.format' must be one of auto, wide, long, got 'tall'"),
        (TrainerConfig, "loss", "l3", "'trainer.loss' must be one of mse, mae, huber, got 'l3'"),
        (ModelConfig, "name", "tcn", "unknown model.name 'tcn'; valid: transformer, lstm,"),
    ],
)
def test_a_config_built_in_python_is_checked_against_the_same_choices(section, field, value, phrase):
    name = {DataConfig: "data", TrainerConfig: "trainer", ModelConfig: "model"}[section]
    with pytest.raises(ConfigError, match=re.escape(phrase)):
        check_config(Config(**{name: section(**{field: value})}))


def test_choices_are_stated_once_in_their_literal_not_in_the_rules():
    assert not set(CHOICES) & set(RULES)
    assert set(CHOICES) >= {"data.format", "data.fill", "data.outliers", "data.split", "model.name"}
    assert set(CHOICES) >= {"model.attention", "trainer.loss", "trainer.loss_scale", "trainer.scheduler"}
    assert CHOICES["selection.metric"] == METRICS and CHOICES["model.attention"] == ATTENTION_PATTERNS


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["--data.horizon", "0"], "'data.horizon' must be an integer ≥ 1"),
        (["--seeds", "0"], "--seeds must be an integer ≥ 1, got 0"),
        (["--seed", str(2**32 - 1), "--seeds", "2"], "'seed' must be an integer in [0, 4294967294] with --seeds 2"),
        (["--variants", "naive,hybrid", "--model.n_heads", "1"], "the hybrid pattern needs model.n_heads >= 2"),
    ],
)
def test_compare_checks_every_variant_before_the_parent_run(args, phrase, capsys, mlflow_uri, data_csv):
    code, _, err = run_cli(capsys, "compare", "--data", data_csv, *args)
    assert code == 2 and phrase in err and "Traceback" not in err
    assert nothing_written(data_csv.parent)


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["--horizon", "0"], "'data.horizon' must be an integer ≥ 1, got 0"),
        (["--horizon", "-5"], "'data.horizon' must be an integer ≥ 1, got -5"),
        (["--context-len", "-3"], "'data.context_len' must be an integer ≥ 1, got -3"),
        (["--data.context_len", "0"], "'data.context_len' must be an integer ≥ 1, got 0"),
    ],
)
def test_inspect_refuses_bad_lengths_instead_of_replacing_them(args, phrase, capsys, data_csv):
    code, out, err = run_cli(capsys, "data", "inspect", data_csv, *args)
    assert code == 2 and phrase in err and not out


def test_inspect_uses_the_lengths_given(capsys, data_csv):
    code, out, _ = run_cli(capsys, "data", "inspect", data_csv, "--context-len", "12", "--horizon", "3")
    assert code == 0 and "windows (context_len 12, horizon 3)" in out


def test_a_context_longer_than_the_data_names_the_real_requirement(capsys, data_csv):
    code, _, err = run_cli(capsys, "data", "inspect", data_csv, "--context-len", "1000")
    assert code == 2 and "10000000" not in err
    assert "the file has 300 rows; context_len 1000 + horizon 24 with the 'ratio' split" in err
    assert "needs at least 1463 rows per series" in err and "lower --data.context_len / --data.horizon" in err


def test_the_ett_split_on_a_short_file_suggests_the_ratio_split(capsys, data_csv):
    code, _, err = run_cli(capsys, "data", "inspect", data_csv, "--data.split", "ett")
    assert code == 2 and "fixed borders at rows 8640/11520/14400" in err and "needs at least 14400" in err
    assert "--data.split ratio" in err


def test_no_length_works_is_said_plainly(capsys, data_csv):
    code, _, err = run_cli(capsys, "data", "inspect", data_csv, "--data.split", "ett", "--context-len", "9000")
    assert code == 2 and "leave no window in every split" in err and "whatever the file's length" in err
    assert "--data.split ratio" in err and "10000000" not in err
    code, _, err = run_cli(capsys, "data", "inspect", data_csv, "--data.ratios", "0.9,0,0.1")
    assert code == 2 and "no series length gives a window in every split" in err


@pytest.mark.slow
def test_non_finite_metrics_end_the_run_failed_with_exit_2(capsys, mlflow_uri, data_csv, monkeypatch):
    from mlflow import MlflowClient

    from forecaster.nn.baselines import NaiveForecaster

    monkeypatch.setattr(NaiveForecaster, "forward", lambda self, x: x[:, -1:, :1].expand(-1, 6, -1) * float("inf"))
    code, out, err = run_cli(capsys, "train", "--data", data_csv, *NAIVE, "--metrics-out", "m.json")
    assert code == 2 and "the test metrics are not finite (mse inf" in err and "Traceback" not in err
    assert "mse" not in out and not (data_csv.parent / "m.json").exists()
    (run,) = MlflowClient(mlflow_uri).search_runs(["1"])
    assert run.info.status == "FAILED"


@pytest.fixture(scope="module")
def naive_package(tmp_path_factory) -> Path:
    """A naive-baseline package (no training) with context 24 and horizon 6."""
    import cli

    tmp = tmp_path_factory.mktemp("pkg")
    path = tmp / "data.csv"
    wide_frame(n=300).to_csv(path, index=False)
    code = cli.main(["train", "--data", str(path), *NAIVE, "--tracking.enabled", "false", "--save", str(tmp / "p")])
    assert code == 0
    return tmp / "p"


def test_predict_suggests_what_predict_takes(capsys, naive_package, tmp_path):
    short = tmp_path / "short.csv"
    wide_frame(n=10).to_csv(short, index=False)
    code, _, err = run_cli(capsys, "predict", "--model", naive_package, "--data", short)
    assert code == 2 and "give at least 24 rows of recent history" in err and "--data." not in err
    gappy = wide_frame(n=60).drop(index=[30, 31])
    gappy.to_csv(tmp_path / "gappy.csv", index=False)
    code, _, err = run_cli(capsys, "predict", "--model", naive_package, "--data", tmp_path / "gappy.csv")
    assert code == 2 and "missing timestamps" in err and "fix: add the missing rows\n" in err and "--data." not in err


def test_evaluate_suggests_what_evaluate_takes(capsys, naive_package, tmp_path):
    short = tmp_path / "short.csv"
    wide_frame(n=40).to_csv(short, index=False)
    code, _, err = run_cli(capsys, "evaluate", "--model", naive_package, "--data", short)
    assert code == 2 and "fix: give at least 47 rows per series\n" in err and "--data." not in err
    code, _, err = run_cli(capsys, "evaluate", "--model", naive_package, "--data", ETTH1, "--step", "0")
    assert code == 2 and "--step must be an integer ≥ 1, got 0" in err


def test_predict_prints_the_notes_of_lenient_options(capsys, naive_package, tmp_path, monkeypatch):
    import yaml

    copy = tmp_path / "p"
    copy.mkdir()
    for f in naive_package.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    cfg["data"]["fill"] = "ffill"  # a package trained with a lenient option applies it to recent history
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    frame = wide_frame(n=60)
    frame["a"] = frame["a"].astype(object)
    frame.loc[50, "a"] = ""
    frame.to_csv(tmp_path / "recent.csv", index=False)
    code, out, err = run_cli(capsys, "predict", "--model", copy, "--data", tmp_path / "recent.csv")
    assert code == 0 and "note: filled 1 missing values by ffill (a: 1)\n" in err and len(out.splitlines()) == 7


def test_a_package_config_out_of_range_is_refused(capsys, naive_package, tmp_path):
    copy = tmp_path / "p"
    copy.mkdir()
    for f in naive_package.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    text = (copy / "config.yaml").read_text().replace("batch_size: 64", "batch_size: -1")
    (copy / "config.yaml").write_text(text)
    code, _, err = run_cli(capsys, "predict", "--model", copy, "--data", ETTH1)
    assert code == 2 and "incomplete or corrupted" in err and "'data.batch_size' must be an integer ≥ 1" in err


def test_every_rule_names_a_field():
    assert set(RULES) <= set(flatten(load(None)))  # every shipped config passes: tests/fit/test_fit_checks.py


def test_check_config_names_the_first_field_out_of_range():
    cfg = load(None, [("data.horizon", "3")])
    cfg.data.eval_batch_size = 0
    with pytest.raises(ConfigError, match=r"'data.eval_batch_size' must be an integer ≥ 1, got 0"):
        check_config(cfg)
