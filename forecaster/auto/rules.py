"""Settings from the data: what `--auto` fills in when a user gives only a CSV (and maybe a horizon).

`derive` is a pure function of the data's shape (frequency, series lengths) and returns one
`Derived` (dotted config key, value, one-line reason) per setting it chooses. A key the user set
(`explicit`) is never derived: explicit settings always win, and their values (`given`) feed
the rules below instead. The rules, in the order they are applied:

1. `data.horizon`: M4's horizon for the frequency (hourly 48, daily 14, weekly 13, monthly 18,
   quarterly 8, yearly 6). A step M4 does not have keeps the time span of M4's horizon for
   steps of its size (under a day: hourly's 48 hours; under a week: daily's 14 days; else
   weekly's 13 weeks), at most 512 steps: 15-minute data get 192 steps, 2-hourly 24.
2. The frequency's natural season and span (not M4's MASE period, which is 1 for weekly and
   daily data): under a day, a day of steps (hourly 24) and a week of steps as the span (at most
   1,024; when three days exceed that, an hour of steps and a day: 1-minute data get 60); daily
   a week (7; business days 5) and eight weeks; weekly a year (52) and one year; monthly 12
   and three years; quarterly 4 and four years; yearly or any other step, no season and no span.
3. Target context: the natural span, but at least twice the horizon (N-BEATS looked back 2 to 7
   horizons on M4), rounded up to whole seasons, at most 1,024 steps.
4. `data.split`: `ratio` (70/10/20 % of each series, many test windows) when every series holds
   it with the target context; otherwise `last` (M4's protocol: per series, the test targets are
   the last horizon, the validation targets the horizon before), which needs the fewest rows.
5. `data.context_len`: the target context, capped so that every series still yields at least
   one window in every split (so no series is lost). If that cap falls below the horizon, the
   shortest tenth of the series is given up instead: the context is capped by the series at the
   10th percentile of length and `data.drop_short` is set, so shorter series are skipped (with a
   note per series) rather than forcing a uselessly short context on all the others.
6. `data.val_windows` (the `last` split): validation origins a horizon apart, as many horizons as
   fit in a quarter of the median series, between 1 and 5. With one origin every series is judged
   on the same few steps of the calendar before the test (a holiday week decides the winner);
   more origins steady the choice, but each takes a horizon of training rows from the selection
   fits (the deployed model is refitted on every row), and beyond about 5 the gain flattens.
   Shorter series keep the origins that leave them a training window (`forecaster.data.split`).
7. `data.season_period` (seasonal naive, naive2): the natural season when it fits the context,
   else 1 (no season).
8. `model.patch_len` / `model.stride`: about 42 tokens, PatchTST's proportion (336 steps, stride
   8), patches twice the stride (half overlap): stride = context // 42. Below 84 steps the
   stride would be 1: then one token per step (1 / 1), at most 83 tokens, cheap for attention.
9. `model.window` (local attention, in tokens, itself included): one season back,
   ceil(season / stride) + 1 tokens, at least 2 and at most the number of tokens; without a
   season, a quarter of the tokens.
10. `data.batch_size`: the largest power of two at most 1 % of the training windows (about 100
   steps an epoch), between 32 and 256 (never above the number of windows).
11. `trainer.max_epochs`: enough epochs for about 1,000 optimiser steps, between 3 and 50. The
    default one-cycle schedule spends its first 30 % warming the learning rate up; with many more
    epochs, early stopping (patience 3) ends a fit in that warm-up, before the annealing that
    gives its best weights (seen on ETTh1's validation loss: best at epoch 4 of 23, then worse).
12. `model.d_model`, `model.n_heads`, `model.d_ff`, `model.dropout`: below 100,000 training
    sequences (windows x target columns), PatchTST's setting for its small datasets (width 16,
    4 heads, feed-forward 128, dropout 0.3: a big flatten head overfits a few thousand windows);
    otherwise the defaults (64, 4, 128, 0.1).
13. `model.linear_skip`: on, a linear map from the window to the forecast beside the stack.
14. `trainer.loss_scale`: `naive` when more than one series is trained on: each window's errors
    are divided by its inputs' mean one-step change (MASE's scale), in the loss and in the
    validation loss every choice is made on, so the largest series do not decide alone.
15. `trainer.loss`: `mae` for the attention stacks and the LSTM (the linear model's loss is chosen
    on validation by the probe, `forecaster.auto.apply`). The absolute error is robust to the
    outliers and level shifts of real series, and a network with thousands of weights fitted to
    squared errors chases them (the validation figures behind this: benchmarks/README.md).

Imports neither torch nor Lightning: `data inspect` can show the derived values cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

import pandas as pd

from forecaster.config import DataConfig, ModelConfig
from forecaster.data.split import rows_needed, window_counts
from forecaster.scores.m4 import m4_frequency

MAX_CONTEXT = 1024
MAX_HORIZON = 512
TOKENS = 42  # PatchTST: 336 steps in patches of 16 with stride 8 -> 41 tokens
TARGET_STEPS = 1000
DROP_QUANTILE = 0.1
# keys whose explicit values other rules read (through `given`)
INPUTS = (
    "data.horizon",
    "data.split",
    "data.ratios",
    "data.borders",
    "data.test_windows",
    "data.val_windows",
    "data.val_step",
    "data.context_len",
    "data.season_period",
    "model.patch_len",
    "model.stride",
    "data.batch_size",
)


class Derived(NamedTuple):
    """One derived setting: dotted config key, value, and the one-line reason."""

    key: str
    value: Any
    reason: str


class Calendar(NamedTuple):
    """What a frequency means for windows: natural season, natural span, and M4's horizon."""

    season: int
    span: int
    horizon: int | None
    describe: str


