"""The stand-ins are an independent, optional part (renovation issue, part 5).

- They import nothing from the product: an oracle that shares the product's code shares its bugs.
- The product runs without them: importing the product's layers loads neither the stand-ins nor the libraries
  only they need (trustme for their certificates, PyJWT for their tokens). Those stay declared dependencies so
  that ``pip install . && d365sync demo`` works.
- Inside the stand-ins, those libraries (and dateutil, for their recurrence expansion) are imported only by the
  module that uses them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SANDBOX = ROOT / "wizard" / "sandbox"
#: the libraries only the stand-ins need
SANDBOX_ONLY = ("trustme", "jwt")
#: the sandbox module allowed to import each library the stand-ins use for one job
USED_BY = {"trustme": "tls.py", "jwt": "tokens.py", "dateutil": "recurrence.py"}
PRODUCT_ENTRY_POINTS = ["wizard.app", "wizard.sync.engine", "wizard.crm.client", "wizard.mailbox.pop3"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _sandbox_modules() -> list[Path]:
    return sorted(SANDBOX.rglob("*.py"))


def test_the_stand_ins_import_nothing_from_the_product() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in _imports(path) if n.split(".")[0] == "wizard" and not n.startswith("wizard.sandbox")
        )
        for path in _sandbox_modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_sandbox_only_libraries_are_imported_where_they_are_used() -> None:
    users: dict[str, list[str]] = {name: [] for name in USED_BY}
    for path in _sandbox_modules():
        for name in _imports(path):
            top = name.split(".")[0]
            if top in users:
                users[top].append(str(path.relative_to(SANDBOX)))
    assert users == {name: [module] for name, module in USED_BY.items()}


def test_the_product_does_not_import_sandbox_only_libraries() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "wizard").rglob("*.py"))
        if SANDBOX not in path.parents and {n.split(".")[0] for n in _imports(path)} & set(SANDBOX_ONLY)
    ]
    assert offenders == []


@pytest.mark.parametrize("module", PRODUCT_ENTRY_POINTS)
def test_importing_the_product_loads_no_stand_in(module: str) -> None:
    code = (
        f"import json, sys, {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('trustme', 'jwt')"
        " or m.startswith('wizard.sandbox'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
