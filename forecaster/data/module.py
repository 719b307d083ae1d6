"""The Lightning DataModule: loaders over `prepare()`'s windows, and the data's schema."""

from __future__ import annotations

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from forecaster.config import DataConfig
from forecaster.data.schema import Schema
from forecaster.data.windows import PreparedData, collate_batch, prepare


class ForecastDataModule(pl.LightningDataModule):
    """Train/val/test/predict loaders. Evaluation loaders keep every window (no dropped batch).

    Args:
        cfg: the data section of the config.
        prepared: already prepared data (e.g. shared by every variant of a comparison).
    """

    def __init__(self, cfg: DataConfig, *, prepared: PreparedData | None = None):
        super().__init__()
        self.cfg = cfg
        self.data = prepared if prepared is not None else prepare(cfg)

    @property
    def schema(self) -> Schema:
        """The data's one record of facts: columns, n_features, n_targets, context_len, horizon, period."""
        return self.data.schema

    def _loader(self, split: str, *, train: bool) -> DataLoader:
        return DataLoader(
            self.data.dataset(split),
            batch_size=self.cfg.batch_size if train else self.cfg.eval_batch_size,
            shuffle=train,
            drop_last=False,
            collate_fn=collate_batch,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
