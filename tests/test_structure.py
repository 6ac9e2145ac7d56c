"""The integration's modules import each other in one direction only.

Every import counts, those only for type checking too: a circle, even one
that only the type checker follows, means two modules cannot be read, tested
or changed apart.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "custom_components" / "printernizer_usage"


def own_imports(module: Path) -> set[str]:
    """Return the integration's modules that a module imports, anywhere in it."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module is None:  # from . import x, y
            imported.update(alias.name for alias in node.names)
        else:
            imported.add(node.module.split(".")[0])
    return {name for name in imported if (PACKAGE / f"{name}.py").exists()}


def import_graph() -> dict[str, set[str]]:
    """Return, for every module of the integration, the modules it imports."""
    return {
        module.stem: own_imports(module) - {module.stem}
        for module in sorted(PACKAGE.glob("*.py"))
    }


def test_no_import_circle() -> None:
    """The modules can be ordered so that each imports only those before it."""
    graph = import_graph()
    assert len(graph) > 20  # every module was read
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        raise AssertionError(f"import circle: {' -> '.join(err.args[1])}") from err
    assert set(order) == set(graph)


def test_a_circle_would_be_found() -> None:
    """The check itself sees a circle through a type-checking import."""
    graph = import_graph()
    graph["coordinator"] = graph["coordinator"] | {"sharing"}
    graph["sharing"] = graph["sharing"] | {"coordinator"}
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError:
        return
    raise AssertionError("a circle went unnoticed")
