"""How the ensemble combines its members, chosen on validation: the median or a greedy weighted mean.

Each member's forecasts of the validation windows are computed once (`validation_forecasts`); every
choice after that is arithmetic on those arrays, scored by one callable, `score(predictions) ->
float` (lower is better), that `yardstick` builds: the only place that says what "better on
validation" means for the ensemble (`selection.metric`, as the variants' validation score).

Two rules are measured per comparison, each on the validation windows only:

- `median`: per window, step and target, the median of the members' forecasts (no parameter to fit);
- `weighted`: Caruana et al.'s ensemble selection with replacement (ICML 2004), as AutoGluon's
  `WeightedEnsemble` runs it: start from an empty ensemble and, for `ROUNDS` rounds, add the member
  (one already in it included) whose addition gives the running average the lowest score; the
  weights are the counts over the rounds of the best-scoring round (so a round that helps nothing
  is not kept: with the best member first, the weighted ensemble is never worse than it on validation).

The rule with the lower mean validation score over seeds is used (a tie keeps the median: it has
nothing fitted to validation); seed j's weights are chosen on seed j's networks. Both scores are
kept with the choice (`Combination`), for the comparison's rows and `--metrics-out`; the ensemble
row's `val_score` is then its network's, computed as every variant's (`selection.validation_mse`), so
a weighted ensemble with every weight on one member ties with that member exactly. The weighted
score is in-sample for its weights, so it is optimistic against the median's by a little, as in
AutoGluon; with the many windows of a validation split the weights are few numbers fitted to many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import nn

from forecaster.config import Config
from forecaster.data.windows import PreparedData
from forecaster.scores.intervals import window_forecasts

ROUNDS = 25  # weights in steps of 1/25: enough for a few members (AutoGluon time-series runs 100)
MEDIAN, WEIGHTED = "median", "weighted"
TIE = 1e-9  # relative differences of scores below this are rounding (two members' median is their mean): a tie

Score = Callable[[np.ndarray], float]


@dataclass
class ValidationForecasts:
    """Every member's forecasts of the validation windows, scaled units: `members[i]` (N, H, K), in
    the members' order (the targets and scales are the yardstick's: `yardstick`)."""

    members: list[np.ndarray]


def validation_forecasts(networks: list[nn.Module], data: PreparedData, *, batch_size: int) -> ValidationForecasts:
    """Run each network once over `data`'s validation windows (never a test row)."""
    dataset = data.dataset("val")
    runs = [window_forecasts(n, dataset, data.offsets, batch_size=batch_size) for n in networks]
    return ValidationForecasts([r.point for r in runs])


def yardstick(cfg: Config, data: PreparedData) -> Score:
    """The score of forecasts of `data`'s validation windows (N, H, K), lower is better: `selection.metric`,
    as `forecaster.scores.metrics.yardstick` computes it for every variant's `val_score`, so the ensemble
    is scored as the variants are. Change the yardstick of the ensemble's choices here and nowhere else."""
    from forecaster.scores.metrics import scorer, selection_metric

    measure = scorer(selection_metric(cfg.selection.metric, data), data, "val")

    def score(predictions: np.ndarray) -> float:
        value = measure(predictions)
        return value if np.isfinite(value) else float("inf")  # a member that overflows is never chosen

    return score


def greedy_weights(forecasts: list[np.ndarray], score: Score, *, rounds: int = ROUNDS) -> tuple[np.ndarray, float]:
    """Caruana's ensemble selection with replacement over `forecasts` (each (N, H, K)).

    Returns:
        the weights (M,), non-negative and summing to 1 (counts of the best round over its number),
        and that round's score. Ties between members go to the one listed first.
    """
    counts, total = np.zeros(len(forecasts)), np.zeros_like(forecasts[0], dtype=np.float64)
    best_score, best_counts = float("inf"), None
    for n in range(1, rounds + 1):
        trial = [score((total + f) / n) for f in forecasts]  # the running average with each member added
        i = int(np.argmin(trial))
        counts[i] += 1
        total += forecasts[i]
        if trial[i] < best_score or best_counts is None:
            best_score, best_counts = trial[i], counts.copy()
    weights = best_counts / best_counts.sum()
    return weights, score(combine(forecasts, weights))  # exactly a member's score when it has every weight


def combine(forecasts: list[np.ndarray], weights: np.ndarray | None) -> np.ndarray:
    """The members' median (`weights` None) or weighted mean: M x (N, H, K) -> (N, H, K)."""
    stack = np.stack(forecasts)  # (M, N, H, K)
    return np.median(stack, axis=0) if weights is None else np.tensordot(weights, stack, axes=1)


@dataclass
class Combination:
    """One seed's ensemble: the rule used, the greedy's weights per member (used by `weighted`), and
    both rules' validation scores."""

    rule: str
    weights: dict[str, float]
    val_median: float
    val_weighted: float

    def network_weights(self) -> list[float] | None:
        """What `forecaster.serve.ensemble` takes: the weights in the members' order, None for the median."""
        return list(self.weights.values()) if self.rule == WEIGHTED else None

    def to_json(self) -> dict:
        """The record of the ensemble's rows (`forecaster.compare.table.Row.ensemble`)."""
        return {
            "rule": self.rule,
            "weights": self.weights,
            "val_median": self.val_median,
            "val_weighted": self.val_weighted,
        }

    @classmethod
    def from_json(cls, raw: dict) -> Combination:
        return cls(raw["rule"], dict(raw["weights"]), raw["val_median"], raw["val_weighted"])


def choose(names: list[str], seeds: list[tuple[ValidationForecasts, Score]]) -> list[Combination]:
    """Each seed's combination of the members `names`: both rules measured on that seed's
    validation forecasts, the rule with the lower mean score over seeds used for every seed."""
    measured = []
    for forecasts, score in seeds:
        weights, weighted = greedy_weights(forecasts.members, score)
        median = score(combine(forecasts.members, None))
        measured.append((dict(zip(names, map(float, weights))), median, weighted))
    median, weighted = (float(np.mean([m[k] for m in measured])) for k in (1, 2))
    rule = WEIGHTED if weighted < median - TIE * abs(median) else MEDIAN
    return [Combination(rule, weights, median, weighted) for weights, median, weighted in measured]