def calendar(freq: str) -> Calendar:
    """Rules 1 and 2 for a pandas frequency string."""
    m4 = m4_frequency(freq)
    named = {
        "weekly": Calendar(52, 52, 13, "weekly: a year of 52 weeks"),
        "monthly": Calendar(12, 36, 18, "monthly: a year of 12 months, three years"),
        "quarterly": Calendar(4, 16, 8, "quarterly: a year of 4 quarters, four years"),
        "yearly": Calendar(1, 1, 6, "yearly: no season"),
    }
    if m4 is not None and m4.name in named:
        return named[m4.name]
    if freq.strip().split("-")[0] in ("B", "C"):
        return Calendar(5, 40, 14, "business daily: a week of 5 days, eight weeks")
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        return Calendar(1, 1, None, f"'{freq}': no season known")
    start = offset.rollforward(pd.Timestamp("2001-01-01"))  # calendar steps (2W-SUN, 2MS) vary: take one
    step = (start + offset) - start
    day = pd.Timedelta(days=1)
    horizon = m4.horizon if m4 else _same_span(step)
    name = m4.name if m4 else freq
    # under a day: the day as season (or, when three days do not fit a context, the hour), the week as span
    for cycle, what, span in ((day, "a day", 7), (pd.Timedelta(hours=1), "an hour", 24)):
        per = cycle / step
        if step < cycle and per.is_integer() and 3 * per <= MAX_CONTEXT:
            spans = f"{what} of {int(per)} steps, {'a week' if span == 7 else 'a day'}"
            return Calendar(int(per), min(span * int(per), MAX_CONTEXT), horizon, f"{name}: {spans}")
    if step == day:
        return Calendar(7, 56, horizon, "daily: a week of 7 days, eight weeks")
    return Calendar(1, 1, horizon, f"{name}: no season")


def _same_span(step: pd.Timedelta) -> int:
    """The time span of M4's horizon for steps of this size (hourly 48 h, daily 14 d, weekly 13 w), in steps."""
    if step < pd.Timedelta(days=1):
        span = pd.Timedelta(hours=48)
    elif step < pd.Timedelta(weeks=1):
        span = pd.Timedelta(days=14)
    else:
        span = pd.Timedelta(weeks=13)
    return int(min(max(round(span / step), 1), MAX_HORIZON))


