"""A median ensemble: several model packages that forecast as one.

Layout (one directory; `ensemble.json` tells it from a single model's package):

    ensemble.json   format version, forecaster version, the rule ("median") and the member names
    <member>/       one model package per member (the `forecaster.serve.package` layout), in the order
                    that `ensemble.json` lists them

The forecast is the median, per series, step and target, of the members' forecasts (with an even
number of members the mean of the two middle ones, as `numpy.median`). The median rather than the
mean because one member that fails on a series moves it least. Members read the same windows: the
same columns, targets, frequency, context length, horizon and scaler, which is what `forecaster
compare` produces (its members share one prepared dataset). So `EnsemblePackage` is a
`ForecastPackage` whose network is `MedianEnsemble` of the members' networks, and `read`,
`forecast`, `forecaster evaluate` and the MLflow pyfunc model work on it unchanged.

Read as untrusted input: `ensemble.json` is checked (known keys only, the rule, 2 to
`MAX_MEMBERS` distinct plain folder names that exist in the directory), every member is loaded
through `ForecastPackage.load` (every file checked), and the members must agree as above. Like
`forecaster.serve.package`, this imports neither Lightning nor MLflow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from forecaster import __version__
from forecaster.atomic import replace_dir
from forecaster.data.times import same_freq
from forecaster.errors import PackageError
from forecaster.nn.common import Network
from forecaster.serve import checks as checks
from forecaster.serve.package import ENSEMBLE, ForecastPackage, check_present, check_target, save_package

FORMAT_VERSION = 1
RULES = ("median",)
MAX_MEMBERS = 32  # far more than a top-k of a comparison; bounds the work a crafted file can ask for
KEYS = ("format_version", "forecaster_version", "rule", "members")
MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SHARED = ("layout", "time_col", "id_col", "columns", "n_targets", "context_len", "horizon", "calendar", "static")


def median(stack: torch.Tensor) -> torch.Tensor:
    """Median over the first axis; an even count gives the mean of the two middle values."""
    ordered = stack.sort(dim=0).values
    n = len(ordered)
    middle = ordered[n // 2]
    return middle if n % 2 else (ordered[n // 2 - 1] + middle) / 2


class MedianEnsemble(Network):
    """The median of networks that read the same windows: x (B, L, F) -> (B, H, K).

    Its members come fitted and it is never fitted as one; it forecasts a point (the median of the
    members' medians), needs no units (a member that needs them has them) and reads x alone.
    """

    TRAINABLE = False
    HAS_QUANTILES = False
    NEEDS_UNITS = False
    SHOWS_ATTENTION = False
    COVARIATES = frozenset()

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return median(torch.stack([m(x) for m in self.members]))  # (M, B, H, K) -> (B, H, K)


class EnsemblePackage(ForecastPackage):
    """Member packages by name (in order) forecasting as their median; `path` as ForecastPackage's.

    Raises:
        PackageError: fewer than two members, or members that do not read the same windows.
    """

    def __init__(self, members: dict[str, ForecastPackage], path: Path | None = None):
        where = path or "the ensemble"
        if not 2 <= len(members) <= MAX_MEMBERS:
            raise PackageError(f"{where}: an ensemble needs 2 to {MAX_MEMBERS} members, got {len(members)}")
        first_name, first = next(iter(members.items()))
        for name, member in members.items():
            problem = _disagreement(first, member)
            if problem:
                raise PackageError(f"{where}: members '{first_name}' and '{name}' {problem}; they cannot be combined")
        network = MedianEnsemble([m.network for m in members.values()]).eval()
        super().__init__(first.cfg, first.schema, first.scaler, network, path)
        self.members, self.rule = members, "median"

    def save(self, directory: str | Path) -> Path:
        """Write `ensemble.json` and every member's package (replacing an earlier package there)."""
        directory = Path(directory)
        check_target(directory)

        def build(tmp: Path) -> None:
            meta = {"format_version": FORMAT_VERSION, "forecaster_version": __version__, "rule": self.rule}
            (tmp / ENSEMBLE).write_text(json.dumps({**meta, "members": list(self.members)}, indent=2))
            for name, m in self.members.items():
                save_package(tmp / name, cfg=m.cfg, network=m.network, scaler=m.scaler, schema=m.schema)

        return replace_dir(directory, build)

    @classmethod
    def load(cls, directory: str | Path) -> EnsemblePackage:
        """Read and check `ensemble.json`, then every member through `ForecastPackage.load`.

        Raises:
            PackageError: naming the file and field (or the member) that cannot be used.
        """
        path = check_present(directory)
        names = read_members(path / ENSEMBLE)
        return cls({name: ForecastPackage.load(path / name) for name in names}, path)

    def predict_array(self, frame, horizon: int | None = None) -> np.ndarray:
        """The median of the members' forecasts on the original scale: (series, H, K)."""
        return np.median(np.stack([m.predict_array(frame, horizon) for m in self.members.values()]), axis=0)


def read_members(file: Path) -> list[str]:
    """The member names of `ensemble.json`, every field checked; members must be folders beside it."""
    try:
        raw = json.loads(checks.read_text(file))
    except ValueError as exc:
        raise checks.corrupted(file, f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise checks.corrupted(file, f"expected a JSON object, got a JSON {type(raw).__name__}")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise checks.corrupted(file, f"unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(KEYS)}")
    if raw.get("format_version") != FORMAT_VERSION or isinstance(raw.get("format_version"), bool):
        raise PackageError(
            f"{file.parent}: ensemble format version {raw.get('format_version')!r} is not supported "
            f"(this forecaster {__version__} reads version {FORMAT_VERSION})"
        )
    if not isinstance(raw.get("forecaster_version"), str):
        raise checks.corrupted(file, "field 'forecaster_version' must be a string")
    if raw.get("rule") not in RULES:
        raise checks.corrupted(file, f"field 'rule' must be one of {', '.join(RULES)}, got {raw.get('rule')!r}")
    names = raw.get("members")
    if not isinstance(names, list) or not 2 <= len(names) <= MAX_MEMBERS or len(set(map(str, names))) < len(names):
        raise checks.corrupted(file, f"field 'members' must list 2 to {MAX_MEMBERS} distinct member folder names")
    for name in names:
        if not isinstance(name, str) or not MEMBER_NAME.fullmatch(name):
            raise checks.corrupted(file, f"member {name!r} is not a plain folder name (letters, digits, _ . -)")
        member = file.parent / name
        if member.is_symlink() or not member.is_dir():
            raise checks.corrupted(file, f"member '{name}' is not a folder inside the ensemble")
    return names


def _disagreement(a: ForecastPackage, b: ForecastPackage) -> str | None:
    """How two members differ in what they read or write, or None when they read the same windows."""
    for key in SHARED:
        if getattr(a.schema, key) != getattr(b.schema, key):
            return f"differ in {key} ({getattr(a.schema, key)!r} vs {getattr(b.schema, key)!r})"
    if not same_freq(a.schema.freq, b.schema.freq):
        return f"differ in frequency ({a.schema.freq!r} vs {b.schema.freq!r})"
    if not (np.array_equal(a.scaler.mean, b.scaler.mean) and np.array_equal(a.scaler.scale, b.scaler.scale)):
        return "were scaled differently (trained on other data)"
    return None
