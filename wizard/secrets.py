"""Secrets: passwords in the OS keyring, the MSAL token cache encrypted, nothing in plain text on disk.

* :class:`SecretStore` keeps passwords (organizations on premises, mailboxes) in the OS keyring under the
  service name ``d365sync``.
* :func:`load_token_cache` gives MSAL a cross-process token cache (msal-extensions' ``PersistedTokenCache``)
  stored with the platform's encryption (DPAPI, Keychain, libsecret). Where that is unavailable (Linux without
  libsecret/PyGObject is common) the serialized cache lives in the keyring instead
  (:class:`KeyringPersistence`); a plaintext file is never an option.
* Every entry belongs to one profile: bound to a profile id (``SecretStore(profile_id=...)``,
  ``load_token_cache(where, profile_id=...)``) an entry's name starts with ``profile:<id>/`` (the Keychain
  item and the libsecret item of the token cache carry the id too), so two profiles of one operating-system
  account (``D365SYNC_HOME``) never share a password or a sign-in. The shared entry of an earlier version is
  moved to the first profile that asks for it and has none of its own (:func:`profile_key`).
* :func:`check_keyring` refuses a keyring that stores nothing (keyring's ``fail``/``null``, an empty chainer)
  and one that stores in clear (keyrings.alt's ``PlaintextKeyring``, any backend of priority below 1) unless
  the user opts in with ``D365SYNC_ALLOW_INSECURE_KEYRING=plaintext-on-disk``; the encrypted file keyring
  (keyrings.cryptfile, ``d365sync[headless]``) is unlocked with ``D365SYNC_KEYRING_PASSPHRASE``.
* :func:`use_memory_keyring` is for ``d365sync demo``: a throw-away single-process profile that must run on
  machines without any keyring.
* :func:`redact` masks bearer tokens and passwords in text that goes to logs.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import logging
import os
import re
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import keyring
import keyring.errors
import msal
from keyring.backend import KeyringBackend
from msal_extensions import PersistedTokenCache
from msal_extensions.persistence import (
    BasePersistence,
    KeychainPersistence,
    LibsecretPersistence,
    PersistenceError,
    PersistenceNotFound,
    build_encrypted_persistence,
)

from wizard.errors import SecretStoreError
from wizard.paths import Locations, locations

log = logging.getLogger(__name__)

SERVICE = "d365sync"
TOKEN_CACHE_KEY = "msal-token-cache"
#: the libsecret schema of the token cache item; its attributes name the application and the profile
LIBSECRET_SCHEMA = "io.github.d365sync.TokenCache"


def profile_key(profile_id: str, key: str) -> str:
    """The name of ``key``'s keyring entry for one profile: ``profile:<id>/<key>``.

    Earlier versions named entries by ``key`` alone, shared by every profile of the operating-system account."""
    return f"profile:{profile_id.strip().lower()}/{key}"


def org_key(org_id: str, username: str) -> str:
    """The keyring key of a user's password for one (on-premises) organization."""
    return f"org:{org_id}:{username.strip().lower()}"


def mailbox_key(address: str) -> str:
    """The keyring key of a mailbox password (EWS, POP3/SMTP)."""
    return f"mailbox:{address.strip().lower()}"


#: the documented opt-in for a keyring that keeps secrets unencrypted on disk (docs/cli.md, "Secrets")
ALLOW_INSECURE_ENV = "D365SYNC_ALLOW_INSECURE_KEYRING"
#: its only accepted value: it names the risk the user accepts
ALLOW_INSECURE_VALUE = "plaintext-on-disk"
#: the passphrase that unlocks the encrypted file keyring (keyrings.cryptfile) without a prompt
PASSPHRASE_ENV = "D365SYNC_KEYRING_PASSPHRASE"

