"""Masks and the window convention (`forecaster.nn.masks`): a query sees itself and the w - 1 steps before."""

from __future__ import annotations

import torch

from forecaster.nn.masks import causal_mask, local_mask, receptive_field, window_mask


def test_window_convention_query_sees_itself_and_w_minus_1_before():
    mask = local_mask(6, 3)
    assert mask[4].tolist() == [False, False, True, True, True, False]
    assert mask.sum(dim=1).tolist() == [1, 2, 3, 3, 3, 3]
    assert receptive_field(2, 3) == 5


def test_window_mask_from_positions_keeps_the_window_convention():
    t, s = torch.arange(6)[:, None], torch.arange(6)
    assert torch.equal(window_mask(t, s, 3), local_mask(6, 3))
    assert torch.equal(window_mask(t, s), causal_mask(6))
    assert torch.equal(window_mask(t + 10, s + 10, 3), local_mask(6, 3))  # only offsets matter
