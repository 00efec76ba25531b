#!/bin/sh
# Linux desktop integration for d365sync: the desktop entry, the AppStream metadata and the icon, each under the
# application id, so menus, software centres and the window list show d365sync with its name and icon.
#
#   packaging/linux/install.sh [--prefix DIR] [--bundle DIR]
#
# --prefix  where to install (default: ~/.local, or /usr/local as root); DESTDIR is honoured for staged installs
#           (distribution packages; the Flatpak manifest runs it with --prefix /app).
# --bundle  a PyInstaller one-folder build (dist/d365sync): copied to PREFIX/lib/d365sync and linked as
#           PREFIX/bin/d365sync. Without it, the d365sync command must already be on PATH (pip install).
set -eu

APP_ID=io.github.d365sync.D365Sync
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

if [ "$(id -u)" = 0 ]; then PREFIX=/usr/local; else PREFIX="$HOME/.local"; fi
BUNDLE=
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX=$2; shift 2 ;;
        --bundle) BUNDLE=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
DEST="${DESTDIR:-}$PREFIX"

install -Dm644 "$HERE/$APP_ID.desktop" "$DEST/share/applications/$APP_ID.desktop"
install -Dm644 "$HERE/$APP_ID.metainfo.xml" "$DEST/share/metainfo/$APP_ID.metainfo.xml"
install -Dm644 "$REPO/resources/icons/app.svg" "$DEST/share/icons/hicolor/scalable/apps/$APP_ID.svg"

if [ -n "$BUNDLE" ]; then
    if [ ! -x "$BUNDLE/d365sync" ]; then
        echo "install.sh: $BUNDLE/d365sync is not an executable (build it: pyinstaller packaging/d365sync.spec)" >&2
        exit 1
    fi
    rm -rf "$DEST/lib/d365sync"
    mkdir -p "$DEST/lib" "$DEST/bin"
    cp -a "$BUNDLE" "$DEST/lib/d365sync"
    ln -sf "$PREFIX/lib/d365sync/d365sync" "$DEST/bin/d365sync"
fi

# Refresh the caches when installing for real (not into a staging DESTDIR); missing tools are fine.
if [ -z "${DESTDIR:-}" ]; then
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DEST/share/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -qtf "$DEST/share/icons/hicolor" || true
fi
echo "Installed $APP_ID under $DEST"
