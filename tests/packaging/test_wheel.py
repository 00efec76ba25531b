"""The wheel ``pip install .`` builds carries everything the installed program reads besides Python modules.

pyproject.toml lists the packages by hand (``resources/`` is mapped into the wheel as ``wizard.resources``), so
the list is checked against the packages under wizard/; the slow test builds a real wheel and looks inside.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from wizard.paths import resources_dir

REPO = Path(__file__).resolve().parents[2]


def _config() -> dict[str, object]:
    with open(REPO / "pyproject.toml", "rb") as handle:
        setuptools: dict[str, object] = tomllib.load(handle)["tool"]["setuptools"]
    return setuptools


def test_the_listed_packages_are_the_packages_under_wizard() -> None:
    listed = set(_config()["packages"])  # type: ignore[call-overload]
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "wizard").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert listed - {"wizard.resources"} == found
    assert _config()["package-dir"] == {"wizard.resources": "resources"}


def test_a_source_tree_finds_its_resources() -> None:
    assert resources_dir() == REPO / "resources"
    assert (resources_dir() / "icons" / "app.svg").is_file()


@pytest.mark.slow
def test_the_wheel_carries_icons_and_translation_sources(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("d365sync-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        "wizard/resources/" + path.relative_to(REPO / "resources").as_posix()
        for pattern in ("icons/*.svg", "icons/dark/*.svg", "translations/*.ts")
        for path in (REPO / "resources").glob(pattern)
    }
    assert (
        "wizard/resources/icons/app.svg" in wanted
        and "wizard/resources/translations/d365sync_de.ts" in wanted
    )
    assert wanted <= names
    assert "wizard/sandbox/dataverse/server.py" in names and "wizard/ui/pages/mailbox.py" in names
