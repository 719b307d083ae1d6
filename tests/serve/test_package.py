"""The model package: save -> load -> predict, the real future, evaluate, bad input, the fast path."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ETTH1, ROOT, TINY, long_frame, run_cli, wide_frame

from forecaster.serve.package import FORMAT_VERSION, META, WEIGHTS, ForecastPackage

pytestmark = pytest.mark.slow  # packages from real training runs (a module fixture trains)


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Tiny packages trained once for this module (tracking off): wide, long, and ETTh1."""
    root = tmp_path_factory.mktemp("pkgs")
    wide, long_ = root / "wide.csv", root / "long.csv"
    wide_frame(300).to_csv(wide, index=False)
    long_frame().to_csv(long_, index=False)
    common = [*TINY, "--tracking.enabled", "false", "--refit", "false"]  # the validated fit: its test metrics
    out = {}
    for name, data, extra in [
        ("wide", wide, ["--model.attention", "hybrid"]),
        (
            "long",
            long_,
            [
                "--model.attention",
                "cross",
                "--data.context_len",
                "14",
                "--data.horizon",
                "7",
                "--model.patch_len",
                "7",
                "--model.stride",
                "7",
            ],
        ),
        ("etth1", ETTH1, ["--model.name", "linear", "--data.split", "ett", "--trainer.max_steps", "5"]),
    ]:
        metrics = root / f"{name}.json"
        assert (
            cli_main(
                [
                    "train",
                    "--data",
                    str(data),
                    *common,
                    *extra,
                    "--save",
                    str(root / name),
                    "--metrics-out",
                    str(metrics),
                ]
            )
            == 0
        )
        out[name] = (root / name, data, json.loads(metrics.read_text()))
    return out


def cli_main(args):
    import cli

    return cli.main(args)


def test_round_trip_equals_the_in_memory_model(packages, tmp_path, capsys):
    pkg_dir, data, _ = packages["wide"]
    code, _, err = run_cli(capsys, "predict", "--model", pkg_dir, "--data", data, "--output", tmp_path / "f.csv")
    assert code == 0, err
    written = pd.read_csv(tmp_path / "f.csv")
    package = ForecastPackage.load(pkg_dir)
    raw = pd.read_csv(data)
    x = (raw.iloc[-24:, 1:].to_numpy() - package.scaler.mean) / package.scaler.scale
    with torch.no_grad():
        expected = package.network(torch.tensor(x[None], dtype=torch.float32))[0].numpy()
    expected = expected * package.scaler.scale + package.scaler.mean
    np.testing.assert_allclose(written[["a", "b", "c"]].to_numpy(), expected, rtol=1e-5, atol=1e-5)


def test_forecast_timestamps_continue_the_input(packages, capsys):
    pkg_dir, data, _ = packages["wide"]
    code, out, _ = run_cli(capsys, "predict", "--model", pkg_dir, "--data", data, "--horizon", "3")
    assert code == 0
    lines = out.strip().splitlines()
    last = pd.Timestamp(pd.read_csv(data)["date"].iloc[-1])
    assert lines[0] == "date,a,b,c" and len(lines) == 4
    assert [pd.Timestamp(line.split(",")[0]) for line in lines[1:]] == [last + pd.Timedelta(hours=h) for h in (1, 2, 3)]


def test_long_input_gives_long_output_per_series(packages, tmp_path, capsys):
    pkg_dir, data, _ = packages["long"]
    code, _, err = run_cli(capsys, "predict", "--model", pkg_dir, "--data", data, "--output", tmp_path / "f.csv")
    assert code == 0, err
    out = pd.read_csv(tmp_path / "f.csv")
    assert list(out.columns) == ["unique_id", "ds", "y"] and out.groupby("unique_id").size().tolist() == [7, 7, 7]
    last = pd.read_csv(data).groupby("unique_id")["ds"].last()
    first = out.groupby("unique_id")["ds"].first()
    for sid in last.index:
        assert pd.Timestamp(first[sid]) == pd.Timestamp(last[sid]) + pd.Timedelta(days=1)


def test_evaluate_reproduces_the_training_metrics(packages, tmp_path, capsys):
    for name in ("wide", "etth1"):
        pkg_dir, data, trained = packages[name]
        code, _, err = run_cli(
            capsys,
            "evaluate",
            "--model",
            pkg_dir,
            "--data",
            data,
            "--metrics-out",
            tmp_path / "e.json",
            "--backtest-windows",
            "5",
            "--step",
            "3",
        )
        assert code == 0, err
        metrics = json.loads((tmp_path / "e.json").read_text())
        for key in ("mse", "mae", "mse_original", "mae_original", "n_test_windows"):
            assert metrics[key] == pytest.approx(trained[key], abs=1e-5), key
        assert metrics["backtest_windows"] == 5
        by_hand = _backtest_by_hand(ForecastPackage.load(pkg_dir), data, windows=5, step=3)
        for key, value in by_hand.items():
            assert metrics[f"backtest_{key}"] == pytest.approx(value, rel=1e-5), key


