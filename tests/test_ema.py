"""`trainer.ema_decay`: the exponential moving average of the weights is what is validated and kept."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from test_checkpoints import _setup

from forecaster.data.module import ForecastDataModule
from forecaster.training import fit


def _val_mse(network, datamodule) -> float:
    network.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y, *_ in datamodule.val_dataloader():
            total += F.mse_loss(network(x), y).item() * len(x)
            count += len(x)
    return total / count


def test_the_kept_weights_are_the_validated_average_not_the_last_step(tmp_path):
    fits = {}
    for decay in (0.0, 0.9):
        cfg, data, network = _setup(tmp_path, ema_decay=decay)
        datamodule = ForecastDataModule(cfg.data, prepared=data)
        result = fit(network, datamodule, cfg.trainer, seed=cfg.seed)
        # the best validation loss Lightning saw is the loss of the weights the network now holds
        assert abs(_val_mse(network, datamodule) - result.best_val_loss) < 1e-6
        fits[decay] = [p.detach().clone() for p in network.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(fits[0.0], fits[0.9]))  # the average is not the plain fit
