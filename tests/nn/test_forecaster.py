"""`AttentionForecaster` (`forecaster.nn.forecaster`): an encoder causal over time steps, and its attention
weights on request. The contract every registered model keeps: tests/test_models.py."""

from __future__ import annotations

import pytest
import torch
from test_models import SHAPE, SMALL, _model

from forecaster.config import ModelConfig
from forecaster.models import build_network


@pytest.mark.parametrize("attention", ["causal", "local", "hybrid", "dynamic"])
def test_forecaster_encoder_is_causal_over_time_steps(attention):
    torch.manual_seed(0)
    cfg = ModelConfig(
        attention=attention,
        patch_len=1,
        stride=1,
        revin=False,
        **{k: v for k, v in SMALL.items() if k not in ("patch_len", "stride")},
    )
    model = build_network(cfg, SHAPE).double().eval()
    x = torch.randn(2, 32, 3, dtype=torch.float64, requires_grad=True)
    h, _ = model.encode(x)  # (B*F, T, d)
    (grad,) = torch.autograd.grad(h[:, :20].sum(), x)
    assert torch.count_nonzero(grad[:, 20:]) == 0


def test_attention_weights_on_request():
    model = _model("transformer", "hybrid", True)
    weights = model.attention_weights(torch.randn(2, 32, 3))
    n_tokens = model.tokenizer.n_tokens
    assert len(weights) == 2 and weights[0].shape == (2 * 3, 2, n_tokens, n_tokens)
