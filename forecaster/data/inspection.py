"""`forecaster data inspect`: what forecaster detects in a CSV, and whether it can train on it."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from forecaster.config import DataConfig
from forecaster.data.io import read_frame
from forecaster.data.split import ETT_BORDERS, window_counts
from forecaster.data.times import describe
from forecaster.data.windows import check_lengths, season_period


def inspect_file(path: str, cfg: DataConfig) -> str:
    """A plain-text report; raises `DataError` (exit 2) when the file cannot be used for training."""
    frame = check_lengths(read_frame(cfg, path, fit_on_train=True), cfg)  # read as training reads it
    s, kinds = frame.schema, {d.kind for d in frame.diagnostics}
    lengths = [len(t) for t in frame.times]
    lines = [
        f"file:         {path}",
        f"format:       {s.layout}" + (f" (series id column '{s.id_col}')" if s.id_col else ""),
        f"time column:  {s.time_col}{describe(s.tz)}",
        f"frequency:    {s.freq} (seasonal period {season_period(s.freq, cfg)} steps)",
        f"series:       {len(lengths)}"
        + (f" (lengths {min(lengths):,}..{max(lengths):,})" if len(lengths) > 1 else ""),
        f"rows:         {frame.n_rows:,} ({min(t[0] for t in frame.times)} .. {max(t[-1] for t in frame.times)})",
        f"targets:      {len(s.targets)} ({', '.join(s.targets)})",
        f"covariates:   {', '.join(s.covariates) or 'none'}",
        f"gaps:         {'filled' if 'filled_gaps' in kinds else 'none'}",
        f"missing:      {'filled' if 'filled_missing' in kinds else 'none'}",
    ]
    lines += [f"note:         {d.message}" for d in frame.diagnostics]
    lines.append(f"windows (context_len {cfg.context_len}, horizon {cfg.horizon}):")
    splits = [cfg] + ([replace(cfg, split="ett")] if cfg.split != "ett" and min(lengths) >= ETT_BORDERS[-1] else [])
    for split_cfg in splits:
        counts = pd.DataFrame([window_counts(n, split_cfg) for n in lengths]).sum().tolist()
        name = split_cfg.split + (f" {split_cfg.ratios}" if split_cfg.split == "ratio" else "")
        lines.append(f"  {name:<24} train {counts[0]:,} / validation {counts[1]:,} / test {counts[2]:,}")
    lines.append("usable for training: yes")
    return "\n".join(lines)
