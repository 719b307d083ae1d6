"""Errors a user can fix. The CLI prints them as one message on stderr and exits 2.

Anything else escaping to the CLI is a bug in forecaster and keeps its traceback.

A fix must work for the command that prints it. Fixes are written as alternatives joined by
", or " ("sort the file by time, or pass --data.sort true"); `predict` and `evaluate` read data
with the settings a model package was trained with and take no config flags, so for them
`DataError.for_command` drops the alternatives that name a config flag (`--data.*`, ...).
"""

from __future__ import annotations

import re

IN_MEMORY = "dataframe:"  # the path prefix of a DataFrame read as a file (forecaster.data.sources)
# the commands that take `--<section>.<field>` flags
CONFIG_COMMANDS = ("train", "compare", "tune", "cross-validation", "data")
_CONFIG_FLAG = re.compile(r"--(data|model|trainer|tracking)\.|--seed\b")


class ForecasterError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""

    exit_code = 2

    def for_command(self, command: str | None) -> str:
        """The message as `command` prints it (a fix that command can follow)."""
        return str(self)


class ConfigError(ForecasterError):
    """A config file or command-line override is wrong."""


def out_of_range(key: str, value: object, valid: str) -> ConfigError:
    """The one-line error for a setting out of range, with the fix every config command takes."""
    flag = f"--{key}" if "." in key or key in ("seed", "name") else key
    return ConfigError(f"'{key}' must be {valid}, got {value!r} (set {flag} or {key} in the config file)")


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
        in_memory = bool(file) and str(file).startswith(IN_MEMORY)  # the Python API's DataFrame (data.sources)
        where = ", ".join(
            part
            for part in (
                ("the DataFrame" if in_memory else str(file)) if file else None,
                f"column '{column}'" if column is not None else None,
                (f"row {row - 2} (position)" if in_memory else f"line {row}") if row is not None else None,
            )
            if part
        )
        self.head = f"{where}: {what}" if where else what
        self.file, self.column, self.row, self.fix = file, column, row, fix
        super().__init__(self.head + (f"\n  fix: {fix}" if fix else ""))

    @classmethod
    def first_cell(cls, bad, text, lines, *, what: str, file: str, column: str, fix: str) -> None:
        """Raise for the first flagged cell of a column, if any.

        Args:
            bad: row indices of the flagged cells (e.g. `numpy.flatnonzero(mask)`), in file order.
            text: the column's cells as text; lines: each row's line number in the file.
            what: the sentence, a template with `{value!r}` (the first flagged cell) and `{count}`.
        """
        if len(bad):
            i = bad[0]
            message = what.format(value=text.iloc[i], count=len(bad))
            raise cls(message, file=file, column=column, row=int(lines[i]), fix=fix)

    def for_command(self, command: str | None) -> str:
        """The message with only the fixes `command` can follow: commands that take no config flags
        (`predict`, `evaluate`) drop the alternatives naming one, or get a fix about the file itself."""
        if command in CONFIG_COMMANDS or command is None or not self.fix:
            return str(self)
        kept = [part for part in self.fix.split(", or ") if not _CONFIG_FLAG.search(part)]
        fix = ", or ".join(kept) or (
            "make the file match the data the model was trained on (the same columns, layout and frequency)"
        )
        return f"{self.head}\n  fix: {fix}"


class PackageError(ForecasterError):
    """A model package is missing, corrupted, or of an unknown format version."""
