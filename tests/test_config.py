"""Typed config: YAML and dotted overrides fill the dataclasses; unknown keys are named errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

import forecaster.config
from forecaster.compare.comparison import parse_variants
from forecaster.config import (
    SECTIONS,
    VARIANTS,
    YAML_ONLY,
    Config,
    TrainerConfig,
    dump_yaml,
    field_docs,
    flatten,
    from_dict,
    load,
    with_variant,
)
from forecaster.data.windows import prepare
from forecaster.errors import ConfigError
from forecaster.models import build_network

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def test_overrides_are_typed():
    cfg = load(
        None,
        [
            ("data.context_len", "336"),
            ("model.attention", "local"),
            ("trainer.lr", "1e-3"),
            ("model.revin", "false"),
            ("data.targets", "OT,HUFL"),
            ("seed", "7"),
            ("data.borders", "null"),
        ],
    )
    assert cfg.data.context_len == 336 and cfg.model.attention == "local" and cfg.trainer.lr == 1e-3
    assert cfg.model.revin is False and cfg.data.targets == ["OT", "HUFL"] and cfg.seed == 7
    assert flatten(cfg)["data.context_len"] == 336


@pytest.mark.parametrize(
    "key, value, phrase",
    [
        ("data.contxt_len", "3", "unknown key 'data.contxt_len'; valid keys in 'data': path"),
        ("modle.window", "3", "unknown key 'modle.window'; valid top-level keys"),
        ("data.context_len", "abc", "'data.context_len' must be int, got 'abc'"),
        ("model.revin", "maybe", "must be true or false"),
        ("trainer.lr", "fast", "'trainer.lr' must be float, got 'fast'"),
        ("data.ratios", "a,b", "'data.ratios' must be list[float]"),
    ],
)
def test_bad_overrides_name_the_key(key, value, phrase):
    with pytest.raises(ConfigError, match=re.escape(phrase)):
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
        network = build_network(with_variant(cfg, variant).model, data.schema)
        if (
            variant == "arima"
        ):  # AutoARIMA with a season of 24 on 336+ steps takes ~40 s a column: tests/classical runs it
            continue
        x, _ = data.dataset("train")[0]
        assert network(x[None]).shape == (1, cfg.data.horizon, data.schema.n_targets)


def test_variant_precedence_yaml_then_variant_then_overrides(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "model:\n  window: 4\n  d_model: 32\ntrainer:\n  max_epochs: 8\n"
        "variants:\n  local:\n    model.window: 16\n    trainer.max_epochs: 30\n"
    )
    local = with_variant(load(path, [("trainer.max_epochs", "2")]), "local")
    assert (local.model.d_model, local.model.window, local.trainer.max_epochs) == (32, 16, 2)


@pytest.mark.parametrize("value, expected", [("2", 2), ("auto", "auto"), ("1", 1)])
def test_devices_is_a_count_or_a_name(value, expected):
    cfg = load(None, [("trainer.devices", value), ("trainer.progress_bar", "false")])
    kwargs = cfg.trainer.lightning_kwargs()
    assert kwargs["devices"] == expected and kwargs["enable_progress_bar"] is False
    assert "lr" not in kwargs and "patience" not in kwargs and kwargs["max_epochs"] == TrainerConfig.max_epochs


def test_empty_config_file_is_an_error(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the config file is empty"):
        load(path)


def test_yaml_round_trip_keeps_floats(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("trainer:\n  lr: 1e-3\n  weight_decay: 1.0e-5\nvariants:\n  hybrid:\n    trainer.lr: 3.0e-4\n")
    cfg = load(path)  # PyYAML reads `1e-3` as text; the float field converts it
    assert cfg.trainer.lr == 1e-3 and with_variant(cfg, "hybrid").trainer.lr == 3e-4
    again = from_dict(yaml.safe_load(dump_yaml(cfg)))
    assert again == cfg and isinstance(yaml.safe_load(dump_yaml(cfg))["trainer"]["weight_decay"], float)


@pytest.mark.parametrize(
    "make",
    [
        lambda: parse_variants("local,sparse"),
        lambda: with_variant(load(None), "sparse"),
        lambda: from_dict({"variants": {"sparse": {}}}),
        lambda: load(None, [("model.name", "sparse")]),
        lambda: load(None, [("model.attention", "sparse")]),
    ],
)
def test_variant_names_have_one_check(make):
    with pytest.raises(ConfigError, match=r"unknown (variant|model\.name|model\.attention) 'sparse'; valid: "):
        make()


@pytest.mark.parametrize(
    "overrides, phrase",
    [
        ([("data.fill", "mean")], "'data.fill' must be one of error, ffill, interpolate, got 'mean'"),
        ([("data.split", "random")], "'data.split' must be one of ratio, ett, borders, last, got 'random'"),
        ([("trainer.loss_scale", "mean")], "'trainer.loss_scale' must be one of none, naive, got 'mean'"),
        ([("model.name", "tcn")], "unknown model.name 'tcn'; valid: transformer, lstm, naive"),
    ],
)
def test_a_bad_choice_names_the_field_the_value_and_the_choices(overrides, phrase):
    with pytest.raises(ConfigError, match=re.escape(phrase)):
        load(None, overrides)


def test_a_bad_choice_in_a_variants_entry_names_the_entry(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text("variants:\n  local:\n    data.outliers: drop\n")
    with pytest.raises(ConfigError, match=re.escape("v.yaml: variants.local: 'data.outliers' must be one of error,")):
        load(path)
    cfg = load(None)
    cfg.variants["lstm"] = {"trainer.loss": "l3"}  # an entry set in Python is typed when the variant is trained
    with pytest.raises(ConfigError, match=re.escape("variants.lstm: 'trainer.loss' must be one of mse, mae, huber")):
        with_variant(cfg, "lstm")


def test_every_field_has_a_one_line_description():
    fields = {*flatten(Config()), *SECTIONS, *YAML_ONLY}
    docs = field_docs()
    assert set(docs) == fields, set(docs) ^ fields
    assert all(text and "\n" not in text and len(text) < 120 for text in docs.values()), docs


def test_the_room_re_exports_every_public_name_of_the_old_module():
    """Old MLflow models and notebooks import these from `forecaster.config` (one module before the room)."""
    old = "ATTENTION_PATTERNS BASELINES CLASSICAL VARIANTS MODEL_NAMES LOSS_SCALES check_variant lightning"
    old += " DataConfig ModelConfig TrainerConfig TrackingConfig SelectionConfig Config SECTIONS COMMAND_LINE_KEYS"
    old += " YAML_ONLY add_arguments to_dict flatten dotted from_dict list_value argument_error load read_yaml"
    old += " override with_variant dump_yaml"
    assert all(hasattr(forecaster.config, name) for name in old.split())
    assert set(forecaster.config.__all__) <= set(dir(forecaster.config))


@pytest.mark.parametrize(
    "text, key, lines",
    [
        ("data:\n  horizon: 4\n  context_len: 8\n  horizon: 5\n", "horizon", (2, 4)),
        ("data:\n  horizon: 4\nmodel:\n  window: 2\ndata:\n  context_len: 8\n", "data", (1, 5)),
        ("variants:\n  local:\n    model.window: 4\n    model.window: 8\n", "model.window", (3, 4)),
        ("search:\n  causal:\n    model.d_model: [16, 32]\n  causal:\n    model.n_layers: [1, 2]\n", "causal", (2, 4)),
    ],
)
def test_a_key_given_twice_in_a_yaml_config_is_an_error(tmp_path, text, key, lines):
    """PyYAML would keep the last value silently; the error names the key, the file and both lines."""
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=re.escape(f"twice.yaml: key '{key}' is given twice (lines {lines[0]} and {lines[1]})")
    ):
        load(path)
    path.write_text("base: &b\n  horizon: 4\ndata:\n  <<: *b\n  horizon: 6\n")  # a merge key overrides: not twice
    with pytest.raises(ConfigError, match="unknown key 'base'"):
        load(path)