#: keyring backends that keep what they are given encrypted (or nowhere on disk) although their priority is
#: below 1: the encrypted file keyring unlocked by a passphrase (``d365sync[headless]``)
_ENCRYPTED_BACKENDS = frozenset({"keyrings.cryptfile.cryptfile.CryptFileKeyring"})
#: keyring backends known to store in clear, whatever their priority
_CLEAR_BACKENDS = frozenset(
    {
        "keyrings.alt.file.PlaintextKeyring",
        "keyrings.alt.pyfs.PlaintextKeyring",
        "keyrings.cryptfile.file.PlaintextKeyring",
    }
)


class KeyringSafety(enum.Enum):
    """What a keyring backend does with a secret (:func:`classify_keyring`)."""

    SAFE = "safe"  # the platform's store, an encrypted file, or process memory
    PLAINTEXT = "plaintext-on-disk"  # in clear (or not known to be safe): only with the opt-in
    UNUSABLE = "unusable"  # stores nothing: keyring's fail/null backends, a chainer with nothing to chain


def _class_names(backend: object) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(backend).__mro__}


def _priority(backend: KeyringBackend) -> float | None:
    try:
        return float(type(backend).priority)
    except Exception:  # a backend whose priority raises is not viable here
        return None


def classify_keyring(backend: KeyringBackend) -> KeyringSafety:
    """Whether ``backend`` may keep d365sync's secrets.

    Unusable: keyring's ``fail`` and ``null`` backends, a chainer with nothing to chain (or whose first
    backend, where it writes, is unusable). Plaintext: a backend known to store in clear (keyrings.alt's
    ``PlaintextKeyring`` and its kin, any file keyring whose ``scheme`` says "no encryption") or whose
    ``priority`` is below 1 (keyring's own verdict: not recommended), unless it is known to encrypt (the
    passphrase-protected file keyring) or keeps everything in this process's memory (the demo's
    :class:`MemoryKeyring`). Every other backend is the platform's store (Secret Service, KWallet, Keychain,
    Credential Manager) or one a user installed and chose; it is safe."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return KeyringSafety.UNUSABLE
    if isinstance(backend, chainer.ChainerBackend):
        members = list(backend.backends)
        return classify_keyring(members[0]) if members else KeyringSafety.UNUSABLE
    if isinstance(backend, MemoryKeyring):
        return KeyringSafety.SAFE
    names = _class_names(backend)
    if names & _CLEAR_BACKENDS:
        return KeyringSafety.PLAINTEXT
    scheme = getattr(type(backend), "scheme", None)
    if isinstance(scheme, str) and scheme.lower().startswith(("no encr", "no encyption")):
        return KeyringSafety.PLAINTEXT  # keyrings.alt spells it "no encyption"
    if names & _ENCRYPTED_BACKENDS:
        return KeyringSafety.SAFE
    priority = _priority(backend)
    if priority is None:
        return KeyringSafety.UNUSABLE
    return KeyringSafety.PLAINTEXT if priority < 1 else KeyringSafety.SAFE


#: the verdict on each backend instance (the active one lives as long as the process): asking a Secret Service
#: backend its priority opens a D-Bus connection, and every keyring read and write checks the backend
_verdicts: weakref.WeakKeyDictionary[KeyringBackend, KeyringSafety] = weakref.WeakKeyDictionary()


def _classified(backend: KeyringBackend) -> KeyringSafety:
    try:
        return _verdicts[backend]
    except (KeyError, TypeError):  # not seen yet (TypeError: a backend that cannot be weakly referenced)
        pass
    from keyring.backends import chainer

    safety = classify_keyring(backend)
    # Not kept: "unusable" (a daemon that was not running may start) and a chainer's (its first backend, where
    # it writes, can change as daemons come and go).
    if safety is not KeyringSafety.UNUSABLE and not isinstance(backend, chainer.ChainerBackend):
        with contextlib.suppress(TypeError):
            _verdicts[backend] = safety
    return safety


def insecure_keyring_allowed() -> bool:
    """True when the user accepted a keyring that stores in clear: ``D365SYNC_ALLOW_INSECURE_KEYRING`` is
    ``plaintext-on-disk`` (any other value is no opt-in)."""
    return os.environ.get(ALLOW_INSECURE_ENV, "").strip().lower() == ALLOW_INSECURE_VALUE


def _what_to_install() -> str:
    if sys.platform.startswith("win"):
        return (
            "d365sync keeps them in the Windows Credential Manager: sign in to Windows with your own account "
            "(the Credential Manager is not available to services and some remote sessions)."
        )
    if sys.platform == "darwin":
        return (
            "d365sync keeps them in the macOS Keychain: run it in your desktop session with your login "
            "keychain unlocked."
        )
    return (
        "Install and unlock a Secret Service such as GNOME Keyring or KWallet (GNOME, Cinnamon, Xfce: "
        "apt install gnome-keyring; KDE Plasma: KWallet), or choose another keyring with "
        "PYTHON_KEYRING_BACKEND. On a server without a desktop, install the encrypted file keyring "
        "(pip install 'd365sync[headless]'), which is unlocked by a passphrase (see docs/cli.md, Secrets)."
    )


def _no_keyring_text() -> str:
    return (
        "No keyring is available to store passwords and sign-in tokens safely, so nothing was saved. "
        + _what_to_install()
    )


def _plaintext_text(backend: KeyringBackend) -> str:
    return (
        f"The keyring in use ({type(backend).__name__}) would store your passwords and sign-in tokens "
        "unencrypted on disk, where anyone who can read your files could use them, so nothing was saved. "
        + _what_to_install()
        + f" To accept that risk anyway, set {ALLOW_INSECURE_ENV}={ALLOW_INSECURE_VALUE}."
    )


def _has_terminal() -> bool:
    """True when a prompt can reach the user: the process has a controlling terminal (where ``getpass`` asks)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _unlock_cryptfile(backend: KeyringBackend) -> None:
    """Unlock the encrypted file keyring with ``D365SYNC_KEYRING_PASSPHRASE``; without it the keyring asks on
    the terminal, and with no terminal (the windowed wizard, cron, a service) it is refused here: its prompt
    would otherwise read standard input (a ``--password-stdin`` password) or wait for ever."""
    if not _class_names(backend) & _ENCRYPTED_BACKENDS or getattr(backend, "_keyring_key", None) is not None:
        return
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        if _has_terminal():
            return
        raise SecretStoreError(
            "encrypted file keyring locked, no terminal to ask",
            user_text="The encrypted file keyring is locked and there is no terminal to ask for its passphrase, "
            f"so nothing was saved. Set {PASSPHRASE_ENV} (see docs/cli.md, Secrets).",
        )
    try:
        backend.keyring_key = passphrase  # type: ignore[attr-defined]  # creates the file, or checks it
    except ValueError as exc:  # "Incorrect Password", a blank one
        raise SecretStoreError(
            "encrypted file keyring: wrong passphrase",
            user_text=f"The passphrase in {PASSPHRASE_ENV} does not unlock the encrypted file keyring.",
        ) from exc


