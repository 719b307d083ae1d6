"""One trial of `forecaster tune`: sample, fit as a child MLflow run, report to the pruner.

The objective is the trial's validation score (`selection.metric`, the yardstick of every choice; pruning
reads the epochs' validation losses): the test split is never read to choose.
"""

from __future__ import annotations

import json
from typing import Any

import optuna

from forecaster.config import Config, override, with_variant
from forecaster.errors import ForecasterError
from forecaster.progress import FitListener
from forecaster.track import store, tracking
from forecaster.tune.space import sample, space_for
from forecaster.tune.studies import STUDY_TAG


class Pruning(FitListener):
    """Reports each epoch's validation loss to the trial and, when the pruner says so, stops the fit
    (as optuna-integration's Lightning callback would, but the run ends normally, FINISHED and tagged
    pruned, and the objective raises `TrialPruned` itself)."""

    def __init__(self, trial):
        self.trial, self.pruned_at = trial, None

    def validated(self, epoch: int, val_loss: float) -> bool:
        self.trial.report(val_loss, step=epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            return True
        return False


class TrialTags(FitListener):
    """Tags the trial's MLflow run (the active one while it fits) with the study, trial and values."""

    def __init__(self, trial, study: str, values: dict[str, Any]):
        self.trial, self.study, self.values = trial, study, values

    def on_fit_start(self) -> None:
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return
        tags = {STUDY_TAG: self.study, "optuna.trial": self.trial.number, "mlflow.runName": self.name()}
        tags.update({f"optuna.param.{k}": v for k, v in self.values.items()})
        tracking.Run(run.info.run_id).set_tags(tags)
        self.trial.set_user_attr("mlflow.run_id", run.info.run_id)

    def name(self) -> str:
        return f"{self.study}-trial{self.trial.number}"


class Objective:
    """One trial: sample, validate, fit as a child run, return its validation score."""

    def __init__(self, cfg: Config, variant: str, study: str, console=None):
        self.cfg, self.variant, self.study, self.console = cfg, variant, study, console
        self.space, self.cache = space_for(cfg, variant), {}

    def __call__(self, trial) -> float:
        from forecaster.fit.experiment import train
        from forecaster.fit.training import TrainingDiverged

        for key, value in store.process_tags().items():
            trial.set_user_attr(key, value)
        values = sample(trial, self.space)
        tcfg, data = self._prepare(trial, values)
        pruning = Pruning(trial)
        try:
            outcome = train(
                tcfg, prepared=data, nested=True, quiet=True, listeners=[pruning, TrialTags(trial, self.study, values)]
            )
        except TrainingDiverged as exc:
            self._invalid(trial, str(exc).splitlines()[0])
        if pruning.pruned_at is not None:
            if outcome.run_id is not None:
                tracking.Run(outcome.run_id).set_tags({"optuna.pruned": "true"})
            self._say(trial, f"pruned after epoch {pruning.pruned_at}")
            raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at}")
        value = outcome.metrics.get("val_score")  # the yardstick of every choice (selection.metric)
        if value is None:
            self._invalid(trial, "no validation score")
        self._say(trial, f"validation score {value:.6g}")
        return value

    def _prepare(self, trial, values: dict[str, Any]):
        """The trial's config (checked as `train` checks one) and its prepared data, or the trial pruned as invalid."""
        from forecaster.data.windows import prepare
        from forecaster.fit.checks import check_trainable

        quiet = [("tracking.log_model", False), ("tracking.plots", False)]  # the best is retrained from its YAML
        try:
            tcfg = check_trainable(with_variant(override(self.cfg, [*values.items(), *quiet]), self.variant))
            key = json.dumps(tcfg.data.__dict__, sort_keys=True, default=str)
            if key not in self.cache:
                self.cache[key] = prepare(tcfg.data)
        except ForecasterError as exc:
            self._invalid(trial, str(exc).splitlines()[0])
        return tcfg, self.cache[key]

    def _invalid(self, trial, reason: str):
        trial.set_user_attr("invalid", reason)
        self._say(trial, f"invalid, pruned: {reason}")
        raise optuna.TrialPruned(f"invalid: {reason}")

    def _say(self, trial, text: str) -> None:
        if self.console is not None:
            self.console.print(f"[bold]{self.variant}[/] trial {trial.number}: {text}")
