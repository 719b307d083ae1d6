"""Timestamps as people export them, the step between them, and frequencies compared as steps.

A time column holds one of three conventions, recorded as `Schema.tz`:

* ``"naive"`` (`NAIVE`): no UTC offsets. Stamps are wall-clock times, kept and written back as they
  are (a naive file behaves exactly as it always did).
* ``"+HH:MM"``: every stamp carries this one offset (``Z`` and ``UTC`` read as ``+00:00``).
  Forecasts are written with the same offset.
* ``"varying"`` (`VARYING`): the offsets differ between rows, as when a zone with daylight saving is
  exported with offsets (Europe/Berlin: ``+01:00`` in winter, ``+02:00`` in summer). Forecasts are
  written in UTC, ``+00:00``.

Stamps with offsets are instants: inside, every time index is naive UTC, so an hourly series across
a daylight-saving change stays regular (the spring hour that never existed is no gap, the autumn
hour that happens twice is no duplicate).

Why UTC for varying offsets: the offsets say how far each past stamp was from UTC, not which zone
they came from, so the offset in force at a future instant is unknowable (Berlin and Cairo share
``+02:00`` in summer but change on different dates). Any offset writes the right instant; the last
observed one would also look like local time and be an hour off after the next change, while UTC
is never mistaken for local time. ``None`` in a schema means the convention was not recorded (a
package saved before this field existed); it is then not checked.
"""

from __future__ import annotations

import functools
import warnings
from datetime import timedelta, timezone
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecaster.data.dates import as_written
from forecaster.data.schema import Diagnostic
from forecaster.data.tables import as_text
from forecaster.errors import DataError

NAIVE = "naive"
VARYING = "varying"
DAILY_DST = (  # local midnights are 23 or 25 hours apart in UTC across a daylight-saving change
    "; the UTC offsets in this file change, so daily (or coarser) stamps at local midnight are not evenly "
    "spaced in time: write them as dates without times or offsets (2021-03-28)"
)
TIME_EXAMPLE = "2016-07-01 00:00:00 (or with an offset: 2016-07-01 00:00:00+02:00)"


class Stamps(NamedTuple):
    """A time column read: naive UTC instants, the convention, and the order of its day/month dates."""

    times: pd.DatetimeIndex
    tz: str
    dayfirst: bool | None  # True 13/01/2020, False 01/13/2020, None: no such dates (forecaster.data.dates)


def parse_times(
    col: pd.Series, lines: np.ndarray, path: str, name: str, *, expect: str | None = None, dayfirst: bool | None = None
) -> tuple[pd.DatetimeIndex, str]:
    """`read_times`'s index and convention."""
    stamps = read_times(col, lines, path, name, expect=expect, dayfirst=dayfirst)
    return stamps.times, stamps.tz


def read_times(
    col: pd.Series, lines: np.ndarray, path: str, name: str, *, expect: str | None = None, dayfirst: bool | None = None
) -> Stamps:
    """Read a time column as naive UTC instants (naive stamps as they are), its convention and date order.

    Args:
        col: the column's text.
        lines: each row's line number in `path`.
        expect: the convention the data must follow (a model's `Schema.tz`); None checks nothing.
        dayfirst: the order of numeric day/month dates (`forecaster.data.dates`); None decides
            from the data.

    Returns:
        the index (nanoseconds, naive), the convention (`NAIVE`, ``"+HH:MM"`` or `VARYING`) and the
        order day/month dates were read in.
    """
    text = as_text(col)
    readable, dayfirst = as_written(text, lines, path, name, dayfirst)  # day/month dates rewritten year first
    codes, unique = pd.factorize(readable, use_na_sentinel=False)  # a long file repeats its stamps: parse each once
    unique = pd.Series(unique)
    parsed, offsets = _one_convention(unique), None
    if parsed is None:  # several offsets, or stamps with and without one: read each stamp's
        parsed = pd.to_datetime(unique, errors="coerce", format="mixed", utc=True)
        offsets = np.asarray(_offsets(unique, parsed), dtype=object)[codes].tolist()
    parsed = pd.Series(parsed.array.take(codes), index=text.index)
    DataError.first_cell(
        np.flatnonzero(parsed.isna().to_numpy()),
        text,
        lines,
        what="cannot read {value!r} as a timestamp ({count} such rows)",
        file=path,
        column=name,
        fix=f"write timestamps like {TIME_EXAMPLE}",
    )
    if offsets is None:
        tz = parsed.dt.tz
        tz = NAIVE if tz is None else format_offset(parsed.iloc[0].utcoffset())
    else:
        tz = _convention(offsets, text, lines, path, name)
    check_convention(tz, expect, text.iloc[0], file=path, column=name, row=int(lines[0]))
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return Stamps(pd.DatetimeIndex(parsed).as_unit("ns"), tz, dayfirst)  # one resolution: asi8 counts nanoseconds


