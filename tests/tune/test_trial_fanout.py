"""A study's trials shared among Ray tasks (`forecaster.tune.fanout`): the shares add up to exactly the
missing trials, and a cluster needs a study database every node reaches.

Named test_trial_fanout, not test_fanout: tests/compare/test_fanout.py tests `forecaster.compare.fanout`,
and test file basenames must be unique (pytest's prepend import mode). The tuning on a local Ray, end
to end: test_tuner.py."""

from __future__ import annotations

import pytest

from forecaster.errors import ConfigError


def test_workers_share_the_missing_trials_exactly_and_a_cluster_needs_a_shared_study_db(mlflow_uri):
    from forecaster.compare import fanout
    from forecaster.tune.fanout import shares

    assert shares(20, 2) == [10, 10] and shares(5, 2) == [3, 2] and shares(1, 4) == [1] and shares(0, 2) == []
    remote = fanout.Plan(address="10.0.0.5:6379")
    with pytest.raises(ConfigError, match="--study-db postgresql"):
        fanout.check(remote, False, mlflow_uri, "sqlite:///optuna.db")
    fanout.check(remote, False, mlflow_uri, "postgresql+psycopg://me@10.0.0.2/optuna")  # every node reaches it
    fanout.check(fanout.Plan(workers=2), True, mlflow_uri, "sqlite:///optuna.db")  # one machine
