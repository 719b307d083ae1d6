"""Every registered network's capability declarations (`forecaster.nn.common.Network`) against what it
does, with and without a quantile head: callers read the declarations instead of probing for methods,
so a declaration that lies would skip a fit, a loss, the units or a plot."""

from __future__ import annotations

import inspect
import re
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT

from forecaster.config import ATTENTION_PATTERNS, ModelConfig
from forecaster.models import build_network
from forecaster.nn.common import CAPABILITIES, COVARIATE_KINDS, Network
from forecaster.nn.quantiles import MEDIAN, QuantileForecaster
from forecaster.nn.registry import MODELS
from forecaster.serve.ensemble import EnsembleForecaster

SMALL = dict(d_model=8, n_heads=2, n_layers=1, d_ff=8, patch_len=4, stride=4, window=2, hidden_size=8, dropout=0.0)
# two targets, a past-only covariate and a future-known one (the last), two static covariates
DIMS = SimpleNamespace(
    n_features=4, n_targets=2, context_len=24, horizon=6, period=4, n_future=1, static_cardinalities=[3, 0]
)
CASES = [("transformer", pattern) for pattern in ATTENTION_PATTERNS] + [
    (name, "causal") for name in MODELS if name != "transformer"
]


def network(name: str, attention: str, *, levels=None, dims=DIMS) -> Network:
    torch.manual_seed(0)
    net = build_network(ModelConfig(name=name, attention=attention, levels=levels, **SMALL), dims).eval()
    with torch.no_grad():  # random weights everywhere: a zero-initialised covariate map would hide a path
        for p in net.parameters():
            p.normal_(std=0.3)
    return net


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 24, 4, generator=g)
    future = torch.randn(3, 6, 1, generator=g)
    static = torch.tensor([[0.0, 0.5], [1.0, -1.0], [2.0, 0.1]])
    return x, future, static


def params_with_id(case):
    name, attention, levels = case
    return f"{name}-{attention}" + ("-quantiles" if levels else "")


@pytest.fixture(
    params=[(n, a, None) for n, a in CASES] + [(n, a, [80]) for n, a in CASES if MODELS[n].TRAINABLE],
    ids=params_with_id,
)
def net(request) -> Network:
    name, attention, levels = request.param
    return network(name, attention, levels=levels)


def test_every_capability_is_declared_with_its_type(net):
    for capability in CAPABILITIES:
        assert hasattr(type(net), capability), capability
    assert all(isinstance(getattr(net, c), bool) for c in CAPABILITIES if c != "COVARIATES")
    assert isinstance(net.COVARIATES, frozenset) and net.COVARIATES <= COVARIATE_KINDS


def test_trainable_means_weights_that_a_loss_reaches(net):
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert bool(trainable) == net.TRAINABLE
    if net.TRAINABLE:
        net(*inputs()).square().mean().backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainable)


def test_has_quantiles_means_a_non_crossing_quantile_forecast_whose_median_is_the_forecast(net):
    assert net.HAS_QUANTILES == hasattr(net, "quantile_forecast") == bool(net.quantiles)
    if not net.HAS_QUANTILES:
        assert net.quantiles == ()
        return
    assert list(net.quantiles) == sorted(net.quantiles) and net.quantiles[net.median] == MEDIAN
    assert net.levels.tolist() == pytest.approx(list(net.quantiles))
    with torch.no_grad():
        q = net.quantile_forecast(*inputs())
        assert q.shape == (3, 6, 2, len(net.quantiles)) and (q.diff(dim=-1) >= 0).all()
        assert torch.equal(q[..., net.median], net(*inputs()))


def test_needs_units_means_set_units_changes_the_forecast(net):
    assert hasattr(net, "set_units") == net.NEEDS_UNITS
    if not net.NEEDS_UNITS:
        return
    t = torch.arange(24, dtype=torch.float32)
    season = torch.sin(2 * torch.pi * t / 4) + 0.5 * torch.cos(2 * torch.pi * t / 4)  # period 4, scaled units
    x = season[None, :, None].repeat(3, 1, 4)
    with torch.no_grad():
        before = net(x)
        net.set_units(torch.full((2,), 10.0), torch.full((2,), 2.0))  # positive in the data's units: multiplicative
        assert not torch.equal(before, net(x))


