"""DESIGN section 2: the dependency direction is enforced, not hoped for.

Every module of ``wizard`` belongs to a *part* (its first package under ``wizard``, or a top-level module);
``ALLOWED`` says which parts each part may import. Every import counts: module level, function-local and
``if TYPE_CHECKING:`` alike, because a cycle that only the type checker sees still ties two modules together
for the next reader. Inside a package the modules form a DAG, and so do the parts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

WIZARD = Path(__file__).resolve().parents[2] / "wizard"

#: used by every part: the vocabulary, the folders, the secrets, transport security, errors
BASE = frozenset({"wizard", "errors", "paths", "secrets", "tls", "isotime", "settings", "logging_setup"})

ALLOWED: dict[str, frozenset[str]] = {
    # the base parts among themselves (kept acyclic by the DAG test below)
    "wizard": frozenset(),
    "errors": frozenset(),
    "isotime": frozenset(),
    "tls": frozenset(),
    "paths": frozenset(),
    "settings": frozenset({"errors"}),
    "secrets": frozenset({"errors", "paths"}),
    "logging_setup": frozenset({"paths", "secrets"}),
    # the layers: ui -> app -> sync/offline -> crm/mailbox -> odata
    "odata": BASE,
    "crm": BASE | {"odata"},
    "mailbox": BASE | {"odata"},
    "sync": BASE | {"odata", "crm", "mailbox"},
    "offline": BASE | {"odata", "crm", "sync"},
    "app": BASE | {"odata", "crm", "mailbox", "sync", "offline"},
    # the faces use the application layer; the CLI also starts the stand-ins (sandbox, demo) and the GUI.
    # From below the application layer they take value types, errors and texts only (FACE_MAY_NOT_IMPORT).
    "cli": BASE | {"app", "sandbox", "ui", "odata", "crm", "mailbox", "sync"},
    "ui": BASE | {"app", "odata", "crm", "mailbox", "sync"},
    "resources": frozenset(),
    "__main__": frozenset({"cli"}),
    # the stand-ins are an independent oracle: nothing of the product
    "sandbox": frozenset({"wizard"}),
}

QT = ("PySide6", "shiboken6")

FACES = ("cli", "ui")
LOWER = ("odata", "crm", "mailbox", "sync", "offline")
#: what does I/O or holds state below the application layer: the faces get these from wizard.app (the factory
#: builds them, a use case runs them), so the CLI and the GUI only parse, ask and show
FACE_MAY_NOT_IMPORT = frozenset(
    {
        "ODataSession", "DataverseClient", "connect_newest", "SignIn",  # Dataverse and sign-in
        "MailboxStore", "EwsStore", "GraphStore", "Pop3Store",  # mailboxes
        "Engine", "RecordSync", "StateDB", "status_snapshot",  # the engine and its state
    }
)  # fmt: skip


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(WIZARD.rglob("*.py")):
        parts = path.relative_to(WIZARD.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


@cache
def _imports(module: str) -> frozenset[str]:
    """Every module or package name that ``module`` imports, resolved to the longest known module name."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from pkg import module` names the module, not the package's facade
                name = f"{base}.{alias.name}"
                names.add(name if name in MODULES else base)
    return frozenset(names)


@cache
def _imported_names(module: str) -> frozenset[tuple[str, str]]:
    """``(module, name)`` for every ``from module import name``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return frozenset(
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    )


def _internal(module: str) -> Iterator[str]:
    """The wizard modules that ``module`` depends on (a package's __init__ counts for ``from pkg import``)."""
    for name in _imports(module):
        if name in MODULES and name != module:
            yield name


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "wizard"


def test_every_part_has_a_rule() -> None:
    assert {_part(m) for m in MODULES} <= set(ALLOWED)


def test_parts_import_only_what_the_matrix_allows() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module in MODULES
        for target in _internal(module)
        if _part(target) != _part(module) and _part(target) not in ALLOWED[_part(module)]
    )
    assert offenders == []


def test_the_faces_take_no_client_store_or_engine_from_below_the_application_layer() -> None:
    offenders = sorted(
        f"{m} imports {name} from {source}"
        for m in MODULES
        if _part(m) in FACES
        for source, name in _imported_names(m)
        if source.startswith(tuple(f"wizard.{p}" for p in LOWER)) and name in FACE_MAY_NOT_IMPORT
    )
    assert offenders == []


@pytest.mark.parametrize("part", sorted(set(ALLOWED) - {"ui"}))
def test_no_qt_below_ui(part: str) -> None:
    offenders = [m for m in MODULES if _part(m) == part and any(n.split(".")[0] in QT for n in _imports(m))]
    assert offenders == []


def _cycles(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _is_package_init(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def test_no_cycles_between_modules() -> None:
    """A package's __init__ that re-exports its modules is a facade, not a participant: edges into a package
    facade from its own modules are ignored, edges out of it count."""
    nodes = set(MODULES)
    edges: dict[str, set[str]] = {}
    for module in nodes:
        targets = set()
        for target in _internal(module):
            if _is_package_init(target) and module.startswith(target + "."):
                continue  # a module importing its own package's facade: reported by the next test
            targets.add(target)
        edges[module] = targets
    assert _cycles(nodes, edges) == []


def test_modules_do_not_import_their_own_package_facade() -> None:
    offenders = sorted(
        f"{m} -> {t}"
        for m in MODULES
        for t in _internal(m)
        if _is_package_init(t) and m.startswith(t + ".") and t != "wizard"
    )
    assert offenders == []


def test_no_cycles_between_parts() -> None:
    edges: dict[str, set[str]] = {}
    for module in MODULES:
        for target in _internal(module):
            if _part(target) != _part(module):
                edges.setdefault(_part(module), set()).add(_part(target))
    assert _cycles(set(ALLOWED), edges) == []


def test_the_matrix_is_a_dag() -> None:
    edges = {part: set(allowed) - {part} for part, allowed in ALLOWED.items()}
    assert _cycles(set(ALLOWED), edges) == []
