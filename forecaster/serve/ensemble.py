"""An ensemble package: several model packages that forecast as one, by their median or a weighted mean.

Layout (one directory; `ensemble.json` tells it from a single model's package):

    ensemble.json   format version, forecaster version, the rule ("median" or "weighted"), the member
                    names and, for "weighted", one weight per member (in the members' order)
    intervals.json  optional: conformal radii of the ensemble's own forecasts on the validation
                    windows (`forecaster.scores.intervals`), as a single package's
    <member>/       one model package per member (the `forecaster.serve.package` layout)

The forecast, per series, step and target, is the median of the members' forecasts (with an even
number of members the mean of the two middle ones, as `numpy.median`; one member that fails on a
series moves it least), or their weighted mean with weights chosen on validation
(`forecaster.compare.ensembling`: Caruana et al.'s greedy ensemble selection; non-negative, summing
to 1). Members read the same windows: the same columns, targets, covariates, frequency, context
length, horizon and scaler, which is what `forecaster compare` produces (its members share one
prepared dataset). So `EnsemblePackage` is a `ForecastPackage` whose network is an
`EnsembleForecaster` of the members' networks, and `read`, `forecast` (with `levels` when it has
intervals), `forecaster evaluate` and the MLflow pyfunc model work on it unchanged.

Format versions: 2 (this one: the rule "weighted" and its weights; intervals beside it) and 1 (the
median only), which is still read. Read as untrusted input: `ensemble.json` is checked (known keys
of its version only, the rule, 2 to `MAX_MEMBERS` distinct plain folder names that exist in the
directory, weights finite, non-negative, one per member and summing to 1), `intervals.json` as a
package's, every member is loaded through `ForecastPackage.load` (every file checked), and the
members must agree as above. Like `forecaster.serve.package`, this imports neither Lightning nor MLflow.
"""

from __future__ import annotations

import json
import math
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
from forecaster.scores import intervals
from forecaster.serve import checks as checks
from forecaster.serve.package import (
    ENSEMBLE,
    ForecastPackage,
    check_present,
    check_target,
    read_calibration,
    save_package,
)

FORMAT_VERSION = 2
READS = (1, 2)  # format 1: the median only, written before weights and intervals
RULES = ("median", "weighted")
MAX_MEMBERS = 32  # far more than a top-k of a comparison; bounds the work a crafted file can ask for
KEYS_V1 = ("format_version", "forecaster_version", "rule", "members")
KEYS = {1: KEYS_V1, 2: (*KEYS_V1, "weights")}  # the fields each format version may have
WEIGHT_SUM_TOLERANCE = 1e-6  # counts / rounds written as JSON floats sum to 1 within rounding
MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SHARED = (
    "layout",
    "time_col",
    "id_col",
    "columns",
    "n_targets",
    "context_len",
    "horizon",
    "future_covariates",
    "calendar",
    "static",
    "static_categories",
    "static_mean",
    "static_scale",
)


