"""Secrets: passwords in the OS keyring, the MSAL token cache encrypted, nothing in plain text on disk.

* :class:`SecretStore` keeps passwords (organizations on premises, mailboxes) in the OS keyring under the
  service name ``d365sync``.
* :func:`load_token_cache` gives MSAL a cross-process token cache (msal-extensions' ``PersistedTokenCache``)
  stored with the platform's encryption (DPAPI, Keychain, libsecret). Where that is unavailable (Linux without
  libsecret/PyGObject is common) the serialized cache lives in the keyring instead
  (:class:`KeyringPersistence`); a plaintext file is never an option.
* :func:`use_memory_keyring` is for ``d365sync demo``: a throw-away single-process profile that must run on
  machines without any keyring.
* :func:`redact` masks bearer tokens and passwords in text that goes to logs.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
import msal
from keyring.backend import KeyringBackend
from msal_extensions import PersistedTokenCache
from msal_extensions.persistence import (
    BasePersistence,
    PersistenceError,
    PersistenceNotFound,
    build_encrypted_persistence,
)

from wizard.errors import SecretStoreError
from wizard.paths import Locations, locations

SERVICE = "d365sync"
TOKEN_CACHE_KEY = "msal-token-cache"


def org_key(org_id: str, username: str) -> str:
    """The keyring key of a user's password for one (on-premises) organization."""
    return f"org:{org_id}:{username.strip().lower()}"


def mailbox_key(address: str) -> str:
    """The keyring key of a mailbox password (EWS, POP3/SMTP)."""
    return f"mailbox:{address.strip().lower()}"


def _no_keyring_text() -> str:
    if sys.platform.startswith("win"):
        where = "Windows Credential Manager is not available to this program"
    elif sys.platform == "darwin":
        where = "the macOS Keychain is not available to this program"
    else:
        where = (
            "install and unlock a Secret Service such as GNOME Keyring or KWallet, "
            "or select a backend with PYTHON_KEYRING_BACKEND"
        )
    return f"No keyring is available to store passwords and sign-in tokens safely: {where}."


