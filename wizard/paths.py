"""Where the product keeps its files.

platformdirs gives each platform's usual folders; ``D365SYNC_HOME=DIR`` puts config, data, state, logs and
the offline store under one folder instead (tests, portable use). Nothing else in the product computes a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "d365sync"
APP_AUTHOR = "d365sync"
HOME_ENV = "D365SYNC_HOME"


@dataclass(frozen=True)
class Locations:
    config_dir: Path
    data_dir: Path
    state_dir: Path
    log_dir: Path
    cache_dir: Path

    @property
    def profile_file(self) -> Path:
        return self.config_dir / "profile.json"

    @property
    def token_cache_file(self) -> Path:
        """The MSAL token cache; only ever written encrypted (see wizard.secrets)."""
        return self.data_dir / "msal_token_cache.bin"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "sync-state.sqlite3"

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
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, APP_AUTHOR)
    return Locations(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        state_dir=Path(dirs.user_state_dir),
        log_dir=Path(dirs.user_log_dir),
        cache_dir=Path(dirs.user_cache_dir),
    )