def median(stack: torch.Tensor) -> torch.Tensor:
    """Median over the first axis; an even count gives the mean of the two middle values."""
    ordered = stack.sort(dim=0).values
    n = len(ordered)
    middle = ordered[n // 2]
    return middle if n % 2 else (ordered[n // 2 - 1] + middle) / 2


def weight_problem(weights, n_members: int) -> str | None:
    """What is wrong with `weights` as an ensemble's weights of `n_members` members, or None."""
    if not isinstance(weights, list | tuple) or len(weights) != n_members:
        return f"'weights' must list one weight per member ({n_members})"
    if not all(isinstance(w, int | float) and not isinstance(w, bool) and math.isfinite(w) and w >= 0 for w in weights):
        return "'weights' must be finite numbers >= 0"
    if abs(math.fsum(weights) - 1) > WEIGHT_SUM_TOLERANCE:
        return f"'weights' must sum to 1, got {math.fsum(weights):.6g}"
    return None


class EnsembleForecaster(Network):
    """The median (`weights` None) or weighted mean of networks that read the same windows:
    x (B, L, F) [, future (B, H, Fk), static (B, Z)] -> (B, H, K).

    Its members come fitted and it is never fitted as one; it forecasts a point (the combination of
    the members' points: a quantile member's median), needs no units (a member that needs them has
    them) and reads the union of what its members read, passing each member the covariates it
    declares (`Network.COVARIATES`). A member of weight 0 is not run.
    """

    TRAINABLE = False
    HAS_QUANTILES = False
    NEEDS_UNITS = False
    SHOWS_ATTENTION = False

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None):
        super().__init__()
        problem = None if weights is None else weight_problem(list(weights), len(members))
        if problem:
            raise ValueError(problem)
        self.members = nn.ModuleList(members)
        self.weights = None if weights is None else tuple(float(w) for w in weights)

    @property
    def COVARIATES(self) -> frozenset[str]:  # what any member reads
        return frozenset().union(*(m.COVARIATES for m in self.members))

    def forward(self, x: torch.Tensor, future=None, static=None) -> torch.Tensor:
        def run(m: nn.Module) -> torch.Tensor:
            return m(x, future if "future" in m.COVARIATES else None, static if "static" in m.COVARIATES else None)

        if self.weights is None:
            return median(torch.stack([run(m) for m in self.members]))  # (M, B, H, K) -> (B, H, K)
        return sum(w * run(m) for m, w in zip(self.members, self.weights) if w > 0)  # (B, H, K)


class EnsemblePackage(ForecastPackage):
    """Member packages by name (in order) forecasting as their median, or their weighted mean with
    `weights` (one per member); `path` and `calibration` (the ensemble's own intervals) as ForecastPackage's.

    Raises:
        PackageError: fewer than two members, members that do not read the same windows, or bad weights.
    """

    def __init__(
        self,
        members: dict[str, ForecastPackage],
        path: Path | None = None,
        *,
        weights: list[float] | None = None,
        calibration: intervals.Calibration | None = None,
    ):
        where = path or "the ensemble"
        if not 2 <= len(members) <= MAX_MEMBERS:
            raise PackageError(f"{where}: an ensemble needs 2 to {MAX_MEMBERS} members, got {len(members)}")
        first_name, first = next(iter(members.items()))
        for name, member in members.items():
            problem = _disagreement(first, member)
            if problem:
                raise PackageError(f"{where}: members '{first_name}' and '{name}' {problem}; they cannot be combined")
        problem = None if weights is None else weight_problem(weights, len(members))
        if problem:
            raise PackageError(f"{where}: {problem}")
        network = EnsembleForecaster([m.network for m in members.values()], weights).eval()
        super().__init__(first.cfg, first.schema, first.scaler, network, path, calibration)
        self.members, self.weights = members, None if weights is None else [float(w) for w in weights]
        self.rule = "median" if weights is None else "weighted"

    def save(self, directory: str | Path) -> Path:
        """Write `ensemble.json`, `intervals.json` (when calibrated) and every member's package
        (replacing an earlier package there)."""
        directory = Path(directory)
        check_target(directory)

        def build(tmp: Path) -> None:
            meta = {"format_version": FORMAT_VERSION, "forecaster_version": __version__, "rule": self.rule}
            weights = {} if self.weights is None else {"weights": self.weights}
            (tmp / ENSEMBLE).write_text(json.dumps({**meta, "members": list(self.members), **weights}, indent=2))
            if self.calibration is not None:
                (tmp / intervals.FILE).write_text(json.dumps(self.calibration.to_dict()))
            for name, m in self.members.items():
                save_package(tmp / name, cfg=m.cfg, network=m.network, scaler=m.scaler, schema=m.schema)

        return replace_dir(directory, build)

    @classmethod
    def load(cls, directory: str | Path) -> EnsemblePackage:
        """Read and check `ensemble.json`, then every member through `ForecastPackage.load`, then
        the ensemble's `intervals.json` if it has one.

        Raises:
            PackageError: naming the file and field (or the member) that cannot be used.
        """
        path = check_present(directory)
        names, weights = read_index(path / ENSEMBLE)
        members = {name: ForecastPackage.load(path / name) for name in names}
        calibration = read_calibration(path, next(iter(members.values())).schema)
        return cls(members, path, weights=weights, calibration=calibration)

    def predict_array(self, frame, horizon: int | None = None) -> np.ndarray:
        """The combination of the members' forecasts on the original scale: (series, H, K)."""
        if self.weights is None:
            return np.median(np.stack([m.predict_array(frame, horizon) for m in self.members.values()]), axis=0)
        used = [(w, m) for w, m in zip(self.weights, self.members.values()) if w > 0]  # weight 0: not run
        return sum(w * m.predict_array(frame, horizon) for w, m in used)  # (series, H, K)


def read_index(file: Path) -> tuple[list[str], list[float] | None]:
    """`ensemble.json`'s member names and weights (None: the median), every field checked; members
    must be folders beside it."""
    try:
        raw = json.loads(checks.read_text(file))
    except ValueError as exc:
        raise checks.corrupted(file, f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise checks.corrupted(file, f"expected a JSON object, got a JSON {type(raw).__name__}")
    version = raw.get("format_version")
    if version not in READS or isinstance(version, bool):
        raise PackageError(
            f"{file.parent}: ensemble format version {version!r} is not supported "
            f"(this forecaster {__version__} reads versions {', '.join(map(str, READS))})"
        )
    unknown = [k for k in raw if k not in KEYS[version]]
    if unknown:
        known = ", ".join(KEYS[version])
        raise checks.corrupted(file, f"unknown field(s) {', '.join(map(repr, unknown))}; known: {known}")
    if not isinstance(raw.get("forecaster_version"), str):
        raise checks.corrupted(file, "field 'forecaster_version' must be a string")
    rules = RULES if version >= 2 else ("median",)
    if raw.get("rule") not in rules:
        raise checks.corrupted(file, f"field 'rule' must be one of {', '.join(rules)}, got {raw.get('rule')!r}")
    names = _member_names(file, raw.get("members"))
    if (raw["rule"] == "weighted") != ("weights" in raw):
        raise checks.corrupted(file, "field 'weights' goes with the rule 'weighted', and only with it")
    problem = weight_problem(raw["weights"], len(names)) if "weights" in raw else None
    if problem:
        raise checks.corrupted(file, f"field {problem}")
    return names, [float(w) for w in raw["weights"]] if "weights" in raw else None


def _member_names(file: Path, names) -> list[str]:
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
