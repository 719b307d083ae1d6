"""Keyword arguments as config settings: the Python API's `context_len=336`, `trainer={"lr": 1e-3}`,
`**{"trainer.lr": 1e-3}` or a whole `Config`, turned into the dotted overrides the command line makes
(`forecaster.config.override`), checked as the command line checks them (`forecaster.validation`).

A bare field name belongs to the one section that has it (`context_len` -> `data.context_len`); a name
two sections share is an error naming both. Tracking is on when a tracking URI is set (the
`MLFLOW_TRACKING_URI` variable or `tracking={"uri": ...}`), as the command line's store is; off otherwise,
so a notebook's call leaves no `mlflow.db` behind unless asked to.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path
from typing import Any

from forecaster.config import SECTIONS, Config, load, override
from forecaster.errors import ConfigError
from forecaster.validation import check_config

TOP_LEVEL = ("seed", "name")


def overrides(settings: dict[str, Any]) -> list[tuple[str, Any]]:
    """(dotted key, value) for each keyword argument (see the module docstring)."""
    owners: dict[str, list[str]] = {}
    for section, make in SECTIONS.items():
        for f in dataclasses.fields(make()):
            owners.setdefault(f.name, []).append(section)
    out: list[tuple[str, Any]] = []
    for key, value in settings.items():
        if "." in key or key in TOP_LEVEL:
            out.append((key, value))
        elif key in SECTIONS:
            values = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
            if not isinstance(values, dict):
                raise ConfigError(f"{key}= takes a dict of its settings, e.g. {key}={{...}}; got {value!r}")
            out += [(f"{key}.{k}", v) for k, v in values.items()]
        elif len(owners.get(key, [])) == 1:
            out.append((f"{owners[key][0]}.{key}", value))
        elif key in owners:
            sections = " or ".join(f"{s}={{'{key}': ...}}" for s in owners[key])
            raise ConfigError(f"setting '{key}' is in several sections ({', '.join(owners[key])}); pass {sections}")
        else:
            close = difflib.get_close_matches(key, [*owners, *SECTIONS, *TOP_LEVEL], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown setting '{key}'{hint} (the config's field names: forecaster train --help)")
    return out


def build(config: Config | str | Path | None, pairs: list[tuple[str, Any]]) -> Config:
    """The config (a `Config`, a YAML path or the defaults) with `pairs` applied, tracking decided, checked."""
    if isinstance(config, Config):
        cfg = override(config, pairs, source="keyword arguments")
    else:
        cfg = load(config, pairs)
    keys = {k for k, _ in pairs}
    if "tracking.enabled" not in keys and not isinstance(config, Config):
        tracked = cfg.tracking.uri is not None or bool(os.environ.get("MLFLOW_TRACKING_URI"))
        cfg = override(cfg, [("tracking.enabled", tracked)], source="keyword arguments")
    return check_config(cfg)


def explicit(config: Config | str | Path | None, pairs: list[tuple[str, Any]]) -> set[str]:
    """The keys `auto=True` must not derive: those given (and a YAML's sections, or a `Config`'s non-defaults)."""
    from forecaster.auto.apply import explicit_keys
    from forecaster.config import flatten

    typed = [k for k, _ in pairs]
    if isinstance(config, Config):
        defaults = flatten(Config())
        return {k for k, v in flatten(config).items() if defaults.get(k) != v} | set(typed)
    return explicit_keys(str(config) if config is not None else None, typed)
