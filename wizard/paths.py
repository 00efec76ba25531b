"""Where the product keeps its files.

platformdirs gives each platform's usual folders; ``D365SYNC_HOME=DIR`` puts config, data, state, logs and
the offline store under one folder instead (tests, portable use). Nothing else in the product computes a path.

The sync state (links, cursors, conflicts) belongs to one organization: each organization that synchronized
has its own ``state/<org id>/sync-state.sqlite3``, so switching the synchronizing organization and back finds
the first one's state intact. ``Locations.for_org(id)`` gives the folders with that organization's state DB.

Everything under the profile is private to the user (contact names, addresses and conflict values are in the
state DB and the log): :func:`use_private_modes` sets the process umask to 077, so every file the program
creates is 0600 and every folder 0700 (SQLite's -wal/-shm/-journal files, rotated logs, the token cache's
signal file included), and :meth:`Locations.ensure` creates the folders 0700 and, once per process, repairs
looser modes left by older versions. Windows has no such modes: both do nothing there.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

APP_NAME = "d365sync"
APP_AUTHOR = "d365sync"
HOME_ENV = "D365SYNC_HOME"
STATE_DB_NAME = "sync-state.sqlite3"
_ORG_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")
PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600

log = logging.getLogger(__name__)
_repaired: set[Path] = set()  # the folders already walked by this process (``ensure`` may run often)
_notes: list[str] = []  # what repair_modes changed, until the program's log takes it (take_repair_notes)


def _has_modes() -> bool:
    return os.name == "posix"


def use_private_modes() -> None:
    """Make every file and folder this process creates private to the user (umask 077); call it first thing
    in the program's entry points (the command line's ``main``, the GUI's start). No-op on Windows."""
    if _has_modes():
        os.umask(PRIVATE_UMASK)


def take_repair_notes() -> list[str]:
    """What the start-up repair changed, once: the entry points log it after setting up the log (the repair
    runs before, and the terminal is no place for it)."""
    notes = list(_notes)
    _notes.clear()
    return notes


def repair_modes(folder: Path) -> list[Path]:
    """Take group and other permissions away from ``folder`` and everything below it (symbolic links are
    neither followed nor changed); the paths repaired, each noted for the log (:func:`take_repair_notes`).
    No-op on Windows."""
    repaired: list[Path] = []
    if not _has_modes():
        return repaired

    def fix(path: Path) -> None:
        try:
            mode = path.lstat().st_mode
            if (
                stat.S_ISLNK(mode)
                or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode))
                or not mode & PRIVATE_UMASK
            ):
                return
            path.chmod(stat.S_IMODE(mode) & ~PRIVATE_UMASK)
        except OSError as exc:  # not ours, gone meanwhile: say so, never stop the program for it
            log.warning("could not restrict the permissions of %s: %s", path, exc)
            return
        # Recorded, not printed: this runs before logging is set up (see take_repair_notes)
        _notes.append(f"{path} was readable by other users (mode {stat.S_IMODE(mode):o}); now private")
        repaired.append(path)

    if not folder.is_dir() or folder.is_symlink():
        return repaired
    fix(folder)
    for root, dirs, files in os.walk(folder):  # os.walk does not follow symbolic links to folders
        for name in (*dirs, *files):
            fix(Path(root) / name)
    return repaired


@dataclass(frozen=True)
class Locations:
    config_dir: Path
    data_dir: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path
    org_id: str | None = None  # whose state DB ``state_db`` names; None: the unscoped (pre-0.x) file
    home: Path | None = None  # the one folder everything is under (``D365SYNC_HOME`` / ``locations(home)``)

    def for_org(self, org_id: str | None) -> Locations:
        """The same folders with ``org_id``'s state DB (None: the unscoped legacy file)."""
        return self if org_id == self.org_id else replace(self, org_id=org_id)

    @property
    def profile_file(self) -> Path:
        return self.config_dir / "profile.json"

    @property
    def token_cache_file(self) -> Path:
        """The MSAL token cache; only ever written encrypted (see wizard.secrets)."""
        return self.data_dir / "msal_token_cache.bin"

    @property
    def state_db(self) -> Path:
        """The state DB of ``org_id`` (the synchronizing organization in a Factory's ``where``)."""
        if self.org_id:
            return self.org_state_db(self.org_id)
        return self.legacy_state_db

    def org_state_db(self, org_id: str) -> Path:
        """``state/<org id>/sync-state.sqlite3``; the id is a GUID, anything else is refused (no path tricks)."""
        if not _ORG_ID.fullmatch(org_id):
            raise ValueError(f"not an organization id: {org_id!r}")
        return self.state_dir / org_id.lower() / STATE_DB_NAME

    @property
    def legacy_state_db(self) -> Path:
        """The one state DB of versions before per-organization state; adopted by the synchronizing
        organization once (``wizard.app.factory.Factory``)."""
        return self.state_dir / STATE_DB_NAME

    @property
    def offline_db(self) -> Path:
        return self.data_dir / "offline.sqlite3"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "engine.lock"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "d365sync.log"

    @property
    def folders(self) -> tuple[Path, ...]:
        """The profile's folders (config, data, state, logs, cache)."""
        return (self.config_dir, self.data_dir, self.state_dir, self.log_dir, self.cache_dir)

    def ensure(self) -> Locations:
        """Create the folders (0700) and, the first time in this process, repair looser modes below them
        (and of ``home`` itself): see :func:`repair_modes`."""
        for folder in self.folders:
            folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        for folder in (self.home,) if self.home is not None else self.folders:
            if folder is not None and folder not in _repaired:
                repair_modes(folder)
                _repaired.add(folder)
        return self


def resources_dir() -> Path:
    """The product's own resource files (icons, translation sources): ``resources/`` of the source tree, which an
    installed wheel carries inside the package as ``wizard/resources`` (pyproject maps it) and the PyInstaller
    bundle beside the package, as in the source tree."""
    package = Path(__file__).resolve().parent
    installed = package / "resources"
    return installed if installed.is_dir() else package.parent / "resources"


def locations(home: str | os.PathLike[str] | None = None) -> Locations:
    """The folders to use: ``home`` if given, else ``$D365SYNC_HOME``, else the platform's."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or None
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return Locations(
            config_dir=root / "config",
            data_dir=root / "data",
            state_dir=root / "state",
            log_dir=root / "logs",
            cache_dir=root / "cache",
            home=root,
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, APP_AUTHOR)
    return Locations(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        state_dir=Path(dirs.user_state_dir),
        log_dir=Path(dirs.user_log_dir),
        cache_dir=Path(dirs.user_cache_dir),
    )
