"""What the PyInstaller bundle carries besides Python modules, and its platform settings, in one place.

``packaging/d365sync.spec`` builds from these lists and ``tests/packaging`` checks them, so a data file added
under ``wizard/`` or ``resources/`` cannot be left out of the bundle unnoticed. Files land at the same path
relative to the bundle's root as relative to the repository, because the code finds them through
``Path(__file__)`` (``wizard/ui/icons.py``: ``resources/icons``; ``wizard/ui/i18n.py``: the .qm beside it and
``resources/translations``).

This module is plain Python (no PyInstaller import) so the tests can load it without PyInstaller installed.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
APP_ID = "io.github.d365sync.D365Sync"  # also wizard.ui.app.DESKTOP_ID and the packaging/linux/ file names
NAME = "d365sync"

# Modules that read files through Path(__file__) only as build tools, never in the installed program.
BUILD_TIME_ONLY = frozenset({"wizard.ui.build_translations"})

# Non-Python files under wizard/ that are never read at run time.
_NOT_DATA_SUFFIXES = frozenset({".py", ".pyc", ".pyo", ".pyi"})
# Under resources/: what the program reads (icons; the .ts sources are i18n's fallback when a .qm is stale).
RESOURCE_TREES = (("resources/icons", "*.svg"), ("resources/translations", "*.ts"))


def version(repo: Path = REPO) -> str:
    """``wizard.__version__``, read without importing the package (the spec runs in PyInstaller's process)."""
    for line in (repo / "wizard" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("wizard/__init__.py has no __version__")


def package_data_files(repo: Path = REPO) -> list[Path]:
    """Every non-Python file inside the wizard package (the built .qm and whatever a module keeps beside it)."""
    root = repo / "wizard"
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix not in _NOT_DATA_SUFFIXES
        and "__pycache__" not in p.relative_to(root).parts
    )


def resource_files(repo: Path = REPO) -> list[Path]:
    """The files under resources/ that the program reads at run time."""
    return sorted(p for tree, pattern in RESOURCE_TREES for p in (repo / tree).rglob(pattern) if p.is_file())


def datas(repo: Path = REPO) -> list[tuple[str, str]]:
    """PyInstaller ``datas``: (source file, folder inside the bundle), mirroring the repository's layout."""
    return [
        (str(p), p.parent.relative_to(repo).as_posix())
        for p in [*package_data_files(repo), *resource_files(repo)]
    ]


def keyring_backends() -> tuple[list[str], list[str]]:
    """(modules, distributions) that register ``keyring.backends`` entry points in this environment.

    keyring finds its backends through entry points, which PyInstaller only sees when the distributions'
    metadata is copied into the bundle; the modules are loaded by name, so they are hidden imports."""
    modules: set[str] = set()
    dists: set[str] = set()
    for ep in importlib.metadata.entry_points(group="keyring.backends"):
        modules.add(ep.module)
        if ep.dist is not None:
            dists.add(ep.dist.name)
    return sorted(modules), sorted(dists | {"keyring"})


def macos_info_plist(app_version: str) -> dict[str, Any]:
    """Info.plist keys for the macOS .app (the bundle identifier is passed to BUNDLE separately)."""
    return {
        "CFBundleName": NAME,
        "CFBundleDisplayName": NAME,
        "CFBundleShortVersionString": app_version,
        "CFBundleVersion": app_version,
        "LSApplicationCategoryType": "public.app-category.business",
        "LSMinimumSystemVersion": "11.0",
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follow the system's dark mode (the Qt style does)
        "NSHumanReadableCopyright": "MIT License, d365sync developers",
    }


def windows_version_file(app_version: str) -> str:
    """The EXE's version resource (Explorer's Properties > Details) in the text form PyInstaller's ``version=``
    reads (as ``pyi-grab_version`` writes it); text, because PyInstaller's versioninfo imports only on Windows."""
    numbers = [int(p) for p in re.split(r"[.+-]", app_version)[:4] if p.isdigit()]
    numbers += [0] * (4 - len(numbers))
    strings = {
        "CompanyName": "d365sync developers",
        "FileDescription": "d365sync - Dynamics 365 synchronization without Outlook",
        "FileVersion": app_version,
        "InternalName": NAME,
        "LegalCopyright": "MIT License",
        "OriginalFilename": f"{NAME}.exe",
        "ProductName": NAME,
        "ProductVersion": app_version,
    }
    table = ",\n".join(f"          StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return f"""# UTF-8
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={tuple(numbers)!r},
    prodvers={tuple(numbers)!r},
    mask=0x3F,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0),
  ),
  kids=[
    StringFileInfo([
      StringTable(
        '040904B0',
        [
{table},
        ],
      ),
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])]),
  ],
)
"""


def render_icon_png(svg: Path, png: Path, size: int = 512) -> Path:
    """The app icon as a PNG (PyInstaller turns it into .ico / .icns with Pillow on Windows and macOS)."""
    # a build step, not engine code: Qt is the one SVG renderer the project already depends on
    from PySide6.QtCore import Qt  # noqa: TID251
    from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: TID251
    from PySide6.QtSvg import QSvgRenderer  # noqa: TID251

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0], "-platform", "offscreen"])
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    png.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(png)):
        raise RuntimeError(f"could not write {png}")
    return png
