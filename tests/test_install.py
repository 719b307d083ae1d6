"""forecaster installs as a library: compatible ranges in pyproject.toml that admit the tested pins of
requirements.lock, and the built wheel installed beside neuralforecast in a fresh venv still trains."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PEER = "neuralforecast==3.3.0"


def _pins() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    return {canonicalize_name(name): version.strip() for name, version in pairs}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["cluster"]]]


def test_runtime_dependencies_are_ranges_bounded_by_the_next_major_that_admit_the_locked_pins():
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, f"{requirement}: a range >=tested,<next major, not a pin"
        assert name in pins, f"{name} is not pinned in requirements.lock (make and CI install only the lock)"
        assert requirement.specifier.contains(pins[name]), f"{requirement} excludes the tested {name}=={pins[name]}"
        upper = Version(next(spec.version for spec in requirement.specifier if spec.operator == "<"))
        assert upper == Version(str(Version(pins[name]).major + 1)), f"{requirement}: the upper bound is the next major"


@pytest.mark.slow
def test_the_wheel_installs_beside_neuralforecast_and_trains(tmp_path):
    """Minutes: builds the wheel, downloads the peer's dependencies into a fresh venv (the torch pin first)."""
    record = tmp_path / "record.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "check_install_beside.py"), "--peer", PEER, "--json", str(record)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3000)
    if proc.returncode == 3:
        pytest.skip(f"the package registry could not be reached to install {PEER}: {proc.stdout.strip()[-300:]}")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "PASSED" in proc.stdout and "neuralforecast 3.3.0" in proc.stdout
