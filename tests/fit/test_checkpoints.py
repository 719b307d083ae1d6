"""Resumable checkpoints: the random generators' states travel with them, and a resumed fit is exact."""

from __future__ import annotations

import random
import signal

import numpy as np
import pytest
import torch
from conftest import wide_frame

from forecaster.config import Config
from forecaster.data.module import ForecastDataModule
from forecaster.data.windows import prepare
from forecaster.fit.checkpoints import LAST, rng_state, set_rng_state
from forecaster.fit.training import fit, seed_all
from forecaster.interrupts import Interrupted
from forecaster.models import build_network


def _draws() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), np.random.randn(), [random.random() for _ in range(3)]


def test_the_generators_states_survive_a_weights_only_round_trip(tmp_path):
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    np.random.randn()  # leaves a cached Gaussian in numpy's state
    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = _draws()
    _draws()
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert _draws() == expected


def _setup(tmp_path, **trainer):
    path = tmp_path / "wide.csv"
    wide_frame().to_csv(path, index=False)
    cfg = Config()
    cfg.data.path, cfg.data.context_len, cfg.data.horizon, cfg.data.batch_size = str(path), 24, 6, 16
    cfg.model.d_model, cfg.model.n_heads, cfg.model.n_layers, cfg.model.d_ff = 16, 2, 1, 16
    cfg.model.patch_len = cfg.model.stride = 4
    cfg.trainer.max_epochs, cfg.trainer.patience, cfg.trainer.progress_bar = 3, 5, False
    for key, value in trainer.items():
        setattr(cfg.trainer, key, value)
    data = prepare(cfg.data)
    seed_all(cfg.seed)
    return cfg, data, build_network(cfg.model, data.schema)


@pytest.mark.slow  # trains three times
@pytest.mark.parametrize("ema_decay", [0.0, 0.9])  # with weight averaging, the average resumes too
def test_a_fit_stopped_after_an_epoch_resumes_to_the_uninterrupted_weights(tmp_path, ema_decay):
    cfg, data, reference = _setup(tmp_path, ema_decay=ema_decay)
    fit(reference, ForecastDataModule(cfg.data, prepared=data), cfg.trainer, seed=cfg.seed)

    def stop_at_epoch_1(metrics, epoch):  # after epoch 0's checkpoint, before epoch 1's
        if epoch == 1:
            raise Interrupted(signal.SIGTERM)

    folder = tmp_path / "ckpt"
    cfg, data, network = _setup(tmp_path, ema_decay=ema_decay)
    with pytest.raises(Interrupted):
        fit(
            network,
            ForecastDataModule(cfg.data, prepared=data),
            cfg.trainer,
            seed=cfg.seed,
            sink=stop_at_epoch_1,
            checkpoint_dir=folder,
        )
    assert (folder / LAST).is_file()
    epochs = []
    cfg, data, resumed = _setup(tmp_path, ema_decay=ema_decay)
    result = fit(
        resumed,
        ForecastDataModule(cfg.data, prepared=data),
        cfg.trainer,
        seed=cfg.seed,
        sink=lambda metrics, epoch: epochs.append(epoch),
        checkpoint_dir=folder,
    )
    assert epochs == [1, 2] and result.epochs == 3  # continued, not restarted
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
