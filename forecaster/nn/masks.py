"""Attention masks from vectorised index comparisons. True means "may attend".

The one window convention of the project: `window=w` lets the query at position t see keys
t - w < s <= t, i.e. itself and the w - 1 tokens before it. Stacking L such layers gives a
receptive field of L * (w - 1) + 1 tokens.
"""

from __future__ import annotations

import torch


def window_mask(queries: torch.Tensor, keys: torch.Tensor, window: int | None = None) -> torch.Tensor:
    """Key s visible from query t when s <= t and, with a window, t - window < s.

    Args:
        queries: query positions, (N, 1).
        keys: key positions, (S,) or (1, S).
        window: keys a query sees, itself included; None for no limit (causal).

    Returns:
        (N, S) mask.
    """
    seen = keys <= queries
    return seen if window is None else seen & (keys > queries - window)


def attention_mask(n_queries: int, n_keys: int, *, window: int | None, causal: bool, device=None) -> torch.Tensor:
    """(N, S) mask of one kind of head: every key, causal, or a causal window."""
    if not causal:
        if window is not None:
            raise ValueError("a local window is causal; pass causal=True with a window")
        return full_mask(n_queries, n_keys, device=device)
    t = torch.arange(n_queries, device=device)[:, None]
    s = torch.arange(n_keys, device=device)[None, :]
    return window_mask(t, s, window)


def causal_mask(n_queries: int, n_keys: int | None = None, *, device=None) -> torch.Tensor:
    """(N, S) mask: key s visible from query t when s <= t."""
    n_keys = n_queries if n_keys is None else n_keys
    return attention_mask(n_queries, n_keys, window=None, causal=True, device=device)


def local_mask(n_queries: int, window: int, *, device=None) -> torch.Tensor:
    """(N, N) mask: key s visible from query t when t - window < s <= t."""
    return attention_mask(n_queries, n_queries, window=window, causal=True, device=device)


def full_mask(n_queries: int, n_keys: int, *, device=None) -> torch.Tensor:
    """(N, S) mask: every key visible."""
    return torch.ones(n_queries, n_keys, dtype=torch.bool, device=device)


def receptive_field(n_layers: int, window: int) -> int:
    """Tokens that can influence one output after `n_layers` local layers."""
    return n_layers * (window - 1) + 1
