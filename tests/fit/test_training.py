"""`trainer.ema_decay`: the exponential moving average of the weights is what is validated and kept."""

from __future__ import annotations

import torch
from test_checkpoints import _setup

from forecaster import config
from forecaster.compare.selection import validation_mse
from forecaster.data.module import ForecastDataModule
from forecaster.fit.training import LOSSES, fit


def test_every_loss_the_config_offers_has_its_function():
    """`trainer.loss`'s choices are the config's (`forecaster.config.LOSSES`); the functions live here."""
    assert tuple(LOSSES) == config.LOSSES


def test_the_kept_weights_are_the_validated_average_not_the_last_step(tmp_path):
    fits = {}
    for decay in (0.0, 0.9):
        cfg, data, network = _setup(tmp_path, ema_decay=decay)
        result = fit(network, ForecastDataModule(cfg.data, prepared=data), cfg.trainer, seed=cfg.seed)
        # the best validation loss Lightning saw is the loss of the weights the network now holds
        assert abs(validation_mse(network, data, cfg) - result.best_val_loss) < 1e-6
        fits[decay] = [p.detach().clone() for p in network.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(fits[0.0], fits[0.9]))  # the average is not the plain fit
