"""packaging/linux/: the desktop entry, the AppStream metadata and install.sh agree with each other and the app."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.packaging._load import LINUX, REPO, load
from wizard import __version__

bundle_data = load("bundle_data")
APP_ID = bundle_data.APP_ID
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def script_name() -> str:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    (name,) = scripts
    return str(name)


def test_one_id_everywhere() -> None:
    from wizard.ui.app import DESKTOP_ID

    root = ET.parse(METAINFO).getroot()
    assert DESKTOP_ID == APP_ID
    assert re.fullmatch(r"[a-z]+(\.[A-Za-z0-9_-]+){2,}", APP_ID)
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert sorted(p.name for p in LINUX.glob(f"{APP_ID}.*")) == sorted([DESKTOP.name, METAINFO.name])


def test_desktop_entry_keys() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == script_name()
    assert entry["TryExec"] == script_name()
    assert entry["Icon"] == APP_ID
    assert entry["Categories"] == "Office;Network;Email;"
    assert entry["Terminal"] == "false"
    for key in ("Name", "GenericName", "Comment", "Keywords"):
        assert entry[key].strip(), key
    for key in ("GenericName", "Comment", "Keywords"):
        assert entry[f"{key}[de]"].strip() and entry[f"{key}[de]"] != entry[key], key
    assert entry["Keywords"].endswith(";") and entry["Keywords[de]"].endswith(";")


@pytest.mark.gui
def test_the_running_app_matches_the_desktop_entry() -> None:
    """Wayland matches the window's app_id (desktopFileName) to the .desktop file's name, X11 matches
    WM_CLASS (Qt's class is the application name) to StartupWMClass."""
    from wizard.ui.app import application

    app = application()
    entry = desktop_entry()
    assert app.desktopFileName() == DESKTOP.stem
    assert app.applicationName() == entry["StartupWMClass"]


def test_desktop_file_validate() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils; CI has it)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error:" not in result.stdout + result.stderr


def test_appstream_validate() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (apt-get install appstream; CI has it)")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_content() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("provides/binary") == script_name()
    assert root.findtext("project_license") == "MIT"
    assert root.find("content_rating") is not None
    assert root.findtext("url[@type='homepage']", "").startswith("https://")
    summaries = {s.get(XML_LANG, "en"): (s.text or "").strip() for s in root.findall("summary")}
    assert summaries.get("en") and summaries.get("de")
    categories = [c.text or "" for c in root.findall("categories/category")]
    assert ";".join(categories) + ";" == desktop_entry()["Categories"]


def test_metainfo_screenshots_are_docs_screenshots() -> None:
    images = [
        (s.findtext("image") or "") for s in ET.parse(METAINFO).getroot().findall("screenshots/screenshot")
    ]
    assert images
    for url in images:
        assert url.startswith("https://"), url
        _, marker, rest = url.partition("/main/")
        assert marker and rest.startswith("docs/screenshots/"), url
        assert (REPO / rest).is_file(), f"{url} names {rest}, which is not in the repository"


def test_metainfo_releases_follow_the_version_and_changelog() -> None:
    releases = [r.get("version") for r in ET.parse(METAINFO).getroot().findall("releases/release")]
    assert releases and releases[0] == __version__, "the newest <release> must be wizard.__version__"
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    for released in re.findall(r"^## \[(\d+\.\d+\.\d+[^\]]*)\]", changelog, flags=re.M):
        assert released in releases, f"CHANGELOG's {released} has no <release> in the metainfo"


def test_install_sh_places_everything_under_the_id(tmp_path: Path) -> None:
    fake_bundle = tmp_path / "bundle"
    (fake_bundle / "_internal").mkdir(parents=True)
    exe = fake_bundle / "d365sync"
    exe.write_text("#!/bin/sh\necho bundled\n")
    exe.chmod(0o755)
    stage = tmp_path / "stage"
    env = {**os.environ, "DESTDIR": str(stage)}
    result = subprocess.run(
        ["sh", str(LINUX / "install.sh"), "--prefix", "/usr", "--bundle", str(fake_bundle)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    share = stage / "usr" / "share"
    assert (share / "applications" / DESKTOP.name).read_bytes() == DESKTOP.read_bytes()
    assert (share / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    icon = share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert icon.read_bytes() == (REPO / "resources" / "icons" / "app.svg").read_bytes()
    link = stage / "usr" / "bin" / "d365sync"
    assert os.readlink(link) == "/usr/lib/d365sync/d365sync"  # the final location, not the staging one
    assert (stage / "usr" / "lib" / "d365sync" / "_internal").is_dir()

    bad = subprocess.run(
        ["sh", str(LINUX / "install.sh"), "--bogus"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and "unknown argument" in bad.stderr
