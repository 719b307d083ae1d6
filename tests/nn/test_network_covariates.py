"""How covariates enter the networks (`forecaster.nn.covariates`): the future tokens, the static
embedding, the past covariate tokens and the covariate map, and every family reading each kind.

Named test_network_covariates, not test_covariates: tests/data/test_covariates.py holds the data's
covariates, and test file basenames must be unique (pytest's prepend import mode)."""

from __future__ import annotations

import pytest
import torch
from conftest import SMALL_NETWORK as SMALL

from forecaster.config import load, with_variant
from forecaster.models import build_network
from forecaster.nn.covariates import CovariateMap, FutureTokens, PastCovariateTokens, static_embedding


def test_future_tokens_pad_the_horizon_with_its_last_step_and_each_step_reaches_only_its_patch():
    torch.manual_seed(0)
    tokens = FutureTokens(n_future=2, horizon=7, patch_len=4, d_model=8)
    future = torch.randn(3, 7, 2)
    out = tokens(future)
    assert out.shape == (3, 2, 8) and (tokens.n_tokens, tokens.pad) == (2, 1)
    padded = torch.cat([future, future[:, -1:]], dim=1)  # 8 steps: the last one repeated
    torch.testing.assert_close(out, tokens.embed(padded.reshape(3, 2, 4 * 2)) + tokens.pos)
    changed = future.clone()
    changed[:, 1] += 1.0  # a step of the first patch
    moved = tokens(changed)
    assert torch.equal(moved[:, 1], out[:, 1]) and not torch.allclose(moved[:, 0], out[:, 0])


def test_static_embedding_past_tokens_and_the_covariate_map():
    torch.manual_seed(0)
    embedding = static_embedding([3, 0, 2], d_out=4)  # a categorical, a numeric and a categorical column
    static = torch.tensor([[2.0, 0.5, 1.0], [0.0, -1.0, 0.0]])
    by_hand = embedding.embeddings[0].weight[[2, 0]] + embedding.embeddings[1].weight[[1, 0]]
    torch.testing.assert_close(embedding(static), by_hand + embedding.linear(static[:, [1]]))
    assert static_embedding([], 4) is None  # no static covariates: no module, no parameters

    past = PastCovariateTokens(n_features=3, n_targets=1, patch_len=4, d_out=6)
    patches = torch.randn(2 * 3, 5, 4)  # (B*F, N, P): channel 0 is the target, 1 and 2 covariates
    out = past(patches)
    assert out.shape == (6, 5, 6) and torch.equal(out[0], out[2]) and torch.equal(out[3], out[5])
    target_changed = patches.clone()
    target_changed[0] += 1.0
    assert torch.equal(past(target_changed), out)  # only the covariate channels are embedded

    covariate_map = CovariateMap(n_past=2, n_future=1, cardinalities=[], context_len=5, horizon=3, n_targets=2)
    mapped = covariate_map(torch.randn(4, 5, 2), torch.randn(4, 3, 1), None)
    assert mapped.shape == (4, 3, 2) and torch.count_nonzero(mapped) == 0  # starts as the covariate-free forecast
    none = CovariateMap(n_past=0, n_future=0, cardinalities=[], context_len=5, horizon=3, n_targets=2)
    assert none(None, None, None) == 0.0 and not list(none.parameters())


@pytest.mark.parametrize("variant", ("causal", "cross", "lstm", "linear"))
@pytest.mark.parametrize("independent", (True, False))
def test_every_family_reads_each_kind_of_covariate(variant, independent):
    """Changing the past covariates, the future-known ones over the horizon, or the static
    category changes the forecast (none is silently ignored), in both channel modes."""
    cfg = with_variant(load(None, [*SMALL, ("model.channel_independent", str(independent).lower())]), variant)
    dims = type("Dims", (), dict(n_features=4, n_targets=1, context_len=16, horizon=8, period=1, n_future=2))()
    dims.static_cardinalities = [3, 0]
    torch.manual_seed(0)
    network = build_network(cfg.model, dims).eval()
    for p in network.parameters():  # zero-initialised covariate maps would hide a missing path
        torch.nn.init.normal_(p, std=0.3)
    x, future, static = torch.randn(2, 16, 4), torch.randn(2, 8, 2), torch.tensor([[0.0, 0.5], [1.0, -1.0]])
    base = network(x, future, static)
    past = x.clone()
    past[..., 1] = torch.randn(2, 16)  # not a shift: RevIN removes each window's mean
    changed = {
        "past": network(past, future, static),
        "future": network(x, future + 1, static),
        "static": network(x, future, torch.tensor([[2.0, 0.5], [0.0, -1.0]])),
    }
    for kind, out in changed.items():
        assert not torch.allclose(out, base), f"{variant} ignores the {kind} covariates"
