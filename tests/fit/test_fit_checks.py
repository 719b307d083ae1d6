"""What a fit needs beyond the ranges (`forecaster.fit.checks`): the loss and schedule names, the
network's shape rules with the config's window sizes, and Lightning's own check of the Trainer.

Named test_fit_checks, not test_checks: tests/serve/test_checks.py tests `forecaster.serve.checks`,
and test file basenames must be unique (pytest's prepend import mode)."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from forecaster.config import load, override
from forecaster.errors import ConfigError
from forecaster.fit.checks import check_trainable


def test_every_shipped_config_passes():
    for path in [None, *sorted((ROOT / "configs").glob("*.yaml"))]:
        check_trainable(load(path))


def test_a_fit_refuses_an_unknown_loss_or_schedule_a_network_shape_and_an_unusable_trainer():
    base = load(None, [("data.context_len", 24), ("data.horizon", 6), ("model.patch_len", 8), ("model.stride", 8)])
    assert check_trainable(base) is base
    for overrides, says in [
        ([("trainer.loss", "l3")], "'trainer.loss' must be one of mse, mae, huber, got 'l3'"),
        ([("trainer.scheduler", "step")], "'trainer.scheduler' must be one of onecycle, cosine, none, got 'step'"),
        ([("model.patch_len", 40)], "need 1 <= model.patch_len <= context_len (24)"),  # the config's context
        ([("model.n_heads", 3)], "model.d_model (64) must be divisible by model.n_heads (3)"),
        ([("trainer.accelerator", "gpu")], "the trainer settings are not usable here ("),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            check_trainable(override(base, overrides))
