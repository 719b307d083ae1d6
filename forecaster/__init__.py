"""forecaster: which attention forecasts your series best, and at what cost.

    import forecaster as fc
    model = fc.fit(df, horizon=24, variant="causal", auto=True)
    model.predict(level=[80, 90])

`fit`, `compare`, `cross_validation`, `inspect` and `load` are the Python API (`forecaster.api.facade`).
Importing the package is cheap: they and every submodule are imported where they are used, so that
the forecast path never pays for Lightning or MLflow.

`forecaster.fit` and `forecaster.compare` are also rooms (subpackages): Python sets a package's
attribute to its subpackage whenever the subpackage is imported, so plain functions of those names
here would be replaced the first time anything imports `forecaster.fit.experiment`. The two rooms'
module objects are made callable instead (a `ModuleType` subclass, the supported way to give a module
behaviour), forwarding the call to the API; their contents and imports are unchanged.
"""

import types

__version__ = "0.1.0"
__all__ = ["compare", "cross_validation", "fit", "inspect", "load"]


class _CallableRoom(types.ModuleType):
    """A room that, called, is the API function of its name (`forecaster.api.facade.fit` / `.compare`)."""

    def __call__(self, *args, **kwargs):
        from forecaster.api import facade

        return getattr(facade, self.__name__.rpartition(".")[2])(*args, **kwargs)


def __getattr__(name: str):
    if name in ("cross_validation", "inspect", "load"):
        from forecaster.api import facade

        return getattr(facade, name)
    raise AttributeError(f"module 'forecaster' has no attribute {name!r}")


from forecaster import compare, fit  # noqa: E402  (the rooms' __init__ import nothing)

compare.__class__ = fit.__class__ = _CallableRoom