def test_shows_attention_means_one_weight_map_per_layer(net):
    assert hasattr(net, "attention_weights") == net.SHOWS_ATTENTION
    if not net.SHOWS_ATTENTION:
        return
    with torch.no_grad():
        weights = [w for w in net.attention_weights(*inputs()) if w is not None]
    assert weights and all(w.dim() == 4 for w in weights)
    for w in weights:
        torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))


@pytest.mark.parametrize("kind", sorted(COVARIATE_KINDS))
def test_covariates_lists_exactly_the_kinds_that_change_the_forecast(net, kind):
    x, future, static = inputs()
    past = torch.cat([x[..., :2], x[..., 2:3].flip(1), x[..., 3:]], dim=-1)  # reordered: RevIN would undo a shift
    changed = {
        "past": (past, future, static),
        "future": (x, future.flip(1), static),
        "static": (x, future, torch.tensor([[2.0, -1.0], [0.0, 0.0], [1.0, 0.7]])),
    }[kind]
    with torch.no_grad():
        reads = not torch.allclose(net(x, future, static), net(*changed))
    assert reads == (kind in net.COVARIATES), f"{type(net).__name__} declares {set(net.COVARIATES)}"


@pytest.mark.parametrize("name", list(MODELS))
def test_the_constructor_takes_the_covariates_the_class_declares(name):
    cls, parameters = MODELS[name], inspect.signature(MODELS[name]).parameters
    assert ("n_future" in parameters) == ("future" in cls.COVARIATES)
    assert ("static_cardinalities" in parameters) == ("static" in cls.COVARIATES)


def test_the_quantile_head_passes_on_what_passes_through_it():
    for name, cls in MODELS.items():
        if not cls.TRAINABLE:
            continue
        wrapped = build_network(ModelConfig(name=name, quantiles=[0.1], **SMALL), DIMS)
        assert isinstance(wrapped, QuantileForecaster)
        assert (wrapped.TRAINABLE, wrapped.COVARIATES) == (cls.TRAINABLE, cls.COVARIATES)
        assert (wrapped.HAS_QUANTILES, wrapped.NEEDS_UNITS, wrapped.SHOWS_ATTENTION) == (True, False, False)
    units = build_network(ModelConfig(name="naive2"), DIMS)
    with pytest.raises(ValueError, match="only a point network that needs no units is wrapped"):
        QuantileForecaster(units, quantiles=(0.1, 0.5), horizon=6, n_targets=2)


def test_the_ensemble_declares_a_point_forecast_of_what_its_members_read():
    members = [network("seasonal_naive", "causal"), network("naive", "causal")]  # members of x alone
    ensemble = EnsembleForecaster(members).eval()
    assert not (ensemble.TRAINABLE or ensemble.HAS_QUANTILES or ensemble.NEEDS_UNITS or ensemble.SHOWS_ATTENTION)
    assert frozenset() == ensemble.COVARIATES and ensemble.quantiles == ()
    assert not any(hasattr(ensemble, m) for m in ("quantile_forecast", "set_units", "attention_weights"))
    with torch.no_grad():
        assert ensemble(inputs()[0]).shape == (3, 6, 2)
    readers = [network("linear", "causal"), network("naive", "causal"), network("transformer", "causal")]
    ensemble = EnsembleForecaster(readers, [0.5, 0.25, 0.25]).eval()
    assert ensemble.COVARIATES == COVARIATE_KINDS  # the union: each member is given what it declares
    x, future, static = inputs()
    with torch.no_grad():
        expected = sum(w * m(x, future, static) for w, m in zip((0.5, 0.25, 0.25), readers))
        torch.testing.assert_close(ensemble(x, future, static), expected)


PROBES = re.compile(
    r"hasattr\(\w*network\w*, \"(quantile_forecast|set_units|attention_weights)\"\)"
    r"|getattr\([\w.]*network\w*, \"quantiles\""
    r"|is_trainable"
)


def test_no_module_probes_a_network_for_a_capability():
    found = {str(p.relative_to(ROOT)) for p in (ROOT / "forecaster").rglob("*.py") if PROBES.search(p.read_text())}
    assert not found, sorted(found)
