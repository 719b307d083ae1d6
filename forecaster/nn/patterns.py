"""The attention patterns, as a table: the one list of pattern names.

Imports nothing (not even torch), so the config (`forecaster.config.ATTENTION_PATTERNS`), the search
spaces (`forecaster.tune.space`) and the CLI read the names from here without loading a network;
`forecaster.nn.attention` resolves an entry into head groups and runs it.

A pattern is an entry of `PATTERNS`: the groups of heads it splits into and what each group does.
Adding a pattern means adding an entry here (and its README row), not a branch anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupSpec:
    """One group of heads in a pattern's table entry.

    heads: "all" heads, the "share" set by `local_share` (at least one, never all), or the "rest".
    local: the group sees a window of `window` keys (always causal).
    causal: the group sees no key after its query.
    switched: a local group whose best-rated tokens are global (`forecaster.nn.switch`).
    """

    heads: str = "all"
    local: bool = False
    causal: bool = True
    switched: bool = False


PATTERNS: dict[str, tuple[GroupSpec, ...]] = {
    "global": (GroupSpec(causal=False),),
    "causal": (GroupSpec(),),
    "local": (GroupSpec(local=True),),
    "hybrid": (GroupSpec(heads="share", local=True), GroupSpec(heads="rest")),
    "dynamic": (GroupSpec(local=True, switched=True),),
    "cross": (GroupSpec(causal=False),),
}


def windowed(pattern: str) -> bool:
    """Some of the pattern's heads see a window of `window` keys (`window` matters)."""
    return any(spec.local for spec in PATTERNS[pattern])


def switched(pattern: str) -> bool:
    """The pattern's global tokens are chosen by the learned switch (`global_share` matters)."""
    return any(spec.switched for spec in PATTERNS[pattern])


def pattern_problems(pattern: str, *, n_heads: int, prefix: str = "") -> list[str]:
    """What is wrong with `pattern` for `n_heads` heads (empty: nothing). `prefix` goes before each
    argument's name in the messages: `forecaster.models` passes "model.", the config's section."""
    if pattern not in PATTERNS:
        return [f"unknown attention pattern '{pattern}'; valid: {', '.join(PATTERNS)}"]
    if any(spec.heads == "share" for spec in PATTERNS[pattern]) and n_heads < 2:
        return [f"the {pattern} pattern needs {prefix}n_heads >= 2 (some local, some global)"]
    return []
