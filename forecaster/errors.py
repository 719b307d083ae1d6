"""Errors a user can fix. The CLI prints them as one message on stderr and exits 2.

Anything else escaping to the CLI is a bug in forecaster and keeps its traceback.
"""

from __future__ import annotations


class ForecasterError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""

    exit_code = 2


class ConfigError(ForecasterError):
    """A config file or command-line override is wrong."""


class DataError(ForecasterError):
    """A data file cannot be used. The message names the file, column, row and the fix.

    Args:
        what: what is wrong, as a sentence.
        file: the file's path.
        column: the column concerned, if any.
        row: the 1-based line number in the file (the header is line 1), if any.
        fix: how to fix it, as a sentence.
    """

    def __init__(
        self,
        what: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        fix: str | None = None,
    ):
        where = ", ".join(
            part
            for part in (
                str(file) if file else None,
                f"column '{column}'" if column is not None else None,
                f"line {row}" if row is not None else None,
            )
            if part
        )
        message = f"{where}: {what}" if where else what
        if fix:
            message += f"\n  fix: {fix}"
        super().__init__(message)
        self.file, self.column, self.row, self.fix = file, column, row, fix


class PackageError(ForecasterError):
    """A model package is missing, corrupted, or of an unknown format version."""
