"""Atomic writes: a file or a directory appears whole, or the earlier one stays.

Everything is first written to a temporary sibling (same directory, so the same file system), then
renamed into place with `os.replace`, which is atomic on POSIX. Replacing a directory renames the
old one aside, moves the new one in, and only then deletes the old one: a crash at any point leaves
the old or the new directory in place (the old one perhaps under its aside name, which `asides`
finds), never neither.

The outputs a command will write are checked here before it does anything else (`check_file`,
`check_folder`): a file named where a folder is, or a folder under a file, is refused before any data
is read or any run opens, not discovered by the write after an hour's fit. A folder moved into place
gets the mode the umask allows (`tempfile.mkdtemp` makes it 0700, and some writers make their files
0600), so that another account, a model server's, can read a saved package.
Standard library only (and forecaster.errors), so `--help` stays fast.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from forecaster.errors import ConfigError


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
        _open_to_umask(tmp)
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


def check_file(path: str | Path, option: str) -> Path:
    """`path` as a file a command may write (`--output`, `--metrics-out`, `--best-out`): not an existing
    folder, and no file where one of its folders should be. A ConfigError names `option` and the fix."""
    path = Path(path)
    if path.is_dir() or str(path).endswith(("/", "\\")):
        raise ConfigError(f"{option} {path}: is a folder; give the name of a file to write")
    _check_parents(path, option)
    return path


def check_folder(path: str | Path, option: str) -> Path:
    """`path` as a folder a command may write (`--save`, `--save-best`): not an existing file, and no
    file where one of its parent folders should be. A ConfigError names `option` and the fix."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: is a file, not a folder; give a folder name (or remove the file)")
    _check_parents(path, option)
    return path


def _check_parents(path: Path, option: str) -> None:
    """No parent of `path` is an existing non-folder (a file, a FIFO): the write could not create it."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise ConfigError(f"{option} {path}: {parent} is a file, not a folder; choose a path under a folder")
            return


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


def _open_to_umask(directory: Path) -> None:
    """Give `directory` and everything in it the modes a plain `mkdir` / `open` would have under this
    process's umask (0755 / 0644 under 022), whatever mode their writer chose."""
    mask = os.umask(0o022)  # reading the umask means setting it: restored at once
    os.umask(mask)
    os.chmod(directory, 0o777 & ~mask)
    for root, folders, files in os.walk(directory):
        for name in folders:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            if not os.path.islink(os.path.join(root, name)):  # a link's target is not the package's
                os.chmod(os.path.join(root, name), 0o666 & ~mask)


def _fsync(path: Path) -> None:
    """Flush the file's contents to disk before the rename makes it visible."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
