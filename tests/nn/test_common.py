"""Pieces shared by the networks (`forecaster.nn.common`): the cheap dropout, and the `Network` base
that refuses a class leaving a capability undeclared."""

from __future__ import annotations

import pytest
import torch

from forecaster.nn.common import Dropout, Network


@pytest.mark.parametrize("p", [0.1, 0.3, 0.75])
def test_dropout_drops_share_p_and_keeps_the_mean(p):
    drop = Dropout(p)
    x = torch.ones(400, 1001)  # an odd element count: the last 64-bit draw is only partly used
    y = drop(x)
    assert abs(float((y == 0).float().mean()) - p) < 0.005
    assert abs(float(y.mean()) - 1.0) < 0.01
    assert torch.equal(y.unique(), torch.tensor([0.0, drop.scale]))
    torch.manual_seed(1)
    a = drop(x)
    torch.manual_seed(1)
    assert torch.equal(a, drop(x))  # the mask follows the seed
    drop.eval()
    assert drop(x) is x


def test_a_network_that_leaves_a_capability_undeclared_is_refused():
    with pytest.raises(TypeError, match="must declare HAS_QUANTILES, NEEDS_UNITS, SHOWS_ATTENTION, COVARIATES"):

        class Vague(Network):
            TRAINABLE = True
