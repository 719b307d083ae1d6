"""What a tuning reports: the best config as YAML, the parent run's best values, a table and a summary.

The best config is the base config with the best trial's values applied, in the form `train
--config` and `compare --config` read. With one variant its values are set in the config's
sections (and dropped from its `variants:` entries, which would override them); with several, each
variant's best values go in its `variants:` entry and the model is set to the variant with the
lowest validation score, so `train --config BEST` trains that winner and `compare --config BEST`
trains each variant with its own tuned values.
"""

from __future__ import annotations

import copy
from typing import Any

from optuna.trial import TrialState

from forecaster.config import ATTENTION_PATTERNS, Config, dump_yaml, override, with_variant
from forecaster.track import tracking


def best_trials(studies: dict[str, Any]) -> dict[str, Any]:
    """Each variant's best completed trial (variants without one are left out)."""
    return {v: s.best_trial for v, s in studies.items() if s.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))}


def best_config(cfg: Config, studies: dict[str, Any]) -> Config | None:
    """The base config with the best values applied (see the module docstring); None if no trial completed."""
    best = best_trials(studies)
    if not best:
        return None
    winner = min(best, key=lambda v: best[v].value)
    if len(studies) == 1:
        return with_variant(override(cfg, best[winner].params.items(), source="best trial"), winner)
    out = copy.deepcopy(cfg)
    for variant, trial in best.items():
        out.variants[variant] = {**out.variants.get(variant, {}), **trial.params}
    model = {"model.name": "transformer", "model.attention": winner} if winner in ATTENTION_PATTERNS else {}
    return override(out, (model or {"model.name": winner}).items(), source="best trial")


def log_best(run, studies: dict[str, Any], best: Config | None) -> None:
    """The best value and values of each variant, the best YAML and every trial, on the parent run."""
    found = best_trials(studies)
    for variant, trial in found.items():
        run.log_metrics({f"best_val_loss.{variant}": trial.value})
        run.set_tags({f"best.{variant}.{k}": v for k, v in {"trial": trial.number, **trial.params}.items()})
    if found:
        winner = min(found, key=lambda v: found[v].value)
        run.log_metrics({"best_val_loss": found[winner].value})
        run.set_tags({"best_variant": winner})
    if best is not None:
        run.log_text(dump_yaml(best), "best.yaml")
    tracking.log_json(run, summary(studies), "tuning.json")


def trial_rows(study) -> list[dict[str, Any]]:
    return [
        {
            "trial": t.number,
            "state": t.state.name,
            "val_loss": t.value,
            "epochs": len(t.intermediate_values),
            "params": t.params,
            **({"invalid": t.user_attrs["invalid"]} if "invalid" in t.user_attrs else {}),
        }
        for t in study.get_trials(deepcopy=False)
    ]


def summary(studies: dict[str, Any]) -> dict[str, Any]:
    """Every variant's study, trials and best, as plain data (the metrics JSON and `tuning.json`)."""
    found = best_trials(studies)
    out: dict[str, Any] = {"variants": {}}
    for variant, study in studies.items():
        trial = found.get(variant)
        out["variants"][variant] = {
            "study": study.study_name,
            "best_trial": trial.number if trial else None,
            "best_val_loss": trial.value if trial else None,
            "best_params": trial.params if trial else None,
            "trials": trial_rows(study),
        }
    if found:
        out["best_variant"] = min(found, key=lambda v: found[v].value)
        out["best_val_loss"] = found[out["best_variant"]].value
    return out


def rich_table(studies: dict[str, Any], title: str):
    """One row per trial; the best of each variant is starred."""
    from rich.table import Table

    found = best_trials(studies)
    table = Table(title=title)
    for head in ("variant", "trial", "state", "val score", "epochs", "values"):
        table.add_column(head, justify="left" if head in ("variant", "state", "values") else "right")
    for variant, study in studies.items():
        best = found.get(variant)
        for row in trial_rows(study):
            star = " *" if best is not None and row["trial"] == best.number else ""
            values = ", ".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in row["params"].items())
            loss = "-" if row["val_loss"] is None else f"{row['val_loss']:.5f}"
            table.add_row(variant, f"{row['trial']}{star}", row["state"].lower(), loss, str(row["epochs"]), values)
    return table


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
