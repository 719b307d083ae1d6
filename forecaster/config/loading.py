"""Reading a config: YAML files and dotted overrides fill the dataclasses of `forecaster.config.sections`.

YAML files in ``configs/`` and dotted command-line overrides (``--data.context_len 336``) fill the same
dataclasses, parsed and typed by jsonargparse from their type hints (as litgpt does; nothing here imports
Lightning). This module adds what jsonargparse does not say: an unknown key is an error naming the valid
ones, an ill-typed value names the field, variant names are checked in one place (`check_variant`).
Per-variant settings live in ``variants:`` (variant name -> dotted overrides, applied by `with_variant`).
Precedence: the YAML's sections < ``variants[variant]`` < values given explicitly as overrides.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from forecaster.config.choices import ATTENTION_PATTERNS, VARIANT_KEYS, check_variant
from forecaster.config.sections import CHOICES, SECTIONS, YAML_ONLY, Config, check_choice, dotted, to_dict
from forecaster.errors import ConfigError


def add_arguments(parser, *, variants: bool = False) -> None:
    """Every config field on a jsonargparse parser: `--data.context_len`, `--seed`, ... with type and default."""
    parser.add_class_arguments(Config, as_group=False, skip=None if variants else set(YAML_ONLY))


@lru_cache(maxsize=1)
def _parser():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    add_arguments(parser, variants=True)
    return parser


def from_dict(raw: dict[str, Any], *, source: str = "config") -> Config:
    """Build a Config from nested data, rejecting unknown keys and ill-typed values."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(raw).__name__}")
    return _apply(Config(), raw, source)


def _apply(cfg: Config, changes: dict[str, Any], source: str) -> Config:
    """A copy of `cfg` with nested `changes` applied, their keys checked and values typed."""
    _check_keys(changes, source)
    typed = _typed(changes, source)
    try:
        for name in typed.get("variants", {}):
            check_variant(name)
        values = _merge(to_dict(cfg), typed)
        for key in VARIANT_KEYS:
            section, _, name = key.partition(".")
            check_choice(key, values[section][name])
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if "variants" in typed:
        values["variants"] = {
            name: _variant_overrides(entry, f"{source}: variants.{name}") for name, entry in typed["variants"].items()
        }
    return Config(**{k: SECTIONS[k](**v) if k in SECTIONS else v for k, v in values.items()})


def _variant_overrides(entry: dict[str, Any] | None, source: str) -> dict[str, Any]:
    """One `variants:` entry, checked and typed, as dotted overrides."""
    return dict(dotted(_typed(_nest(dotted(entry or {}), source), source)))


def _typed(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """`raw` (nested config data, keys checked) converted to the fields' types by jsonargparse."""
    from jsonargparse import ArgumentError

    try:  # defaults=False: only the given values are parsed, far cheaper than the whole config
        typed = _parser().parse_object(copy.deepcopy(raw), defaults=False).as_dict()
    except ArgumentError as exc:
        raise argument_error(str(exc), source=source) from None
    for key, value in dotted(typed):  # jsonargparse lets None pass as "not given"
        section, _, name = key.rpartition(".")
        hint = typing.get_type_hints(SECTIONS.get(section, Config))[name]
        if value is None and type(None) not in typing.get_args(hint):
            raise ConfigError(f"{source}: '{key}' must be {_describe(hint)}, got None")
    return typed


def _check_keys(raw: dict[str, Any], source: str) -> None:
    top = [f.name for f in dataclasses.fields(Config)]
    for key, value in raw.items():
        if key not in top:
            raise ConfigError(f"{source}: unknown key '{key}'; valid top-level keys: {', '.join(top)}")
        if key not in SECTIONS:
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping of its fields")
        valid = [f.name for f in dataclasses.fields(SECTIONS[key])]
        for sub in value:
            if sub not in valid:
                raise ConfigError(f"{source}: unknown key '{key}.{sub}'; valid keys in '{key}': {', '.join(valid)}")


def _nest(pairs: Iterable[tuple[str, Any]], source: str) -> dict[str, Any]:
    """Dotted (`data.context_len`, value) pairs as nested data; command-line text `a,b` in a list field is a list."""
    nested: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition(".")
        if rest and head not in SECTIONS:
            top = ", ".join(f.name for f in dataclasses.fields(Config))
            raise ConfigError(f"{source}: unknown key '{key}'; valid top-level keys: {top}")
        if rest:
            nested.setdefault(head, {})[rest] = list_value(head, rest, value)
        else:
            nested[head] = value
    _check_keys(nested, source)
    return nested


def list_value(section: str, name: str, value: Any) -> Any:
    hint = typing.get_type_hints(SECTIONS[section]).get(name)
    is_list = list in (typing.get_origin(hint), *map(typing.get_origin, typing.get_args(hint)))
    if is_list and isinstance(value, str) and not value.lstrip().startswith("[") and value.strip() != "null":
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**base, **{k: _merge(base[k], v) if k in SECTIONS else v for k, v in changes.items()}}


