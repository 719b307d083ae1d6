"""Attention patterns as data: the table, the one kernel chooser, masks from the head groups."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from conftest import ROOT

from forecaster.config import ATTENTION_PATTERNS
from forecaster.nn.attention import MultiHeadAttention, attend, dense_attention, head_groups
from forecaster.nn.masks import attention_mask, causal_mask, local_mask
from forecaster.nn.patterns import PATTERNS


def test_config_names_exactly_the_patterns_of_the_table():
    assert tuple(PATTERNS) == ATTENTION_PATTERNS


@pytest.mark.parametrize(
    "window, causal, n", [(None, False, 10), (None, True, 10), (3, True, 10), (3, True, 70), (16, True, 300)]
)
def test_attend_equals_the_dense_reference_on_every_kernel(window, causal, n):
    """n=10 windows go through one masked SDPA call, n=70 and n=300 through the blockwise kernel."""
    torch.manual_seed(n)
    q, k, v = (torch.randn(2, 3, n, 4, dtype=torch.float64) for _ in range(3))
    ref, _ = dense_attention(q, k, v, attention_mask(n, n, window=window, causal=causal))
    torch.testing.assert_close(attend(q, k, v, window=window, causal=causal), ref, atol=1e-10, rtol=1e-10)


def test_a_window_without_causality_is_refused():
    q = torch.randn(1, 1, 4, 2)
    with pytest.raises(ValueError, match="window is causal"):
        attend(q, q, q, window=2, causal=False)


def test_head_groups_split_the_heads_as_the_table_says():
    assert [
        (g.start, g.stop, g.window, g.causal, g.switched)
        for g in head_groups("hybrid", n_heads=4, window=5, local_share=0.25)
    ] == [(0, 1, 5, True, False), (1, 4, None, True, False)]
    assert [
        (g.start, g.stop, g.window, g.switched) for g in head_groups("dynamic", n_heads=4, window=5, local_share=0.5)
    ] == [(0, 4, 5, True)]
    local_share_all = head_groups("hybrid", n_heads=2, window=5, local_share=1.0)
    assert [(g.start, g.stop) for g in local_share_all] == [(0, 1), (1, 2)]  # one of each kind, always


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("global", lambda: torch.ones(6, 6, dtype=torch.bool)),
        ("causal", lambda: causal_mask(6)),
        ("local", lambda: local_mask(6, 2)),
        ("dynamic", lambda: causal_mask(6)),
    ],
)
def test_pattern_mask_follows_the_head_groups(pattern, expected):
    mask = MultiHeadAttention(d_model=8, n_heads=2, pattern=pattern, window=2).pattern_mask(6, 6)
    assert torch.equal(mask, expected().expand(2, -1, -1))


def test_networks_import_only_torch_numpy_and_each_other():
    allowed = ("torch", "numpy", "forecaster.nn", "__future__", "math", "dataclasses", "typing")
    for path in (ROOT / "forecaster" / "nn").glob("*.py"):
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.startswith(allowed), f"{path.name} imports {name}"
