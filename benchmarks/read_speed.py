"""Reading speed: `forecaster data inspect` on a long CSV against `pandas.read_csv` of the same file.

Generates a long file (``unique_id, ds, y``: `--series` series of `--rows` hourly rows each, one
million rows by default) in a temporary folder, then times, in this process, the inspection
(`forecaster.data.inspection.inspect_file`: reading, every check, the windows) and
`pandas.read_csv` alone, each the median of `--repeats` runs after one warm-up. pandas only parses;
the inspection parses, validates and reports, so the ratio is what the checks cost on top of a
parse. Run it on an idle machine:

    python benchmarks/read_speed.py --json benchmarks/results/read_speed.json

"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_long(path: Path, series: int, rows: int) -> None:
    """`series` hourly series of `rows` rows each, in the long layout."""
    import numpy as np
    import pandas as pd

    stamps = pd.date_range("2020-01-01", periods=rows, freq="h").astype(str)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i}" for i in range(series)], rows),
            "ds": np.tile(stamps, series),
            "y": np.round(rng.normal(size=series * rows), 4),
        }
    )
    frame.to_csv(path, index=False)


def median_seconds(run, repeats: int) -> float:
    run()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--rows", type=int, default=1000, help="rows per series")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, default=None, help="write the result here (default: print only)")
    args = p.parse_args()

    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from forecaster.config import DataConfig
    from forecaster.data.inspection import inspect_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.csv"
        write_long(path, args.series, args.rows)
        cfg = DataConfig(path=str(path), context_len=24, horizon=6)
        inspect_s = median_seconds(lambda: inspect_file(str(path), cfg), args.repeats)
        pandas_s = median_seconds(lambda: pd.read_csv(path), args.repeats)
        size = path.stat().st_size
    result = {
        "rows": args.series * args.rows,
        "series": args.series,
        "file_mb": round(size / 2**20, 1),
        "inspect_s": round(inspect_s, 3),
        "pandas_read_csv_s": round(pandas_s, 3),
        "ratio": round(inspect_s / pandas_s, 2),
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": "python benchmarks/read_speed.py " + " ".join(sys.argv[1:]),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
