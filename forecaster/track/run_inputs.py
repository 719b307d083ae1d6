"""The data a run trained on, as MLflow dataset inputs: the runs table's Dataset column.

Each fit logs its CSV file three times, once per split, with the input tag `mlflow.data.context`
set to `training`, `validation` or `test`. Every one is named after the file, has the file's path
as its source, the columns as its schema, and as its digest a hash of the file's content (the
run's `dataset_hash` tag) and of the rows the split holds; its profile records that file hash and
the split's rows and windows. So runs on the same data show the same names and digests and can be
found by them (`dataset.name = 'ETTh1.csv'` in the runs table's search), and a run on the same file
with another split shows other digests. The file is hashed once per fit (`tracking.file_hash`),
never read a second time: the rest comes from the prepared data in memory. Only metadata is
logged, never the data.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from forecaster.data.split import SPLITS
from forecaster.data.windows import PreparedData

CONTEXTS = {"train": "training", "val": "validation", "test": "test"}  # MLflow's names for the splits


def split_digest(file_digest: str, split: str, data: PreparedData) -> str:
    """A short hash of the file's content and the rows of `split` (the first row and the count of
    each series' windows), so the splits of one file, and one file split two ways, differ."""
    starts, counts = data.segments[split]
    text = json.dumps([file_digest, split, [int(s) for s in starts], [int(c) for c in counts]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def datasets(data: PreparedData, file_digest: str, splits=SPLITS) -> list[tuple[object, str]]:
    """One MLflow dataset per split of `data` (of `splits`), with its context (`training`, `validation`, `test`)."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types import ColSpec, Schema

    class SplitDataset(MetaDataset):
        """MLflow's metadata-only dataset, with a profile."""

        def __init__(self, profile: dict, **kwargs):
            self._profile = profile
            super().__init__(**kwargs)

        @property
        def profile(self):
            return self._profile

        def to_dict(self):
            return {**super().to_dict(), "profile": json.dumps(self._profile)}

    path = Path(data.frame.path).absolute()
    with warnings.catch_warnings():  # two registered local sources resolve a path the same way
        warnings.simplefilter("ignore")
        source = resolve_dataset_source(str(path))
    s = data.schema
    names = [*([s.id_col] if s.id_col else []), s.time_col]
    schema = Schema([*(ColSpec("string", c) for c in names), *(ColSpec("double", c) for c in s.columns)])
    out = []
    for split in splits:
        profile = {
            "file_digest": file_digest,
            "split": split,
            "series": len(np.unique(np.searchsorted(data.offsets, data.segments[split][0], side="right"))),
            "windows": data.n_windows(split),
            "rows": rows_read(data, split),
        }
        digest = split_digest(file_digest, split, data)
        dataset = SplitDataset(profile, source=source, name=path.name, digest=digest, schema=schema)
        out.append((dataset, CONTEXTS.get(split, split)))
    return out


def rows_read(data: PreparedData, split: str) -> int:
    """Rows the windows of `split` read, inputs and targets (a row two windows share counts once)."""
    s = data.schema
    starts, counts = data.segments[split]
    spans = sorted((int(a), int(a) + int(n) - 1 + s.context_len + s.horizon) for a, n in zip(starts, counts) if n > 0)
    total, reach = 0, 0
    for first, end in spans:  # the union of [first, end) intervals
        total += max(0, end - max(first, reach))
        reach = max(reach, end)
    return total


def log_data(run_id: str | None, data: PreparedData, file_digest: str, splits=SPLITS) -> None:
    """Log `data`'s splits (of `splits`) as dataset inputs of run `run_id` (nothing when tracking is off)."""
    if run_id is None:
        return
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    inputs = [
        DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, context)])
        for dataset, context in datasets(data, file_digest, splits)
    ]
    MlflowClient().log_inputs(run_id, datasets=inputs)
