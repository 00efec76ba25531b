"""Loading packaging/*.py by path: packaging/ is not a Python package (that name is PyPI's ``packaging``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
LINUX = PACKAGING / "linux"


def load(name: str) -> ModuleType:
    """packaging/<name>.py as module ``d365sync_packaging_<name>`` (loaded once)."""
    qualified = f"d365sync_packaging_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module