def check_keyring() -> KeyringBackend:
    """The active keyring backend if it may keep secrets (:func:`classify_keyring`), else
    :class:`SecretStoreError` saying what to install: for one that stores nothing, and for one that stores in
    clear unless the user opted in (:func:`insecure_keyring_allowed`)."""
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a backend named in PYTHON_KEYRING_BACKEND that cannot load
        raise SecretStoreError(
            f"keyring backend failed to load: {type(exc).__name__}", user_text=_no_keyring_text()
        ) from exc
    safety = _classified(backend)
    if safety is KeyringSafety.UNUSABLE:
        raise SecretStoreError(
            f"no usable keyring backend ({type(backend).__name__})", user_text=_no_keyring_text()
        )
    if safety is KeyringSafety.PLAINTEXT and not insecure_keyring_allowed():
        raise SecretStoreError(
            f"keyring backend {type(backend).__name__} stores in clear", user_text=_plaintext_text(backend)
        )
    _unlock_cryptfile(_writer(backend))
    return backend


def _writer(backend: KeyringBackend) -> KeyringBackend:
    """The backend that stores what ``backend`` is given: a chainer's first (keyring builds them once)."""
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        members: list[KeyringBackend] = list(backend.backends)
        if members:
            return members[0]
    return backend


def _store_error(action: str, exc: BaseException) -> SecretStoreError:
    # Only the exception's type: a backend's message could echo what it was given.
    return SecretStoreError(
        f"keyring {action} failed: {type(exc).__name__}",
        user_text=f"The keyring refused to {action} a secret. Unlock your keyring and try again.",
    )


