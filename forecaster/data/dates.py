"""Numeric dates read as written: day-first (13/01/2020) or month-first (01/13/2020), never a mix.

pandas reads ``01/02/2020`` as 2 January but ``13/01/2020`` as 13 January: left to itself it
reads each row in whichever order parses, so a day-first file gets a third of its rows on the
wrong dates, which then look out of order. Here the order is decided once for the whole column:

* a day above 12 in one position only (``13/01/2020``) says the order; a config that says the
  other (`data.dayfirst`) is refused;
* every row readable both ways, and the readings differ: refused, naming the first such line and
  the fix (``--data.dayfirst true|false``); `data.dayfirst` decides it;
* rows that can only be day-first and rows that can only be month-first, or numeric day/month
  dates beside another format (``2020-01-13``) in one column: refused, naming the line.

Dates written year first (ISO, ``2020-01-13``) are never ambiguous and pass untouched. The chosen
order is recorded in a model's `Schema.dayfirst`, so `predict` reads new files as training did.
Day/month dates are rewritten year first (``2020-01-13 ...``, the time and offset kept) before
pandas parses them, so pandas never guesses.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from forecaster.errors import DataError

# day and month (either order), the year, one separator; then the end or a time (RE2 syntax: pyarrow's
# regular expressions, which pandas 3 uses on text, have no back-references or look-aheads)
DAY_MONTH = r"^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4}|\d{2})([ T].*)?$"
FIX = (
    "pass --data.dayfirst true (13/01/2020 is 13 January) or --data.dayfirst false (01/13/2020 is 13 January), "
    "or write the dates year first (2020-01-13)"
)
ONE_FORMAT = "write every timestamp of the column in one format, best year first (2020-01-13 00:00:00)"


def as_written(
    text: pd.Series, lines: np.ndarray, path: str, name: str, dayfirst: bool | None
) -> tuple[pd.Series, bool | None]:
    """The column with its numeric day/month dates rewritten year first, and the order they were read in.

    Args:
        text: the column's stripped text; `lines` each row's line number in `path`.
        dayfirst: the configured order (`data.dayfirst`, or a model's `Schema.dayfirst`); None
            decides from the data.

    Returns:
        the text to parse, and True (day-first), False (month-first), or `dayfirst` as given when
        the column holds no day/month dates (or every one reads alike both ways).

    Raises:
        DataError: an ambiguous column without `dayfirst`, rows that contradict `dayfirst` or
            each other, or day/month dates mixed with another format (see the module docstring).
    """
    if not text.str.match(r"\d{1,2}[/.-]").any():  # year first (ISO) or another format: nothing to decide
        return text, dayfirst
    parts = text.str.extract(DAY_MONTH)
    matched = (parts[0].notna() & (parts[1] == parts[3])).to_numpy()
    where = {"file": path, "column": name}
    _one_format(text, matched, lines, where)
    if not matched.any():
        return text, dayfirst
    parts, shown, at = parts[matched], text[matched], lines[matched]  # the others are unreadable (reported later)
    a, b = parts[0].astype(int).to_numpy(), parts[2].astype(int).to_numpy()
    order = _order(shown, a, b, at, dayfirst, where)
    day, month = (a, b) if order in (True, None) else (b, a)
    iso = text.copy()
    iso[matched] = (
        _years(parts[4]).astype(str).str.zfill(4)
        + "-"
        + pd.Series(month, index=parts.index).astype(str).str.zfill(2)
        + "-"
        + pd.Series(day, index=parts.index).astype(str).str.zfill(2)
        + parts[5].fillna("")
    )
    return iso, order


def _one_format(text: pd.Series, matched: np.ndarray, lines: np.ndarray, where: dict) -> None:
    """Refuse day/month dates beside timestamps of another format (an unreadable cell is left to
    the timestamp check, which names it as unreadable)."""
    if matched.all() or not matched.any():
        return
    others = np.flatnonzero(~matched)
    readable = pd.to_datetime(text.iloc[others], errors="coerce", format="mixed", utc=True).notna().to_numpy()
    if not readable.any():
        return
    i, j = int(np.flatnonzero(matched)[0]), int(others[readable][0])
    first, later = min(i, j), max(i, j)
    raise DataError(
        f"{text.iloc[later]!r} is written in another date format than {text.iloc[first]!r} "
        f"on line {int(lines[first])}: one column must hold one format",
        row=int(lines[later]),
        fix=ONE_FORMAT,
        **where,
    )


def _order(
    text: pd.Series, a: np.ndarray, b: np.ndarray, lines: np.ndarray, dayfirst: bool | None, where: dict
) -> bool | None:
    """The order of the dates `a/b/year` (see `as_written`): a above 12 can only be a day, b above 12 too."""
    day_rows, month_rows = np.flatnonzero(a > 12), np.flatnonzero(b > 12)
    if day_rows.size and month_rows.size:
        i, j = sorted((int(day_rows[0]), int(month_rows[0])))
        how = "day-first" if a[i] > 12 else "month-first"
        raise DataError(
            f"{text.iloc[j]!r} reads only in the other order than {text.iloc[i]!r} on line {int(lines[i])} "
            f"({how}): the dates are written in two orders",
            row=int(lines[j]),
            fix=ONE_FORMAT,
            **where,
        )
    if day_rows.size or month_rows.size:
        found = bool(day_rows.size)
        i = int((day_rows if found else month_rows)[0])
        if dayfirst is not None and dayfirst != found:
            raise DataError(
                f"{text.iloc[i]!r} can only be read {'day' if found else 'month'}-first "
                f"({max(a[i], b[i])} is no month), but data.dayfirst is {str(dayfirst).lower()}",
                row=int(lines[i]),
                fix=f"pass --data.dayfirst {str(found).lower()}, or leave data.dayfirst unset to decide from the data",
                **where,
            )
        return found
    ambiguous = np.flatnonzero(a != b)
    if ambiguous.size and dayfirst is None:
        i = int(ambiguous[0])
        raise DataError(
            f"{text.iloc[i]!r} reads as a date both day-first and month-first, and no date of the column "
            "has a day above 12 to tell which",
            row=int(lines[i]),
            fix=FIX,
            **where,
        )
    return dayfirst


def _years(years: pd.Series) -> pd.Series:
    """Four-digit years; two-digit ones as pandas (dateutil) reads them: within 50 years of today."""
    out = years.astype(int)
    short = years.str.len() == 2
    if short.any():
        now = datetime.date.today().year
        full = out[short] + now // 100 * 100
        full = full.where(full < now + 50, full - 100)
        out[short] = full.where(full >= now - 50, full + 100)
    return out
