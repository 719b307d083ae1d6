"""The classical references (`forecaster.classical.networks`): statsforecast's own forecast on each
window's unscaled context, the fallbacks, the memo, and a comparison and a package end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import ROOT, TINY, run_cli

from forecaster.classical import networks
from forecaster.classical.networks import FITTED, LAST_VALUE, NON_SEASONAL, ForecastCache
from forecaster.config import CLASSICAL, ModelConfig
from forecaster.models import NETWORKS, build_network

MEAN, SCALE = torch.tensor([20.0, 5.0]), torch.tensor([3.0, 0.5])


def dims(context_len=42, horizon=6, period=7):
    return SimpleNamespace(
        n_features=3,
        n_targets=2,
        context_len=context_len,
        horizon=horizon,
        period=period,
        n_future=0,
        static_cardinalities=[],
    )


def window(batch=2, context_len=42, seed=0) -> torch.Tensor:
    """Scaled windows (B, L, 3): a weekly season, a trend and noise; the third column a covariate."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(context_len, dtype=torch.float32)
    season = torch.sin(2 * torch.pi * t / 7)[None, :, None] + 0.01 * t[None, :, None]
    return season + 0.2 * torch.randn(batch, context_len, 3, generator=g)


def classical(name, **kw):
    net = build_network(ModelConfig(name=name), dims(**kw))
    net.set_units(MEAN, SCALE)
    return net


@pytest.fixture(autouse=True)
def _fresh_cache():
    networks.CACHE.clear()
    yield
    networks.CACHE.clear()


def test_the_classical_names_of_the_config_are_the_registry_s():
    assert tuple(networks.CLASSICAL_MODELS) == CLASSICAL
    assert all(NETWORKS[name] is cls for name, cls in networks.CLASSICAL_MODELS.items())


@pytest.mark.parametrize("name, model", [("ets", "AutoETS"), ("theta", "AutoTheta"), ("arima", "AutoARIMA")])
def test_forward_is_statsforecast_on_each_window_s_unscaled_context(name, model):
    import statsforecast.models

    x = window()
    got = classical(name)(x)
    assert got.shape == (2, 6, 2) and got.dtype == torch.float32
    units = x[..., :2].double() * SCALE.double() + MEAN.double()  # (B, L, K), the data's units
    for b in range(2):
        for k in range(2):
            y = units[b, :, k].numpy().copy()
            mean = getattr(statsforecast.models, model)(season_length=7).forecast(y=y, h=6)["mean"]
            expected = (torch.as_tensor(mean) - MEAN[k].double()) / SCALE[k].double()
            torch.testing.assert_close(got[b, :, k].double(), expected, rtol=1e-5, atol=1e-5)


def test_it_has_no_weights_reads_no_covariates_and_fits_in_the_data_s_units():
    net = classical("theta")
    assert not list(net.parameters()) and net.state_dict() == {}  # a package holds its settings only
    assert not net.TRAINABLE and net.NEEDS_UNITS and frozenset() == net.COVARIATES
    x = window()
    changed = x.clone()
    changed[..., 2] += 5.0  # the covariate column
    future, static = torch.randn(2, 6, 1), torch.randn(2, 2)
    assert torch.equal(net(x), net(changed, future, static))
    other = build_network(ModelConfig(name="theta"), dims())  # scaled units: mean 0, scale 1
    assert not torch.allclose(net(x), other(x))  # multiplicative decomposition: units matter


def test_a_failed_seasonal_fit_falls_back_to_no_season_then_to_the_last_value(monkeypatch):
    calls = []

    def fake(model, y, *, season, horizon):
        calls.append(season)
        if season > 1:
            raise ValueError("season too long")
        return np.full(horizon, np.nan) if y[0] < 0 else np.full(horizon, 1.5)

    monkeypatch.setattr(networks, "statsforecast_mean", fake)
    y = np.arange(10.0)
    assert networks.fit_forecast("AutoETS", y, season=7, horizon=3)[1] == NON_SEASONAL and calls == [7, 1]
    mean, outcome = networks.fit_forecast("AutoETS", y - 20, season=7, horizon=3)  # a NaN forecast is no forecast
    assert outcome == LAST_VALUE and mean.tolist() == [-11.0] * 3


def test_a_window_statsforecast_cannot_fit_gets_its_last_value_and_is_counted():
    net = classical("ets", context_len=5, period=1)  # AutoETS refuses 5 points ("tiny datasets")
    x = window(batch=1, context_len=5)
    y = net(x)
    torch.testing.assert_close(y, x[:, -1:, :2].expand(-1, 6, -1))
    assert net.outcomes() == {LAST_VALUE: 2}


