"""One fit end to end: the pipeline (experiment), the LightningModule and Trainer, checkpoints, DDP."""
