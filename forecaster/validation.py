"""One validation of every setting, run before any data is read or any MLflow run is opened.

The parser checks types (an int is an int, a choice one of its `Literal`'s values); this module checks
ranges, so that `--data.horizon 0`,
`--trainer.lr -1` or `--seed -1` is one line naming the field, the value and the valid range instead
of a traceback in the middle of a fit (and a FAILED run left behind). Each field's range is stated
once: a fixed set of values in the field's `Literal` (`forecaster.config.choices`; `check_config` checks
a config built in Python against it too), a range in `RULES` (the split's in
`forecaster.data.split.check_split`), or, for the settings a network
checks itself (its dropouts, heads, window, patches, pattern, quantiles), in that network's rules,
which `forecaster.models.PROBLEMS` reports up front: never in both. Every command that loads a
config runs `check_config` on it — `train`, `compare`, `data inspect`, and a model package's
`config.yaml` — so all use the same check, the `search:` section of `forecaster tune` included.
`forecaster.fit.checks.check_trainable` adds what only a fit needs: the
network-shape rules of `forecaster.models` (reused, not restated) and Lightning's own check of the
Trainer settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from forecaster.config import ATTENTION_PATTERNS, CHOICES, Config, check_choice, flatten, override
from forecaster.data.split import check_split
from forecaster.errors import ConfigError, out_of_range

INT_LIMIT = 2**31 - 1  # the largest integer setting: lengths, sizes, counts
SEED_LIMIT = 2**32  # numpy's (and so Lightning's) seeds are 32-bit unsigned
Rule = tuple[Callable[[Any], bool], str]
FIXED = ("data.path", "model.name", "model.attention", "tracking.", "seed", "name")  # not searched
# the models that declare weights to train (`Network.TRAINABLE`; tests/nn/test_capabilities.py holds
# this list to the registry, which this module does not import: it would load torch)
FAMILIES = ("transformer", "lstm", "linear")
TUNABLE = (*ATTENTION_PATTERNS, *(f for f in FAMILIES if f != "transformer"))  # what `forecaster tune` tunes
SPEC_KEYS = {  # spec type -> (required keys, optional keys)
    "categorical": (("choices",), ()),
    "int": (("low", "high"), ("step", "log")),
    "float": (("low", "high"), ("step", "log")),
}


def at_least(low: int) -> Rule:
    return (lambda v: v >= low), f"an integer ≥ {low}"


def optional(rule: Rule) -> Rule:
    test, text = rule
    return (lambda v: v is None or test(v)), f"null or {text}"


def share(*, closed: bool) -> Rule:
    return (lambda v: 0 <= v <= 1 and (closed or v < 1)), "a number in [0, 1]" if closed else "a number in [0, 1)"


POSITIVE_FINITE: Rule = (lambda v: math.isfinite(v) and v > 0), "a finite number > 0"
NON_NEGATIVE_FINITE: Rule = (lambda v: math.isfinite(v) and v >= 0), "a finite number ≥ 0"
BATCH_SHARE: Rule = (lambda v: 0 < v <= 1), "a share of the batches in (0, 1]"

RULES: dict[str, Rule] = {
    "data.delimiter": ((lambda v: len(v) == 1 and v not in '"\r\n'), "one character (not a quote or a newline)"),
    "data.context_len": at_least(1),
    "data.horizon": at_least(1),
    "data.batch_size": at_least(1),
    "data.eval_batch_size": at_least(1),
    "data.num_workers": at_least(0),
    "data.season_period": optional(at_least(1)),
    # a network's own rules (forecaster.models.PROBLEMS, run by check_trainable) check dropout, attn_dropout,
    # head_dropout, n_heads, window, patch_len, stride, moving_avg, the pattern and quantiles
    **{f"model.{k}": at_least(1) for k in ("d_model", "n_layers", "d_ff", "decoder_layers", "hidden_size")},
    "model.head_rank": at_least(0),
    "model.local_share": share(closed=True),
    "model.global_share": share(closed=True),
    "model.levels": ((lambda v: v is None or all(0 < q < 100 for q in v)), "null or a list of numbers in (0, 100)"),
    "trainer.max_epochs": at_least(1),
    "trainer.max_steps": ((lambda v: v == -1 or v >= 1), "-1 (no limit) or an integer ≥ 1"),
    "trainer.lr": POSITIVE_FINITE,
    "trainer.weight_decay": NON_NEGATIVE_FINITE,
    "trainer.patience": at_least(0),
    "trainer.ema_decay": share(closed=False),
    "trainer.gradient_clip_val": NON_NEGATIVE_FINITE,
    "trainer.limit_train_batches": BATCH_SHARE,
    "trainer.limit_val_batches": BATCH_SHARE,
    "trainer.num_nodes": at_least(1),
    "trainer.devices": ((lambda v: isinstance(v, str) or v == -1 or v >= 1), "-1 (all), an integer ≥ 1 or auto"),
    "trainer.threads": optional(at_least(1)),
    "seed": ((lambda v: 0 <= v < SEED_LIMIT), f"an integer in [0, {SEED_LIMIT - 1}]"),
    # the name becomes a file name (`tune`'s out/tune-<name>.yaml): one that holds a path would write elsewhere
    "name": (
        (lambda v: v.strip() != "" and not {"/", "\\", "\0"} & set(v) and v not in (".", "..")),
        "a name without '/', '\\' or '..' (it names files)",
    ),
}


def _huge(v: Any) -> bool:
    """An integer torch cannot hold as a size or an index once shapes multiply."""
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT_LIMIT


def check_config(cfg: Config) -> Config:
    """`cfg` itself when every field is in range; else a ConfigError naming the first field that is not."""
    values = flatten(cfg)
    for key, value in values.items():  # the seed has its own range, checked below
        if key != "seed" and any(_huge(v) for v in (value if isinstance(value, list) else [value])):
            raise out_of_range(key, value, f"an integer of at most {INT_LIMIT} in size")
    for key in CHOICES:  # the fields typed with a Literal: their choices are stated there, once
        check_choice(key, values[key])
    for key, (test, valid) in RULES.items():
        if not test(values[key]):
            raise out_of_range(key, values[key], valid)
    check_split(cfg.data)  # forecaster.data.split
    check_search(cfg.search)  # `tune`'s spaces (forecaster.tune.space)
    return cfg


def check_at_least(flag: str, value: int, low: int) -> int:
    """A command's own integer option (`--seeds`, `--step`, ...) checked against its lower bound."""
    if value < low:
        raise ConfigError(f"{flag} must be an integer ≥ {low}, got {value}")
    return value


