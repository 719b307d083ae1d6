"""Values a model cannot learn from: far beyond a column's typical spread.

A value is *far* when |x - median| > `BOUND` × spread, with the column's median and its typical
spread measured robustly (one huge value moves neither): the interquartile range; when that is 0
(a column mostly constant), the median absolute deviation; when that is 0 too (more than half the
values equal, e.g. a sparse count), the median distance of the values that differ from the median.
A column whose values are all equal has nothing far. Each column is measured over the whole file,
every series and split together, as the scaler (`forecaster.data.scaling`) treats it.

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
import pandas as pd

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


def screen(data: pd.DataFrame, columns: list[str], *, policy: str, path: str) -> list[Diagnostic]:
    """Refuse (policy `error`) or clip in place (policy `clip`) the far values of `columns` of
    `data`, whose `__line` and `__id` columns give each row's line and series.

    Returns:
        one `clipped` diagnostic per column clipped.
    """
    notes = []
    for column in columns:
        x = data[column].to_numpy(dtype=float)
        known = ~np.isnan(x)
        if not known.any():
            continue
        median, s = spread(x[known])
        far = np.flatnonzero(known & (np.abs(x - median) > BOUND * s)) if s > 0 else []
        if len(far) == 0:
            continue
        i = far[0]
        line, sid = int(data["__line"].iloc[i]), str(data["__id"].iloc[i])
        lo, hi = median - BOUND * s, median + BOUND * s
        if policy != "clip":
            raise DataError(
                f"{x[i]:.6g} is {abs(x[i] - median) / s:.3g} times the column's typical spread ({s:.6g}) "
                f"from its median ({median:.6g}); a model cannot learn from it ({len(far)} such values)",
                file=path,
                column=column,
                row=line,
                fix=f"correct or remove the value, or pass --data.outliers clip to clip values to {lo:.6g}..{hi:.6g}",
            )
        data[column] = np.clip(x, lo, hi)
        message = f"clipped {len(far)} values of column '{column}' to {lo:.6g}..{hi:.6g} (the first on line {line})"
        notes.append(Diagnostic("clipped", sid, message))
    return notes
