"""What the command line says about a failure that is not one of the product's typed errors.

The folders that cannot be made (a file in a folder's place, no permission), a full disk, a state DB that cannot
be written, opened or upgraded, a CA file that is gone, an address no parser accepts, input nested too deeply:
each gets one sentence for people (what happened, where, what to do) instead of "an unexpected error occurred".
The details still go to the log file; anything not recognised here stays "unexpected".
"""

from __future__ import annotations

import errno
import sqlite3

from wizard.paths import HOME_ENV, Locations

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM}


def _where(error: OSError) -> str:
    """The path the error names, shortened when it is absurdly long (a mistyped or hostile D365SYNC_HOME)."""
    path = str(error.filename) if error.filename else ""
    return path if len(path) <= 300 else f"{path[:150]}…{path[-100:]} ({len(path)} characters)"


def folder_text(error: OSError) -> str:
    """Why the profile's folders (``D365SYNC_HOME`` or the platform's) cannot be created or used."""
    path = _where(error) or "the settings folder"
    elsewhere = f"set {HOME_ENV} to a folder you can write to"
    if error.errno in _FULL:
        return f"The disk holding {path} is full; nothing was changed. Free some space and try again."
    if isinstance(error, FileExistsError):
        return f"{path} is a file, but d365sync needs a folder there: move the file aside, or {elsewhere}."
    if isinstance(error, NotADirectoryError):
        return (
            f"A part of {path} is a file, not a folder, so d365sync cannot keep its files there: move the file "
            f"aside, or {elsewhere}."
        )
    if error.errno in _DENIED:
        return f"d365sync may not write to {path} (permission denied): make it writable, or {elsewhere}."
    if error.errno == errno.EROFS:
        return f"{path} is on a read-only file system: {elsewhere}."
    return f"The folder {path} cannot be used ({error.strerror or error}): {elsewhere}."


def _state_text(error: sqlite3.Error, where: Locations | None) -> str:
    db = str(where.state_db) if where is not None else "the sync state"
    text = str(error).lower()
    if "disk is full" in text:
        return f"The disk holding {db} is full; nothing was changed. Free some space and try again."
    if "readonly" in text or "read-only" in text:
        return (
            f"The sync state {db} cannot be written (the file or its folder is read-only); nothing was changed. "
            "Make both writable and try again."
        )
    if "unable to open" in text:
        return (
            f"The sync state {db} cannot be opened (its folder is missing, not a folder, or not readable); "
            "nothing was changed."
        )
    if "locked" in text or "busy" in text:
        return f"The sync state {db} is in use by another program; nothing was changed. Try again shortly."
    return (
        f"The sync state {db} cannot be used ({error}); it was left as it is and nothing was changed. "
        "If it was copied from another version of d365sync, put the original file back."
    )


def _os_text(error: OSError, where: Locations | None) -> str | None:
    message = str(error)
    if "TLS CA certificate bundle" in message:  # requests: a --ca-file that has gone since it was added
        path = message.rsplit(":", 1)[-1].strip()
        return (
            f"The CA file {path} cannot be found. Put it back, or add the organization or bind the mailbox again "
            "with --ca-file naming the file."
        )
    if error.errno in _FULL:
        folder = _where(error) or (str(where.home or where.config_dir) if where else "the settings folder")
        return f"The disk holding {folder} is full; nothing more was changed. Free some space and try again."
    if error.errno in _DENIED or error.errno == errno.EROFS:
        path = _where(error) or "a file of d365sync"
        return f"d365sync cannot write {path} ({error.strerror}); nothing more was changed."
    if isinstance(error, FileExistsError | NotADirectoryError | IsADirectoryError):
        return folder_text(error)
    return None


def explain(error: BaseException, where: Locations | None) -> str | None:
    """The sentence for people for ``error``, or None when it is a bug (reported as "unexpected")."""
    if isinstance(error, sqlite3.Error):
        return _state_text(error, where)
    if isinstance(error, OSError):
        return _os_text(error, where)
    if isinstance(error, RecursionError):
        return (
            "A file or a server's answer is nested too deeply to be read; nothing more was changed. "
            "Details are in the log."
        )
    if type(error).__name__ == "LocationParseError":  # urllib3: a host name no connection can use
        return "An address (URL or host name) is not valid: a host name or one of its parts is too long."
    return None
