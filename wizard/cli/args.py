"""Checks of argument values before anything is done: a CA file that exists, host names a connection can use.

A bad value is a :class:`~wizard.errors.ConfigurationError` naming the option, so the user sees which argument
to correct instead of a failure deep inside a connection.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from wizard.errors import ConfigurationError

MAX_HOST = 253  # RFC 1035: a name of at most 253 characters, labels of at most 63
MAX_LABEL = 63


def ca_file(value: str | None, option: str = "--ca-file") -> str:
    """The absolute path of an existing CA bundle file ("" when none was given)."""
    if not value:
        return ""
    path = Path(value).expanduser()
    if not path.is_file():
        why = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ConfigurationError(
            f"{option} {value}: {why}", user_text=f"The CA file {value} ({option}) {why}."
        )
    return str(path.resolve())


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else f"{text[: width - 1]}… ({len(text)} characters)"


def host(value: str | None, option: str) -> str | None:
    """``value`` unchanged when it can be a host name (or is not given); a clear error when it is too long."""
    if not value or ":" in value:  # not given, or an IPv6 address
        return value
    labels = value.rstrip(".").split(".")
    if len(value) > MAX_HOST or any(len(label) > MAX_LABEL for label in labels):
        raise ConfigurationError(
            f"{option}: host name too long ({len(value)} characters)",
            user_text=f"The host name {_short(value)} ({option}) is too long: a host name has at most "
            f"{MAX_HOST} characters, each part between dots at most {MAX_LABEL}.",
        )
    return value


def url(value: str | None, option: str) -> str | None:
    """``value`` unchanged unless its host name is too long (other checks are the connection's)."""
    if not value:
        return value
    try:
        name = urlsplit(value.strip()).hostname
    except ValueError:
        return value  # not a URL at all: the code that uses it says so
    host(name, option)
    return value