def check_search(raw: Any, source: str | None = None) -> dict[str, dict[str, Any]]:
    """The `search:` section, every entry's name, keys and specs checked (a ConfigError names the first bad one)."""
    prefix = f"{source}: " if source else ""
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix}'search' must map family or variant names to search spaces")
    out = {}
    for name, space in raw.items():
        if name not in (*FAMILIES, *TUNABLE):
            valid = ", ".join(dict.fromkeys((*FAMILIES, *TUNABLE)))
            raise ConfigError(f"{prefix}unknown search entry '{name}'; valid: {valid}")
        if not isinstance(space, dict):
            raise ConfigError(f"{prefix}search.{name} must map dotted config keys to specs")
        for key in space:
            if key.startswith(FIXED):
                raise ConfigError(f"{prefix}search.{name}.{key}: not tunable (data file, variant, tracking are fixed)")
        out[name] = {key: check_spec(spec, f"{prefix}search.{name}.{key}", key) for key, spec in space.items()}
    return out


def check_spec(spec: Any, where: str, key: str) -> dict[str, Any] | None:
    """One distribution spec (None drops the key), its values typed as the config field `key` is."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or spec.get("type") not in SPEC_KEYS:
        raise ConfigError(f"{where}: expected a spec with type one of {', '.join(SPEC_KEYS)}, got {spec!r}")
    required, optional = SPEC_KEYS[spec["type"]]
    for k in spec:
        if k not in ("type", *required, *optional):
            valid = ", ".join(("type", *required, *optional))
            raise ConfigError(f"{where}: unknown key '{k}'; valid keys for {spec['type']}: {valid}")
    missing = [k for k in required if k not in spec]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    if spec["type"] == "categorical":
        if not isinstance(spec["choices"], list) or not spec["choices"]:
            raise ConfigError(f"{where}: choices must be a non-empty list")
        for choice in spec["choices"]:
            _typed(key, choice, where)
        return dict(spec)
    return _check_range(spec, where, key)


def _check_range(spec: dict[str, Any], where: str, key: str) -> dict[str, Any]:
    kind = int if spec["type"] == "int" else float
    low, high, step = spec["low"], spec["high"], spec.get("step")
    for name, value in (("low", low), ("high", high), ("step", step)):
        ok = value is None if name == "step" else False
        ok = ok or isinstance(value, int) or (kind is float and isinstance(value, float))
        if not ok or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            raise ConfigError(f"{where}: {name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    if low > high:
        raise ConfigError(f"{where}: low ({low}) must be at most high ({high})")
    if spec.get("log", False) not in (True, False):
        raise ConfigError(f"{where}: log must be true or false")
    if spec.get("log") and (low <= 0 or step is not None):
        raise ConfigError(f"{where}: a log scale needs low > 0 and no step")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: step must be > 0, got {step}")
    _typed(key, kind(low), where)
    return dict(spec)


def _typed(key: str, value: Any, where: str) -> Any:
    """`value` as the config field `key` takes it, through the config's own parsing (unknown keys, types)."""
    override(Config(), [(key, value)], source=where)
    return value
