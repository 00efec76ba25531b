"""The product's own SVG icons (resources/icons), with the platform theme's icons as fallback.

Line icons drawn in a dark colour (sync, eye) have a lighter twin in resources/icons/dark/ that is used while
the application's palette is dark; the filled status icons (ok, warning, error, info) read on both."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QGuiApplication, QIcon, QPalette

from wizard.paths import resources_dir

ICON_DIR = resources_dir() / "icons"
DARK_DIR = ICON_DIR / "dark"


def palette_is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (the application's by default) has a dark window background."""
    palette = palette if palette is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def icon(name: str) -> QIcon:
    """``name`` is one of: app, ok, warning, error, sync, info, eye, eye-off (for the current palette)."""
    return _icon(name, palette_is_dark())


@cache
def _icon(name: str, dark: bool) -> QIcon:
    path = DARK_DIR / f"{name}.svg" if dark else ICON_DIR / f"{name}.svg"
    if dark and not path.exists():
        path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
