"""Torch threads per fit: the cores this process may use, shared among the fits that run at once.

Two torch processes with as many threads as cores each slow down several times on a small machine, so
parallel fits (Ray tasks of a comparison, DDP processes) each get cores / N threads.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_fit(parallel: int, cores: int | None = None) -> int:
    """Torch threads for each of `parallel` fits sharing `cores` (default: `available_cores()`)."""
    return max(1, (cores or available_cores()) // max(1, parallel))