def _one_convention(text: pd.Series) -> pd.Series | None:
    """The stamps parsed as they are if they share one convention (naive, or one offset), else None.

    Mixed conventions differ by pandas version: pandas 3 raises, pandas 2 warns and returns
    Python datetimes (object dtype); both mean None here, so the caller reads each stamp's offset.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas 2: "mixed time zones will raise"
        try:
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        except ValueError:
            return None
    return parsed if parsed.dtype.kind == "M" else None


def _offsets(text: pd.Series, parsed: pd.Series) -> list[timedelta | None]:
    """Each stamp's UTC offset (None: naive); unreadable stamps get None (reported as unreadable)."""
    out = []
    for stamp, ok in zip(text, parsed.notna()):
        try:
            out.append(pd.Timestamp(stamp).utcoffset() if ok else None)
        except ValueError:  # a format only the `mixed` parser knows
            out.append(pd.to_datetime([stamp], format="mixed")[0].utcoffset())
    return out


def _convention(offsets: list[timedelta | None], text: pd.Series, lines: np.ndarray, path: str, name: str) -> str:
    naive = np.array([o is None for o in offsets])
    if naive.any() and not naive.all():
        i = int(np.flatnonzero(naive != naive[0])[0])
        has = "has no UTC offset" if naive[i] else "has a UTC offset"
        raise DataError(
            f"timestamps with and without UTC offsets are mixed: {text.iloc[i]!r} {has}, "
            f"unlike {text.iloc[0]!r} on line {int(lines[0])}",
            file=path,
            column=name,
            row=int(lines[i]),
            fix="export all timestamps with UTC offsets (like 2021-03-28 03:00:00+02:00), or none",
        )
    distinct = {o for o in offsets if o is not None}
    return format_offset(distinct.pop()) if len(distinct) == 1 else VARYING


def format_offset(offset: timedelta) -> str:
    """``+HH:MM`` (``+HH:MM:SS`` for historical offsets with seconds)."""
    seconds = int(offset.total_seconds())
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    text = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return text + (f":{seconds % 60:02d}" if seconds % 60 else "")


def is_aware(tz: str | None) -> bool:
    """Whether a convention has UTC offsets (False for naive and for unrecorded)."""
    return tz not in (None, NAIVE)


def check_convention(found: str, expect: str | None, first: str, *, file: str, column: str, row: int) -> None:
    """Refuse naive history for a model trained on stamps with offsets, or the reverse.

    Different offsets are fine: they are instants either way. `expect` None (unrecorded) passes.
    """
    if expect is None or is_aware(found) == is_aware(expect):
        return
    if is_aware(expect):
        what = f"{first!r} has no UTC offset, but the model was trained on timestamps with offsets"
        fix = "export the timestamps with UTC offsets, like the training data (e.g. 2021-03-28 03:00:00+02:00)"
    else:
        what = f"{first!r} has a UTC offset, but the model was trained on naive timestamps (no offsets)"
        fix = "export the timestamps without offsets, in the same local time as the training data"
    raise DataError(what, file=file, column=column, row=row, fix=fix)


