"""Attention masks from vectorised index comparisons. True means "may attend".

The one window convention of the project: `window=w` lets the query at position t see keys
t - w < s <= t, i.e. itself and the w - 1 tokens before it. Stacking L such layers gives a
receptive field of L * (w - 1) + 1 tokens.
"""

from __future__ import annotations

import torch


def causal_mask(n_queries: int, n_keys: int | None = None, *, device=None) -> torch.Tensor:
    """(T, S) mask: key s visible from query t when s <= t."""
    n_keys = n_queries if n_keys is None else n_keys
    t = torch.arange(n_queries, device=device)[:, None]
    s = torch.arange(n_keys, device=device)[None, :]
    return s <= t


def local_mask(n_queries: int, window: int, *, device=None) -> torch.Tensor:
    """(T, T) mask: key s visible from query t when t - window < s <= t."""
    t = torch.arange(n_queries, device=device)[:, None]
    s = torch.arange(n_queries, device=device)[None, :]
    return (s <= t) & (s > t - window)


def full_mask(n_queries: int, n_keys: int, *, device=None) -> torch.Tensor:
    """(T, S) mask: every key visible."""
    return torch.ones(n_queries, n_keys, dtype=torch.bool, device=device)


def receptive_field(n_layers: int, window: int) -> int:
    """Tokens that can influence one output after `n_layers` local layers."""
    return n_layers * (window - 1) + 1
