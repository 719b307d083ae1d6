"""Errors a user can fix (`forecaster.errors`): one message naming file, column and line with its fix,
exit code 2, and the fixes each command can follow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.errors import ConfigError, DataError, ForecasterError, PackageError, out_of_range


def test_a_data_error_names_where_and_how_to_fix_and_exits_2():
    exc = DataError("not a number", file="f.csv", column="b", row=7, fix="write plain decimal numbers")
    assert str(exc) == "f.csv, column 'b', line 7: not a number\n  fix: write plain decimal numbers"
    assert (exc.file, exc.column, exc.row, exc.head) == ("f.csv", "b", 7, "f.csv, column 'b', line 7: not a number")
    assert str(DataError("empty file")) == "empty file"
    assert all(issubclass(e, ForecasterError) and e.exit_code == 2 for e in (ConfigError, DataError, PackageError))
    assert str(out_of_range("data.horizon", 0, "an integer ≥ 1")) == (
        "'data.horizon' must be an integer ≥ 1, got 0 (set --data.horizon or data.horizon in the config file)"
    )
    text = pd.Series(["1", "x", "2", "y"])
    with pytest.raises(DataError) as info:
        DataError.first_cell(
            np.array([1, 3]), text, np.array([2, 3, 4, 5]), what="{value!r} is not a number ({count} such rows)",
            file="f.csv", column="b", fix="write numbers",
        )  # fmt: skip
    assert str(info.value) == "f.csv, column 'b', line 3: 'x' is not a number (2 such rows)\n  fix: write numbers"
    nothing = np.array([], dtype=int)
    assert DataError.first_cell(nothing, text, np.arange(4), what="{value!r}", file="f", column="b", fix="") is None


def test_data_errors_drop_config_flags_for_commands_that_take_none():
    exc = DataError("rows out of order", file="f.csv", fix="sort the file by time, or pass --data.sort true")
    assert (
        exc.for_command("train")
        == str(exc)
        == "f.csv: rows out of order\n  fix: sort the file by time, or pass --data.sort true"
    )
    assert exc.for_command("predict") == "f.csv: rows out of order\n  fix: sort the file by time"
    only_flags = DataError("no time column", fix="name it with --data.time_col")
    assert "make the file match the data the model was trained on" in only_flags.for_command("evaluate")