def localize(times: pd.DatetimeIndex, tz: str | None) -> pd.DatetimeIndex:
    """Naive UTC `times` in convention `tz` (see the module docstring); naive and unrecorded stay as they are."""
    if not is_aware(tz):
        return times
    if tz == VARYING:
        return times.tz_localize("UTC")
    sign = -1 if tz.startswith("-") else 1
    parts = [int(p) for p in tz[1:].split(":")] + [0]
    offset = timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])
    return times.tz_localize("UTC").tz_convert(timezone(sign * offset))


def regularise(times: pd.DatetimeIndex, values: np.ndarray, lines: np.ndarray, fill: str, where):
    """Find the calendar of an index pandas could not name (`calendar`); fill its missing steps if
    asked (`fill` is not ``error``), else fail. Gaps are counted in steps of that calendar: a missing
    month is one step of ``MS``, a holiday one step of ``B`` (never a made-up weekend).

    Args:
        times: the series' sorted, unique stamps; `values` its (rows, F) values, `lines` its lines.
        where: the series, for messages (`path`, `time_col`, `sid`, `label`, `tz`).

    Returns:
        the regular index, the values with NaN rows inserted, the frequency and a `Diagnostic`.
    """
    path, col, label = where.path, where.time_col, where.label
    found = calendar(times)
    if found is None:
        deltas = np.diff(times.asi8)
        step = int(pd.Series(deltas).mode().iloc[0])
        i = int(np.flatnonzero(deltas % step != 0)[0]) + 1 if (deltas % step != 0).any() else 1
        raise DataError(
            f"{label}irregular spacing: {times[i]} follows {times[i - 1]}, but the usual step is {pd.Timedelta(step)}",
            file=path,
            column=col,
            row=int(lines[i]),
            fix="resample the series to a regular frequency" + (DAILY_DST if where.tz == VARYING else ""),
        )
    freq, full = found
    position = full.get_indexer(times)
    gaps = np.flatnonzero(np.diff(position) > 1)
    n_missing = len(full) - len(times)
    if fill == "error":
        i = gaps[0] + 1
        raise DataError(
            f"{label}{n_missing} missing timestamps in {gaps.size} gaps (of the '{freq}' calendar); the first "
            f"gap is between {times[i - 1]} and {times[i]}",
            file=path,
            column=col,
            row=int(lines[i]),
            fix="add the missing rows, or pass --data.fill ffill (or interpolate) to fill them",
        )
    filled = pd.DataFrame(values, index=times).reindex(full).to_numpy()
    note = Diagnostic(
        "filled_gaps", where.sid, f"{label}inserted {n_missing} missing '{freq}' timestamps ({gaps.size} gaps)"
    )
    return full, filled, freq, note


DAY = pd.Timedelta(days=1)


def calendar(times: pd.DatetimeIndex) -> tuple[str, pd.DatetimeIndex] | None:
    """The frequency whose calendar from the first stamp to the last holds every stamp with the fewest
    steps missing, and that calendar; None when none holds them all (irregular spacing).

    The candidates follow the usual step between stamps: that fixed step itself (``h``, ``D``, ``7D``),
    business days, weeks anchored on the first stamp's weekday, month, quarter and year starts or
    ends (anchored on the first stamp's month). A business-day series with a holiday is ``B`` with one
    step missing, not ``D`` with every weekend missing; a monthly series without March is ``MS`` with
    one step missing.
    """
    deltas = np.diff(times.asi8)
    if not len(deltas):
        return None
    usual = pd.Timedelta(int(pd.Series(deltas).mode().iloc[0]))
    first = times[0]
    month = first.strftime("%b").upper()
    candidates = [f"W-{first.strftime('%a').upper()}"] if usual == 7 * DAY else []  # before 7D: ties go first
    candidates += [step_freq(usual)] if (deltas % usual.value == 0).all() else []
    if DAY <= usual <= 3 * DAY:
        candidates.append("B")  # after D: a range without a weekend is D
    if 28 * DAY <= usual <= 31 * DAY:
        candidates += ["MS", "ME", "BMS", "BME"]
    if 89 * DAY <= usual <= 92 * DAY:
        candidates += [f"QS-{month}", f"QE-{month}"]
    if 365 * DAY <= usual <= 366 * DAY:
        candidates += [f"YS-{month}", f"YE-{month}"]
    best = None
    for freq in candidates:
        try:
            full = pd.date_range(first, times[-1], freq=freq)
        except ValueError:
            continue
        holds = len(full) and full[0] == first and times.isin(full).all()
        if holds and (best is None or len(full) < len(best[1])):
            best = (freq, full)
    return best


