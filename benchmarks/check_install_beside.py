"""Install forecaster's wheel beside another library in a fresh venv, and check it still works there.

`pip install forecaster` must be able to share an environment with neuralforecast, Darts or a
platform's runtime: pyproject.toml states compatible ranges for that. This script tests it: it builds
the wheel from this checkout, creates a venv in a temporary folder, installs requirements.lock's torch
there first (the CPU build this machine's pip finds; `--torch-index-url` names another index), then the
wheel and the peer in one `pip install`, so pip's resolver must satisfy both. It prints what pip
resolved, `pip check`'s verdict, and runs `forecaster --help`, a tiny `train` (one epoch, tiny model,
a generated CSV) saving a model package, and `predict` from it, with the peer importable beside it.

    python benchmarks/check_install_beside.py --peer neuralforecast==3.3.0
    python benchmarks/check_install_beside.py --peer "darts==0.x" --json out/beside-darts.json --keep out/beside

Exit status: 0 all passed; 1 a step failed (pip's conflict or the command's output is printed);
3 the package registry could not be reached (nothing was tested). It downloads packages: minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = 3
SHOWN = ("forecaster", "torch", "pandas", "numpy", "mlflow", "lightning", "pytorch-lightning", "pyarrow")
# The build needs the package and what pyproject.toml names (README.md); nothing else of the checkout.
SOURCES = ("pyproject.toml", "README.md", "cli.py", "forecaster")
TINY = [  # tests/conftest.py's TINY, one epoch
    *("--data.context_len", "24", "--data.horizon", "6", "--data.batch_size", "32"),
    *("--model.d_model", "16", "--model.n_heads", "2", "--model.n_layers", "1", "--model.d_ff", "16"),
    *("--model.patch_len", "4", "--model.stride", "4", "--trainer.max_epochs", "1"),
    *("--trainer.progress_bar", "false", "--tracking.plots", "false", "--tracking.log_model", "false"),
]


def step(name: str, cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 1800) -> dict:
    """Run one command, print its verdict (and its output's tail when it fails), return the record."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = 124, f"timed out after {timeout:.0f} s\n{exc.stdout or ''}{exc.stderr or ''}"
    seconds = round(time.perf_counter() - start, 1)
    print(f"{name:<22} exit {code}  ({seconds} s)", flush=True)
    if code != 0:
        print("  " + "\n  ".join(out.strip().splitlines()[-40:]), flush=True)
    return {"step": name, "exit": code, "seconds": seconds, "output_tail": out[-4000:]}


def locked(name: str) -> str:
    """requirements.lock's pin of `name` (e.g. 'torch==2.13.0')."""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.lower().startswith(name.lower() + "=="):
            return line.strip()
    raise SystemExit(f"{name} is not pinned in requirements.lock")


def series_csv(path: Path, rows: int = 300) -> None:
    """A wide hourly CSV of two seasonal columns, written with the standard library (no pandas here)."""
    lines = ["date,a,b"]
    for t in range(rows):
        stamp = f"2024-01-{1 + t // 24:02d} {t % 24:02d}:00:00"
        a, b = math.sin(2 * math.pi * t / 24), 5 + math.cos(2 * math.pi * t / 24) + 0.01 * (t % 7)
        lines.append(f"{stamp},{a:.5f},{b:.5f}")
    path.write_text("\n".join(lines) + "\n")


def clean_env(work: Path) -> dict[str, str]:
    """The environment of every step: this checkout off the path, a private MLflow store, one thread."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MLFLOW_TRACKING_URI")}
    env |= {"OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'run' / 'mlflow.db'}"
    return env


def build_wheel(work: Path, env: dict[str, str], steps: list[dict]) -> Path | None:
    """The wheel of this checkout, built from a copy of its sources (no build/ left in the checkout)."""
    src = work / "src"
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(src), "-w", str(work / "dist")]
    steps.append(step("build wheel", cmd, cwd=work, env=env))
    wheels = sorted((work / "dist").glob("forecaster-*.whl"))
    return wheels[-1] if steps[-1]["exit"] == 0 and wheels else None


def resolved(pip: list[str], work: Path, env: dict[str, str]) -> dict[str, str]:
    """Every installed distribution of the venv and its version, by normalised name."""
    out = subprocess.run([*pip, "list", "--format", "json"], cwd=work, env=env, capture_output=True, text=True)
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out.stdout or "[]")}


def install(args, work: Path, env: dict[str, str], wheel: Path, steps: list[dict]) -> list[str] | None:
    """The venv with torch, then the wheel and the peer resolved together; its pip command, or None."""
    steps.append(step("create venv", [args.python, "-m", "venv", str(work / "venv")], cwd=work, env=env))
    if steps[-1]["exit"]:
        return None
    python = str(work / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    pip = [python, "-m", "pip"]
    steps.append(step("upgrade pip", [*pip, "install", "--quiet", "--upgrade", "pip"], cwd=work, env=env))
    index = ["--index-url", args.torch_index_url] if args.torch_index_url else []
    torch = [*pip, "install", "--quiet", locked("torch"), *index]
    steps.append(step(f"install {locked('torch')}", torch, cwd=work, env=env))
    if steps[-1]["exit"]:
        return None
    together = [*pip, "install", "--quiet", str(wheel), *args.peer]
    steps.append(step("install wheel + peer", together, cwd=work, env=env))
    if steps[-1]["exit"]:
        return None
    steps.append(step("pip check", [*pip, "check"], cwd=work, env=env))
    return pip


def exercise(work: Path, env: dict[str, str], peers: list[str], steps: list[dict]) -> None:
    """`forecaster --help`, a tiny train saving a package, predict from it, and the peer imported beside it."""
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    cli, python, run = str(bin_dir / "forecaster"), str(bin_dir / "python"), work / "run"
    run.mkdir()
    series_csv(run / "series.csv")
    steps.append(step("forecaster --help", [cli, "--help"], cwd=run, env=env))
    train = [cli, "train", "--data", "series.csv", *TINY, "--save", "model", "--metrics-out", "metrics.json"]
    steps.append(step("forecaster train", train, cwd=run, env=env))
    predict = [cli, "predict", "--model", "model", "--data", "series.csv", "--output", "forecast.csv"]
    steps.append(step("forecaster predict", predict, cwd=run, env=env))
    modules = [project(p).replace("-", "_") for p in peers]
    probe = (
        f"import forecaster, {', '.join(modules)}; assert 'site-packages' in forecaster.__file__, forecaster.__file__"
    )
    steps.append(step("import both", [python, "-c", probe], cwd=run, env=env))


def project(requirement: str) -> str:
    """The project name of a requirement ('neuralforecast==3.3.0' -> 'neuralforecast'), lower case."""
    return re.split(r"[\[<>=!~;@ ]", requirement.strip(), maxsplit=1)[0].lower()


def reachable(peers: list[str], work: Path, env: dict[str, str]) -> bool:
    """Whether the registry answers: the peers' own files download (no dependencies)."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *peers, "-d", str(work / "probe")]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, timeout=600).returncode == 0


def check(args, work: Path) -> dict:
    """Every step in order; the record of the run (steps, resolved versions, passed)."""
    env, steps = clean_env(work), []
    record = {"peer": args.peer, "python": args.python, "steps": steps, "resolved": {}, "passed": False}
    if not reachable(args.peer, work, env):
        record["unreachable"] = f"pip could not download {' '.join(args.peer)}: no registry, or no such release"
        return record
    wheel = build_wheel(work, env, steps)
    pip = install(args, work, env, wheel, steps) if wheel else None
    if pip:
        record["resolved"] = resolved(pip, work, env)
        exercise(work, env, args.peer, steps)
    record["passed"] = bool(pip) and all(s["exit"] == 0 for s in steps)
    return record


def report(record: dict) -> None:
    """What pip resolved next to the peer, and the verdict."""
    versions = record["resolved"]
    names = [*SHOWN, *(project(p) for p in record["peer"])]
    if versions:
        print("resolved: " + ", ".join(f"{n} {versions[n]}" for n in dict.fromkeys(names) if n in versions))
    print("PASSED" if record["passed"] else record.get("unreachable", "FAILED"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", action="append", required=True, help="a requirement to install beside (repeatable)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the venv is made from")
    parser.add_argument("--torch-index-url", help="where the torch pin is found (default: pip's configured index)")
    parser.add_argument("--json", help="also write the record (steps, resolved versions) here")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder, removed)")
    args = parser.parse_args()
    if args.keep:
        work = Path(args.keep).absolute()
        work.mkdir(parents=True, exist_ok=False)
        record = check(args, work)
    else:
        with tempfile.TemporaryDirectory(prefix="forecaster-beside-") as tmp:
            record = check(args, Path(tmp))
    report(record)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0 if record["passed"] else UNREACHABLE if "unreachable" in record else 1


if __name__ == "__main__":
    sys.exit(main())
