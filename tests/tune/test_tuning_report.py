"""What a tuning reports (`forecaster.tune.report`): the best config as YAML, in the sections with one
variant and in `variants:` entries with several, and the summary of every study.

Named test_tuning_report, not test_report: tests/compare/test_report.py tests `forecaster.compare.report`,
and test file basenames must be unique (pytest's prepend import mode)."""

from __future__ import annotations

import optuna
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution

from forecaster.config import dump_yaml, load
from forecaster.tune.report import best_config, summary

SPACE = {"model.d_model": CategoricalDistribution([8, 16]), "trainer.lr": FloatDistribution(1e-4, 1e-1, log=True)}


def study(name: str, trials: list[tuple[int, float, float]]) -> optuna.Study:
    """An in-memory study of completed trials (d_model, lr, validation loss)."""
    out = optuna.create_study(study_name=name)
    for d_model, lr, value in trials:
        params = {"model.d_model": d_model, "trainer.lr": lr}
        out.add_trial(optuna.trial.create_trial(params=params, distributions=SPACE, value=value))
    return out


def test_one_variant_s_best_values_go_in_the_config_sections():
    causal = study("t-causal", [(8, 0.01, 0.7), (16, 0.003, 0.4), (8, 0.05, 0.9)])
    best = yaml.safe_load(dump_yaml(best_config(load(None), {"causal": causal})))
    assert (best["model"]["d_model"], best["trainer"]["lr"], best["model"]["attention"]) == (16, 0.003, "causal")
    assert best_config(load(None), {"causal": study("t-empty", [])}) is None  # no trial completed


def test_several_variants_each_keep_their_best_in_variants_and_the_lowest_loss_is_the_model():
    studies = {
        "causal": study("t-causal", [(8, 0.01, 0.7), (16, 0.003, 0.5)]),
        "lstm": study("t-lstm", [(8, 0.02, 0.3)]),
    }
    best = best_config(load(None), studies)
    assert best.model.name == "lstm"  # `train --config BEST` trains the winner
    assert best.variants["causal"] == {"model.d_model": 16, "trainer.lr": 0.003}
    assert best.variants["lstm"] == {"model.d_model": 8, "trainer.lr": 0.02}
    found = summary(studies)
    assert (found["best_variant"], found["best_val_loss"]) == ("lstm", 0.3)
    assert found["variants"]["causal"]["best_trial"] == 1 and len(found["variants"]["causal"]["trials"]) == 2
    first = {
        "trial": 0,
        "state": "COMPLETE",
        "val_loss": 0.7,
        "epochs": 0,
        "params": {"model.d_model": 8, "trainer.lr": 0.01},
    }
    assert found["variants"]["causal"]["trials"][0] == first
