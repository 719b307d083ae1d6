"""The code MLflow runs to load a logged model (`forecaster.serve.pyfunc_model`): it loads the package
artifact and answers a request table as `predict` would. Through a real MLflow model: test_pyfunc.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from test_ensemble import _members

from forecaster.serve.pyfunc import PACKAGE_ARTIFACT


def test_the_model_loads_its_package_artifact_and_forecasts_a_request_table(wide_csv, tmp_path):
    from forecaster.serve.pyfunc_model import ForecasterPyfunc  # imports MLflow

    package = _members(wide_csv, ("linear",))["linear"]
    package.save(tmp_path / "pkg")
    model = ForecasterPyfunc()
    model.load_context(SimpleNamespace(artifacts={PACKAGE_ARTIFACT: str(tmp_path / "pkg")}))
    request = pd.read_csv(wide_csv).tail(30)
    answer, short = model.predict(None, request), model.predict(None, request, params={"horizon": 2})
    expected = package.forecast(package.read(request))
    assert list(answer.columns) == ["date", "a", "b", "c"] and len(answer) == 6 and len(short) == 2
    assert list(answer["date"]) == expected["date"].astype(str).tolist()  # timestamps as text, JSON-ready
    np.testing.assert_allclose(answer[["a", "b", "c"]].to_numpy(), expected[["a", "b", "c"]].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(short[["a", "b", "c"]].to_numpy(), answer[["a", "b", "c"]].to_numpy()[:2], rtol=1e-6)
