"""One trial of a tuning (`forecaster.tune.trials`): each epoch's validation loss reported to the
pruner, which can stop the fit; an invalid sample pruned with its reason; a pruned fit's run tagged."""

from __future__ import annotations

import optuna
import pytest
from test_tuner import FAST, SMALL_SPACE, _runs

from forecaster.config import load, override
from forecaster.tune.trials import Objective, Pruning, TrialTags


def test_pruning_reports_each_epoch_and_stops_the_fit_when_the_pruner_says_so():
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=1.0))
    trial = study.ask()
    pruning = Pruning(trial)
    assert pruning.validated(0, 0.5) is False and pruning.pruned_at is None
    assert pruning.validated(1, 2.0) is True and pruning.pruned_at == 1  # True: the fit stops
    assert study.trials[0].intermediate_values == {0: 0.5, 1: 2.0}
    assert TrialTags(trial, "small-causal", {}).name() == "small-causal-trial0"  # its run's name


def test_a_sample_that_cannot_train_is_pruned_with_its_reason_before_any_data_is_read():
    cfg = load(None, [("data.path", "never-read.csv"), ("data.context_len", 24)])
    cfg.search = {
        "transformer": {**SMALL_SPACE["transformer"], "model.patch_len": {"type": "categorical", "choices": [99]}}
    }
    study = optuna.create_study()
    trial = study.ask()
    with pytest.raises(optuna.TrialPruned, match=r"invalid: need 1 <= model\.patch_len <= context_len"):
        Objective(cfg, "causal", "s-causal")(trial)
    assert study.trials[0].user_attrs["invalid"].startswith("need 1 <= model.patch_len <= context_len (24)")


@pytest.mark.slow
def test_a_pruned_trial_stops_training_and_its_run_finishes_tagged(mlflow_uri, wide_csv):
    from forecaster.tune.tuner import tune

    cfg = load(None, [("data.path", str(wide_csv)), ("name", "prune"), ("trainer.max_epochs", 3)])
    cfg = override(cfg, [(k.lstrip("-"), v) for k, v in zip(FAST[::2], FAST[1::2]) if k != "--trainer.max_epochs"])
    cfg.search = SMALL_SPACE
    result = tune(cfg, variants=["causal"], trials=2, pruner=optuna.pruners.ThresholdPruner(upper=0.0))
    trials = result.studies["causal"].get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 2 and result.best is None
    assert all(list(t.intermediate_values) == [0] for t in trials)  # stopped after the first of 3 epochs
    _, children = _runs("prune")
    assert len(children) == 2
    assert all(r.info.status == "FINISHED" and r.data.tags["optuna.pruned"] == "true" for r in children)
    assert all(r.data.metrics["epochs"] == 1 for r in children)
