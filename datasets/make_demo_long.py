"""Write datasets/demo_long.csv: a small long-format file (unique_id, ds, y, temperature).

Five hourly series of different lengths and levels, each a daily and weekly cycle plus a slow
trend and noise, with a temperature covariate. Fixed seed, so the file is reproducible:
    python datasets/make_demo_long.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240601
LENGTHS = {"store_a": 1200, "store_b": 900, "store_c": 1500, "store_d": 700, "store_e": 1000}


def make() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    parts = []
    for k, (sid, n) in enumerate(LENGTHS.items()):
        t = np.arange(n)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=24 * k)
        temperature = 12 + 8 * np.sin(2 * np.pi * (t - 6) / 24) + rng.normal(0, 1.0, n)
        level = 50 + 20 * k
        y = (
            level
            + 10 * np.sin(2 * np.pi * t / 24)
            + 5 * np.sin(2 * np.pi * t / 168)
            + 0.01 * t
            + 0.4 * temperature
            + rng.normal(0, 2.0, n)
        )
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": sid,
                    "ds": pd.date_range(start, periods=n, freq="h"),
                    "y": y.round(3),
                    "temperature": temperature.round(2),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


if __name__ == "__main__":
    out = Path(__file__).with_name("demo_long.csv")
    make().to_csv(out, index=False)
    print(f"wrote {out}")
