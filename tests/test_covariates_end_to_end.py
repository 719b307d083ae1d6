"""Covariates end to end: every trainable family uses a future-known covariate; predict takes the
future rows (and refuses bad ones, exit 2); static categories are stored and checked.

How covariates enter the networks: tests/nn/test_network_covariates.py; in the data:
tests/data/test_covariates.py (this file's name says end to end: test file basenames are unique)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_NETWORK, run_cli

from forecaster.config import load, with_variant
from forecaster.fit.experiment import train
from forecaster.serve.package import ForecastPackage
from forecaster.serve.pyfunc import forecast_table
from forecaster.validation import TUNABLE
from tests.data.test_covariates import long_with_static, promo_frame

FAMILIES = TUNABLE  # every attention pattern, lstm and linear
SMALL = [
    ("data.context_len", "16"),
    ("data.horizon", "8"),
    ("data.targets", "y"),
    ("data.batch_size", "32"),
    *SMALL_NETWORK,
    ("trainer.lr", "3.0e-2"),
    ("trainer.progress_bar", "false"),
    ("tracking.enabled", "false"),
]


def promo_csv(tmp_path, n: int = 400) -> str:
    """y_t = 3 promo_t + small noise, promo random 0/1: only a model that knows promo's future can forecast y."""
    path = tmp_path / "promo.csv"
    promo_frame(n).drop(columns="price").to_csv(path, index=False)
    return str(path)


def fit_mse(path: str, variant: str, *, known: bool, epochs: int = 20) -> float:
    covariate = ("data.future_covariates", "promo") if known else ("data.covariates", "promo")
    cfg = load(None, [("data.path", path), ("trainer.max_epochs", str(epochs)), covariate, *SMALL])
    return train(with_variant(cfg, variant), quiet=True).metrics["mse"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", FAMILIES)
def test_a_future_known_covariate_is_used_by_every_trainable_family(tmp_path, variant):
    path = promo_csv(tmp_path)
    naive = fit_mse(path, "naive", known=True)
    assert fit_mse(path, variant, known=True) < 0.2 * naive  # knowing promo's future: noise only
    assert fit_mse(path, variant, known=False) > 0.4 * naive  # promo seen in the past only: no better than its mean


def write_input(tmp_path, name: str, history: pd.DataFrame, future: pd.DataFrame) -> str:
    path = tmp_path / name
    pd.concat([history, future]).to_csv(path, index=False)
    return str(path)


@pytest.fixture
def promo_package(tmp_path, capsys):
    path = promo_csv(tmp_path, 200)
    flags = [f"--{k}={v}" for k, v in SMALL if k != "trainer.progress_bar"]
    code, _, err = run_cli(
        capsys, "train", "--data", path, "--model.name", "linear", "--data.future_covariates", "promo",
        "--data.calendar", "hour", "--trainer.max_epochs", "1", "--trainer.progress_bar", "false",
        "--save", tmp_path / "pkg", *flags,
    )  # fmt: skip
    assert code == 0, err
    table = pd.read_csv(path, dtype=str)
    future = table.iloc[-8:].copy()
    future["y"] = ""
    return tmp_path / "pkg", table.iloc[-40:-8], future


def test_predict_reads_the_future_rows_of_the_known_covariates(tmp_path, capsys, promo_package):
    pkg, history, future = promo_package
    code, out, err = run_cli(
        capsys, "predict", "--model", pkg, "--data", write_input(tmp_path, "in.csv", history, future)
    )
    assert code == 0, err
    forecast = pd.read_csv(pd.io.common.StringIO(out))
    assert list(forecast["date"]) == list(future["date"])
    flipped = future.assign(promo=(1 - future["promo"].astype(float)).astype(str))
    code, out2, _ = run_cli(
        capsys, "predict", "--model", pkg, "--data", write_input(tmp_path, "b.csv", history, flipped)
    )
    assert out2 != out  # the forecast follows the promotions announced for the future
    package = ForecastPackage.load(pkg)  # the pyfunc model's path takes the same layout
    request = pd.concat([history, future.assign(y=np.nan)])
    served = forecast_table(package, request)
    np.testing.assert_allclose(served["y"].to_numpy(), forecast["y"].to_numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.iloc[:5], "has 5 future rows .* needs the next 8 steps of the future covariates \\(promo\\)"),
        (lambda f: f.assign(promo=[*"10x10101"]), "column 'promo', line 36: future value 'x'"),
        (lambda f: f.assign(promo=["1", "0", "", *"10101"]), "column 'promo', line 36: future value ''"),
        (lambda f: f.drop(columns="promo"), "no future covariate column 'promo'"),
    ],
)  # fmt: skip
def test_bad_future_covariates_are_refused(tmp_path, capsys, promo_package, change, message):
    pkg, history, future = promo_package
    if "promo" not in change(future):
        history = history.drop(columns="promo")
    path = write_input(tmp_path, "bad.csv", history, change(future))
    code, out, err = run_cli(capsys, "predict", "--model", pkg, "--data", path)
    assert code == 2 and out == ""
    assert "bad.csv" in err and pd.Series([err]).str.contains(message).all(), err


def test_static_categories_are_stored_and_an_unseen_one_is_refused(tmp_path, capsys):
    long_with_static().to_csv(tmp_path / "s.csv", index=False)
    code, _, err = run_cli(
        capsys, "train", "--data", tmp_path / "s.csv", "--data.static", "store_type,size", "--model.name", "linear",
        "--data.context_len", "14", "--data.horizon", "7", "--trainer.max_epochs", "1",
        "--trainer.progress_bar", "false", "--tracking.enabled", "false", "--save", tmp_path / "pkg",
    )  # fmt: skip
    assert code == 0, err
    assert ForecastPackage.load(tmp_path / "pkg").schema.static_categories == [["big", "small"], []]
    recent = long_with_static().groupby("unique_id").tail(20)
    recent.to_csv(tmp_path / "ok.csv", index=False)
    assert run_cli(capsys, "predict", "--model", tmp_path / "pkg", "--data", tmp_path / "ok.csv")[0] == 0
    recent.assign(store_type=recent["store_type"].replace("small", "tiny")).to_csv(tmp_path / "new.csv", index=False)
    code, _, err = run_cli(capsys, "predict", "--model", tmp_path / "pkg", "--data", tmp_path / "new.csv")
    assert code == 2 and "series 's1': static category 'tiny' was not in the training data (known: big, small)" in err