def test_each_window_is_fitted_once_per_process(monkeypatch):
    calls = []
    real = networks.statsforecast_mean
    monkeypatch.setattr(networks, "statsforecast_mean", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = window()
    first = classical("theta")(x)
    again = classical("theta")  # another instance (another seed of a comparison) asks again
    assert torch.equal(again(x), first) and torch.equal(again(x), first) and len(calls) == 4
    assert again.outcomes() == {FITTED: 4}
    classical("theta", horizon=5)(x)  # another horizon is another forecast
    assert len(calls) == 8


def test_the_cache_keeps_at_most_its_limit_of_values():
    cache = ForecastCache(limit=10)
    for i in range(4):
        cache.put(("m", i), (np.zeros(4), FITTED))
    assert [k for _, k in cache.items] == [2, 3] and cache.values == 8 and cache.get(("m", 0)) is None


def test_nothing_but_a_classical_fit_imports_statsforecast(tmp_path):
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import cli; cli.build_parser()\n"
        "import torch; from types import SimpleNamespace\n"
        "from forecaster.config import ModelConfig; from forecaster.models import build_network\n"
        "import forecaster.compare.comparison\n"
        "d = SimpleNamespace(n_features=1, n_targets=1, context_len=8, horizon=2, period=1, n_future=0, "
        "static_cardinalities=[])\n"
        "build_network(ModelConfig(name='naive2'), d)(torch.randn(1, 8, 1))\n"
        "ets = build_network(ModelConfig(name='ets'), d)\n"
        "print('statsforecast' in sys.modules)\n"
        "ets(torch.randn(1, 8, 1)); print('statsforecast' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


SETTINGS = [*TINY[: TINY.index("--trainer.max_epochs")], "--trainer.max_epochs", "1", "--tracking.enabled", "false"]


def test_compare_ranks_the_classical_references_like_any_variant_and_deploys_one(long_csv, tmp_path, capsys):
    out_json, best = tmp_path / "rows.json", tmp_path / "best"
    args = ["compare", "--data", long_csv, *SETTINGS, "--data.split", "last", "--data.test_windows", "4"]
    args += ["--variants", "ets,theta,naive", "--model.levels", "80", "--ensemble-k", "0"]
    code, out, err = run_cli(capsys, *args, "--metrics-out", out_json, "--save-best", best)
    assert code == 0, err
    rows = {r["variant"]: r for r in json.loads(out_json.read_text())}
    assert set(rows) == {"ets", "theta", "naive"}
    for row in rows.values():  # the same windows and metrics as every variant: scores, p-values, validation
        assert row["n_test_windows"] == 12 and row["val_score"] > 0 and row["epochs"] == 0
        assert 0 < row["coverage_80"] <= 1 and "smape" in row and "p_vs_best" in row
    assert sum(r["p_vs_best"] is None for r in rows.values()) == 1  # only the best has none
    assert "ets" in out and "theta" in out
    chosen = min(rows.values(), key=lambda r: r["val_score"])["variant"]
    assert json.loads((best / "forecaster.json").read_text())["variant"] == chosen


def test_a_saved_theta_package_holds_no_pickle_and_fits_on_the_history_predict_gives(long_csv, tmp_path, capsys):
    from forecaster.serve.package import ForecastPackage

    package, forecast = tmp_path / "theta", tmp_path / "f.csv"
    args = ["train", "--data", long_csv, *SETTINGS, "--model.name", "theta", "--model.levels", "80"]
    code, _, err = run_cli(capsys, *args, "--save", package)
    assert code == 0, err
    files = sorted(p.name for p in package.iterdir())
    assert not any(p.suffix in (".pkl", ".pickle", ".pt", ".ckpt") for p in package.iterdir()), files
    loaded = ForecastPackage.load(package)
    assert loaded.network.state_dict() == {} and loaded.network.mean.tolist() == loaded.scaler.mean[:1].tolist()
    code, _, err = run_cli(capsys, "predict", "--model", package, "--data", long_csv, "--level", "80")
    assert code == 0, err
    code, _, err = run_cli(capsys, "predict", "--model", package, "--data", long_csv, "--output", forecast)
    assert code == 0, err
    import pandas as pd

    table, history = pd.read_csv(forecast), pd.read_csv(long_csv)
    assert len(table) == 3 * 6 and table["y"].notna().all()
    y = history[history.unique_id == "s0"]["y"].to_numpy()[-24:]
    from statsforecast.models import AutoTheta

    expected = AutoTheta(season_length=7).forecast(y=y, h=6)["mean"]
    np.testing.assert_allclose(table[table.unique_id == "s0"]["y"].to_numpy(), expected, rtol=1e-4)


def test_a_logged_classical_model_asks_its_environment_for_statsforecast():
    from forecaster.serve.ensemble import EnsembleForecaster
    from forecaster.serve.pyfunc import requirements

    naive = build_network(ModelConfig(name="naive"), dims())
    names = lambda network: [r.split("==")[0] for r in requirements(SimpleNamespace(network=network))]
    assert "statsforecast" not in names(naive) and "torch" in names(naive)
    assert "statsforecast" in names(classical("arima"))
    assert "statsforecast" in names(EnsembleForecaster([naive, classical("ets")]))
