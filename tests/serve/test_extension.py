"""Forecasts beyond the trained horizon: refused with the fix, or extended recursively (`--extend recursive`)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, long_frame, run_cli, wide_frame, write

import forecaster as fc
from forecaster.data.schema import Schema, SeriesFrame
from forecaster.serve.extension import appended, recursive
from forecaster.serve.pyfunc import forecast_table

H = 6  # TINY's horizon


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Tiny linear packages (tracking off): hourly wide, business-day long, and wide with input-only columns."""
    import cli

    root = tmp_path_factory.mktemp("extension")
    days = long_frame((120, 140))
    days["ds"] = np.concatenate([pd.bdate_range("2024-01-01", periods=n).astype(str) for n in (120, 140)])
    out = {}
    for name, frame, extra in [
        ("wide", wide_frame(300), []),
        ("days", days, []),
        ("inputs", wide_frame(300), ["--data.targets", "[a]", "--data.covariates", "[b,c]"]),
    ]:
        data = write(root, frame, f"{name}.csv")
        common = [*TINY, "--model.name", "linear", "--trainer.max_steps", "5", "--tracking.enabled", "false"]
        args = ["train", "--data", str(data), *common, *extra, "--refit", "false", "--save", str(root / name)]
        assert cli.main(args) == 0
        out[name] = (root / name, data)
    return out


def predict(capsys, pkg, data, *args) -> pd.DataFrame:
    code, out, err = run_cli(capsys, "predict", "--model", pkg, "--data", data, *args)
    assert code == 0, err
    return pd.read_csv(io.StringIO(out))


def test_recursive_is_the_model_fed_its_own_forecast(packages, capsys, tmp_path):
    pkg, data = packages["wide"]
    extended = predict(capsys, pkg, data, "--horizon", str(2 * H), "--extend", "recursive")
    first = predict(capsys, pkg, data)
    assert len(extended) == 2 * H
    pd.testing.assert_frame_equal(extended.iloc[:H], first)
    fed = write(tmp_path, pd.concat([pd.read_csv(data), first], ignore_index=True), "fed.csv")
    second = predict(capsys, pkg, fed)  # the history with the first block appended, as a user would
    np.testing.assert_allclose(extended.iloc[H:, 1:].to_numpy(), second.iloc[:, 1:].to_numpy(), rtol=1e-5)
    assert list(extended["date"].iloc[H:]) == list(second["date"])
    cut = predict(capsys, pkg, data, "--horizon", str(H + 2), "--extend", "recursive")  # the last block cut
    pd.testing.assert_frame_equal(cut, extended.iloc[: H + 2])


def test_business_days_stay_business_days(packages, capsys):
    pkg, data = packages["days"]
    out = predict(capsys, pkg, data, "--horizon", str(3 * H), "--extend", "recursive")
    assert len(out) == 2 * 3 * H
    for _, part in out.groupby("unique_id"):
        ds = pd.DatetimeIndex(part["ds"])
        assert (ds.dayofweek < 5).all()
        assert list(ds) == list(pd.bdate_range(ds[0], periods=3 * H))


def test_api_and_request_table_extend_as_the_cli(packages, capsys):
    pkg, data = packages["days"]
    cli_out = predict(capsys, pkg, data, "--horizon", str(2 * H), "--extend", "recursive")
    model = fc.load(pkg)
    api_out = model.predict(pd.read_csv(data), horizon=2 * H, extend="recursive")
    np.testing.assert_allclose(api_out["linear"].to_numpy(), cli_out["y"].to_numpy(), rtol=1e-6)
    served = forecast_table(model.package, pd.read_csv(data), 2 * H, None, "recursive")
    np.testing.assert_allclose(served["y"].to_numpy(), cli_out["y"].to_numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "args", "says"),
    [
        ("wide", ["--horizon", str(2 * H)], "--extend recursive"),
        ("wide", ["--horizon", str(2 * H)], "ask for at most 6 steps"),
        ("wide", ["--horizon", "0"], "below 1"),
        ("wide", ["--horizon", str(2 * H), "--extend", "recursive", "--level", "80"], "calibrated on steps 1..6"),
        ("inputs", ["--horizon", str(2 * H), "--extend", "recursive"], "does not forecast (b, c)"),
    ],
)
def test_refusals_name_the_fix(packages, capsys, tmp_path, name, args, says):
    pkg, data = packages[name]
    output = tmp_path / "f.csv"
    code, _, err = run_cli(capsys, "predict", "--model", pkg, "--data", data, "--output", output, *args)
    assert code == 2 and says in err and "Traceback" not in err, err
    assert not output.exists()


def test_within_the_trained_horizon_extend_changes_nothing(packages, capsys):
    pkg, data = packages["wide"]
    plain = predict(capsys, pkg, data, "--horizon", "4", "--level", "80")
    assert plain.equals(predict(capsys, pkg, data, "--horizon", "4", "--level", "80", "--extend", "recursive"))


def test_recursive_calls_the_model_block_by_block():
    schema = Schema(layout="wide", time_col="t", id_col=None, columns=["y"], n_targets=1, freq="MS", horizon=3)
    schema = schema.with_series(["s"])
    times = [pd.date_range("2020-01-01", periods=4, freq="MS")]
    frame = SeriesFrame(schema, "x.csv", ["t", "y"], times, [np.arange(4.0)[:, None]], observed=[np.ones((4, 1), bool)])
    seen = []

    def last_plus_one(f: SeriesFrame) -> np.ndarray:  # a model repeating its last value + 1
        seen.append(f)
        return np.full((1, 3, 1), f.values[0][-1, 0] + 1)

    out = recursive(last_plus_one, frame, 7)
    assert out[0, :, 0].tolist() == [4, 4, 4, 5, 5, 5, 6]
    assert [len(f.times[0]) for f in seen] == [4, 7, 10]
    assert seen[-1].times[0][-1] == pd.Timestamp("2020-10-01")  # months by the calendar, not 30-day steps
    assert seen[-1].observed[0].shape == (10, 1)
    assert appended(frame, np.zeros((1, 2, 1))).times[0][-2:].tolist() == [
        pd.Timestamp("2020-05-01"),
        pd.Timestamp("2020-06-01"),
    ]
