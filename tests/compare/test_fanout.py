"""Where a comparison's fits run (`forecaster.compare.fanout`): here, in order, without a plan (and Ray
never imported); a cluster whose nodes cannot reach the tracking store is refused before any run opens.
The fits on Ray: test_ray_tasks.py; threads per fit: test_jobs.py and tests/fit/test_threads.py."""

from __future__ import annotations

import sys

import mlflow
import pytest
from conftest import TINY, run_cli

from forecaster.compare import fanout
from forecaster.errors import ConfigError

SMALL = [*TINY, "--tracking.plots", "false", "--tracking.log_model", "false", "--variants", "causal,linear"]


def test_a_cluster_with_a_local_sqlite_store_is_refused_before_any_run_opens(mlflow_uri, wide_csv, capsys):
    remote = fanout.Plan(address="10.0.0.5:6379")
    with pytest.raises(ConfigError, match="tracking server"):
        fanout.check(remote, True, mlflow_uri)
    fanout.check(remote, True, "http://10.0.0.2:5000")  # a server every node reaches
    fanout.check(remote, False, mlflow_uri)  # nothing tracked
    fanout.check(fanout.Plan(address="127.0.0.1:6379"), True, mlflow_uri)  # every node is this machine
    fanout.check(fanout.Plan(workers=2), True, mlflow_uri)
    code, _, err = run_cli(capsys, "compare", "--data.path", wide_csv, *SMALL, "--ray-address", "10.0.0.5:6379")
    assert code == 2 and "--tracking.uri http://HOST:5000" in err and "Traceback" not in err
    mlflow.set_tracking_uri(mlflow_uri)
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []  # no run was opened


def test_without_workers_fits_run_here_and_ray_is_never_imported(mlflow_uri, wide_csv, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # any `import ray` now raises ImportError
    code, out, err = run_cli(capsys, "compare", "--data.path", wide_csv, *SMALL, "--variants", "linear")
    assert code == 0, err
    assert "Ray" not in out
