"""The model package through MLflow: logged as a pyfunc model, loaded back from a model URI.

`mlflow models serve -m <uri>` and `mlflow.pyfunc.load_model(uri).predict(df, params=...)` call
the model (`pyfunc_model.py`, logged as code, never pickled) with recent history in the training
CSV's layout (time column as text), an optional `horizon` parameter (beyond the trained horizon
only with the `extend` parameter "recursive"), and an optional `level` parameter (a list, e.g.
[80, 90]: the prediction intervals of `forecaster predict --level 80,90`); the answer is the
forecast table that `forecaster predict` writes. The model's signature is inferred from a forecast
by the in-memory package, before anything is written.

`forecaster predict --model <uri>` does not go through `mlflow.pyfunc.load_model`, which would
unpickle or run whatever model the URI names: `download_package` reads the MLmodel file as data,
accepts only a model that forecaster logged, and downloads and checks its package.

MLflow is imported where it is used, so `forecaster.serve.package` can hand a URI here without paying
for MLflow on the local path.

A logged model carries everything it needs, so that `mlflow models serve` with a fresh environment
(`--env-manager virtualenv` or `uv`), `mlflow models build-docker` and managed endpoints can import
it, not only `--env-manager local` in a venv that has forecaster installed:

- the `forecaster` package itself, as `code_paths` (the package folder, copied into the model's
  `code/`; MLflow puts `code/` first on `sys.path` before it runs the model's code file). Chosen
  over logging a wheel built at log time: it is exactly the code that logged the model (an editable
  install's uncommitted edits included, with no build step, no build backend, no network at log
  time), and it needs no requirement line pointing at a file (MLflow resolves the requirements from
  the model's folder, so a relative `wheels/...whl` line would work, but building a wheel per
  training run is slower and brings nothing a platform needs). `forecaster` is deliberately NOT a
  requirement line: no index is asked for a package of that name, which may be someone else's.
  (Loaded in a process that has already imported forecaster, the model runs with that one: Python
  resolves `forecaster.*` through the imported package, whatever `sys.path` says.)
- its runtime requirements (`requirements`): the names in pyproject.toml's `dependencies` (the
  checkout's, or the installed distribution's metadata; extras left out), each pinned to the version installed when the
  model was logged (a consistent, tested set, which `python_env.yaml` then resolves),
  statsforecast only when a classical model is inside (the forecast path imports it for nothing
  else). A local version label is dropped: the line for torch is `torch==2.13.0`, never
  `torch==2.13.0+cpu` (a build only PyTorch's own index holds), so whether the environment gets the
  CPU or a CUDA build is the environment's choice: its pip index, `--find-links` or constraints, as
  for any install of torch.

Models logged before this carry no `code/` and import `forecaster.loading` / `forecaster.pyfunc`
(the top-level re-exports) from an installed forecaster: they still load with `--env-manager local`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pandas as pd

from forecaster.errors import PackageError
from forecaster.track import tracking

PACKAGE_ARTIFACT = "package"
MODEL_NAME = "model"
MODEL_CODE = str(Path(__file__).with_name("pyfunc_model.py"))  # logged as code, never pickled
SOURCE = str(Path(__file__).resolve().parents[1])  # the `forecaster` package folder: the model's code_paths
DISTRIBUTION = "forecaster"
SERVE_OPTIONAL = {"statsforecast"}  # dependencies the forecast path imports only for a classical model
# the MLmodel's loader_module of a model from code: MLflow 3 writes `loaders.code_model`; PythonModel's
# generic `model` is accepted too, but only without a pickled `python_model` (never loaded either way)
CODE_LOADERS = ("mlflow.pyfunc.loaders.code_model", "mlflow.pyfunc.model")


def forecast_table(
    package, model_input: pd.DataFrame, horizon: int | None = None, level=None, extend: str = "none"
) -> pd.DataFrame:
    """The forecast of a `ForecastPackage` for a request table, timestamps as text (JSON-ready);
    `level` (a list of percentages; empty or None: none) adds the interval columns; `extend`
    (none or recursive) says what a horizon beyond the trained one does (`forecaster.serve.extension`)."""
    from forecaster.scores.intervals import parse_levels

    levels = parse_levels(list(level)) if level is not None and len(level) else None
    out = package.forecast(package.read(model_input), horizon, levels, extend=extend)
    time_col = package.schema.time_col
    out[time_col] = out[time_col].astype(str)
    return out


def download_package(uri: str, directory: str | Path) -> Path:
    """Download the package of the MLflow model at `uri` (`models:/...`, `runs:/...`) into
    `directory` and return its path, unpickling and running nothing: only the MLmodel file and
    the package artifact are fetched, and only from a model that forecaster logged
    (`package_artifact`). Load it with `ForecastPackage.load`, which checks every file.

    Raises:
        PackageError: an unknown URI, or a model that is not a forecaster package.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    tracking.configure_mlflow(None)
    try:
        repo = get_artifact_repository(uri)
        mlmodel = Path(repo.download_artifacts("MLmodel", _folder(directory, "mlmodel")))
        return Path(repo.download_artifacts(package_artifact(uri, mlmodel), _folder(directory, "package")))
    except (MlflowException, OSError) as exc:
        raise PackageError(f"{uri}: cannot load this MLflow model ({str(exc).splitlines()[0]})") from None


def _folder(parent: str | Path, name: str) -> str:
    path = Path(parent, name)
    path.mkdir()
    return str(path)


