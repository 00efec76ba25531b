"""wizard/odata's modules import each other without cycles (issue 10 part 6), TYPE_CHECKING imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import wizard.odata

PACKAGE = Path(wizard.odata.__file__).parent


def _imports(path: Path) -> set[str]:
    """The wizard.odata modules ``path`` imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "wizard.odata":
                found.update(f"wizard.odata.{alias.name}" for alias in node.names)
            elif node.module.startswith("wizard.odata."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("wizard.odata."))
    return found


def test_odata_modules_form_a_dag() -> None:
    modules = {f"wizard.odata.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(name) :], name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert "wizard.odata.session" not in graph["wizard.odata.batch"]
