"""packaging/flatpak/ and packaging/windows/, which cannot be built here (flatpak-builder needs runtimes from
Flathub, Inno Setup runs on Windows: docs/packaging.md): they name the right id, command, files and version."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from tests.packaging._load import PACKAGING, REPO, load
from wizard import __version__

APP_ID = load("bundle_data").APP_ID
MANIFEST = PACKAGING / "flatpak" / f"{APP_ID}.json"


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()


def test_id_command_and_permissions() -> None:
    data = manifest()
    assert data["app-id"] == APP_ID
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert data["command"] in project["scripts"]
    args = set(data["finish-args"])
    assert {"--share=network", "--socket=wayland", "--socket=fallback-x11"} <= args
    assert "--talk-name=org.freedesktop.secrets" in args  # keyring's Secret Service backend
    assert not any(a.startswith(("--filesystem=home", "--filesystem=host")) for a in args)


def test_modules_install_every_runtime_dependency_and_the_desktop_files() -> None:
    data = manifest()
    commands = " ".join(c for m in data["modules"] for c in m.get("build-commands", []))
    installed = {_requirement_name(r) for r in re.findall(r"'([^']+)'", commands)}
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_requirement_name(r) for r in project["dependencies"]} - {
        "pyside6-essentials"
    }  # from the BaseApp
    assert wanted <= installed, f"missing from the Flatpak: {sorted(wanted - installed)}"
    assert "packaging/linux/install.sh --prefix /app" in commands
    (own,) = [m for m in data["modules"] if m["name"] == "d365sync"]
    (source,) = own["sources"]
    assert (MANIFEST.parent / source["path"]).resolve() == REPO


def test_windows_installer_script() -> None:
    text = (PACKAGING / "windows" / "d365sync.iss").read_text(encoding="utf-8")
    defines = dict(re.findall(r'#define (\w+) "([^"]*)"', text))
    assert defines["AppId"] == APP_ID
    assert defines["AppVersion"] == __version__, "the default version must follow wizard.__version__"
    spec = (PACKAGING / "d365sync.spec").read_text(encoding="utf-8")
    assert "name=bundle_data.NAME" in spec and load("bundle_data").NAME == "d365sync"
    assert r'Source: "..\..\dist\d365sync\*"' in text  # the spec's one-folder output, from packaging\windows
    assert r'Filename: "{app}\d365sync.exe"' in text
    assert (
        r"LicenseFile=..\..\LICENSE" in text and (PACKAGING / "windows" / "../../LICENSE").resolve().is_file()
    )
