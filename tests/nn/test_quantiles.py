"""Quantile heads: every trainable family forecasts non-crossing quantiles, the median is the point."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.config import ATTENTION_PATTERNS, ModelConfig
from forecaster.models import build_network
from forecaster.nn.quantiles import QuantileForecaster, pinball_loss, quantile_set

DIMS = SimpleNamespace(
    n_features=3, n_targets=2, context_len=16, horizon=6, period=4, n_future=0, static_cardinalities=[]
)
FAMILIES = [("transformer", p) for p in ATTENTION_PATTERNS] + [
    ("lstm", "causal"),
    ("linear", "causal"),
]


def quantile_network(name: str, attention: str, **kw) -> QuantileForecaster:
    cfg = ModelConfig(name=name, attention=attention, d_model=8, n_heads=2, n_layers=1, d_ff=8, patch_len=4, stride=4)
    cfg.window, cfg.hidden_size = 2, 8
    for key, value in kw.items():
        setattr(cfg, key, value)
    return build_network(cfg, DIMS)


def test_levels_imply_their_quantiles_and_the_median():
    assert quantile_set(None, [80, 90]) == (0.05, 0.1, 0.5, 0.9, 0.95)
    assert quantile_set([0.1, 0.9], None) == (0.1, 0.5, 0.9)
    assert quantile_set(None, None) == () and quantile_set([], []) == ()


@pytest.mark.parametrize(("name", "attention"), FAMILIES)
def test_every_trainable_family_becomes_a_quantile_forecaster(name, attention):
    net = quantile_network(name, attention, levels=[80, 90]).eval()
    x = torch.randn(4, 16, 3)
    q = net.quantile_forecast(x)
    assert isinstance(net, QuantileForecaster) and q.shape == (4, 6, 2, 5)
    assert torch.equal(net(x), q[..., 2])  # the median is the point forecast
    assert (q.diff(dim=-1) >= 0).all()


def test_naive_baselines_stay_point_forecasts():
    cfg = ModelConfig(name="naive", levels=[80])
    assert not isinstance(build_network(cfg, DIMS), QuantileForecaster)


@pytest.mark.parametrize(("name", "attention"), [("transformer", "causal"), ("transformer", "cross"), *FAMILIES[-2:]])
def test_a_quantile_head_reads_the_future_known_covariates_of_its_horizon(name, attention):
    """Built for Q * H steps, the network reads the H steps' future-known features once per quantile
    block: a window with future covariates is forecast, not refused for its shape."""
    dims = SimpleNamespace(**{**vars(DIMS), "n_future": 1})
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, attention=attention, d_model=8, n_heads=2, n_layers=1, d_ff=8, patch_len=4, stride=4)
    cfg.window, cfg.hidden_size, cfg.levels = 2, 8, [80]
    net = build_network(cfg, dims).eval()
    x, future = torch.randn(4, 16, 3), torch.randn(4, 6, 1)
    q = net.quantile_forecast(x, future)
    assert q.shape == (4, 6, 2, 3) and torch.isfinite(q).all() and (q.diff(dim=-1) >= 0).all()
    assert torch.equal(net(x, future), q[..., 1])


def test_no_quantiles_builds_the_point_model_with_the_same_random_stream():
    torch.manual_seed(3)
    plain = build_network(ModelConfig(name="linear"), DIMS)
    torch.manual_seed(3)
    again = build_network(ModelConfig(name="linear", quantiles=None, levels=[]), DIMS)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), again.state_dict().values()))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-1e3, 1e3),
    family=st.sampled_from(
        [("transformer", "causal"), ("transformer", "cross"), ("lstm", "causal"), ("linear", "causal")]
    ),
)
def test_quantiles_never_cross_for_any_weights_and_inputs(seed, scale, shift, family):
    torch.manual_seed(seed)
    net = quantile_network(*family, quantiles=[0.02, 0.3, 0.7, 0.98], levels=[50])
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(1 + 10 * torch.rand(()))  # large weights: raw blocks far apart in either order
    q = net.quantile_forecast(torch.randn(3, 16, 3) * scale + shift)
    assert torch.isfinite(q).all() and (q.diff(dim=-1) >= 0).all()


@pytest.mark.slow
def test_pinball_loss_is_half_the_mae_at_the_median_and_trains_the_quantiles():
    y, pred = torch.tensor([1.0, 3.0]), torch.tensor([[2.0], [2.0]])
    assert pinball_loss(pred, y, torch.tensor([0.5])) == pytest.approx(0.5 * 1.0)
    torch.manual_seed(0)
    net = quantile_network("linear", "causal", levels=[80])
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    x = torch.randn(128, 16, 3)
    y = torch.randn(128, 6, 2)  # pure noise: the 10 % / 90 % quantiles are about -1.28 / 1.28
    for _ in range(100):
        opt.zero_grad()
        pinball_loss(net.quantile_forecast(x), y, net.levels).backward()
        opt.step()
    q = net.quantile_forecast(x).detach()
    below = (y.unsqueeze(-1) < q).float().mean(dim=(0, 1, 2))
    assert below[0] == pytest.approx(0.1, abs=0.05) and below[-1] == pytest.approx(0.9, abs=0.05)
