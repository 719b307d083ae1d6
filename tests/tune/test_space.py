"""`tune`'s search spaces: family and variant defaults, the config's `search:` entries key by key,
and only valid samples."""

from __future__ import annotations

import optuna
import pytest
import yaml
from conftest import ROOT, run_cli

from forecaster.config import from_dict, load, override, with_variant
from forecaster.errors import ConfigError
from forecaster.fit.checks import check_trainable
from forecaster.tune.space import DEFAULTS, sample, space_for
from forecaster.validation import TUNABLE, check_search


def test_a_variant_is_tuned_in_its_family_defaults_then_the_configs_entries_key_by_key():
    cfg = from_dict(
        {
            "search": {
                "transformer": {"model.d_model": {"type": "categorical", "choices": [8]}, "model.dropout": None},
                "local": {"model.window": {"type": "int", "low": 2, "high": 3}},
            }
        }
    )
    local, causal = space_for(cfg, "local"), space_for(cfg, "causal")
    assert local["model.d_model"]["choices"] == [8] == causal["model.d_model"]["choices"]  # config's family entry
    assert local["model.window"] == {"type": "int", "low": 2, "high": 3}  # config's variant entry
    assert "model.window" not in causal and "model.dropout" not in local  # null drops a default key
    assert local["trainer.lr"] == DEFAULTS["transformer"]["trainer.lr"]
    assert space_for(from_dict({}), "hybrid")["model.window"] == DEFAULTS["hybrid"]["model.window"]
    assert set(space_for(cfg, "lstm")) == set(DEFAULTS["lstm"])


@pytest.mark.parametrize(
    ("search", "says"),
    [
        ({"transformr": {}}, "unknown search entry 'transformr'; valid: transformer"),
        ({"lstm": {"model.hiden_size": {"type": "int", "low": 1, "high": 2}}}, "unknown key 'model.hiden_size'"),
        ({"lstm": {"model.n_layers": {"type": "int", "low": 3, "high": 2}}}, "low (3) must be at most high (2)"),
        ({"lstm": {"model.n_layers": {"type": "int", "low": 1, "high": 2, "lo": 1}}}, "unknown key 'lo'; valid keys"),
        ({"lstm": {"model.n_layers": {"type": "normal"}}}, "type one of categorical, int, float"),
        ({"lstm": {"model.n_layers": {"type": "int", "low": 1.5, "high": 2}}}, "low must be an integer"),
        ({"lstm": {"model.n_layers": {"type": "categorical", "choices": ["x"]}}}, "'model.n_layers' must be int"),
        ({"lstm": {"model.n_layers": {"type": "categorical", "choices": []}}}, "choices must be a non-empty list"),
        ({"lstm": {"trainer.lr": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}}, "log scale needs low > 0"),
        ({"lstm": {"data.path": {"type": "categorical", "choices": ["a.csv"]}}}, "not tunable"),
    ],
)
def test_a_bad_search_section_is_one_error_naming_the_entry(search, says, tmp_path, capsys):
    with pytest.raises(ConfigError) as info:
        check_search(search)
    assert says in str(info.value)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"search": search}))
    code, _, err = run_cli(capsys, "tune", "--config", path, "--trials", "1")
    assert code == 2 and says in err and "Traceback" not in err


@pytest.mark.parametrize("variant", TUNABLE)
def test_the_default_spaces_sample_only_valid_settings(variant):
    cfg = load(ROOT / "configs" / "quick.yaml")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(8):
        values = sample(study.ask(), space_for(cfg, variant))
        check_trainable(with_variant(override(cfg, values.items()), variant))