def _is_unusable(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return True
    if isinstance(backend, chainer.ChainerBackend):
        return not backend.backends
    return False


def check_keyring() -> KeyringBackend:
    """The active keyring backend, or :class:`SecretStoreError` saying what to install."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a backend named in PYTHON_KEYRING_BACKEND that cannot load
        raise SecretStoreError(
            f"keyring backend failed to load: {type(exc).__name__}", user_text=_no_keyring_text()
        ) from exc
    if _is_unusable(backend):
        raise SecretStoreError(
            f"no usable keyring backend ({type(backend).__name__})", user_text=_no_keyring_text()
        )
    return backend


def _store_error(action: str, exc: BaseException) -> SecretStoreError:
    # Only the exception's type: a backend's message could echo what it was given.
    return SecretStoreError(
        f"keyring {action} failed: {type(exc).__name__}",
        user_text=f"The keyring refused to {action} a secret. Unlock your keyring and try again.",
    )


class SecretStore:
    """Passwords in the OS keyring, one entry per key (see :func:`org_key`, :func:`mailbox_key`)."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def __repr__(self) -> str:
        return f"SecretStore(service={self.service!r})"

    def get(self, key: str) -> str | None:
        check_keyring()
        try:
            value: str | None = keyring.get_password(self.service, key)
        except keyring.errors.KeyringError as exc:
            raise _store_error("read", exc) from exc
        return value

    def set(self, key: str, value: str) -> None:
        check_keyring()
        try:
            keyring.set_password(self.service, key, value)
        except keyring.errors.KeyringError as exc:
            raise _store_error("store", exc) from exc

    def delete(self, key: str) -> bool:
        """Remove ``key``; False when there was nothing to remove."""
        check_keyring()
        try:
            keyring.delete_password(self.service, key)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise _store_error("delete", exc) from exc
        return True


class MemoryKeyring(KeyringBackend):
    """An in-process keyring: forgotten when the process ends (``d365sync demo`` only)."""

    priority = 0.5

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._values.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError(username)


def use_memory_keyring() -> MemoryKeyring:
    """Switch this process to an in-memory keyring (throw-away demo profiles)."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def keyring_is_process_local() -> bool:
    """True when this process keeps its secrets in memory (``use_memory_keyring``): another process
    cannot see them, so work that needs them must stay in this process."""
    return isinstance(keyring.get_keyring(), MemoryKeyring)


class KeyringPersistence(BasePersistence):  # type: ignore[misc]
    """msal-extensions persistence that keeps the serialized token cache in the OS keyring.

    The file at ``signal_location`` holds nothing; its modification time tells other processes that the cache
    changed (as msal-extensions' own libsecret persistence does).
    """

    is_encrypted = True  # as far as the keyring backend is

    def __init__(self, signal_location: str | os.PathLike[str], service: str = SERVICE) -> None:
        self._signal = Path(signal_location)
        self._signal.parent.mkdir(parents=True, exist_ok=True)
        self._service = service

    def save(self, content: str) -> None:
        try:
            keyring.set_password(self._service, TOKEN_CACHE_KEY, content)
        except keyring.errors.KeyringError as exc:
            raise PersistenceError(message=f"keyring refused the token cache: {type(exc).__name__}") from exc
        self._signal.touch()

    def load(self) -> str:
        try:
            content: str | None = keyring.get_password(self._service, TOKEN_CACHE_KEY)
        except keyring.errors.KeyringError as exc:
            raise PersistenceError(message=f"keyring refused the token cache: {type(exc).__name__}") from exc
        if content is None:
            raise PersistenceNotFound(message="no token cache in the keyring yet", location=str(self._signal))
        return content

    def time_last_modified(self) -> float:
        try:
            return self._signal.stat().st_mtime
        except FileNotFoundError as exc:
            raise PersistenceNotFound(location=str(self._signal)) from exc

    def get_location(self) -> str:
        return str(self._signal)

    def clear(self) -> None:
        """Forget the cache (sign out of every account)."""
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(self._service, TOKEN_CACHE_KEY)
        self._signal.unlink(missing_ok=True)


def _native_persistence(location: Path) -> Any:
    """msal-extensions' encrypted persistence for this platform, or None when it cannot work here."""
    try:
        persistence = build_encrypted_persistence(str(location))
        persistence.load()  # a probe: unavailable crypto or an unreadable cache fails here, not mid-sign-in
    except PersistenceNotFound:
        return persistence
    except Exception:  # ImportError (no PyGObject), RuntimeError, PersistenceError, OSError (no D-Bus)...
        return None
    return persistence


def _keyring_chosen_explicitly() -> bool:
    """True when ``PYTHON_KEYRING_BACKEND`` or the demo (:func:`use_memory_keyring`) picked a keyring.

    The token cache then goes to that keyring too: msal-extensions' native persistence would bypass the choice
    (and write a throw-away demo's or a test's tokens into the real OS store).
    """
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return True
    try:
        return isinstance(keyring.get_keyring(), MemoryKeyring)
    except Exception:
        return False


def token_cache_persistence(where: Locations | None = None, *, prefer_native: bool | None = None) -> Any:
    """The persistence the token cache uses: the platform's encryption, else the keyring.

    ``prefer_native`` None: the platform's encryption unless a keyring was chosen explicitly.
    """
    where = where or locations()
    where.data_dir.mkdir(parents=True, exist_ok=True)
    if prefer_native is None:
        prefer_native = not _keyring_chosen_explicitly()
    if prefer_native:
        native = _native_persistence(where.token_cache_file)
        if native is not None:
            return native
    check_keyring()
    return KeyringPersistence(where.token_cache_file.with_name(where.token_cache_file.name + ".changed"))


def load_token_cache(
    where: Locations | None = None, *, prefer_native: bool | None = None
) -> msal.SerializableTokenCache:
    """A persisted, cross-process-safe MSAL token cache (never plaintext on disk).

    Raises :class:`SecretStoreError` when neither the platform's encryption nor a keyring is available.
    """
    persistence = token_cache_persistence(where, prefer_native=prefer_native)
    cache: msal.SerializableTokenCache = PersistedTokenCache(persistence)
    return cache


# -- log masking -------------------------------------------------------------------------------------
_SECRET_NAMES = (
    r"password|passwd|pwd|client_secret|access_token|refresh_token|id_token|assertion|"
    r"code|device_code|code_verifier|client_info|secret|token"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(bearer|basic|ntlm|negotiate)\s+[^\s,;\"']+"), r"\1\2 ***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 ***"),
    (re.compile(rf"(?i)(\"(?:{_SECRET_NAMES})\"\s*:\s*)\"(?:[^\"\\]|\\.)*\""), r'\1"***"'),
    (re.compile(rf"(?i)(?<![\w-])((?:{_SECRET_NAMES})\s*=\s*)(?!\*\*\*)[^\s&,;\"']+"), r"\1***"),
    (
        re.compile(r"(?i)(?<![\w-])((?:password|passwd|pwd|client_secret)\s*:\s*)(?!\*\*\*)[^\s,;\"']+"),
        r"\1***",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "***"),
]


def redact(text: str) -> str:
    """``text`` with bearer tokens, JWTs and ``password=...``-style values replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
