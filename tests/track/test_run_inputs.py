"""The data a run trained on, as MLflow dataset inputs: one per split, named after the file."""

from __future__ import annotations

from conftest import long_frame, wide_frame

from forecaster.config import load
from forecaster.data.windows import prepare
from forecaster.track import run_inputs
from forecaster.track.tracking import file_hash


def _prepared(path, **settings):
    return prepare(load(None, [("data.path", str(path)), *settings.items()]).data)


def test_each_split_is_a_dataset_named_after_the_file_with_its_context_and_schema(tmp_path):
    wide_frame().to_csv(tmp_path / "w.csv", index=False)
    data = _prepared(tmp_path / "w.csv", **{"data.context_len": 24, "data.horizon": 6})
    found = run_inputs.datasets(data, file_hash(tmp_path / "w.csv"))
    assert [context for _, context in found] == ["training", "validation", "test"]
    assert {d.name for d, _ in found} == {"w.csv"}
    assert len({d.digest for d, _ in found}) == 3  # the splits of one file differ
    assert all(d.source.to_dict()["uri"] == str(tmp_path / "w.csv") for d, _ in found)
    assert [c.name for c in found[0][0].schema.inputs] == ["date", "a", "b", "c"]
    assert [d.profile["windows"] for d, _ in found] == [data.n_windows(s) for s in ("train", "val", "test")]
    assert all(d.profile["file_digest"] == file_hash(tmp_path / "w.csv") for d, _ in found)


def test_the_digest_follows_the_content_and_the_split(tmp_path):
    wide_frame().to_csv(tmp_path / "w.csv", index=False)
    wide_frame(seed=1).to_csv(tmp_path / "other.csv", index=False)
    window = {"data.context_len": 24, "data.horizon": 6}
    digests = lambda path, **s: [
        d.digest for d, _ in run_inputs.datasets(_prepared(path, **window, **s), file_hash(path))
    ]
    same = digests(tmp_path / "w.csv")
    assert digests(tmp_path / "w.csv") == same
    assert not set(digests(tmp_path / "other.csv")) & set(same)
    assert digests(tmp_path / "w.csv", **{"data.ratios": [0.6, 0.2, 0.2]})[0] != same[0]


def test_a_long_file_has_its_id_and_time_columns_in_the_schema(tmp_path):
    long_frame().to_csv(tmp_path / "l.csv", index=False)
    data = _prepared(tmp_path / "l.csv", **{"data.context_len": 14, "data.horizon": 7})
    (dataset, _), *_ = run_inputs.datasets(data, "0" * 16)
    assert [c.name for c in dataset.schema.inputs][:3] == ["unique_id", "ds", "y"]
    assert dataset.profile["series"] == 3
