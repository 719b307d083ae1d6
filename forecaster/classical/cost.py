"""What the classical variants cost, and the rule that puts them in a comparison without `--variants`.

A classical variant fits one model per window and target column, and a comparison scores it on
every validation and test window, so it pays (validation + test windows) x target columns fits.
`benchmarks/classical_cost.py` measured statsforecast's seconds per fit on the project's 2-core
machine (one thread; `benchmarks/results/classical_cost.json`) and fitted, per model, a power law
in the context length L and the season m:

    seconds per fit = c (L / 96)^a              non-seasonal (m = 1)
    seconds per fit = c (L / 96)^a (m / 24)^b   seasonal

(`LAWS`; measured and fitted agree within the factor `worst_ratio` of the JSON: 1.1-1.9 for the
non-seasonal laws and ETS's and Theta's seasonal ones, 3.3 for seasonal AutoARIMA, whose fits vary
most). At L = 96, m = 24 that is about 0.08 s for AutoETS, 0.009 s for AutoTheta and seconds for
AutoARIMA; without a season 0.005, 0.005 and 0.2 s.

The rule (`left_out`): a default comparison includes a classical variant when its estimated
fits take at most `BUDGET_S` seconds, about what one small network's fit costs on that machine,
so a classical reference never dominates the comparison's time. A few hundred short series
(M4 Weekly: 359 series, L = 41, m = 1, two windows each) include ets and theta (a few seconds)
and not arima (~70 s); ETTh1's `ett` split (over 5,000 windows x 7 columns) includes none.
Named in `--variants`, a classical variant always runs. The rule reads numbers only (no torch,
no statsforecast), so it is cheap to call before anything is fitted.
"""

from __future__ import annotations

BUDGET_S = 60.0  # estimated seconds of fits a default comparison may spend on one classical variant
LAWS = {  # model -> (c, a) without a season, (c, a, b) with one; from benchmarks/results/classical_cost.json
    "ets": {"nonseasonal": (0.00527, 1.04), "seasonal": (0.0817, 1.08, 0.392)},
    "theta": {"nonseasonal": (0.00451, 1.12), "seasonal": (0.00856, 0.813, 0.549)},
    "arima": {"nonseasonal": (0.21, 0.902), "seasonal": (6.61, 0.762, 1.86)},
}


def seconds_per_fit(model: str, *, context_len: int, season: int) -> float:
    """The estimated seconds of one fit of `model` ("ets", "theta", "arima") on `context_len` steps."""
    if season > 1:
        c, a, b = LAWS[model]["seasonal"]
        return c * (context_len / 96) ** a * (season / 24) ** b
    c, a = LAWS[model]["nonseasonal"]
    return c * (context_len / 96) ** a


def left_out(model: str, *, fits: int, context_len: int, season: int) -> str | None:
    """None when `fits` fits of `model` fit in `BUDGET_S`; else the note that says why the default
    comparison leaves it out (and how to run it anyway)."""
    each = seconds_per_fit(model, context_len=context_len, season=season)
    if fits * each <= BUDGET_S:
        return None
    return (
        f"{model} left out of the default variants: {fits:,} fits ((validation + test windows) x target "
        f"columns) at about {each:.3g} s each (context {context_len}, season {season}) would take about "
        f"{fits * each:,.0f} s, over the {BUDGET_S:.0f} s a classical reference may cost; "
        f"name it in --variants to run it anyway"
    )
