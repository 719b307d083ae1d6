"""`--auto` end to end: printed and logged derived settings, M4 metrics with the `last` split,
explicit settings win, and nothing derived reads the test rows."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest
import torch
from conftest import ROOT, long_frame, run_cli

from forecaster.auto.apply import apply, explicit_keys
from forecaster.config import load
from forecaster.data.windows import prepare
from forecaster.models import build_network
from forecaster.scores.metrics import error_scale, m4_metrics, validation_loss

SHORT = (60, 45, 80, 70)  # daily series too short for a 70/10/20 split with two horizons of context


@pytest.fixture
def short_csv(tmp_path):
    path = tmp_path / "short.csv"
    long_frame(lengths=SHORT).to_csv(path, index=False)
    return path


def test_inspect_auto_prints_each_derived_setting_with_its_reason(capsys, short_csv):
    code, out, err = run_cli(capsys, "data", "inspect", short_csv, "--auto")
    assert code == 0, err
    lines = {line.split("=")[0].removeprefix("auto:").strip(): line for line in err.splitlines()}
    assert "data.split = last" in lines["data.split"] and "(" in lines["data.split"]
    assert "data.horizon = 14" in lines["data.horizon"]  # M4's daily horizon
    assert "trainer.loss_scale = naive" in lines["trainer.loss_scale"]  # several series
    assert "last" in out and "usable for training: yes" in out  # the report uses the derived split


def test_explicit_settings_are_never_derived(capsys, short_csv):
    code, _, err = run_cli(capsys, "data", "inspect", short_csv, "--auto", "--horizon", "7", "--data.split", "last")
    assert code == 0, err
    assert "data.horizon =" not in err and "data.split =" not in err and "data.context_len =" in err


def test_train_auto_logs_the_derived_settings_and_m4_metrics(capsys, short_csv, mlflow_uri, tmp_path):
    out_json = tmp_path / "m.json"
    args = ["train", "--auto", "--data", short_csv, "--model.name", "linear"]
    code, _, err = run_cli(capsys, *args, "--trainer.max_epochs", "1", "--metrics-out", out_json)
    assert code == 0, err
    assert "trainer.max_epochs =" not in err  # given: explicit wins
    metrics = json.loads(out_json.read_text())
    assert {"smape", "mase", "owa"} <= set(metrics) and all(np.isfinite(metrics[k]) for k in ("smape", "mase", "owa"))
    run = mlflow.search_runs(search_all_experiments=True, output_format="list")[0]
    assert run.data.tags["auto"] == "true"
    assert run.data.params["data.split"] == "last" and run.data.params["trainer.loss_scale"] == "naive"
    logged = json.loads(mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/auto.json"))
    assert {"key", "value", "reason"} <= set(logged[0]) and any(r["key"] == "data.context_len" for r in logged)


def test_auto_reads_no_test_row(tmp_path):
    """Changing the values of every series' test rows changes no derived setting."""
    frame = long_frame(lengths=SHORT)
    changed = frame.copy()
    for _, rows in changed.groupby("unique_id").groups.items():
        changed.loc[rows[-14:], "y"] *= 7.0  # the last horizon (14 days) of every series
    derived = []
    for name, table in (("a.csv", frame), ("b.csv", changed)):
        table.to_csv(tmp_path / name, index=False)
        cfg = load(None, [("data.path", str(tmp_path / name))])
        derived.append(apply(cfg, explicit_keys(None, ["data.path"]))[1])
    assert derived[0] == derived[1]


def short_data(tmp_path):
    """SHORT's series prepared with the `last` split (context 20, horizon 7)."""
    path = tmp_path / "short.csv"
    long_frame(lengths=SHORT).to_csv(path, index=False)
    cfg = load(None, [("data.path", str(path)), ("data.split", "last"), ("data.context_len", 20), ("data.horizon", 7)])
    return prepare(cfg.data)


def test_naive2_scores_owa_one_against_m4s_naive2(tmp_path):
    """With M4's weekly/daily period 1, Naive2 is the last value: the model and M4's reference agree (to float32)."""
    data = short_data(tmp_path)
    network = build_network(load(None, [("model.name", "naive2")]).model, data.schema)
    x, _ = data.dataset("test").__getitems__(list(range(data.n_windows("test"))))
    scores = m4_metrics(data, network(x).detach().numpy())
    assert scores["owa"] == pytest.approx(1.0, abs=1e-6) and scores["m4_series_without_scale"] == 0
    assert scores["smape"] > 0


def test_error_scale_makes_the_loss_blind_to_each_series_level():
    x = torch.cumsum(torch.randn(2, 30, 1), dim=1)
    y, pred = torch.randn(2, 5, 1), torch.randn(2, 5, 1)
    s1, s100 = error_scale(x, 1, "naive"), error_scale(100 * x, 1, "naive")
    assert torch.allclose((pred - y) / s1, (100 * pred - 100 * y) / s100, atol=1e-5)
    assert error_scale(x, 1, "none") == 1.0
    assert torch.all(error_scale(torch.zeros(1, 10, 1), 1, "naive") > 0)  # flat window: a floor, not 0


def test_validation_loss_is_what_the_trainer_logs(tmp_path):
    data = short_data(tmp_path)
    network = build_network(load(None, [("model.name", "naive")]).model, data.schema)
    x, y = data.dataset("val").__getitems__(list(range(data.n_windows("val"))))
    by_hand = float((((network(x) - y) / error_scale(x, 1, "naive")) ** 2).mean())
    assert validation_loss(network, data.dataset("val"), "naive") == pytest.approx(by_hand, rel=1e-6)


def test_the_probe_tries_longer_contexts_only_where_every_kept_series_has_windows():
    from forecaster.auto.apply import _contexts

    cfg = load(None, [("data.split", "last"), ("data.horizon", 7), ("data.context_len", 20)])
    assert _contexts(cfg, [200, 300]) == [20, 40, 80]  # last split: 20 + 2·7 + 7 rows ... all fit
    assert _contexts(cfg, [60, 300]) == [20]  # 40 + 21 > 60: the short series would lose its windows
    assert _contexts(load(None, [("data.context_len", 600)]), [100_000]) == [600]  # 1,200 > 1,024 steps


@pytest.mark.slow  # six linear fits on demo_long.csv
def test_train_auto_on_demo_long_chooses_context_and_loss_on_validation(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--auto", "--data", ROOT / "datasets" / "demo_long.csv", "--model.name", "naive"]
    code, _, err = run_cli(capsys, *args, "--tracking.enabled", "false")
    assert code == 0, err
    context = next(line for line in err.splitlines() if line.startswith("auto: data.context_len"))
    assert "lowest validation score of the linear model" in context and " mae " in context and " mse " in context
    linear = next(line for line in err.splitlines() if line.startswith("auto: variants.linear.trainer.loss"))
    assert "lowest validation score of the linear model" in linear
    assert any(line.startswith("auto: trainer.loss") and "= mae" in line for line in err.splitlines())
