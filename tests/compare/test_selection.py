"""The choice on validation: the validation winner and the ensemble's members, never the test rank."""

from __future__ import annotations

from forecaster.compare.selection import Fit, by_validation, members, winner
from forecaster.compare.table import Row


def _fit(variant: str, seed: int, val_mse: float | None, key: str = "d", network=True) -> Fit:
    return Fit(None, key, None, object() if network else None, Row(variant, seed, None, val_mse=val_mse))


def test_the_validation_winner_is_the_lowest_mean_validation_mse_never_the_test_rank():
    summary = [
        {"variant": "a", "mse": 0.1, "val_mse": 0.5},
        {"variant": "b", "mse": 0.2, "val_mse": 0.3},
        {"variant": "c", "mse": 0.3, "val_mse": 0.3},
        {"variant": "d", "mse": 0.4, "val_mse": None},
    ]
    assert winner(summary, ["c", "b", "a", "d"])["variant"] == "c"  # a tie keeps the order given
    assert winner(summary, ["a", "b", "c", "d"])["variant"] == "b"
    assert winner([{"variant": "a", "mse": 0.1, "val_mse": None}], ["a"]) is None


def test_ensemble_members_are_the_k_best_on_validation_that_read_the_same_windows():
    fits = [
        _fit("a", 1, 0.5),
        _fit("a", 2, 0.7),  # mean 0.6
        _fit("b", 1, 0.2, key="other"),
        _fit("b", 2, 0.2, key="other"),  # best: its data settings define the windows
        _fit("c", 1, 0.3, key="other"),
        _fit("c", 2, 0.3, key="other"),
        _fit("d", 1, 0.4),
        _fit("d", 2, 0.4),
    ]
    assert [v for v, _ in by_validation(fits)] == ["b", "c", "d", "a"]
    chosen, notes = members(fits, 2)
    assert chosen == ["b", "c"] and notes == []
    chosen, notes = members(fits, 3)
    assert chosen == ["b", "c"] and len(notes) == 2 and "left out 'd'" in notes[0]
    resumed = [_fit("a", 1, 0.1, network=False), _fit("b", 1, 0.2), _fit("c", 1, 0.3)]
    chosen, notes = members(resumed, 2)
    assert chosen == ["b", "c"] and "'a': finished before the resume" in notes[0]
    assert members(fits, 1) == ([], []) and members(fits, 0) == ([], [])
