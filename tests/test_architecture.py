"""The house rules of ARCHITECTURE.md, enforced: the rooms import each other without cycles, each
heavy library stays in its rooms, files and functions stay small, and the map names every module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
from conftest import ROOT

PACKAGE = ROOT / "forecaster"
FILES = sorted(PACKAGE.rglob("*.py"))
ROOMS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())

# library -> the files (or folders, ending in /) that may import it, anywhere in the file
LIBRARIES = {
    "lightning": ("fit/", "data/module.py"),
    "pytorch_lightning": ("fit/", "data/module.py"),
    "mlflow": ("track/", "serve/pyfunc.py", "serve/pyfunc_model.py", "tune/"),
    "ray": ("compare/ray_tasks.py",),
    "optuna": ("tune/",),
    "statsforecast": ("classical/networks.py",),
}
MAX_TOP_LEVEL = 12  # modules beside the subpackages, __init__ included
MAX_LINES = 400
MAX_FUNCTION_LINES = 60  # network constructors (`__init__` in nn/) excepted: they state every layer


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def relative(path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def imported(path, *, top_level_only: bool = False) -> set[str]:
    """Every module name `path` imports (absolute imports; at module level only, or anywhere)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def forecaster_imports(path, *, top_level_only: bool) -> set[str]:
    """The forecaster modules `path` imports."""
    modules = {module_name(p) for p in FILES}
    return {m for m in imported(path, top_level_only=top_level_only) if m in modules and m != "forecaster"}


def room(module: str) -> str:
    """A module's room: its subpackage, or the top-level module itself."""
    return module.split(".")[1]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` (node -> nodes it points to), or None."""
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


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


@pytest.mark.parametrize("top_level_only", [True, False], ids=["module-level", "all imports"])
def test_modules_import_each_other_without_cycles(top_level_only):
    graph = {module_name(p): forecaster_imports(p, top_level_only=top_level_only) for p in FILES}
    assert len(graph) > 20 and graph["forecaster.serve.evaluation"] >= {"forecaster.serve.package"}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_rooms_import_each_other_without_cycles():
    """No arrow runs back up: a room (subpackage or top-level module) never imports one that imports it."""
    graph: dict[str, set[str]] = {}
    for path in FILES:
        here = module_name(path)
        if here == "forecaster":
            continue
        graph.setdefault(room(here), set()).update(room(m) for m in forecaster_imports(path, top_level_only=False))
    graph = {r: targets - {r} for r, targets in graph.items()}
    assert {"fit", "compare", "serve", "track", "tune", "scores", "auto", "data", "nn"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_each_heavy_library_stays_in_its_rooms(library):
    allowed = LIBRARIES[library]
    found = [relative(p) for p in FILES if any(m.split(".")[0] == library for m in imported(p))]
    stray = [f for f in found if not f.startswith(allowed)]
    assert not stray, f"{library} imported outside {allowed}: {stray}"


def test_networks_import_torch_and_the_standard_library_only():
    for path in (PACKAGE / "nn").rglob("*.py"):
        others = {
            m
            for m in imported(path)
            if m.split(".")[0] not in (*sys.stdlib_module_names, "torch") and not m.startswith("forecaster.nn")
        }
        assert not others, f"{relative(path)} imports {sorted(others)}"


def test_no_module_imports_another_modules_private_names():
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("forecaster"):
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                assert not private, f"{relative(path)} imports {private} from {node.module}"


def test_the_package_is_rooms_of_small_files_and_short_functions():
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} top-level modules: {sorted(top)}"
    long_files = {relative(p): n for p in FILES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long_files, f"files over {MAX_LINES} lines: {long_files}"
    long_functions = []
    for path in FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                constructor = node.name == "__init__" and relative(path).startswith("nn/")
                if n > MAX_FUNCTION_LINES and not constructor:
                    long_functions.append(f"{relative(path)}:{node.name} ({n} lines)")
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"


def architecture_map() -> set[str]:
    """The module paths that ARCHITECTURE.md's map (its first fenced block under '## The rooms') names."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    block = re.search(r"## The rooms.*?```\n(.*?)```", text, re.S).group(1)
    named, folders = set(), []  # folders: (indent, name) of the open folders
    for line in block.splitlines():
        match = re.match(r"( *)(\S+)", line)
        if not match or line.strip().startswith("#"):
            continue
        indent, name = len(match.group(1)), match.group(2)
        folders = [(i, f) for i, f in folders if i < indent]
        if name.endswith("/"):
            folders.append((indent, name))
        elif name.endswith(".py"):
            named.add("".join(f for _, f in folders) + name)
    return named


def test_the_architecture_map_names_every_module_and_only_those():
    on_disk = {p.relative_to(ROOT).as_posix() for p in FILES if p.name != "__init__.py"} | {"cli.py"}
    named = architecture_map()
    assert named - on_disk == set(), "ARCHITECTURE.md names modules that do not exist"
    assert on_disk - named == set(), "modules missing from ARCHITECTURE.md's map"


def test_the_top_level_loading_and_pyfunc_re_export_the_serve_room_for_models_logged_before_it():
    """Models logged to MLflow before the rooms carry a code file that imports these names: the two
    top-level modules hold no logic, only the serve room's own objects."""
    import forecaster.loading
    import forecaster.pyfunc
    import forecaster.serve.loading
    import forecaster.serve.pyfunc

    assert forecaster.loading.load_any is forecaster.serve.loading.load_any
    assert forecaster.pyfunc.forecast_table is forecaster.serve.pyfunc.forecast_table
    assert forecaster.pyfunc.PACKAGE_ARTIFACT == forecaster.serve.pyfunc.PACKAGE_ARTIFACT


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
