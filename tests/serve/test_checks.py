"""A package is untrusted input: every file is checked before use, MLflow models are never
unpickled, and a save over a package never loses it. Each refusal: exit 2, one message, no traceback."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import run_cli, wide_frame

from forecaster import atomic
from forecaster.config import load
from forecaster.data.windows import prepare
from forecaster.errors import PackageError
from forecaster.models import build_network
from forecaster.scores import intervals
from forecaster.serve import checks as package_checks
from forecaster.serve.package import CONFIG, META, SCALER, SCHEMA, WEIGHTS, ForecastPackage
from forecaster.serve.pyfunc import package_artifact

SMALL = {
    "data.context_len": "24",
    "data.horizon": "6",
    "model.d_model": "16",
    "model.n_heads": "2",
    "model.n_layers": "1",
    "model.d_ff": "16",
    "model.patch_len": "4",
    "model.stride": "4",
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """An untrained but complete package of `wide_frame()` (no Lightning: saved straight from a network)."""
    root = tmp_path_factory.mktemp("saved")
    wide_frame().to_csv(root / "wide.csv", index=False)
    cfg = load(None, {**SMALL, "data.path": str(root / "wide.csv")}.items())
    data = prepare(cfg.data)
    network = build_network(cfg.model, data.schema)
    return ForecastPackage(cfg, data.schema, data.scaler, network, None).save(root / "pkg")


@pytest.fixture
def pkg(saved, tmp_path) -> Path:
    """A copy of `saved` to tamper with."""
    return Path(shutil.copytree(saved, tmp_path / "pkg"))


def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _edit_config(pkg: Path, **changes) -> None:
    raw = yaml.safe_load((pkg / CONFIG).read_text())
    for key, value in changes.items():
        section, name = key.split("__")
        raw[section][name] = value
    (pkg / CONFIG).write_text(yaml.safe_dump(raw))


def _scale(pkg: Path, text: str) -> None:
    raw = json.loads((pkg / SCALER).read_text())
    (pkg / SCALER).write_text(json.dumps(raw).replace(json.dumps(raw["scale"]), f"[{text}, 1.0, 1.0]"))


def _radii(pkg: Path, radius: float) -> None:
    """An intervals.json of one residual level (80) whose every radius is `radius`."""
    pooled = [[[radius] * 3] * 6]  # (levels, horizon, targets)
    raw = {"format_version": intervals.FORMAT_VERSION, "method": "split-conformal", "levels": [80.0]}
    raw |= {"scores": ["residual"], "n_windows": 10, "pooled": pooled, "series": {}}
    (pkg / intervals.FILE).write_text(json.dumps(raw))


def _fifo(file: Path) -> None:
    """A FIFO in place of `file`: opened for reading, it would block until a writer came."""
    file.unlink()
    os.mkfifo(file)


TAMPERED = {  # case: (edit of the package, file named, phrase)
    "meta is a list": (lambda p: (p / META).write_text("[1, 2]"), META, "expected a JSON object"),
    "meta variant": (lambda p: _edit_json(p / META, variant=7), META, "field 'variant' must be a string"),
    "n_targets abc": (lambda p: _edit_json(p / SCHEMA, n_targets="abc"), SCHEMA, "'n_targets' must be an integer"),
    "n_targets 0": (lambda p: _edit_json(p / SCHEMA, n_targets=0), SCHEMA, "field 'n_targets' must be between 1 and 3"),
    "freq bogus": (lambda p: _edit_json(p / SCHEMA, freq="bogus"), SCHEMA, "field 'freq' is not a pandas frequency"),
    "layout": (lambda p: _edit_json(p / SCHEMA, layout="tall"), SCHEMA, "field 'layout' must be one of wide, long"),
    "unknown field": (lambda p: _edit_json(p / SCHEMA, surprise=1), SCHEMA, "unknown field 'surprise'"),
    "negative context": (lambda p: _edit_json(p / SCHEMA, context_len=-5), SCHEMA, "field 'context_len' must be"),
    "huge context": (lambda p: _edit_json(p / SCHEMA, context_len=10**8), SCHEMA, "1 and 1000000, got 100000000"),
    "scale 0": (lambda p: _scale(p, "0.0"), SCALER, "field 'scale' entry 0 is 0.0"),
    "scale negative": (lambda p: _scale(p, "-2.0"), SCALER, "every scale must be finite and > 0"),
    "scale NaN": (lambda p: _scale(p, "NaN"), SCALER, "field 'scale' entry 0 is nan"),
    "mean infinite": (lambda p: _edit_json(p / SCALER, mean=[float("inf"), 0, 0]), SCALER, "every mean must be finite"),
    "scaler columns": (lambda p: _edit_json(p / SCALER, mean=[0.0], scale=[1.0]), SCALER, "1 columns, but schema.json"),
    "config key": (lambda p: _edit_config(p, model__depth=3), CONFIG, "unknown key 'model.depth'"),
    "config type": (lambda p: _edit_config(p, data__horizon="six"), CONFIG, "data.horizon"),
    "horizon disagrees": (lambda p: _edit_config(p, data__horizon=12), SCHEMA, "horizon 6 disagrees with config.yaml"),
    "missing file": (lambda p: (p / SCALER).unlink(), SCALER, "the file is missing"),
    "scale 1e300": (lambda p: _scale(p, "1e300"), SCALER, "field 'scale' entry 0 is 1e+300, beyond any value"),
    "mean 1e300": (lambda p: _edit_json(p / SCALER, mean=[0, -1e300, 0]), SCALER, "field 'mean' entry 1 is 1e+300"),
    "scale 1e-300": (
        lambda p: _edit_json(p / SCALER, mean=[1e6, 0, 0], scale=[1e-300, 1, 1]),
        SCALER,
        "field 'scale' entry 0 is 1e-300, below the rounding error of its mean",
    ),
    "negative radius": (lambda p: _radii(p, -0.5), intervals.FILE, "field 'pooled' has a negative radius"),
    "schema FIFO": (lambda p: _fifo(p / SCHEMA), SCHEMA, "is not a regular file (a FIFO"),
    "weights FIFO": (lambda p: _fifo(p / WEIGHTS), WEIGHTS, "is not a regular file (a FIFO"),
    "intervals FIFO": (lambda p: os.mkfifo(p / intervals.FILE), intervals.FILE, "is not a regular file (a FIFO"),
}


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_package_is_refused_naming_the_file_and_field(pkg, wide_csv, capsys, command, case):
    edit, file, phrase = TAMPERED[case]
    edit(pkg)
    code, out, err = run_cli(capsys, command, "--model", pkg, "--data", wide_csv)
    assert code == 2 and out == "", err
    assert f"{pkg / file}: " in err and phrase in err, err
    assert err.count("error:") == 1 and "Traceback" not in err


def test_radii_of_zero_are_a_calibration(pkg, wide_csv, capsys):
    _radii(pkg, 0.0)  # a perfect fit on validation: intervals as wide as the point forecast
    code, out, err = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv, "--level", "80")
    assert code == 0 and out.splitlines()[0].startswith("date,a,a-lo-80,a-hi-80"), err


def test_the_untampered_package_forecasts(pkg, wide_csv, capsys):
    code, out, err = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv)
    assert code == 0, err
    assert out.splitlines()[0] == "date,a,b,c" and len(out.splitlines()) == 7


def test_sizes_the_weights_do_not_back_are_refused_before_allocating(pkg, wide_csv, capsys):
    # Built for real, this network's position table alone would be 10**6 x 256 floats (1 GB).
    _edit_json(pkg / SCHEMA, context_len=10**6)
    _edit_config(pkg, data__context_len=10**6, model__d_model=256, model__patch_len=1, model__stride=1)
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv)
    assert code == 2 and "weights.safetensors: refused: config.yaml and schema.json describe a network" in err, err
    assert time.perf_counter() - start < 5


def test_weights_of_other_shapes_are_refused_naming_the_tensor(pkg, wide_csv, capsys):
    _edit_config(pkg, model__d_model=8)
    code, _, err = run_cli(capsys, "evaluate", "--model", pkg, "--data", wide_csv)
    assert code == 2 and "weights.safetensors: refused: tensor '" in err and "has shape [" in err, err


def test_the_allocation_budget_refuses_a_constructor_before_it_allocates():
    with package_checks.AllocationBudget(100) as budget:
        torch.empty(2, 30)
        torch.arange(10, 30)
        assert budget.used == 80
        with pytest.raises(package_checks.OverBudget) as over:
            torch.randn(10**12)  # 4 TB: raised from its size, never allocated
    assert over.value.asked == 80 + 10**12
    assert torch.zeros(3).sum() == 0  # the budget ends with its context


# --- MLflow models: only the MLmodel file is read, and only forecaster's own models are loaded ---

OURS = {
    "flavors": {
        "python_function": {
            "loader_module": "mlflow.pyfunc.loaders.code_model",
            "model_code_path": "/somewhere/forecaster/pyfunc_model.py",
            "artifacts": {"package": {"path": "artifacts/package", "uri": "/tmp/x/package"}},
        }
    }
}
PICKLED = {
    "flavors": {
        "python_function": {
            "loader_module": "mlflow.pyfunc.model",
            "python_model": "python_model.pkl",
            "cloudpickle_version": "3.1.3",
        }
    }
}


def _pyfunc(**changes) -> dict:
    return {"flavors": {"python_function": {**OURS["flavors"]["python_function"], **changes}}}


@pytest.mark.parametrize(
    "mlmodel, phrase",
    [
        (PICKLED, "loader 'mlflow.pyfunc.model' (a cloudpickled Python model)"),
        ({"flavors": {"sklearn": {"pickled_model": "model.pkl"}}}, "flavor(s) sklearn, without python_function"),
        (_pyfunc(model_code_path="/tmp/evil.py"), "from the code file 'evil.py', not forecaster's"),
        (_pyfunc(loader_module="evil_loader"), "loader 'evil_loader'"),
        (_pyfunc(artifacts={}), "without the 'package' artifact"),
        (_pyfunc(artifacts={"package": {"path": "../../etc"}}), "a package artifact at '../../etc', outside the model"),
        (["not", "a", "mapping"], "an MLmodel file that is not a forecaster model's"),
    ],
)
def test_only_forecaster_models_are_accepted_from_an_mlmodel_file(tmp_path, mlmodel, phrase):
    (tmp_path / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(PackageError) as refused:
        package_artifact("models:/x@champion", tmp_path / "MLmodel")
    message = str(refused.value)
    assert message.startswith("models:/x@champion: refused: this MLflow model is ") and phrase in message
    assert "forecaster loads only the packages it logs itself" in message


def test_forecaster_models_name_their_package_artifact(tmp_path):
    (tmp_path / "MLmodel").write_text(yaml.safe_dump(OURS))
    assert package_artifact("models:/x@champion", tmp_path / "MLmodel") == "artifacts/package"


class _Payload:
    """Unpickling this creates `marker`: what a cloudpickled model's shell payload would do."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.slow  # imports MLflow
