"""Loading any model (`forecaster.serve.loading`): a package or an ensemble directory, each as its own
class, and only URIs handed to MLflow. Loading through MLflow: test_pyfunc.py and test_ensemble.py."""

from __future__ import annotations

import numpy as np
import pytest
from test_ensemble import _members

from forecaster.errors import PackageError
from forecaster.serve.ensemble import EnsemblePackage
from forecaster.serve.loading import is_mlflow_uri, load_any
from forecaster.serve.package import ForecastPackage


def test_a_directory_loads_as_a_package_or_an_ensemble_and_only_uris_go_to_mlflow(wide_csv, tmp_path):
    members = _members(wide_csv, ("linear", "naive"))
    members["linear"].save(tmp_path / "one")
    EnsemblePackage(members).save(tmp_path / "ens")
    one, ensemble = load_any(tmp_path / "one"), load_any(str(tmp_path / "ens"))
    assert type(one) is ForecastPackage and one.path == tmp_path / "one"
    assert type(ensemble) is EnsemblePackage and list(ensemble.members) == ["linear", "naive"]
    frame = one.read(wide_csv)
    np.testing.assert_allclose(one.predict_array(frame), members["linear"].predict_array(frame), rtol=1e-6)
    for uri in ("models:/tiny@champion", "runs:/0a1b/model", "mlflow-artifacts:/1/model", "s3://bucket/model"):
        assert is_mlflow_uri(uri), uri
    for local in ("pkg", "out/best", "/tmp/model", "C:\\models\\pkg"):
        assert not is_mlflow_uri(local), local
    with pytest.raises(PackageError, match="not a forecaster model package"):
        load_any(tmp_path)  # a folder of packages is not one