def looks_like_times(col: pd.Series) -> bool:
    """Whether every value of `col` reads as a timestamp (naive, with offsets, or both)."""
    return bool(pd.to_datetime(col, errors="coerce", format="mixed", utc=True).notna().all())


def infer_freq(times: pd.DatetimeIndex) -> str | None:
    """pandas' inferred frequency as a string (pandas 3 is moving it to an offset object); inferred
    once for the identical stamps of the many series of a long file."""
    if times.tz is not None:
        return _inferred(times)
    return _inferred_naive(times.as_unit("ns").asi8.tobytes())


@functools.lru_cache(maxsize=16)
def _inferred_naive(stamps: bytes) -> str | None:
    return _inferred(pd.DatetimeIndex(np.frombuffer(stamps, dtype="datetime64[ns]")))


def _inferred(times: pd.DatetimeIndex) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(times)
    return getattr(freq, "freqstr", freq)


def steps_after(last: pd.Timestamp, n: int, freq: str) -> pd.DatetimeIndex:
    """The `n` stamps after `last` on the calendar of `freq` (a forecast's, or a continued series')."""
    return pd.date_range(last, periods=n + 1, freq=freq)[1:]


def step_freq(step: pd.Timedelta) -> str:
    """The frequency string of a fixed step, as `infer_freq` writes it: ``D`` for a day, not ``24h``."""
    if step % pd.Timedelta(days=1) == pd.Timedelta(0):
        days = step // pd.Timedelta(days=1)
        return "D" if days == 1 else f"{days}D"
    return to_offset(step).freqstr


def freq_step(freq: str) -> pd.Timedelta | None:
    """The fixed length of one step of `freq`, or None for calendar frequencies (month, business day)."""
    offset = to_offset(freq)
    if isinstance(offset, pd.offsets.Week) and offset.weekday is not None:  # W-SUN: 7 days, anchored
        return pd.Timedelta(weeks=offset.n)
    try:
        return pd.Timedelta(offset)
    except ValueError:
        return None


def same_freq(a: str, b: str) -> bool:
    """Whether two frequency strings step alike (``D`` and ``24h`` do; ``MS`` and ``ME`` do not)."""
    step_a, step_b = freq_step(a), freq_step(b)
    if step_a is None or step_b is None:
        return to_offset(a) == to_offset(b)
    return step_a == step_b


def common_freq(freqs: list[str]) -> str | None:
    """The one frequency of several series, or None if they differ.

    Equal strings give that string; equal steps written differently (``W-SUN`` and ``7D``, from a
    series whose gaps were filled) give the step's canonical string.
    """
    first, freqs = freqs[0], list(dict.fromkeys(freqs))  # distinct: thousands of series share one
    if any(not same_freq(first, f) for f in freqs[1:]):
        return None
    if all(f == first for f in freqs):
        return first
    step = freq_step(first)
    return step_freq(step) if step is not None else first


def describe(tz: str | None) -> str:
    """A note for reports on how stamps with offsets were read; empty for naive stamps."""
    if not is_aware(tz):
        return ""
    offsets = "UTC offsets vary (daylight saving)" if tz == VARYING else f"UTC offset {tz}"
    return f" ({offsets}; read as instants, times shown in UTC)"