def test_a_pickled_model_behind_a_uri_is_refused_not_unpickled(pkg, wide_csv, tmp_path, mlflow_uri, capsys):
    model = tmp_path / "pickled-model"
    model.mkdir()
    (model / "MLmodel").write_text(yaml.safe_dump(PICKLED))
    marker = tmp_path / "pwned"
    (model / "python_model.pkl").write_bytes(pickle.dumps(_Payload(str(marker))))
    code, out, err = run_cli(capsys, "predict", "--model", model.as_uri(), "--data", wide_csv)
    assert code == 2 and out == "" and "refused: this MLflow model is a python_function model" in err
    assert "cloudpickled" in err and "Traceback" not in err
    assert not marker.exists()


# --- Saving over a package ---


def test_a_crash_between_the_renames_keeps_the_old_package(pkg, tmp_path, monkeypatch):
    other = ForecastPackage.load(pkg)
    real, calls = atomic.os.replace, []

    def crash_at_the_second_step(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # 1: old package aside, 2: new package in
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash_at_the_second_step)
    with pytest.raises(KeyboardInterrupt):
        other.save(pkg)
    assert ForecastPackage.load(pkg).schema == other.schema
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporaries left


def test_a_package_left_aside_by_a_killed_save_is_named(pkg, tmp_path, wide_csv, capsys):
    aside = tmp_path / ".pkg-old-abc123"
    pkg.rename(aside)  # where a process killed between the two renames leaves the old package
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", wide_csv)
    assert code == 2 and f"the previous package at {aside}" in err and f"mv {aside} {pkg}" in err
    aside.rename(pkg)
    assert ForecastPackage.load(pkg).schema.context_len == 24


def test_a_saved_package_is_readable_by_others_under_umask_022(saved, tmp_path):
    """A separate serving account reads the package: folder 0755, files 0644 (not 0700 / 0600)."""
    old = os.umask(0o022)
    try:
        out = ForecastPackage.load(saved).save(tmp_path / "served")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()} == {p.name: 0o644 for p in out.iterdir()}
    assert (out / WEIGHTS).is_file()