def derive(
    *,
    freq: str,
    lengths: list[int],
    n_series: int,
    horizon: int | None,
    n_columns: int = 1,
    explicit: set[str],
    given: Mapping[str, Any] | None = None,
) -> list[Derived]:
    """The settings `--auto` derives for data of frequency `freq` and series of `lengths` rows.

    Args:
        freq: the pandas frequency of the series (the Schema's `freq`).
        lengths: rows of each series.
        n_series: how many series the file holds (for the reasons).
        n_columns: target columns of each series (each is a training sequence: channel independence).
        horizon: the forecast horizon, or None to take M4's for the frequency.
        explicit: dotted keys the user set; none of them is derived.
        given: values of the explicit keys that other rules read (`INPUTS`).

    Raises:
        ValueError: an explicit input without its value in `given`, no horizon for an unknown
            frequency, or series too short for any window.
    """
    given = dict(given or {})
    missing = [k for k in INPUTS if k in explicit and k not in given and (k != "data.horizon" or horizon is None)]
    if missing:
        raise ValueError(f"explicit settings need their values in `given`: {', '.join(missing)}")
    cal = calendar(freq)
    out: list[Derived] = []

    def choose(key: str, rule, *args) -> Any:
        """The user's value for an explicit key, else the rule's (recorded with its reason)."""
        if key in explicit:
            return given.get(key)  # the rules that read a value read only INPUTS, checked above
        value, reason = rule(*args)
        out.append(Derived(key, value, reason))
        return value

    if horizon is None:
        horizon = choose("data.horizon", _horizon_rule, cal, freq)
    target = min(max(cal.span, cal.season * math.ceil(2 * horizon / cal.season)), MAX_CONTEXT)
    data = _data_config(horizon, given)
    data = replace(data, split=choose("data.split", _split_rule, data, lengths, target))
    data = replace(data, context_len=choose("data.context_len", _context_rule, data, lengths, target, cal))
    if data.split == "last":
        data = replace(data, val_windows=choose("data.val_windows", _val_windows_rule, lengths, horizon))
    kept = [n for n in lengths if min(window_counts(n, data)) >= 1]
    if not kept:
        raise ValueError(f"no series has rows for context {data.context_len} + horizon {horizon} ({data.split} split)")
    if len(kept) < len(lengths):
        short = f"{len(lengths) - len(kept)} of {n_series} series have too few rows for a window in every split"
        choose("data.drop_short", lambda: (True, f"{short}: they are skipped, each with a note"))
    season = choose("data.season_period", _season_rule, cal, data.context_len)
    patch_len, stride = _patches(choose, data.context_len, given, explicit)
    choose("model.window", _window_rule, data.context_len, patch_len, stride, season)
    _training(choose, data, kept, n_columns)
    return out


def _training(choose, data: DataConfig, kept: list[int], n_columns: int) -> None:
    """Rules 10-15: batch and epochs from the training windows, the width, the loss and its scale."""
    n_train = sum(window_counts(n, data)[0] for n in kept)
    batch = choose("data.batch_size", _batch_rule, n_train)
    choose("trainer.max_epochs", _epochs_rule, n_train, batch)
    _capacity(choose, n_train * n_columns)
    if len(kept) > 1:
        choose("trainer.loss_scale", lambda: ("naive", _SCALE_REASON.format(n=len(kept))))
    choose("trainer.loss", lambda: ("mae", _LOSS_REASON))


_LOSS_REASON = (
    "the attention stacks and the LSTM fit the absolute error (robust to outliers and level shifts); "
    "the linear model's loss is chosen on validation"
)


_SCALE_REASON = (
    "{n} series: each window's errors over its own mean one-step change (MASE's scale), so series of "
    "large levels do not dominate the loss and the choice"
)


SMALL_DATA = 100_000  # training sequences (windows x columns) below which PatchTST's small setting is used
SMALL = {"model.d_model": 16, "model.n_heads": 4, "model.d_ff": 128, "model.dropout": 0.3}


