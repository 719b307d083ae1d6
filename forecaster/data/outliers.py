"""Values a model cannot learn from: far beyond a column's typical spread.

A value is *far* when |x - median| > `BOUND` × spread, with the column's median and its typical
spread measured robustly (one huge value moves neither): the interquartile range; when that is 0
(a column mostly constant), the median absolute deviation; when that is 0 too (more than half the
values equal, e.g. a sparse count), the median distance of the values that differ from the median.
A column whose values are all equal has nothing far.

Each column is measured over every series together, on the rows the scaler
(`forecaster.data.scaling`) is fitted on: when a file is read with its split (`read_frame(...,
fit_on_train=True)`: training's `forecaster.data.windows.prepare`, `data inspect`, and
`evaluate`, which reads its file as training did), the *training* rows of each series only, so
no validation or test value moves the bound that screens the training rows (a test period with
another spread would otherwise widen or narrow what training keeps). The bound then screens
every row, test rows included: a test value 1e30 is refused all the same. A file read without
its split (the recent history `predict` is given, `--auto`'s first look at a file,
`cross-validation`'s file) is measured over all its rows, as are the columns of a file whose
training rows hold no value at all (it cannot train; `check_lengths` says why).

Why 1e6 spreads: a standardised column is stored in float32 (24-bit mantissa, ~1.7e7 steps). One
value 1e6 spreads out either lands in the training rows and inflates the fitted scale until the
ordinary values vary by about √rows / 1e6 of a unit — a near-constant input — or lands in the
test rows and makes every metric about its own square (1e30 gives `inf`). Real series stay far
below: ETTh1's largest ratio is 5.8 (MUFL), `datasets/demo_long.csv`'s 1.3, so heavy-tailed data
(sales spikes, bursts of 1e3–1e4 spreads) keeps two orders of magnitude of headroom.

`data.outliers: error` (the default) refuses such a value with a `DataError` naming the file,
column and line; `clip` moves it to the nearest bound (median ± `BOUND` × spread) and reports a
`clipped` diagnostic.
"""

from __future__ import annotations

import numpy as np

from forecaster.data.schema import Diagnostic
from forecaster.errors import DataError

BOUND = 1e6


def spread(x: np.ndarray) -> tuple[float, float]:
    """(median, typical spread) of the finite values `x`; the spread is 0 only when all are equal."""
    median = float(np.median(x))
    q25, q75 = np.percentile(x, [25, 75])
    if q75 > q25:
        return median, float(q75 - q25)
    distance = np.abs(x - median)
    mad = float(np.median(distance))
    if mad > 0:
        return median, mad
    differ = distance[distance > 0]
    return median, float(np.median(differ)) if differ.size else 0.0


def screen(
    values: list[np.ndarray],
    lines: list[np.ndarray],
    ids: list[str],
    columns: list[str],
    *,
    policy: str,
    path: str,
    fit_rows: list[int] | None = None,
) -> list[Diagnostic]:
    """Refuse (policy `error`) or clip in place (policy `clip`) the far values of every series.

    Args:
        values: per series, its (rows, columns) values (NaN where missing), clipped in place.
        lines: per series, each row's line in the file (0 for a row inserted to fill a gap).
        ids: the series' ids, for the note.
        fit_rows: per series, how many of its first rows the spread is measured on (its training
            rows); None: every row.

    Returns:
        one `clipped` diagnostic per column clipped.
    """
    notes = []
    for c, column in enumerate(columns):
        median, s = _fitted(values, c, fit_rows)
        if not s > 0:
            continue
        far = [np.flatnonzero(np.abs(v[:, c] - median) > BOUND * s) for v in values]  # NaN is never far
        hit = [k for k, f in enumerate(far) if len(f)]
        if not hit:
            continue
        k, count = hit[0], sum(len(f) for f in far)
        x, line = values[k][far[k][0], c], int(lines[k][far[k][0]])
        lo, hi = median - BOUND * s, median + BOUND * s
        if policy != "clip":
            raise DataError(
                f"{x:.6g} is {abs(x - median) / s:.3g} times the column's typical spread ({s:.6g}) "
                f"from its median ({median:.6g}); a model cannot learn from it ({count} such values)",
                file=path,
                column=column,
                row=line,
                fix=f"correct or remove the value, or pass --data.outliers clip to clip values to {lo:.6g}..{hi:.6g}",
            )
        for v in values:
            v[:, c] = np.clip(v[:, c], lo, hi)
        message = f"clipped {count} values of column '{column}' to {lo:.6g}..{hi:.6g} (the first on line {line})"
        notes.append(Diagnostic("clipped", ids[k], message))
    return notes


def _fitted(values: list[np.ndarray], c: int, fit_rows: list[int] | None) -> tuple[float, float]:
    """(median, spread) of column `c` over the first `fit_rows` rows of each series (every row
    when None, or when those rows hold no value); (nan, 0) for a column with no value at all."""
    for rows in (fit_rows, None):
        x = np.concatenate([v[: len(v) if rows is None else rows[k], c] for k, v in enumerate(values)])
        x = x[~np.isnan(x)]
        if x.size:
            return spread(x)
    return float("nan"), 0.0
