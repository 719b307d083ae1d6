"""`LSTMForecaster` (`forecaster.nn.lstm`): the known future read step by step by the decoder, and the
covariate modules created last, so the base network draws the same weights with or without them."""

from __future__ import annotations

import pytest
import torch

from forecaster.nn.lstm import LSTMForecaster


def lstm(**kw) -> LSTMForecaster:
    torch.manual_seed(0)
    args = dict(
        n_features=3, n_targets=2, context_len=24, horizon=6, patch_len=4, stride=4, revin=True,
        channel_independent=True, hidden_size=8, n_layers=2, d_ff=16, dropout=0.0, head_dropout=0.0,
    )  # fmt: skip
    return LSTMForecaster(**{**args, **kw}).eval()


@pytest.mark.parametrize("independent", (True, False))
def test_a_horizon_step_reads_the_known_future_up_to_itself_only(independent):
    net = lstm(n_future=1, channel_independent=independent)
    x, future = torch.randn(2, 24, 3), torch.randn(2, 6, 1)
    with torch.no_grad():
        base = net(x, future)
        changed = future.clone()
        changed[:, 3] += 1.0
        out = net(x, changed)
    assert base.shape == out.shape == (2, 6, 2)
    torch.testing.assert_close(out[:, :3], base[:, :3], atol=0, rtol=0)  # the decoder runs forward in time
    assert not torch.allclose(out[:, 3:], base[:, 3:])


def test_covariate_modules_come_last_so_the_base_network_draws_the_same_weights():
    plain, covariates = lstm(), lstm(n_future=1, static_cardinalities=[3, 0])
    assert plain.decoder is None and plain.static is None and covariates.decoder is not None
    for name, value in plain.state_dict().items():
        assert torch.equal(covariates.state_dict()[name], value), name