def _capacity(choose, sequences: int) -> None:
    """Rules 12-13: the transformer's width from the amount of training data, and a linear path."""
    if sequences < SMALL_DATA:
        why = f"{sequences:,} training sequences (< {SMALL_DATA:,}): PatchTST's setting for small data (ETTh, ILI)"
    else:
        why = f"{sequences:,} training sequences: the default width"
    for key, small in SMALL.items():
        default = getattr(ModelConfig(), key.split(".")[1])
        choose(key, lambda small=small, default=default: (small if sequences < SMALL_DATA else default, why))
    reason = "a linear map from the window to the forecast beside the attention stack: never worse to start than linear"
    choose("model.linear_skip", lambda: (True, reason))


def _horizon_rule(cal: Calendar, freq: str) -> tuple[int, str]:
    if cal.horizon is None:
        raise ValueError(f"no horizon is known for frequency '{freq}'; give data.horizon")
    if m4_frequency(freq):
        return cal.horizon, f"M4's horizon for {m4_frequency(freq).name} data"
    return cal.horizon, f"the time span of M4's horizon for steps of this size, in '{freq}' steps"


def _data_config(horizon: int, given: Mapping[str, Any]) -> DataConfig:
    """The data settings the window arithmetic needs: the given ones over the defaults."""
    known = set(DataConfig.__dataclass_fields__) - {"horizon"}
    values = {k.split(".", 1)[1]: v for k, v in given.items() if k.startswith("data.")}
    return DataConfig(**{k: v for k, v in values.items() if k in known}, horizon=horizon)


def _max_context(lengths: list[int], data: DataConfig, upper: int) -> int:
    """The largest context in [0, upper] with a window in every split of every series (0: none)."""
    distinct = sorted(set(lengths))

    def fits(context: int) -> bool:
        cfg = replace(data, context_len=context)
        return all(min(window_counts(n, cfg)) >= 1 for n in distinct)

    lo, hi = 0, upper  # a longer context only ever loses windows: bisect
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def _split_rule(data: DataConfig, lengths: list[int], target: int) -> tuple[str, str]:
    shortest, shares = min(lengths), "/".join(f"{100 * r:g}" for r in data.ratios) + " %"
    if _max_context(lengths, replace(data, split="ratio"), target) >= target:
        return "ratio", f"every series (the shortest has {shortest} rows) holds a {shares} split with the full context"
    return "last", (
        f"the shortest series ({shortest} rows) is too short for a {shares} split: per series, test = the last "
        f"{data.horizon} steps, validation the horizons before it (M4's protocol, rolling origins)"
    )


MAX_VAL_WINDOWS = 5


