"""DESIGN section 2: the dependency direction is enforced, not hoped for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WIZARD = Path(__file__).resolve().parents[2] / "wizard"
ENGINE = ["sync", "crm", "mailbox", "odata", "offline", "settings"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((WIZARD / folder).rglob("*.py"))


@pytest.mark.parametrize("package", ENGINE)
def test_engine_imports_no_qt(package: str) -> None:
    offenders = [
        str(p.relative_to(WIZARD))
        for p in _modules(package)
        if any(name.split(".")[0] in {"PySide6", "shiboken6"} for name in _imports(p))
    ]
    assert offenders == []


def test_only_cli_imports_the_sandbox() -> None:
    offenders = []
    for path in WIZARD.rglob("*.py"):
        rel = path.relative_to(WIZARD)
        if rel.parts[0] in ("sandbox", "cli"):
            continue
        if any(name.startswith("wizard.sandbox") for name in _imports(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_odata_does_not_import_crm_or_above() -> None:
    upward = ("wizard.crm", "wizard.mailbox", "wizard.sync", "wizard.offline", "wizard.ui", "wizard.cli")
    offenders = [
        str(p.relative_to(WIZARD))
        for p in _modules("odata")
        if any(name.startswith(upward) for name in _imports(p))
    ]
    assert offenders == []


def test_lower_layers_do_not_import_ui() -> None:
    offenders = [
        str(p.relative_to(WIZARD))
        for package in ENGINE
        for p in _modules(package)
        if any(name.startswith("wizard.ui") for name in _imports(p))
    ]
    assert offenders == []
