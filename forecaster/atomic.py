"""Atomic writes: a file or a directory appears whole, or the earlier one stays.

Everything is first written to a temporary sibling (same directory, so the same file system), then
renamed into place with `os.replace`, which is atomic on POSIX. Replacing a directory renames the
old one aside, moves the new one in, and only then deletes the old one: a crash at any point leaves
the old or the new directory in place (the old one perhaps under its aside name, which `asides`
finds), never neither.
Standard library only, so `--help` stays fast.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_file(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` to fill a temporary sibling of `path`, then rename it to `path`.

    `write` gets a path and writes the whole file there (e.g. `lambda p: table.to_csv(p)`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}-{secrets.token_hex(6)}.tmp")
    open(tmp, "x").close()  # claim the name; unlike mkstemp's 0600, the mode follows the umask
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    return write_file(path, lambda tmp: tmp.write_bytes(data))


def replace_dir(directory: str | Path, build: Callable[[Path], object]) -> Path:
    """Call `build(tmp)` to fill a temporary sibling directory, then put it at `directory`.

    An existing `directory` is renamed aside before the new one moves in and deleted after; if the
    move fails, it is moved back.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        build(tmp)
        if not directory.exists():
            os.replace(tmp, directory)
            return directory
        aside = Path(tempfile.mkdtemp(prefix=_aside_prefix(directory), dir=directory.parent))
        os.rmdir(aside)  # keep the unique name; os.replace needs it free (or an empty directory)
        os.replace(directory, aside)
        try:
            os.replace(tmp, directory)
        except BaseException:
            os.replace(aside, directory)
            raise
        shutil.rmtree(aside, ignore_errors=True)
        return directory
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def asides(directory: str | Path) -> list[Path]:
    """Earlier versions of `directory` that a process killed between `replace_dir`'s two renames
    left under their aside name (newest first): the directory itself may then be missing."""
    directory = Path(directory)
    if not directory.parent.is_dir():
        return []
    found = [p for p in directory.parent.glob(f"{_aside_prefix(directory)}*") if p.is_dir()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _aside_prefix(directory: Path) -> str:
    return f".{directory.name}-old-"


def _fsync(path: Path) -> None:
    """Flush the file's contents to disk before the rename makes it visible."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