def _val_windows_rule(lengths: list[int], horizon: int) -> tuple[int, str]:
    """Rule 6: validation origins a horizon apart, as many as fit in a quarter of the median series, 1 to 5."""
    median = sorted(lengths)[len(lengths) // 2]
    n = max(1, min(MAX_VAL_WINDOWS, median // (4 * horizon)))
    return n, (
        f"{n} origins a horizon apart per series (a quarter of the median series, {median} rows, at most "
        f"{MAX_VAL_WINDOWS}): one origin makes every series' validation the same few weeks of the calendar; more "
        "origins steady the choice, each costing the selection fits a horizon of training rows (the deployed "
        "model is refitted on every row); shorter series keep what fits"
    )


def _context_rule(data: DataConfig, lengths: list[int], target: int, cal: Calendar) -> tuple[int, str]:
    cap = _max_context(lengths, data, target)
    if cap >= target:
        return target, f"the natural span ({cal.describe}), at least two horizons, whole seasons"
    if cap >= min(data.horizon, target):
        return cap, f"target {target}, capped so the shortest series ({min(lengths)} rows) has a window in every split"
    floor = sorted(lengths)[int(DROP_QUANTILE * len(lengths))]  # give up the shortest tenth, not the context
    cap = _max_context([n for n in lengths if n >= floor], data, target)
    if cap < 1:
        need = rows_needed(replace(data, context_len=1))
        raise ValueError(
            f"series are too short: horizon {data.horizon} with the '{data.split}' split needs at least {need} rows "
            f"in a series, {floor} at the 10th percentile; give a shorter data.horizon"
        )
    if floor == min(lengths):  # a tenth or more of the series are the shortest: keep them all
        return cap, f"target {target}, capped so the shortest series ({floor} rows) has a window in every split"
    return cap, f"target {target}, capped by the series at the 10th percentile of length ({floor} rows)"


def _season_rule(cal: Calendar, context: int) -> tuple[int, str]:
    if cal.season <= context:
        return cal.season, f"the natural season ({cal.describe})" if cal.season > 1 else "no natural season"
    return 1, f"the natural season ({cal.season}) is longer than the context ({context})"


def _patches(choose, context: int, given: Mapping[str, Any], explicit: set[str]) -> tuple[int, int]:
    """Rule 8; when one of patch_len / stride is given, the other follows from it."""
    if "model.patch_len" in explicit and "model.stride" not in explicit:
        patch_len = given["model.patch_len"]
        return patch_len, choose("model.stride", lambda: (max(patch_len // 2, 1), "half the given patch length"))
    if "model.stride" in explicit and "model.patch_len" not in explicit:
        stride = given["model.stride"]
        return choose("model.patch_len", lambda: (min(2 * stride, context), "twice the given stride")), stride
    stride = context // TOKENS
    if stride < 2:
        reason = f"a context of {context} < {2 * TOKENS} steps is short enough for one token per step"
        return choose("model.patch_len", lambda: (1, reason)), choose("model.stride", lambda: (1, reason))
    reason = f"about {TOKENS} half-overlapping patches over {context} steps (PatchTST: 16 / 8 over 336)"
    return choose("model.patch_len", lambda: (2 * stride, reason)), choose("model.stride", lambda: (stride, reason))


def n_tokens(context: int, patch_len: int, stride: int) -> int:
    """Tokens of a window (forecaster.nn.common's patcher pads `stride` steps when patching)."""
    pad = stride if patch_len > 1 else 0
    return (context + pad - patch_len) // stride + 1


def _window_rule(context: int, patch_len: int, stride: int, season: int) -> tuple[int, str]:
    tokens = n_tokens(context, patch_len, stride)
    if season > 1:
        wanted, why = math.ceil(season / stride) + 1, f"one season ({season} steps) back"
    else:
        wanted, why = math.ceil(tokens / 4), "no season: a quarter of the tokens"
    return max(2, min(wanted, tokens)), f"{why}, of {tokens} tokens"


def _batch_rule(n_train: int) -> tuple[int, str]:
    batch = 2 ** int(math.log2(max(n_train // 100, 1)))
    batch = max(32, min(batch, 256))
    batch = min(batch, 2 ** int(math.log2(max(n_train, 1))))
    return batch, f"about 100 steps an epoch over {n_train:,} training windows (32 to 256)"


def _epochs_rule(n_train: int, batch: int) -> tuple[int, str]:
    steps = max(math.ceil(n_train / batch), 1)
    epochs = max(3, min(math.ceil(TARGET_STEPS / steps), 50))
    return epochs, f"about {TARGET_STEPS:,} steps at {steps:,} an epoch (3 to 50; early stopping may end sooner)"


def describe(derived: list[Derived]) -> str:
    """One line per derived setting: `auto: data.context_len = 41  (reason)`."""
    width = max((len(f"{d.key} = {d.value}") for d in derived), default=0)
    return "\n".join(f"auto: {f'{d.key} = {d.value}':<{width}}  ({d.reason})" for d in derived)


def as_records(derived: list[Derived] | None) -> list[dict[str, Any]]:
    """The derived settings as JSON-ready records (logged to MLflow as `auto.json`; none without `--auto`)."""
    return [d._asdict() for d in derived or []]
