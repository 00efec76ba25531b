"""The PyInstaller bundle, built from packaging/d365sync.spec and run: about 1 to 2 minutes, hence slow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.packaging._load import PACKAGING, REPO
from wizard import __version__

pytestmark = pytest.mark.slow


def _size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("PyInstaller", reason="PyInstaller is not installed (pip install '.[packaging]')")
    out = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "build"), str(PACKAGING / "d365sync.spec")],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    folder = out / "dist" / "d365sync"
    print(f"\nbundle built in {time.monotonic() - started:.0f} s, {_size_mib(folder):.0f} MiB: {folder}")
    return folder


def _env(home: Path) -> dict[str, str]:
    """The bundle's own world: none of the test run's Python path or test keyring."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHON_KEYRING_BACKEND")}
    return {**env, "QT_QPA_PLATFORM": "offscreen", "D365SYNC_HOME": str(home)}


def test_version(bundle: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(bundle / "d365sync"), "--version"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"d365sync {__version__}"


def test_headless_demo(bundle: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(bundle / "d365sync"), "demo", "--headless"],
        capture_output=True, text=True, env=_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout
    assert "Kind" in table and "To Dynamics 365" in table and "To mailbox" in table
    for kind in ("email", "contacts", "appointments", "tasks"):
        assert any(line.startswith(kind) and " ok " in line for line in table.splitlines()), kind


def test_engine_child(bundle: Path, tmp_path: Path) -> None:
    """The status window's engine process, as ProcessEngine starts it from a bundle (sys.executable -m ...)."""
    result = subprocess.run(
        [str(bundle / "d365sync"), "-m", "wizard.app.worker"],
        capture_output=True, text=True, env=_env(tmp_path), timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    event = json.loads(result.stdout.strip().splitlines()[-1])
    assert event["error"]["type"] == "wizard.app.factory:NotConfigured"


def test_contents(bundle: Path) -> None:
    internal = bundle / "_internal"
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for plugin in ("platforms/libqoffscreen.so", "platforms/libqxcb.so", "platforms/libqwayland.so",
                   "iconengines/libqsvgicon.so", "imageformats/libqsvg.so"):  # fmt: skip
        assert (plugins / plugin).is_file(), plugin
    assert (internal / "PySide6" / "Qt" / "translations" / "qtbase_de.qm").is_file()
    assert (internal / "wizard" / "ui" / "translations" / "d365sync_de.qm").is_file()
    assert (internal / "resources" / "translations" / "d365sync_de.ts").is_file()
    assert (internal / "resources" / "icons" / "app.svg").is_file()
    assert (internal / "resources" / "icons" / "dark" / "sync.svg").is_file()
    assert (internal / "certifi" / "cacert.pem").is_file()
    (keyring_meta,) = internal.glob("keyring-*.dist-info")
    assert "keyring.backends" in (keyring_meta / "entry_points.txt").read_text()
    assert not (internal / "IPython").exists() and not (internal / "numpy").exists()
    listing = subprocess.run(
        [sys.executable, "-m", "PyInstaller.utils.cliutils.archive_viewer", "-r", "-b", str(bundle / "d365sync")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    modules = set(listing.stdout.split())
    for module in ("keyring.backends.SecretService", "keyring.backends.kwallet", "secretstorage",
                   "wizard.sandbox", "wizard.app.worker", "wizard.ui.status.window"):  # fmt: skip
        assert module in modules, module