def _backtest_by_hand(package: ForecastPackage, data, *, windows: int, step: int) -> dict:
    """The rolling-origin backtest computed from the CSV: the newest window ends at the file's last
    row, each earlier one `step` rows before; the errors of every window, step and column averaged."""
    raw = pd.read_csv(data).iloc[:, 1:].to_numpy()
    context, horizon = package.cfg.data.context_len, package.cfg.data.horizon
    starts = [len(raw) - context - horizon - step * k for k in range(windows)]
    x = np.stack([(raw[s : s + context] - package.scaler.mean) / package.scaler.scale for s in starts])
    with torch.no_grad():
        scaled = package.network(torch.tensor(x, dtype=torch.float32)).double().numpy()
    actual = np.stack([raw[s + context : s + context + horizon] for s in starts])
    error = scaled * package.scaler.scale + package.scaler.mean - actual  # original units
    error_scaled = error / package.scaler.scale
    return {
        "mse": np.mean(error_scaled**2),
        "mae": np.mean(np.abs(error_scaled)),
        "mse_original": np.mean(error**2),
        "mae_original": np.mean(np.abs(error)),
    }


def test_predict_on_another_slice_needs_only_the_package(packages, tmp_path, capsys):
    pkg_dir, _, _ = packages["etth1"]
    other = pd.read_csv(ETTH1).iloc[15000:15500]
    other.to_csv(tmp_path / "later.csv", index=False)
    code, out, err = run_cli(capsys, "predict", "--model", pkg_dir, "--data", tmp_path / "later.csv")
    assert code == 0, err
    table = pd.read_csv(pd.io.common.StringIO(out))
    expected = pd.Timestamp(other["date"].iloc[-1]) + pd.Timedelta(hours=1)
    assert len(table) == 6 and pd.Timestamp(table["date"].iloc[0]) == expected


def _bad(tmp_path, df: pd.DataFrame) -> str:
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    "case, phrase",
    [
        ("missing column", "no value column 'c'"),
        ("extra column", "columns ['d'] were not in the training data"),
        ("other frequency", "frequency is 'D' but the model was trained on 'h'"),
        ("too little history", "the model needs the last 24"),
        ("non-finite", "is infinite or too large"),
    ],
)
def test_bad_recent_history_is_refused_clearly(packages, tmp_path, capsys, case, phrase):
    pkg_dir, _, _ = packages["wide"]
    df = {
        "missing column": lambda: wide_frame(50).drop(columns="c"),
        "extra column": lambda: wide_frame(50).assign(d=1.0),
        "other frequency": lambda: wide_frame(50, freq="D"),
        "too little history": lambda: wide_frame(10),
        "non-finite": lambda: (
            wide_frame(50).astype({"a": object}).assign(a=lambda d: d["a"].where(d.index != 3, "inf"))
        ),
    }[case]()
    code, _out, err = run_cli(
        capsys, "predict", "--model", pkg_dir, "--data", _bad(tmp_path, df), "--output", tmp_path / "out.csv"
    )
    assert code == 2 and phrase in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def _copy(pkg_dir, tmp_path):
    import shutil

    target = tmp_path / "pkg"
    shutil.copytree(pkg_dir, target)
    return target


def test_unknown_format_version_is_refused(packages, tmp_path, capsys):
    pkg = _copy(packages["wide"][0], tmp_path)
    (pkg / META).write_text(json.dumps({"format_version": FORMAT_VERSION + 1}))
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", packages["wide"][1])
    assert code == 2 and f"format version {FORMAT_VERSION + 1} is not supported" in err


class _Exploit:
    def __reduce__(self):
        return (open, ("/tmp/forecaster-pwned", "w"))


@pytest.mark.parametrize("content", ["corrupted", "pickle"])
def test_bad_weights_are_refused_not_executed(packages, tmp_path, capsys, content):
    pkg = _copy(packages["wide"][0], tmp_path)
    weights = pkg / WEIGHTS
    if content == "corrupted":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        weights.write_bytes(pickle.dumps({"state_dict": _Exploit()}))
        torch.save({"x": _Exploit()}, tmp_path / "also.pt")
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", packages["wide"][1])
    assert code == 2 and "refused" in err and "Traceback" not in err
    assert not __import__("os").path.exists("/tmp/forecaster-pwned")


def test_a_package_in_memory_forecasts_like_the_saved_one(packages, tmp_path):
    from forecaster.serve.pyfunc import forecast_table

    loaded = ForecastPackage.load(packages["long"][0])
    network = loaded.network.train()  # a network fresh from training is in train mode
    in_memory = ForecastPackage(loaded.cfg, loaded.schema, loaded.scaler, network, path=None)
    recent = pd.read_csv(packages["long"][1])
    saved = ForecastPackage.load(loaded.path)
    pd.testing.assert_frame_equal(forecast_table(in_memory, recent), forecast_table(saved, recent))
    assert network.training  # forecasting left its mode alone
    in_memory.save(tmp_path / "again")
    assert (tmp_path / "again" / "schema.json").read_text() == (loaded.path / "schema.json").read_text()


def test_saving_over_a_package_replaces_it_whole(packages, tmp_path):
    target = _copy(packages["wide"][0], tmp_path)
    (target / "stray.txt").write_text("from an older save")
    ForecastPackage.load(packages["long"][0]).save(target)
    assert not (target / "stray.txt").exists() and ForecastPackage.load(target).schema.layout == "long"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


def test_predict_on_a_local_package_imports_neither_lightning_nor_mlflow(packages):
    pkg_dir, data, _ = packages["wide"]
    code = (
        f"import sys, io, contextlib; sys.path.insert(0, {str(ROOT)!r}); import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert cli.main(['predict', '--model', {str(pkg_dir)!r}, '--data', {str(data)!r}]) == 0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning', 'mlflow', 'sklearn')]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_is_fast_and_light():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import cli; cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'pandas', 'mlflow', 'lightning') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]"
