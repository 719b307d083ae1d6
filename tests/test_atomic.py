"""Atomic writes: the new file or directory appears whole, or the old one stays; no temporaries left."""

from __future__ import annotations

import os
import re

import pandas as pd
import pytest

from forecaster import atomic
from forecaster.errors import ConfigError


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


def test_check_file_refuses_a_folder_and_a_path_under_a_file(tmp_path):
    (tmp_path / "data.csv").write_text("x\n")
    assert atomic.check_file(tmp_path / "new" / "m.json", "--metrics-out") == tmp_path / "new" / "m.json"
    for path, says in [
        (tmp_path, "--metrics-out " + str(tmp_path) + ": is a folder"),
        (tmp_path / "data.csv" / "m.json", f"{tmp_path / 'data.csv'} is a file, not a folder"),
        (tmp_path / "data.csv" / "a" / "m.json", f"{tmp_path / 'data.csv'} is a file, not a folder"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            atomic.check_file(path, "--metrics-out")


def test_check_folder_refuses_a_file_and_a_path_under_a_file(tmp_path):
    (tmp_path / "data.csv").write_text("x\n")
    assert atomic.check_folder(tmp_path / "pkg", "--save") == tmp_path / "pkg"
    with pytest.raises(ConfigError, match=r"--save .*data\.csv: is a file, not a folder"):
        atomic.check_folder(tmp_path / "data.csv", "--save")
    with pytest.raises(ConfigError, match=r"data\.csv is a file, not a folder"):
        atomic.check_folder(tmp_path / "data.csv" / "pkg", "--save")


def test_a_replaced_folder_has_the_modes_the_umask_allows(tmp_path):
    """A serving account must read a package: not mkdtemp's 0700 nor a writer's 0600 (safetensors')."""

    def build(tmp):
        (tmp / "weights").write_bytes(b"w")
        os.chmod(tmp / "weights", 0o600)
        (tmp / "sub").mkdir(mode=0o700)

    old = os.umask(0o022)
    try:
        atomic.replace_dir(tmp_path / "pkg", build)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [tmp_path / "pkg", *(tmp_path / "pkg").iterdir()]}
    assert modes == {"pkg": 0o755, "weights": 0o644, "sub": 0o755}
