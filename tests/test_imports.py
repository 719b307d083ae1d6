"""The package's import graph: no cycles among forecaster modules, and importing changes nothing global."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from conftest import ROOT

PACKAGE = ROOT / "forecaster"


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def forecaster_imports(path, *, top_level_only: bool) -> set[str]:
    """The forecaster modules `path` imports (at module level only, or anywhere in the file)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != "forecaster"}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


@pytest.mark.parametrize("top_level_only", [True, False], ids=["module-level", "all imports"])
def test_forecaster_modules_import_each_other_without_cycles(top_level_only):
    graph = {module_name(p): forecaster_imports(p, top_level_only=top_level_only) for p in PACKAGE.rglob("*.py")}
    assert len(graph) > 20 and graph["forecaster.serve.evaluation"] >= {"forecaster.serve.package"}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


@pytest.mark.slow  # a fresh interpreter importing Lightning and MLflow
def test_importing_training_and_tracking_changes_no_logger_env_or_warning_filter():
    code = (
        f"import logging, os, sys, warnings; sys.path.insert(0, {str(ROOT)!r})\n"
        "names = ('pytorch_lightning', 'lightning.pytorch', 'lightning.fabric', 'mlflow')\n"
        "import lightning.pytorch, mlflow\n"
        "before = ([logging.getLogger(n).level for n in names], dict(os.environ), list(warnings.filters))\n"
        "import forecaster.fit.training, forecaster.track.tracking, forecaster.serve.pyfunc\n"
        "import forecaster.fit.experiment\n"
        "after = ([logging.getLogger(n).level for n in names], dict(os.environ), list(warnings.filters))\n"
        "print(before == after)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
