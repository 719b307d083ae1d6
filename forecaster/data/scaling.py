"""Per-column standardisation fitted on training rows only, stored as plain JSON.

Fitting uses scikit-learn's `StandardScaler` (imported only when fitting); applying and inverting
need nothing but numpy, so the forecast path stays light.
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
        """Fit on `rows` (n, columns): the training rows of every series."""
        from sklearn.preprocessing import StandardScaler

        fitted = StandardScaler().fit(rows)
        return cls(fitted.mean_.astype(np.float64), fitted.scale_.astype(np.float64))

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
        return cls(np.asarray(raw["mean"], dtype=np.float64), np.asarray(raw["scale"], dtype=np.float64))
