"""The integration stays a house a newcomer reads in one pass.

Its modules import each other in one direction only, layer by layer as
docs/architecture.md maps them, and none grows past the size one reading
holds. Every import counts, those only for type checking too: a circle, even
one that only the type checker follows, means two modules cannot be read,
tested or changed apart.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "custom_components" / "printernizer_usage"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250

# A table row of the map: | 1 | `name` | ... | or | `module` | layer | ... |
_LAYER_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([a-z ]+?)\s*\|")
_MODULE_ROW = re.compile(r"^\|\s*`([a-z_.]+)`\s*\|\s*([a-z ]+?)\s*\|")


def module_name(path: Path) -> str:
    """Return a file's module name inside the integration (a package: its name)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Return every module of the integration by name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def own_imports(path: Path, known: set[str]) -> set[str]:
    """Return the integration's modules that a module imports, anywhere in it."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = package[: len(package) - (node.level - 1)]
        target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
        for alias in node.names:
            # `from .store import recovery` names a module; `import x` a name.
            submodule = f"{target}.{alias.name}".strip(".")
            if submodule in known:
                imported.add(submodule)
            elif target in known:
                imported.add(target)
    return imported


def import_graph() -> dict[str, set[str]]:
    """Return, for every module of the integration, the modules it imports."""
    found = modules()
    return {
        name: own_imports(path, set(found)) - {name} for name, path in found.items()
    }


def architecture_map() -> tuple[list[str], dict[str, str]]:
    """Return the layers, lowest first, and each module's layer, from the map."""
    layers: list[tuple[int, str]] = []
    module_layers: dict[str, str] = {}
    for line in ARCHITECTURE.read_text().splitlines():
        if match := _LAYER_ROW.match(line):
            layers.append((int(match[1]), match[2]))
        elif match := _MODULE_ROW.match(line):
            assert match[1] not in module_layers, f"{match[1]} is mapped twice"
            module_layers[match[1]] = match[2]
    return [name for _, name in sorted(layers)], module_layers


def layer_order_violations(
    graph: dict[str, set[str]], layers: list[str], module_layers: dict[str, str]
) -> list[str]:
    """Return every import that reaches up to a higher layer."""
    rank = {layer: number for number, layer in enumerate(layers)}
    return [
        f"{module} ({module_layers[module]}) imports {imported} "
        f"({module_layers[imported]})"
        for module, imports in sorted(graph.items())
        for imported in sorted(imports)
        if rank[module_layers[imported]] > rank[module_layers[module]]
    ]


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return an import circle, or None if the modules can be ordered."""
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        return list(err.args[1])
    return None


def test_no_import_circle() -> None:
    """The modules can be ordered so that each imports only those before it."""
    graph = import_graph()
    assert len(graph) > 40  # every module was read, in the packages too
    assert "store.recovery" in graph["store"]  # a package's own imports count
    assert circle(graph) is None, f"import circle: {' -> '.join(circle(graph) or [])}"


def test_a_circle_would_be_found() -> None:
    """The check itself sees a circle, also through a package's module."""
    graph = import_graph()
    graph["sharing_book"] = graph["sharing_book"] | {"sharing"}
    assert circle(graph) is not None
    graph = import_graph()
    graph["store.polls"] = graph["store.polls"] | {"store"}
    assert circle(graph) is not None


def test_every_module_is_mapped_and_imports_only_downwards() -> None:
    """docs/architecture.md names each module's layer, and the imports agree."""
    layers, module_layers = architecture_map()
    graph = import_graph()
    assert len(layers) >= 5
    assert set(module_layers.values()) <= set(layers), "a module in no known layer"
    assert sorted(set(graph) - set(module_layers)) == [], "modules missing from map"
    assert sorted(set(module_layers) - set(graph)) == [], "map names gone modules"
    assert layer_order_violations(graph, layers, module_layers) == []


def test_an_import_against_the_layers_would_be_found() -> None:
    """The check itself sees storage reaching up into sharing."""
    layers, module_layers = architecture_map()
    graph = import_graph()
    graph["store.polls"] = graph["store.polls"] | {"sharing"}
    assert layer_order_violations(graph, layers, module_layers) == [
        "store.polls (storage) imports sharing (sharing)"
    ]


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_and_class_sizes(name: str) -> None:
    """A module holds at most 400 lines and a class at most 250."""
    path = modules()[name]
    source = path.read_text()
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_CLASS_LINES, f"class {node.name}: {length} lines"
