"""Typed config: YAML and dotted overrides fill the dataclasses; unknown keys are named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from forecaster.config import VARIANTS, flatten, load, with_variant
from forecaster.data.windows import prepare
from forecaster.errors import ConfigError
from forecaster.experiment import shape_of
from forecaster.nn.registry import build_model

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_overrides_are_typed():
    cfg = load(None, [("data.context_len", "336"), ("model.attention", "local"), ("trainer.lr", "1e-3"),
                      ("model.revin", "false"), ("data.targets", "OT,HUFL"), ("seed", "7"), ("data.borders", "null")])
    assert cfg.data.context_len == 336 and cfg.model.attention == "local" and cfg.trainer.lr == 1e-3
    assert cfg.model.revin is False and cfg.data.targets == ["OT", "HUFL"] and cfg.seed == 7
    assert flatten(cfg)["data.context_len"] == 336


@pytest.mark.parametrize("key, value, phrase", [
    ("data.contxt_len", "3", "unknown key 'data.contxt_len'; valid keys in 'data': path"),
    ("modle.window", "3", "unknown key 'modle.window'; valid top-level keys"),
    ("data.context_len", "abc", "'data.context_len' must be int"),
    ("model.revin", "maybe", "must be true or false"),
])
def test_bad_overrides_name_the_key(key, value, phrase):
    with pytest.raises(ConfigError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        load(None, [(key, value)])


def test_unknown_yaml_key_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  horizon: 4\n  windw: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'data.windw'"):
        load(path)


def test_variant_overrides_apply_to_that_variant_only(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text("model:\n  window: 4\nvariants:\n  local:\n    model.window: 16\n")
    cfg = load(path)
    assert with_variant(cfg, "local").model.window == 16 and with_variant(cfg, "hybrid").model.window == 4
    assert with_variant(cfg, "lstm").model.name == "lstm" and cfg.name == "v"
    path.write_text("variants:\n  locl:\n    model.window: 16\n")
    with pytest.raises(ConfigError, match="unknown variant 'locl'"):
        load(path)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_loads_and_builds_every_variant(path: Path):
    cfg = load(path)
    cfg.data.path = str(ROOT / cfg.data.path)
    data = prepare(cfg.data)
    for variant in VARIANTS:
        network = build_model(with_variant(cfg, variant).model, shape_of(data))
        x, _ = data.dataset("train")[0]
        assert network(x[None]).shape == (1, cfg.data.horizon, data.schema.n_targets)
