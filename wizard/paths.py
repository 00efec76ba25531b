"""Where the product keeps its files.

platformdirs gives each platform's usual folders; ``D365SYNC_HOME=DIR`` puts config, data, state, logs and
the offline store under one folder instead (tests, portable use). Nothing else in the product computes a path.

The sync state (links, cursors, conflicts) belongs to one organization: each organization that synchronized
has its own ``state/<org id>/sync-state.sqlite3``, so switching the synchronizing organization and back finds
the first one's state intact. ``Locations.for_org(id)`` gives the folders with that organization's state DB.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

APP_NAME = "d365sync"
APP_AUTHOR = "d365sync"
HOME_ENV = "D365SYNC_HOME"
STATE_DB_NAME = "sync-state.sqlite3"
_ORG_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}")


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

    def ensure(self) -> Locations:
        for folder in (self.config_dir, self.data_dir, self.state_dir, self.log_dir, self.cache_dir):
            folder.mkdir(parents=True, exist_ok=True)
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
