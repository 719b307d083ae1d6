"""Torch threads per fit (`forecaster.fit.threads`): the cores shared among the fits that run at once."""

from __future__ import annotations

import os

from forecaster.fit import threads


def test_threads_per_fit_share_the_cores_and_never_drop_below_one():
    assert threads.threads_per_fit(2, cores=2) == 1
    assert threads.threads_per_fit(2, cores=16) == 8
    assert threads.threads_per_fit(3, cores=2) == 1
    assert threads.threads_per_fit(1) == threads.available_cores() == len(os.sched_getaffinity(0))
