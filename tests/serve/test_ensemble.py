"""The ensemble package: save -> load -> the median or weighted mean of its members' forecasts, with
covariates and intervals; format-1 packages still read; bad ensembles refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL_NETWORK, run_cli

from forecaster.config import load, with_variant
from forecaster.data.windows import prepare
from forecaster.errors import PackageError
from forecaster.models import build_network
from forecaster.nn.common import COVARIATE_KINDS
from forecaster.scores.intervals import calibrate
from forecaster.serve.ensemble import ENSEMBLE, FORMAT_VERSION, MAX_MEMBERS, EnsemblePackage, median
from forecaster.serve.loading import load_any
from forecaster.serve.package import ForecastPackage

MEMBERS = ("linear", "naive", "seasonal_naive")


def _members(path, variants=MEMBERS, context_len: int = 24, calendar=()) -> dict[str, ForecastPackage]:
    """In-memory packages of untrained networks on the same prepared data (weights seeded)."""
    return _prepared(path, variants, context_len, calendar)[0]


def _prepared(path, variants=MEMBERS, context_len: int = 24, calendar=()) -> tuple[dict[str, ForecastPackage], object]:
    settings = [("data.path", str(path)), ("data.context_len", context_len), ("data.horizon", 6)]
    cfg = load(None, [*settings, *SMALL_NETWORK, *([("data.calendar", list(calendar))] if calendar else [])])
    data = prepare(cfg.data)
    out = {}
    for k, variant in enumerate(variants):
        vcfg = with_variant(cfg, variant)
        torch.manual_seed(k)
        out[variant] = ForecastPackage(vcfg, data.schema, data.scaler, build_network(vcfg.model, data.schema), None)
    return out, data


@pytest.fixture
def saved(wide_csv, tmp_path):
    members = _members(wide_csv)
    target = EnsemblePackage(members).save(tmp_path / "ens")
    return target, members


def test_round_trip_forecasts_the_median_of_the_members(saved, wide_csv):
    target, members = saved
    assert json.loads((target / ENSEMBLE).read_text())["members"] == list(MEMBERS)
    loaded = load_any(str(target))
    assert isinstance(loaded, EnsemblePackage) and list(loaded.members) == list(MEMBERS)
    frame = loaded.read(wide_csv)
    by_hand = np.median([m.forecast(frame)[["a", "b", "c"]].to_numpy() for m in members.values()], axis=0)
    table = loaded.forecast(frame)
    assert table.shape == (6, 4) and list(table.columns) == ["date", "a", "b", "c"]
    np.testing.assert_allclose(table[["a", "b", "c"]].to_numpy(), by_hand, rtol=1e-6)
    assert len(loaded.forecast(frame, 2)) == 2


def test_predict_and_evaluate_take_the_ensemble_directory(saved, wide_csv, tmp_path, capsys):
    target, _ = saved
    code, _, err = run_cli(capsys, "predict", "--model", target, "--data", wide_csv, "--output", tmp_path / "f.csv")
    assert code == 0, err
    assert (tmp_path / "f.csv").read_text().count("\n") == 7
    code, out, err = run_cli(capsys, "evaluate", "--model", target, "--data", wide_csv)
    assert code == 0, err and "mse" in out


def test_the_network_is_the_median_of_the_member_networks():
    stack = torch.tensor([[3.0, 0.0], [1.0, 5.0], [2.0, 1.0], [10.0, 2.0]])
    assert torch.equal(median(stack), torch.from_numpy(np.median(stack.numpy(), axis=0)))
    assert torch.equal(median(stack[:3]), torch.tensor([2.0, 1.0]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: {**raw, "weights": [0.5, 0.25, 0.25]}, "field 'weights' goes with the rule 'weighted'"),
        (lambda raw: {**raw, "rule": "weighted"}, "field 'weights' goes with the rule 'weighted'"),
        (lambda raw: {**raw, "rule": "weighted", "weights": [0.5, 0.5]}, "one weight per member (3)"),
        (lambda raw: {**raw, "rule": "weighted", "weights": [1.5, -0.25, -0.25]}, "finite numbers >= 0"),
        (lambda raw: {**raw, "rule": "weighted", "weights": [float("nan"), 0.5, 0.5]}, "finite numbers >= 0"),
        (lambda raw: {**raw, "rule": "weighted", "weights": [True, 0, 0]}, "finite numbers >= 0"),
        (lambda raw: {**raw, "rule": "weighted", "weights": [0.5, 0.25, 0.3]}, "must sum to 1, got 1.05"),
        (lambda raw: {**raw, "format_version": 1, "rule": "weighted"}, "field 'rule' must be one of median,"),
        (lambda raw: {**raw, "format_version": 1, "weights": [1, 0, 0]}, "unknown field(s) 'weights'"),
        (lambda raw: {**raw, "rule": "mean"}, "field 'rule' must be one of median, weighted"),
        (lambda raw: {**raw, "members": ["linear"]}, "2 to"),
        (lambda raw: {**raw, "members": ["linear"] * (MAX_MEMBERS + 1)}, "2 to"),
        (lambda raw: {**raw, "members": ["linear", "../elsewhere"]}, "not a plain folder name"),
        (lambda raw: {**raw, "members": ["linear", "missing"]}, "member 'missing' is not a folder"),
        (lambda raw: {**raw, "format_version": 9}, "ensemble format version 9 is not supported"),
        (lambda raw: [raw], "expected a JSON object"),
    ],
)
def test_a_bad_ensemble_json_is_refused_by_name(saved, capsys, change, message):
    target, _ = saved
    raw = json.loads((target / ENSEMBLE).read_text())
    (target / ENSEMBLE).write_text(json.dumps(change(raw)))
    with pytest.raises(PackageError, match=re.escape(message)):
        load_any(str(target))
    code, _, err = run_cli(capsys, "predict", "--model", target, "--data", "x.csv")
    assert code == 2 and ("ensemble.json" in err or "ensemble format" in err)


def test_a_corrupted_member_is_refused_through_its_own_checks(saved):
    target, _ = saved
    (target / "naive" / "schema.json").write_text("{")
    with pytest.raises(PackageError, match=r"schema\.json"):
        load_any(str(target))


def test_members_that_read_other_windows_cannot_be_combined(wide_csv, tmp_path):
    a = _members(wide_csv, ("linear",))["linear"]
    b = _members(wide_csv, ("naive",), context_len=12)["naive"]
    with pytest.raises(PackageError, match="differ in context_len"):
        EnsemblePackage({"linear": a, "naive": b})


def test_saving_over_a_single_package_and_back(saved, tmp_path):
    target, members = saved
    members["linear"].save(target)  # an ensemble directory may be replaced by a single package
    assert isinstance(load_any(str(target)), ForecastPackage) and not (target / ENSEMBLE).exists()
    EnsemblePackage(members).save(target)
    assert isinstance(load_any(str(target)), EnsemblePackage)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(PackageError, match="not a forecaster package"):
        EnsemblePackage(members).save(tmp_path / "other")


@pytest.mark.slow
def test_a_registered_ensemble_loads_back_through_mlflow(saved, mlflow_uri, wide_csv):
    import mlflow

    from forecaster.fit.experiment import input_example
    from forecaster.serve.pyfunc import log_model
    from forecaster.track import tracking

    target, members = saved
    package = load_any(str(target))
    first = next(iter(members.values()))
    data = prepare(first.cfg.data)  # the members were prepared from wide_csv
    with tracking.start_run(uri=mlflow_uri, experiment="ens", run_name="ens") as run:
        log_model(run, package, target, input_example(data), register="ens")
    loaded = load_any("models:/ens@champion")
    assert isinstance(loaded, EnsemblePackage) and list(loaded.members) == list(MEMBERS)
    frame = package.read(wide_csv)
    np.testing.assert_allclose(loaded.predict_array(frame), package.predict_array(frame))
    served = mlflow.pyfunc.load_model("models:/ens@champion").predict(input_example(data))
    np.testing.assert_allclose(served[["a", "b", "c"]].to_numpy(), package.forecast(frame)[["a", "b", "c"]].to_numpy())


def test_a_weighted_ensemble_forecasts_the_weighted_mean_and_all_weight_on_one_member_is_that_member(
    wide_csv, tmp_path
):
    members = _members(wide_csv)
    loaded = load_any(str(EnsemblePackage(members, weights=[0.5, 0.3, 0.2]).save(tmp_path / "ens")))
    raw = json.loads((tmp_path / "ens" / ENSEMBLE).read_text())
    assert (raw["format_version"], raw["rule"], raw["weights"]) == (FORMAT_VERSION, "weighted", [0.5, 0.3, 0.2])
    frame = loaded.read(wide_csv)
    each = [m.forecast(frame)[["a", "b", "c"]].to_numpy() for m in members.values()]
    by_hand = 0.5 * each[0] + 0.3 * each[1] + 0.2 * each[2]
    np.testing.assert_allclose(loaded.forecast(frame)[["a", "b", "c"]].to_numpy(), by_hand, rtol=1e-6)
    one = EnsemblePackage(members, weights=[0.0, 1.0, 0.0])
    np.testing.assert_array_equal(one.forecast(frame)[["a", "b", "c"]].to_numpy(), each[1])
    x, *_ = one.inputs(frame)
    with torch.no_grad():  # the network too: the member itself, exactly
        assert torch.equal(one.network(x), members["naive"].network(x))


def test_members_reading_calendar_covariates_forecast_with_intervals_through_predict(wide_csv, tmp_path, capsys):
    members, data = _prepared(wide_csv, ("linear", "causal"), calendar=["hour"])
    assert data.schema.calendar == ["hour"]
    package = EnsemblePackage(members, weights=[0.25, 0.75])
    assert package.network.COVARIATES == COVARIATE_KINDS
    package.calibration = calibrate(package.network, data, levels=[80])  # its own validation residuals
    target = package.save(tmp_path / "ens")
    assert (target / "intervals.json").is_file()
    out = tmp_path / "f.csv"
    code, _, err = run_cli(
        capsys, "predict", "--model", target, "--data", wide_csv, "--level", "80,90", "--output", out
    )
    assert code == 0, err
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["date", "a", "a-lo-80", "a-hi-80"] and len(table) == 6
    assert (table["a-lo-90"] <= table["a-lo-80"]).all() and (table["a-lo-80"] <= table["a"]).all()
    assert (table["a"] <= table["a-hi-80"]).all() and (table["a-hi-80"] <= table["a-hi-90"]).all()
    frame = package.read(wide_csv)
    np.testing.assert_allclose(table[["a", "b", "c"]].to_numpy(), package.predict_array(frame)[0], rtol=1e-5)


def test_a_format_1_median_ensemble_still_loads_and_says_it_has_no_intervals(wide_csv, tmp_path, capsys):
    members = _members(wide_csv)
    target = EnsemblePackage(members).save(tmp_path / "old")
    old = {"format_version": 1, "forecaster_version": "0.1.0", "rule": "median", "members": list(MEMBERS)}
    (target / ENSEMBLE).write_text(json.dumps(old))  # exactly what forecaster wrote before weights and intervals
    loaded = load_any(str(target))
    assert (loaded.rule, loaded.weights, loaded.calibration) == ("median", None, None)
    frame = loaded.read(wide_csv)
    by_hand = np.median([m.forecast(frame)[["a", "b", "c"]].to_numpy() for m in members.values()], axis=0)
    np.testing.assert_allclose(loaded.forecast(frame)[["a", "b", "c"]].to_numpy(), by_hand, rtol=1e-6)
    code, _, err = run_cli(capsys, "predict", "--model", target, "--data", wide_csv, "--level", "80")
    assert code == 2 and "no calibrated intervals" in err
