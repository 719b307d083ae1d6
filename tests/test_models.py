"""One contract over every registered model and pattern, plus overfitting one small batch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from forecaster.config import ATTENTION_PATTERNS, ModelConfig
from forecaster.errors import ConfigError
from forecaster.models import build_network
from forecaster.nn.registry import MODELS


def dims(n_features=3, n_targets=2, context_len=32, horizon=8, period=8) -> SimpleNamespace:
    return SimpleNamespace(
        n_features=n_features,
        n_targets=n_targets,
        context_len=context_len,
        horizon=horizon,
        period=period,
        n_future=0,
        static_cardinalities=[],
    )


SHAPE = dims()
SMALL = dict(d_model=16, n_heads=2, n_layers=2, d_ff=32, patch_len=8, stride=4, window=3, hidden_size=16, dropout=0.0)
CASES = (
    [("transformer", a, ci) for a in ATTENTION_PATTERNS for ci in (True, False)]
    + [("transformer", "local", "skip")]
    + [(name, "causal", ci) for name in MODELS if name != "transformer" for ci in (True, False)]
)


def _model(name, attention, ci, **kw):
    torch.manual_seed(0)
    if ci == "skip":
        ci, kw = True, {**kw, "linear_skip": True}
    return build_network(ModelConfig(name=name, attention=attention, channel_independent=ci, **{**SMALL, **kw}), SHAPE)


@pytest.mark.parametrize("name, attention, ci", CASES)
def test_contract_shape_finite_and_one_step_learns(name, attention, ci):
    model = _model(name, attention, ci)
    x = torch.randn(4, 32, 3)
    y = model(x)
    assert y.shape == (4, 8, 2) and torch.isfinite(y).all()
    params = [p for p in model.parameters() if p.requires_grad]
    if name in ("naive", "seasonal_naive", "naive2"):
        assert not params
        return
    before = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=1e-2)
    torch.nn.functional.mse_loss(y, torch.randn(4, 8, 2)).backward()
    opt.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, params))


def test_naive_baselines_repeat_the_last_value_and_season():
    x = torch.arange(32, dtype=torch.float32).reshape(1, 32, 1).repeat(1, 1, 3)
    naive = _model("naive", "causal", True)(x)
    assert (naive == 31).all()
    seasonal = _model("seasonal_naive", "causal", True)(x)
    assert seasonal[0, :, 0].tolist() == [24, 25, 26, 27, 28, 29, 30, 31]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, attention", [("transformer", a) for a in ATTENTION_PATTERNS] + [("lstm", "causal"), ("linear", "causal")]
)
def test_each_model_overfits_one_small_batch(name, attention):
    torch.manual_seed(0)
    model = _model(name, attention, True)
    t = torch.arange(40, dtype=torch.float32)
    series = torch.stack([torch.sin(t / 3 + k) + 0.3 * torch.cos(t / 1.7 * (k + 1)) for k in range(3)], dim=1)
    x, y = series[:32][None].repeat(4, 1, 1), series[32:40, :2][None].repeat(4, 1, 1)
    x = x + 0.1 * torch.randn_like(x)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.05 * first, (first, loss.item())


def test_registry_error_lists_the_names():
    with pytest.raises(ConfigError, match=r"unknown model\.name 'tcn'; valid: transformer, lstm, naive"):
        build_network(ModelConfig(name="tcn"), SHAPE)


@pytest.mark.parametrize(
    "name, settings, shape, message",
    [
        (
            "transformer",
            {"d_model": 10, "n_heads": 4},
            SHAPE,
            r"model.d_model \(10\) must be divisible by model.n_heads \(4\)",
        ),
        ("transformer", {"window": 0}, SHAPE, "model.window must be at least 1, got 0"),
        ("transformer", {"attention": "sparse"}, SHAPE, "unknown attention pattern 'sparse'; valid: global, causal"),
        (
            "transformer",
            {"attention": "hybrid", "n_heads": 1},
            SHAPE,
            r"the hybrid pattern needs model.n_heads >= 2 \(some local, some global\)",
        ),
        (
            "transformer",
            {"patch_len": 40},
            SHAPE,
            r"need 1 <= model.patch_len <= context_len \(32\) and model.stride >= 1, got patch_len 40, stride 8",
        ),
        ("lstm", {"stride": 0}, SHAPE, "model.stride >= 1, got patch_len 16, stride 0"),
        ("transformer", {"dropout": 1.0}, SHAPE, r"dropout must be in \[0, 1\), got 1.0"),
        ("transformer", {"head_dropout": -0.1}, SHAPE, r"dropout must be in \[0, 1\), got -0.1"),
        ("lstm", {"head_dropout": 1.5}, SHAPE, r"dropout must be in \[0, 1\), got 1.5"),
        ("linear", {"moving_avg": 0}, SHAPE, "model.moving_avg must be at least 1, got 0"),
        ("transformer", {"n_heads": 0}, SHAPE, "model.n_heads must be at least 1, got 0"),
        ("transformer", {"attn_dropout": 1.0}, SHAPE, r"model.attn_dropout must be in \[0, 1\), got 1.0"),
        ("lstm", {"quantiles": [0.1, 1.5]}, SHAPE, r"model.quantiles must be in \(0, 1\), got \[0.1, 1.5\]"),
        (
            "seasonal_naive",
            {},
            dims(period=40),
            "seasonal period 40 must be between 1 and context_len 32; set data.season_period",
        ),
    ],
)
def test_bad_settings_are_config_errors_naming_the_key(name, settings, shape, message):
    with pytest.raises(ConfigError, match=message):
        build_network(ModelConfig(name=name, **settings), shape)


def test_settings_a_network_ignores_are_not_checked():
    assert build_network(ModelConfig(name="lstm", d_model=10, n_heads=4, window=0), SHAPE) is not None
    assert build_network(ModelConfig(name="linear", decompose=False, moving_avg=0), SHAPE) is not None
    assert build_network(ModelConfig(attention="cross", head_dropout=2.0, patch_len=8), SHAPE) is not None
    assert build_network(ModelConfig(name="lstm", n_heads=0, attn_dropout=2.0), SHAPE) is not None
    assert build_network(ModelConfig(name="naive", quantiles=[1.5]), SHAPE) is not None  # a point forecast


def test_each_network_receives_only_the_arguments_it_declares():
    import inspect

    from forecaster.models import ARGUMENTS, NETWORKS, network_arguments

    assert ARGUMENTS.keys() == NETWORKS.keys() == {**MODELS, "ets": 0, "theta": 0, "arima": 0}.keys()
    for name, cls in NETWORKS.items():
        declared = set(inspect.signature(cls).parameters)
        assert set(network_arguments(ModelConfig(name=name), SHAPE)) == declared, name
    assert set(inspect.signature(MODELS["naive"]).parameters) == {"n_targets", "horizon"}


def test_diebold_mariano_sees_a_real_difference_and_not_noise():
    import numpy as np

    from forecaster.scores.metrics import diebold_mariano

    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 0.2, size=2000)
    same = base + rng.normal(0, 0.01, size=2000)
    _, p_same = diebold_mariano(base, same, lag=5)
    stat, p_better = diebold_mariano(base * 0.8, base, lag=5)
    assert p_same > 0.05 and p_better < 1e-6 and stat < 0
    assert diebold_mariano(base, base, lag=5) == (0.0, 1.0)