def argument_error(message: str, *, source: str | None = None) -> ConfigError:
    """jsonargparse's error `message` as one line that names the field and, for a typo, the valid keys."""
    prefix = f"{source}: " if source else ""
    unknown = re.search(r"unrecognized arguments: --([^\s=]+\.[^\s=]+)", message)
    if unknown:
        try:
            _nest([(unknown.group(1), None)], source or "command line")
        except ConfigError as exc:
            return exc
    key = re.match(r'Parser key "([^"]+)"', message)
    got = re.search(r"(?:Got|Given) value: (.*)$", message)
    if key and key.group(1) in CHOICES and got:
        try:
            check_choice(key.group(1), got.group(1))
        except ConfigError as exc:
            return ConfigError(f"{prefix}{exc}")
    if key:
        section, _, name = key.group(1).rpartition(".")
        hints = typing.get_type_hints(SECTIONS.get(section, Config))
        expected = re.search(r"Expected a <class '(\w+)'>", message)
        wanted = _describe(hints[name]) if name in hints else expected.group(1) if expected else "valid"
        value = f", got {got.group(1)!r}" if got else ""
        return ConfigError(f"{prefix}'{key.group(1)}' must be {wanted}{value}")
    return ConfigError(prefix + " ".join(line.strip() for line in message.splitlines()))


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return f"one of {', '.join(map(str, typing.get_args(hint)))}"
    named = getattr(hint, "__name__", None) if isinstance(hint, type) else str(hint).replace("typing.", "")
    return "true or false" if hint is bool else named


def load(path: str | Path | None, overrides: Iterable[tuple[str, Any]] = ()) -> Config:
    """Read a YAML config (or the defaults when `path` is None) and apply dotted overrides.

    Overrides (`("data.context_len", "336")`, values as command-line text or typed) win over the
    file's `variants:` entries too: a key given here is dropped from every entry.
    """
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path, source = Path(path), str(path)
        raw = read_yaml(path)
    cfg = from_dict(raw, source=source)
    if path is not None and "name" not in raw:
        cfg.name = path.stem
    return override(cfg, overrides)


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(text := path.read_text())
        _refuse_twice(yaml.compose(text, yaml.SafeLoader), str(path))  # safe_load keeps a repeated key's last value
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if raw is None:
        raise ConfigError(f"{path}: the config file is empty; write the settings to change (see configs/)")
    return raw


def _refuse_twice(node, source: str) -> None:
    """Refuse a key given twice in one mapping of a YAML node tree (`yaml.compose`'s; None for an
    empty file), naming the key and both lines: loaded, the last value would replace the first, silently."""
    if node is None or node.id == "scalar":
        return
    if node.id == "sequence":
        for child in node.value:
            _refuse_twice(child, source)
        return
    lines: dict[object, int] = {}
    for key, value in node.value:
        name = key.value if key.id == "scalar" and key.tag != "tag:yaml.org,2002:merge" else key
        if name in lines:
            raise ConfigError(
                f"{source}: key '{name}' is given twice (lines {lines[name]} and {key.start_mark.line + 1}); keep one"
            )
        lines[name] = key.start_mark.line + 1
        _refuse_twice(value, source)


def override(
    cfg: Config, overrides: Iterable[tuple[str, Any]], *, source: str = "overrides", under_variants: bool = False
) -> Config:
    """A copy of `cfg` with dotted overrides applied; they also win over its `variants:` entries
    unless `under_variants` (values `--auto` derives: a variant's own settings still win)."""
    pairs = list(overrides)
    out = _apply(cfg, _nest(pairs, source), source)
    if under_variants:
        return out
    given = {key for key, _ in pairs}
    out.variants = {name: {k: v for k, v in entry.items() if k not in given} for name, entry in out.variants.items()}
    return out


def with_variant(cfg: Config, variant: str) -> Config:
    """A copy of `cfg` set up to train `variant`, with its `variants:` overrides applied."""
    check_variant(variant)
    model = {"name": "transformer", "attention": variant} if variant in ATTENTION_PATTERNS else {"name": variant}
    changes = _nest(cfg.variants.get(variant, {}).items(), f"variants.{variant}")
    changes["model"] = {**model, **changes.get("model", {})}
    return _apply(cfg, changes, f"variants.{variant}")


def dump_yaml(cfg: Config) -> str:
    """The resolved config as YAML text (floats as `0.001` or `1.0e-05`, which YAML reads back as floats)."""
    import yaml

    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
