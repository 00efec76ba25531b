"""Loading and saving the profile: atomic writes, a schema version with an upgrade ladder, backups.

A corrupted or newer-version file is never overwritten or silently reset: loading raises
:class:`ProfileError` with what happened, where the file is and what to do.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wizard.errors import ConfigurationError
from wizard.settings.profile import Profile, ProfileFormatError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


def _from_0(data: dict[str, Any]) -> dict[str, Any]:
    """A file without ``schema_version`` (written by hand or by a script) is read as version 0: the same
    fields as version 1, where the instance id may be missing (a new one is made on load)."""
    upgraded = dict(data)
    upgraded.setdefault("instance_id", "")
    return upgraded


# UPGRADES[n] turns a version-n document into a version-(n+1) document.
UPGRADES: dict[int, Upgrade] = {0: _from_0}


class ProfileError(ConfigurationError):
    """The profile file cannot be used as it is; it has been left untouched."""


def load_profile(path: Path) -> Profile:
    """The profile at ``path``; a new empty profile when there is no file yet."""
    if not path.exists():
        return Profile()
    try:
        raw = path.read_text(encoding="utf-8-sig")  # a byte order mark (Notepad) is read, not "damaged"
    except OSError as exc:
        raise ProfileError(
            f"cannot read {path}: {exc.strerror}",
            user_text=f"The settings file {path} cannot be read ({exc.strerror}). Check its permissions.",
        ) from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"{path} is not UTF-8 (byte {exc.start})",
            user_text=(
                f"The settings file {path} is not UTF-8 text (at byte {exc.start}): it may have been saved in "
                "another encoding. It was left as it is; save it as UTF-8, or move it aside and run the "
                "Configuration Wizard again."
            ),
        ) from exc
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise ProfileError(
            f"{path} is nested too deeply",
            user_text=(
                f"The settings file {path} is damaged (nested too deeply to be read). It was left as it is. "
                "Repair it, or move it aside and run the Configuration Wizard again."
            ),
        ) from exc
    except json.JSONDecodeError as exc:
        raise ProfileError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
            user_text=(
                f"The settings file {path} is damaged (line {exc.lineno}, column {exc.colno}). "
                "It was left as it is. Repair it, or move it aside and run the Configuration Wizard again."
            ),
        ) from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path} does not hold a settings object", user_text=_damaged(path))
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version < 0:
        raise ProfileError(f"{path}: bad schema_version {version!r}", user_text=_damaged(path))
    if version > SCHEMA_VERSION:
        raise ProfileError(
            f"{path} has schema version {version}, newer than {SCHEMA_VERSION}",
            user_text=(
                f"The settings in {path} were written by a newer d365sync (format {version}; this one "
                f"understands up to {SCHEMA_VERSION}). Update d365sync, or move the file aside to start over."
            ),
        )
    if version < SCHEMA_VERSION:
        backup = path.with_name(f"{path.name}.v{version}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(path, backup)
        log.info(
            "settings format %d is upgraded to %d; the old file is kept as %s",
            version,
            SCHEMA_VERSION,
            backup,
        )
        while version < SCHEMA_VERSION:
            data = UPGRADES[version](data)
            version += 1
    try:
        profile = Profile.from_dict(data)
    except ProfileFormatError as exc:
        raise ProfileError(
            f"{path}: {exc}",
            user_text=f"The settings file {path} has an invalid value at {exc.path} ({exc.problem}). "
            "It was left as it is; correct it or move it aside and run the Configuration Wizard again.",
        ) from exc
    except TypeError as exc:
        raise ProfileError(f"{path}: {exc}", user_text=_damaged(path)) from exc
    if data.get("schema_version", 0) != SCHEMA_VERSION or not data.get("instance_id"):
        save_profile(path, profile)
    return profile


def save_profile(path: Path, profile: Profile) -> None:
    """Write atomically: a temp file in the same folder, fsync, rename over the old file, fsync the folder."""
    profile.validate()
    document = {"schema_version": SCHEMA_VERSION, **profile.to_dict()}
    payload = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _damaged(path: Path) -> str:
    return (
        f"The settings file {path} is damaged. It was left as it is. "
        "Repair it, or move it aside and run the Configuration Wizard again."
    )
