"""The LightningDataModule (`forecaster.data.module`): its loaders over `prepare()`'s windows."""

from __future__ import annotations

import torch
from test_windows import ett_config

from forecaster.data.module import ForecastDataModule


def test_evaluation_loaders_keep_every_window():
    dm = ForecastDataModule(ett_config(eval_batch_size=1000))
    for loader, n in ((dm.val_dataloader(), 2785), (dm.test_dataloader(), 2785)):
        assert sum(len(x) for x, _ in loader) == n  # 2,785 is not a multiple of 1,000
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (64, 336, 7) and y.shape == (64, 96, 7) and x.dtype == torch.float32
    assert dm.schema is dm.data.schema and (dm.schema.context_len, dm.schema.horizon) == (336, 96)
