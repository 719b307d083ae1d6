"""Per-column standardisation fitted on training rows only, stored as plain JSON.

Fitting, applying and inverting need nothing but numpy. The fit is the population standard
deviation (ddof=0), with scikit-learn's `StandardScaler` rule for constant columns (scale 1.0), so
the numbers equal the ones that class gave when it did the fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scaler:
    """x_scaled = (x - mean) / scale, per column."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Scaler:
        """Fit on `rows` (n, columns): the training rows of every series (finite: the reader fills or
        refuses missing values).

        The variance is the corrected two-pass sum of Chan, Golub and LeVeque, as in scikit-learn's
        `StandardScaler`. A column whose variance is within the rounding error of that sum,
        `var <= n·eps·var + (n·mean·eps)²`, is constant: its scale is 1.0 (it is only centred), not
        a near-zero number that would blow its rounding noise up to whole units.
        """
        rows = np.asarray(rows, dtype=np.float64)
        n = rows.shape[0]
        mean = rows.sum(axis=0) / n
        deviation = rows - mean
        correction = deviation.sum(axis=0)
        var = ((deviation**2).sum(axis=0) - correction**2 / n) / n
        eps = np.finfo(np.float64).eps
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        scale = np.where(constant, 1.0, np.sqrt(var))
        return cls(mean, scale)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean[: x.shape[-1]]) / self.scale[: x.shape[-1]]

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale[: x.shape[-1]] + self.mean[: x.shape[-1]]

    def inverse_column(self, x: np.ndarray, column: int) -> np.ndarray:
        """Original units of values that all belong to one `column` (any shape)."""
        return x * self.scale[column] + self.mean[column]

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, raw: dict) -> Scaler:
        """Read `to_dict`'s output (`scaler.json`), checked: what it cannot invert is refused.

        Raises:
            ValueError: not a mapping of exactly `mean` and `scale`, lists of numbers of one length,
                a non-finite mean, or a scale that is not finite and > 0 (it divides the inputs and
                multiplies the forecasts: 0 would give NaN, a negative one a mirrored forecast).
        """
        if not isinstance(raw, dict) or sorted(raw) != ["mean", "scale"]:
            found = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
            raise ValueError(f"expected an object with the fields 'mean' and 'scale', got {found}")
        mean, scale = (_numbers(raw, name) for name in ("mean", "scale"))
        if len(mean) != len(scale) or len(mean) == 0:
            raise ValueError(f"'mean' and 'scale' must have one entry per column, got {len(mean)} and {len(scale)}")
        bad = np.flatnonzero(~np.isfinite(mean))
        if bad.size:
            raise ValueError(f"field 'mean' entry {bad[0]} is {mean[bad[0]]}; every mean must be finite")
        bad = np.flatnonzero(~(np.isfinite(scale) & (scale > 0)))
        if bad.size:
            raise ValueError(f"field 'scale' entry {bad[0]} is {scale[bad[0]]}; every scale must be finite and > 0")
        return cls(mean, scale)


def _numbers(raw: dict, name: str) -> np.ndarray:
    """`raw[name]` as a float64 vector, if it is a flat list of JSON numbers (NaN/Infinity included)."""
    value = raw[name]
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ValueError(f"field '{name}' must be a list of numbers, one per column")
    try:
        return np.asarray(value, dtype=np.float64)
    except OverflowError:  # an integer beyond float64, written out in digits
        raise ValueError(f"field '{name}' holds a number too large for a float") from None