class OrgSecrets(Protocol):
    """What :meth:`SecretStore.forget_org` needs to know of an organization (``wizard.settings.OrgProfile``)."""

    @property
    def id(self) -> str: ...
    @property
    def auth_kind(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def authority(self) -> str: ...


class SecretStore:
    """Passwords in the OS keyring, one entry per key (see :func:`org_key`, :func:`mailbox_key`).

    Bound to a profile (``profile_id``) the entries are that profile's own (:func:`profile_key`); the entry an
    earlier version kept under the bare key is moved to the profile's name the first time it is read (or
    removed by :meth:`delete`) while the profile has none of its own. Unbound (``profile_id`` None) the bare
    keys are used, as before."""

    def __init__(self, service: str = SERVICE, *, profile_id: str | None = None) -> None:
        self.service = service
        self.profile_id = profile_id or None

    def __repr__(self) -> str:
        return f"SecretStore(service={self.service!r}, profile_id={self.profile_id!r})"

    def entry_name(self, key: str) -> str:
        """The keyring user name ``key`` is stored under."""
        return profile_key(self.profile_id, key) if self.profile_id else key

    def _read(self, name: str) -> str | None:
        try:
            value: str | None = keyring.get_password(self.service, name)
        except keyring.errors.KeyringError as exc:
            raise _store_error("read", exc) from exc
        return value

    def _remove(self, name: str) -> bool:
        try:
            keyring.delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise _store_error("delete", exc) from exc
        return True

    def get(self, key: str) -> str | None:
        check_keyring()
        name = self.entry_name(key)
        value = self._read(name)
        if value is None and name != key:
            value = self._read(key)  # an earlier version's shared entry: becomes this profile's own
            if value is not None:
                self._write(name, value)
                self._remove(key)
                log.info("keyring entry %s moved to this profile's own name", key.split(":", 1)[0])
        return value

    def _write(self, name: str, value: str) -> None:
        try:
            keyring.set_password(self.service, name, value)
        except keyring.errors.KeyringError as exc:
            raise _store_error("store", exc) from exc

    def set(self, key: str, value: str) -> None:
        check_keyring()
        self._write(self.entry_name(key), value)

    def delete(self, key: str) -> bool:
        """Remove ``key``; False when there was nothing to remove.

        A bound store that has no entry of its own removes an earlier version's shared entry of that key: it
        would have become this profile's at its next read."""
        check_keyring()
        name = self.entry_name(key)
        removed = self._remove(name)
        if not removed and name != key:
            removed = self._remove(key)
        return removed

    def forget_org(
        self,
        org: OrgSecrets,
        remaining: Iterable[OrgSecrets],
        token_cache: Callable[[], msal.SerializableTokenCache],
    ) -> None:
        """Remove what belongs to an organization that was removed from the profile: its NTLM password, or its
        account's tokens from the profile's token cache (``token_cache`` is called only then) unless another
        of the ``remaining`` organizations signs in with the same account. A token cache that cannot be opened
        (no keyring) is logged, not raised: the organization is removed all the same."""
        if org.auth_kind == "ntlm":
            self.delete(org_key(org.id, org.username))
            return
        if not org.username:
            return
        environment = authority_host(org.authority)
        for other in remaining:
            if (
                other.auth_kind != "ntlm"
                and other.username.strip().lower() == org.username.strip().lower()
                and authority_host(other.authority) == environment
            ):
                return
        try:
            forget_account(token_cache(), org.username, environment)
        except (SecretStoreError, PersistenceError, keyring.errors.KeyringError) as exc:
            # The organization is gone from the profile already; its tokens go with the next sign-out.
            log.warning("could not sign %s out of the token cache: %s", org.username, type(exc).__name__)

    def forget_profile(
        self, orgs: Iterable[OrgSecrets], mailbox_address: str | None, where: Locations | None = None
    ) -> None:
        """Remove every entry of this (bound) profile: the organizations' passwords, the mailbox password and
        the token cache (keyring entry, the platform's encrypted item, the files next to it). Nothing of
        another profile is touched. No command calls this yet: there is no "remove profile" command."""
        if not self.profile_id:
            raise ValueError("forget_profile needs a SecretStore bound to a profile")
        for org in orgs:
            self.delete(org_key(org.id, org.username))
        if mailbox_address:
            self.delete(mailbox_key(mailbox_address))
        clear_token_cache(where, profile_id=self.profile_id, service=self.service)


def authority_host(authority: str) -> str:
    """The host of an authority URL as MSAL's cache records it (an account's ``environment``); "" if none."""
    return (urlsplit(authority).hostname or "").lower() if authority else ""


def forget_account(cache: msal.SerializableTokenCache, username: str, environment: str = "") -> int:
    """Remove ``username``'s account and tokens (every client, every tenant) from ``cache``; ``environment``
    (an authority host) limits it to that authority's accounts. Returns how many entries went; no network."""
    kinds = msal.TokenCache.CredentialType
    wanted = username.strip().lower()
    accounts = [
        a
        for a in cache.search(kinds.ACCOUNT)
        if str(a.get("username", "")).lower() == wanted
        and (not environment or str(a.get("environment", "")).lower() == environment)
    ]
    removed = 0
    for account in accounts:
        query = {"home_account_id": account["home_account_id"], "environment": account["environment"]}
        for kind, remove in (
            (kinds.REFRESH_TOKEN, cache.remove_rt),
            (kinds.ACCESS_TOKEN, cache.remove_at),
            (kinds.ID_TOKEN, cache.remove_idt),
        ):
            for entry in list(cache.search(kind, query=query)):
                remove(entry)
                removed += 1
        cache.remove_account(account)
        removed += 1
    return removed


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
    changed (as msal-extensions' own libsecret persistence does). ``key`` is the keyring entry's name
    (:func:`profile_key` of :data:`TOKEN_CACHE_KEY` for a profile).
    """

    is_encrypted = True  # as far as the keyring backend is

    def __init__(
        self, signal_location: str | os.PathLike[str], service: str = SERVICE, key: str = TOKEN_CACHE_KEY
    ) -> None:
        self._signal = Path(signal_location)
        self._signal.parent.mkdir(parents=True, exist_ok=True)
        self._service = service
        self.key = key

    def save(self, content: str) -> None:
        check_keyring()  # the keyring in use now (the cache may outlive a change of keyring in this process)
        try:
            keyring.set_password(self._service, self.key, content)
        except keyring.errors.KeyringError as exc:
            raise PersistenceError(message=f"keyring refused the token cache: {type(exc).__name__}") from exc
        self._signal.touch()

    def load(self) -> str:
        check_keyring()
        try:
            content: str | None = keyring.get_password(self._service, self.key)
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
            keyring.delete_password(self._service, self.key)
        self._signal.unlink(missing_ok=True)


def _legacy_native_name(location: Path) -> str:
    """msal-extensions' default name of the native item for ``location`` (libsecret schema, Keychain account)."""
    return hashlib.sha256(str(location).encode("utf-8")).hexdigest()


def _libsecret_attributes(profile_id: str) -> dict[str, str]:
    return {"application": SERVICE, "profile": profile_id.strip().lower(), "kind": TOKEN_CACHE_KEY}


def _build_native(location: Path, profile_id: str | None) -> Any:
    """The platform's encrypted persistence; for a profile its item is named by the profile id.

    Windows' DPAPI file is the profile's own already (it lies in the profile's folder)."""
    if not profile_id or sys.platform.startswith("win"):
        return build_encrypted_persistence(str(location))
    if sys.platform == "darwin":
        return KeychainPersistence(
            str(location), service_name=SERVICE, account_name=profile_key(profile_id, TOKEN_CACHE_KEY)
        )
    if sys.platform.startswith("linux"):
        return LibsecretPersistence(
            str(location),
            schema_name=LIBSECRET_SCHEMA,
            attributes=_libsecret_attributes(profile_id),
            label=f"d365sync sign-in (profile {profile_id})",
        )
    return build_encrypted_persistence(str(location))  # raises: unsupported platform


def _take_legacy_native(location: Path) -> str | None:
    """The native item an earlier version kept for ``location`` (msal-extensions' default names), emptied so
    no other profile takes it too; None when there is none (or nothing in it)."""
    if sys.platform.startswith("linux"):
        from msal_extensions.libsecret import LibSecretAgent

        agent = LibSecretAgent(_legacy_native_name(location), {})
        content: str | None = agent.load()
        if content:
            agent.clear()
        return content or None
    if sys.platform == "darwin":
        old = KeychainPersistence(str(location))
        try:
            content = old.load()
        except PersistenceNotFound:
            return None
        if content and content != "{}":
            old.save("{}")  # msal-extensions cannot delete a Keychain item; an empty cache holds no token
            return str(content)
    return None


def _adopt_legacy_native(persistence: Any, location: Path) -> None:
    """Move an earlier version's native token cache to the profile's own item, once."""
    try:
        persistence.load()
        return  # the profile has its own
    except PersistenceNotFound:
        pass
    content = _take_legacy_native(location)
    if content is not None:
        persistence.save(content)
        log.info("token cache moved to this profile's own item")


def _native_persistence(location: Path, profile_id: str | None = None) -> Any:
    """msal-extensions' encrypted persistence for this platform, or None when it cannot work here."""
    try:
        persistence = _build_native(location, profile_id)
        if profile_id:
            _adopt_legacy_native(persistence, location)
        persistence.load()  # a probe: unavailable crypto or an unreadable cache fails here, not mid-sign-in
    except PersistenceNotFound:
        return persistence
    except Exception:  # ImportError (no PyGObject), RuntimeError, PersistenceError, OSError (no D-Bus)...
        return None
    return persistence


def _adopt_legacy_keyring_cache(persistence: KeyringPersistence, service: str) -> None:
    """Move an earlier version's shared keyring token cache to the profile's own entry, once."""
    try:
        if keyring.get_password(service, persistence.key) is not None:
            return
        content = keyring.get_password(service, TOKEN_CACHE_KEY)
        if content is None:
            return
        persistence.save(content)
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(service, TOKEN_CACHE_KEY)
    except keyring.errors.KeyringError as exc:
        raise _store_error("read", exc) from exc
    log.info("token cache moved to this profile's own keyring entry")


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


def _keyring_cache(where: Locations, profile_id: str | None, service: str = SERVICE) -> KeyringPersistence:
    key = profile_key(profile_id, TOKEN_CACHE_KEY) if profile_id else TOKEN_CACHE_KEY
    signal = where.token_cache_file.with_name(where.token_cache_file.name + ".changed")
    return KeyringPersistence(signal, service, key)


def token_cache_persistence(
    where: Locations | None = None, *, prefer_native: bool | None = None, profile_id: str | None = None
) -> Any:
    """The persistence the token cache uses: the platform's encryption, else the keyring.

    ``prefer_native`` None: the platform's encryption unless a keyring was chosen explicitly. ``profile_id``:
    the profile's own entry (an earlier version's shared one is moved to it once); None: the shared entry.
    """
    where = where or locations()
    where.data_dir.mkdir(parents=True, exist_ok=True)
    if prefer_native is None:
        prefer_native = not _keyring_chosen_explicitly()
    if prefer_native:
        native = _native_persistence(where.token_cache_file, profile_id)
        if native is not None:
            return native
    check_keyring()
    persistence = _keyring_cache(where, profile_id)
    if profile_id:
        _adopt_legacy_keyring_cache(persistence, SERVICE)
    return persistence


def load_token_cache(
    where: Locations | None = None, *, prefer_native: bool | None = None, profile_id: str | None = None
) -> msal.SerializableTokenCache:
    """A persisted, cross-process-safe MSAL token cache (never plaintext on disk); ``profile_id`` makes it
    that profile's own (see :func:`token_cache_persistence`).

    Raises :class:`SecretStoreError` when neither the platform's encryption nor a keyring is available.
    """
    persistence = token_cache_persistence(where, prefer_native=prefer_native, profile_id=profile_id)
    cache: msal.SerializableTokenCache = PersistedTokenCache(persistence)
    return cache


def clear_token_cache(where: Locations | None = None, *, profile_id: str, service: str = SERVICE) -> None:
    """Remove one profile's token cache wherever it may be: its keyring entry, its native item (libsecret,
    Keychain: emptied; Windows: the DPAPI file) and the signal and lock files. Another profile's stays."""
    where = where or locations()
    persistence = _keyring_cache(where, profile_id, service)
    try:
        check_keyring()
        persistence.clear()
    except SecretStoreError:
        pass  # no keyring: nothing can be in it
    except keyring.errors.KeyringError as exc:
        raise _store_error("delete", exc) from exc
    location = where.token_cache_file
    with contextlib.suppress(Exception):  # no native store here (no PyGObject, no D-Bus...)
        if sys.platform.startswith("linux"):
            from msal_extensions.libsecret import LibSecretAgent

            LibSecretAgent(LIBSECRET_SCHEMA, _libsecret_attributes(profile_id)).clear()
        elif sys.platform == "darwin":
            _build_native(location, profile_id).save("{}")
    for path in (
        location,
        Path(str(location) + ".lockfile"),
        Path(str(persistence.get_location()) + ".lockfile"),
    ):
        path.unlink(missing_ok=True)


# -- log masking -------------------------------------------------------------------------------------
_SECRET_NAMES = (
    r"password|passwd|pwd|client_secret|access_token|refresh_token|id_token|assertion|"
    r"code|device_code|code_verifier|client_info|secret|token"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(bearer|basic|ntlm|negotiate)\s+[^\s,;\"']+"), r"\1\2 ***"),
    (re.compile(rf"(?i)(\"(?:{_SECRET_NAMES})\"\s*:\s*)\"(?:[^\"\\]|\\.)*\""), r'\1"***"'),
    (re.compile(rf"(?i)(?<![\w-])((?:{_SECRET_NAMES})\s*=\s*)(?!\*\*\*)[^\s&,;\"']+"), r"\1***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "***"),
]
# In running text "bearer X" and "password: X" may be a credential or the next word of a sentence ("No bearer
# token from …"): the value is masked unless it is a plain word the sentence goes on from (letters only, at most
# _WORD_MAX of them, followed by another word). Real tokens and passwords mix in digits or symbols, run longer,
# or stand at the end of the line or before a separator.
_FREE_TEXT: list[re.Pattern[str]] = [
    re.compile(r"(?i)\b(bearer\s+)(?!\*\*\*)([A-Za-z0-9\-._~+/]+=*)"),
    re.compile(r"(?i)(?<![\w-])((?:password|passwd|pwd|client_secret)\s*:\s*)(?!\*\*\*)([^\s,;\"']+)"),
]
_WORD_MAX = 20
_GOES_ON = re.compile(r"[ \t]+[^\W\d_]")  # blanks, then a letter: the sentence continues


def _mask_value(found: re.Match[str]) -> str:
    value = found.group(2)
    if value.isalpha() and len(value) <= _WORD_MAX and _GOES_ON.match(found.string, found.end()):
        return found.group(0)  # a word of the sentence, not a value
    return found.group(1) + "***"


def redact(text: str) -> str:
    """``text`` with bearer tokens, JWTs and ``password=...``-style values replaced by ``***``; the words of a
    sentence that only mentions a token or a password stay."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for free in _FREE_TEXT:
        text = free.sub(_mask_value, text)
    return text
