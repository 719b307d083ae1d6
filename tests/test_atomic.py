"""Atomic writes: the new file or directory appears whole, or the old one stays; no temporaries left."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from forecaster import atomic


def test_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "m.json"
    atomic.write_text(path, "old")
    atomic.write_text(path, "new")
    assert path.read_text() == "new" and sorted(p.name for p in path.parent.iterdir()) == ["m.json"]


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.csv"
    atomic.write_bytes(path, b"old")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_file(path, half_then_fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.csv"]


def test_write_file_takes_a_dataframe_writer(tmp_path):
    table = pd.DataFrame({"a": [1.5, 2.25]})
    atomic.write_file(tmp_path / "t.csv", lambda tmp: table.to_csv(tmp, index=False))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), table)
    assert oct((tmp_path / "t.csv").stat().st_mode & 0o777) != oct(0o600)  # the umask's mode, not mkstemp's


def test_replace_dir_swaps_a_whole_directory(tmp_path):
    target = tmp_path / "pkg"
    atomic.replace_dir(target, lambda d: (d / "a").write_text("1"))
    atomic.replace_dir(target, lambda d: (d / "b").write_text("2"))
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]  # the old one and the temporary are gone


def test_a_failing_build_keeps_the_old_directory(tmp_path):
    target = tmp_path / "pkg"
    atomic.replace_dir(target, lambda d: (d / "a").write_text("1"))

    def fail(d):
        (d / "b").write_text("half")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic.replace_dir(target, fail)
    assert sorted(p.name for p in target.iterdir()) == ["a"] and sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]


def test_a_failed_move_in_puts_the_old_directory_back(tmp_path, monkeypatch):
    target = tmp_path / "pkg"
    atomic.replace_dir(target, lambda d: (d / "a").write_text("1"))
    real, calls = os.replace, []

    def second_call_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # 1: old aside, 2: new in
            raise OSError("crash between the renames")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", second_call_fails)
    with pytest.raises(OSError):
        atomic.replace_dir(target, lambda d: (d / "b").write_text("2"))
    assert sorted(p.name for p in target.iterdir()) == ["a"] and sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]