def package_artifact(uri: str, mlmodel: Path) -> str:
    """The package's path inside the model, if `mlmodel` (an MLmodel file) describes a model that
    forecaster logged: a python_function model from code (our `pyfunc_model.py`) that declares the
    package artifact. Its contents are only read (YAML, safely), never acted upon."""
    import yaml

    try:
        flavors = (yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}).get("flavors") or {}
        pyfunc = flavors.get("python_function") or {}
        found = _describe(flavors, pyfunc)
        if found is None:
            path = pyfunc["artifacts"][PACKAGE_ARTIFACT]["path"]
            if isinstance(path, str) and path and not PurePosixPath(path).is_absolute() and ".." not in path:
                return path
            found = f"a package artifact at {path!r}, outside the model"
    except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError, KeyError):
        found = "an MLmodel file that is not a forecaster model's"
    raise PackageError(
        f"{uri}: refused: this MLflow model is {found}; forecaster loads only the packages it logs itself "
        f"(a python_function model from {Path(MODEL_CODE).name} with a '{PACKAGE_ARTIFACT}' artifact) and "
        "never unpickles or runs a model's code; use a model logged by `forecaster train`"
    )


def _describe(flavors: dict, pyfunc: dict) -> str | None:
    """What a non-forecaster model is, for the refusal; None for a forecaster model."""
    code = str(pyfunc.get("model_code_path") or "").replace("\\", "/").rsplit("/", 1)[-1]
    if not pyfunc:
        return f"of the flavor(s) {', '.join(map(str, flavors)) or 'none'}, without python_function"
    if "python_model" in pyfunc or pyfunc.get("loader_module") not in CODE_LOADERS:
        pickled = " (a cloudpickled Python model)" if "python_model" in pyfunc else ""
        return f"a python_function model with loader {pyfunc.get('loader_module')!r}{pickled}"
    if code != Path(MODEL_CODE).name:
        return f"a python_function model from the code file {code!r}, not forecaster's"
    if PACKAGE_ARTIFACT not in (pyfunc.get("artifacts") or {}):
        return f"a python_function model without the '{PACKAGE_ARTIFACT}' artifact"
    return None


def log_model(
    run: tracking.Run, package, package_dir: str | Path, input_example: pd.DataFrame, *, register: str | None = None
) -> str:
    """Log the package saved in `package_dir` as `run`'s pyfunc model; optionally register it with
    alias `champion`.

    Args:
        package: the same package in memory (a `ForecastPackage`), to infer the signature from.

    Returns:
        the model's URI (`models:/<model_id>`).
    """
    import mlflow
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ParamSchema, ParamSpec

    shown = [80.0, 90.0] if package.calibration is not None else None  # the output with intervals, as an example
    output = forecast_table(package, input_example, level=shown)
    inferred = infer_signature(input_example, output, params={"horizon": package.schema.horizon, "extend": "none"})
    level = ParamSpec("level", "double", [], (-1,))  # default []: no interval columns
    params = ParamSchema([*inferred.params.params, level])
    signature = ModelSignature(inferred.inputs, inferred.outputs, params)
    with tracking.activate(run.run_id):
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=MODEL_CODE,
            artifacts={PACKAGE_ARTIFACT: str(package_dir)},
            signature=signature,
            input_example=input_example,
            registered_model_name=register,
            pip_requirements=requirements(package),
            code_paths=[SOURCE],
        )
    if register:
        version = info.registered_model_version
        run.client.set_registered_model_alias(register, "champion", str(version))
        run.set_tags({"registered_model": f"{register}@champion (version {version})"})
    return info.model_uri


def requirements(package) -> list[str]:
    """The pinned packages the logged model's environment needs: forecaster's runtime dependencies
    (its installed metadata, extras left out) at the versions installed now, local labels dropped
    (`torch==2.13.0`, whichever build is installed); statsforecast only when a classical model
    (`ets`, `theta`, `arima`, alone or in an ensemble) fits on the history it is given."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from forecaster.classical.networks import ClassicalForecaster

    classical = any(isinstance(m, ClassicalForecaster) for m in package.network.modules())
    names = [n for n in runtime_dependencies() if classical or canonicalize_name(n) not in SERVE_OPTIONAL]
    try:
        return [f"{name}=={Version(version(name)).public}" for name in names]
    except PackageNotFoundError as exc:
        missing = f"{exc.name}, a dependency of forecaster, is not installed"
        raise PackageError(f"cannot log a model: {missing}; reinstall forecaster (`pip install -e .`)") from None


def runtime_dependencies() -> list[str]:
    """The names of forecaster's runtime dependencies (pyproject.toml's `dependencies`; requirements
    that only an extra asks for are left out), declared beside the code the model carries: the
    checkout's pyproject.toml when forecaster runs from one (an editable install's metadata is
    written at install time and goes stale when pyproject.toml changes), else the installed
    distribution's metadata (a wheel install: built from the same pyproject.toml)."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    project = Path(SOURCE).parent / "pyproject.toml"
    table = tomllib.loads(project.read_text(encoding="utf-8")).get("project", {}) if project.is_file() else {}
    if table.get("name") == DISTRIBUTION:
        lines = table.get("dependencies", [])
    else:
        try:
            lines = requires(DISTRIBUTION) or []
        except PackageNotFoundError:
            raise PackageError(
                f"cannot log a model: forecaster runs neither from its checkout nor from an installed {DISTRIBUTION} "
                "distribution, so the model's requirements are unknown; install forecaster (`pip install .`)"
            ) from None
    declared = [Requirement(line) for line in lines]
    return [r.name for r in declared if r.marker is None or r.marker.evaluate({"extra": ""})]
