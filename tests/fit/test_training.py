"""`trainer.ema_decay`: the exponential moving average of the weights is what is validated and kept;
`trainer.precision bf16-mixed` fits every family and its package forecasts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import wide_frame
from test_checkpoints import _setup

from forecaster import config
from forecaster.compare.selection import validation_mse
from forecaster.config import ATTENTION_PATTERNS
from forecaster.data.module import ForecastDataModule
from forecaster.fit.experiment import train
from forecaster.fit.training import LOSSES, fit
from forecaster.serve.package import ForecastPackage


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


@pytest.mark.slow  # eight one-epoch fits, a few seconds each
@pytest.mark.parametrize("variant", [*ATTENTION_PATTERNS, "lstm", "linear"])
def test_a_bf16_mixed_fit_of_every_family_scores_finite_and_its_float32_package_forecasts(tmp_path, variant):
    """One tiny epoch under bf16 autocast: 80 patch tokens and a window of 2 take the blockwise local
    kernel (local, hybrid) and the switch's (dynamic). The package keeps float32 weights (Lightning's
    mixed precision trains float32 master weights), so predict runs in float32."""
    wide_frame(600).to_csv(tmp_path / "wide.csv", index=False)
    settings = {"data.path": str(tmp_path / "wide.csv"), "data.context_len": 160, "data.horizon": 6}
    settings |= {"model.patch_len": 2, "model.stride": 2, "model.window": 2, "model.d_model": 16, "model.n_heads": 2}
    settings |= {"model.n_layers": 1, "model.d_ff": 16, "model.hidden_size": 16, "trainer.max_epochs": 1}
    settings |= {"trainer.precision": "bf16-mixed", "trainer.progress_bar": False, "tracking.enabled": False}
    cfg = config.with_variant(config.load(None, list(settings.items())), variant)
    outcome = train(cfg, save=tmp_path / "pkg", quiet=True)
    assert all(math.isfinite(outcome.metrics[k]) for k in ("mse", "mae", "best_val_loss"))
    package = ForecastPackage.load(tmp_path / "pkg")
    assert all(p.dtype == torch.float32 for p in package.network.parameters())
    forecast = package.forecast(package.read(tmp_path / "wide.csv"))
    assert len(forecast) == 6 and np.isfinite(forecast[["a", "b", "c"]].to_numpy()).all()
