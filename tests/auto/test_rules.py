"""Settings from the data: ETTh1-like, M4-Weekly-like and demo-long shapes, explicit settings win."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from forecaster.auto.rules import calendar, derive, n_tokens
from forecaster.config import DataConfig
from forecaster.data.split import window_counts

M4_WEEKLY = [80, 2597, *np.random.default_rng(0).integers(80, 2598, 357).tolist()]  # 359 series
DEMO_LONG = [700, 900, 1000, 1200, 1500]


def values(derived) -> dict:
    assert all(d.reason and "\n" not in d.reason for d in derived)  # one line each
    return {d.key: d.value for d in derived}


def data_config(v: dict, horizon: int) -> DataConfig:
    return DataConfig(split=v["data.split"], context_len=v["data.context_len"], horizon=v.get("data.horizon", horizon))


def test_one_long_hourly_series_like_etth1():
    v = values(derive(freq="h", lengths=[17420], n_series=1, horizon=96, explicit=set()))
    assert "data.horizon" not in v  # given
    assert v["data.split"] == "ratio"  # one long series: many test windows
    assert v["data.context_len"] == 192  # a week (168) is less than two horizons: 8 whole days
    assert (v["model.patch_len"], v["model.stride"]) == (8, 4)  # 192 // 42 = 4
    assert v["data.season_period"] == 24 and v["model.window"] == 7  # a day back: 24 / 4 + 1 tokens
    assert v["data.batch_size"] == 64 and 3 <= v["trainer.max_epochs"] <= 50
    assert "data.drop_short" not in v
    assert v["trainer.loss"] == "mae"  # the deep stacks; the probe chooses the linear model's


def test_a_variants_derived_setting_goes_under_its_entry_where_the_config_does_not_set_it():
    from forecaster.auto.apply import with_derived
    from forecaster.auto.rules import Derived
    from forecaster.config import load, with_variant

    derived = [Derived("trainer.loss", "mae", "deep"), Derived("variants.linear.trainer.loss", "mse", "probe")]
    cfg = with_derived(load(None, [("variants", {"lstm": {"trainer.loss": "huber"}})]), derived)
    assert with_variant(cfg, "linear").trainer.loss == "mse" and with_variant(cfg, "causal").trainer.loss == "mae"
    assert with_variant(cfg, "lstm").trainer.loss == "huber"  # the config's own entry wins
    own = with_derived(load(None, [("variants", {"linear": {"trainer.loss": "mae"}})]), derived)
    assert with_variant(own, "linear").trainer.loss == "mae"


def test_without_a_horizon_the_m4_horizon_of_the_frequency():
    v = values(derive(freq="h", lengths=[17420], n_series=1, horizon=None, explicit=set()))
    assert v["data.horizon"] == 48 and v["data.context_len"] == 168  # a week of hours


def test_many_short_weekly_series_like_m4_weekly():
    v = values(derive(freq="W-SUN", lengths=M4_WEEKLY, n_series=359, horizon=None, explicit=set()))
    assert v["data.horizon"] == 13 and v["data.split"] == "last"
    assert v["data.context_len"] == 80 - 3 * 13  # the shortest series keeps one training window
    assert v["data.season_period"] == 1  # a year of weeks does not fit the context
    assert (v["model.patch_len"], v["model.stride"]) == (1, 1)  # 41 steps: one token each
    assert v["data.batch_size"] == 256 and v["trainer.max_epochs"] == 3  # 300k+ training windows
    cfg = data_config(v, 13)
    assert all(min(window_counts(n, cfg)) >= 1 for n in M4_WEEKLY)  # no series is lost
    assert "data.drop_short" not in v


def test_a_few_hourly_series_like_the_demo_long_file():
    v = values(derive(freq="h", lengths=DEMO_LONG, n_series=5, horizon=None, explicit=set()))
    assert v["data.split"] == "ratio" and v["data.context_len"] == 168 and v["data.horizon"] == 48
    assert (v["model.patch_len"], v["model.stride"], v["data.batch_size"]) == (8, 4, 32)


def test_explicit_settings_are_never_derived_and_feed_the_other_rules():
    derived = derive(
        freq="h",
        lengths=[17420],
        n_series=1,
        horizon=96,
        explicit={"data.context_len", "data.split", "model.patch_len", "model.d_model"},
        given={"data.context_len": 336, "data.split": "ett", "model.patch_len": 16},
    )
    v = values(derived)
    assert not {"data.context_len", "data.split", "model.patch_len"} & set(v)
    assert v["model.stride"] == 8  # half the given patch
    assert v["model.window"] == 4  # a day back over stride 8: 24 / 8 + 1
    assert v["data.batch_size"] == 64  # from the ett split's 8,209 training windows


def test_an_explicit_input_without_its_value_is_an_error():
    with pytest.raises(ValueError, match=r"data\.context_len"):
        derive(freq="h", lengths=[1000], n_series=1, horizon=24, explicit={"data.context_len"})


def test_a_tenth_of_very_short_series_is_skipped_rather_than_starving_the_rest():
    lengths = [30] * 2 + [500] * 18  # two series too short for a window of any useful size
    v = values(derive(freq="D", lengths=lengths, n_series=20, horizon=None, explicit=set()))
    assert v["data.split"] == "last" and v["data.drop_short"] is True
    assert v["data.context_len"] == 56  # daily: eight weeks, untouched by the two short series
    assert not values(derive(freq="D", lengths=[500] * 5, n_series=5, horizon=None, explicit=set())).get(
        "data.drop_short"
    )


def test_frequencies_without_an_m4_horizon():
    assert calendar("15min").horizon == 192 and calendar("15min").season == 96  # two days; a day
    assert calendar("2h").horizon == 24 and calendar("2h").season == 12
    assert calendar("B").season == 5 and calendar("MS").season == 12 and calendar("QS-OCT").horizon == 8
    assert calendar("min").season == 60  # three days of minutes exceed any context: the hour
    assert calendar("2W-SUN").horizon == 6 and calendar("3D").horizon == 5  # 13 weeks; 14 days (rounded)
    with pytest.raises(ValueError, match=r"give data\.horizon"):
        derive(freq="weird", lengths=[100], n_series=1, horizon=None, explicit=set())


@settings(max_examples=40, deadline=None)
@given(
    freq=st.sampled_from(["h", "D", "W-SUN", "MS", "QS-DEC", "YS-JAN", "15min", "B"]),
    lengths=st.lists(st.integers(60, 3000), min_size=1, max_size=30),
)
def test_derived_settings_always_make_windows_in_every_split(freq, lengths):
    horizon = calendar(freq).horizon
    if sorted(lengths)[len(lengths) // 10] < 3 * horizon + 1:  # the `last` split with a context of 1
        with pytest.raises(ValueError, match="too short"):
            derive(freq=freq, lengths=lengths, n_series=len(lengths), horizon=None, explicit=set())
        return
    v = values(derive(freq=freq, lengths=lengths, n_series=len(lengths), horizon=None, explicit=set()))
    cfg = data_config(v, v["data.horizon"])
    kept = [n for n in lengths if min(window_counts(n, cfg)) >= 1]
    assert kept and (len(kept) == len(lengths) or v["data.drop_short"])
    assert 1 <= v["model.patch_len"] <= cfg.context_len and 1 <= v["model.stride"] <= v["model.patch_len"]
    assert 2 <= v["model.window"] <= max(n_tokens(cfg.context_len, v["model.patch_len"], v["model.stride"]), 2)
    assert v["data.season_period"] <= cfg.context_len
    assert derive(freq=freq, lengths=lengths, n_series=len(lengths), horizon=None, explicit=set()) == list(
        derive(freq=freq, lengths=lengths, n_series=len(lengths), horizon=None, explicit=set())
    )  # pure


def test_importing_auto_imports_neither_torch_nor_lightning():
    code = "import sys, forecaster.auto.rules; print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_validation_origins_follow_the_median_series_length():
    def val_windows(lengths, **kw):
        derived = derive(freq="W-SUN", lengths=lengths, n_series=len(lengths), horizon=None, **kw)
        return {d.key: d.value for d in derived}.get("data.val_windows")

    assert val_windows([80] * 10 + [900] * 20, explicit=set()) == 5  # a quarter of 900 rows holds 17 horizons: 5
    assert val_windows([80] * 30, explicit=set()) == 1  # 80 // 52
    assert val_windows([80] * 10 + [200] * 20, explicit=set()) == 3  # 200 // 52
    assert val_windows([80] * 30, explicit={"data.val_windows"}, given={"data.val_windows": 4}) is None  # given wins
