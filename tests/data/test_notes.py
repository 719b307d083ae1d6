"""The notes of lenient options (`forecaster.data.notes`): one warning each, and run tags by kind."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from conftest import run_cli, wide_frame
from test_validation import NAIVE

from forecaster.data import notes
from forecaster.data.schema import Diagnostic


class Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_notes_are_logged_once_each_and_tagged_by_kind_within_mlflows_limit():
    found = [
        Diagnostic("filled_missing", "a", "filled 2 missing values by ffill (a: 2)"),
        Diagnostic("sorted", "", "sorted 300 rows by time"),
        Diagnostic("filled_missing", "b", "filled 1 missing values by ffill (b: 1)"),
    ]
    kept = Kept()
    notes.LOGGER.addHandler(kept)
    try:
        notes.report(found)
    finally:
        notes.LOGGER.removeHandler(kept)
    assert [(r.name, r.levelname, r.getMessage()) for r in kept.records] == [
        ("forecaster.notes", "WARNING", d.message) for d in found
    ]
    assert notes.as_tags(found) == {
        "note.filled_missing": "filled 2 missing values by ffill (a: 2); filled 1 missing values by ffill (b: 1)",
        "note.sorted": "sorted 300 rows by time",
    }
    many = [Diagnostic("clipped", str(k), "x" * 100) for k in range(60)]  # 6,118 characters joined
    cut = notes.as_tags(many)["note.clipped"]
    assert cut == "; ".join(d.message for d in many)[: notes.TAG_LIMIT - 3] + "..." and len(cut) == notes.TAG_LIMIT


@pytest.mark.slow
def test_lenient_notes_are_printed_by_train_and_logged_as_tags(capsys, mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    frame = wide_frame(n=300)
    frame = pd.concat([frame.iloc[1:], frame.iloc[:1]])  # the first row last: out of order
    frame.to_csv(tmp_path / "data.csv", index=False)
    code, _, err = run_cli(capsys, "train", "--data", tmp_path / "data.csv", *NAIVE, "--data.sort", "true")
    assert code == 0, err
    assert "note: sorted 300 rows by time\n" in err
    (run,) = MlflowClient(mlflow_uri).search_runs(["1"])
    assert run.data.tags["note.sorted"] == "sorted 300 rows by time"
