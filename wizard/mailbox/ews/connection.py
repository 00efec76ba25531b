"""How one store reaches its Exchange mailbox: settings, TLS, back-off, credentials, account and protocol.

* **One connection setup per store.** exchangelib keeps HTTP adapters in a class attribute
  (``BaseProtocol.HTTP_ADAPTER_CLS``) and shares ``Protocol`` objects through a process-wide cache. Each
  store therefore builds its *own* ``Protocol`` subclass whose adapter verifies against the store's CA file
  (or the system store), requires TLS 1.2+ (both from :mod:`wizard.tls`), and forces ``verify`` per request
  so the ``REQUESTS_CA_BUNDLE`` environment variable (which requests lets override ``session.verify``)
  cannot win. Nothing global is patched; the store's protocol is evicted from exchangelib's cache when it
  closes.
* **Bounded back-off.** :class:`BoundedBackOff` honors ``BackOffMilliseconds`` like exchangelib's
  ``FaultTolerance`` but caps the *total* wait per operation, and never mistakes a 401 for throttling;
  when the budget is spent the caller gets :class:`~wizard.mailbox.base.Throttled` with ``retry_after``.
* **The server's version, once.** Without a version exchangelib guesses it (a ``ConvertId`` request) each
  time a store connects; ``EwsSettings.build_file`` keeps the version found, per EWS address, for the
  next store (a run in another process), and it is guessed again when the address changes or the server
  answers with a version error.
* :class:`EwsConnection` runs one operation at a time with the back-off budget reset, a fresh token and
  typed errors, and calls exchangelib's item services in batches. The batches of one operation go up to
  ``EwsSettings.concurrency`` at a time (:mod:`wizard.odata.overlap`): the store's protocol keeps that many
  sessions (``max_connections``), and a back-off one request gets (``ErrorServerBusy``) holds back all of
  them, because exchangelib's retry policy, which records it, is the protocol's and checked before every
  request.

Secrets (passwords, tokens) are kept out of reprs, logs and error texts.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar, cast
from urllib.parse import urlsplit

import requests
import requests.adapters
from exchangelib import (
    BASIC,
    DELEGATE,
    NTLM,
    OAUTH2,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSTimeZone,
    Identity,
    Version,
)
from exchangelib import Mailbox as XMailbox
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials
from exchangelib.errors import (
    ErrorIncorrectSchemaVersion,
    ErrorInvalidSchemaVersionForMailboxVersion,
    ErrorInvalidServerVersion,
    RateLimitError,
    UnauthorizedError,
)
from exchangelib.folders import Calendar, Contacts, DeletedItems, Inbox, Root, SentItems, Tasks
from exchangelib.items import SAVE_ONLY, SEND_TO_NONE
from exchangelib.properties import DistinguishedFolderId
from exchangelib.protocol import FaultTolerance, Protocol

from wizard.mailbox.base import FolderKind, MailboxError, TLSFailure
from wizard.mailbox.ews.autodiscover import autodiscover
from wizard.mailbox.ews.errors import BatchUpdateItem, translate_error
from wizard.mailbox.ews.props import deregister_named_properties, register_named_properties
from wizard.odata.overlap import DEFAULT_CONCURRENCY, Gate, checked_limit, run_in_order
from wizard.odata.session import TokenProvider
from wizard.tls import is_loopback_host, tls_context, verify_for

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100
T = TypeVar("T")
ServerBuild = tuple[int, int, int, int]
#: the server refused the version a request named: the kept version is wrong (the server was upgraded)
VERSION_ERRORS = (
    ErrorInvalidServerVersion,
    ErrorIncorrectSchemaVersion,
    ErrorInvalidSchemaVersionForMailboxVersion,
)
R = TypeVar("R")


# --------------------------------------------------------------------------------------------------
# Settings


class EwsAuth(enum.Enum):
    NTLM = "ntlm"  # on-premises Windows auth (username DOMAIN\\user or UPN + password)
    BASIC = "basic"  # only over TLS
    OAUTH2 = "oauth2"  # bearer tokens from a TokenProvider


@dataclass(frozen=True)
class EwsSettings:
    """Where and how to reach one Exchange mailbox. No secrets here: they are passed to :class:`EwsStore`."""

    #: the mailbox's primary SMTP address
    address: str
    #: the EWS endpoint (``https://mail.contoso.com/EWS/Exchange.asmx``); None = autodiscover it
    ews_url: str | None = None
    #: explicit SOAP Autodiscover URLs to try, in order; () = derive them from the address's domain
    autodiscover_urls: tuple[str, ...] = ()
    #: servers outside the address's domain the user confirmed for Autodiscover redirects (host names)
    autodiscover_redirects: tuple[str, ...] = ()
    auth: EwsAuth = EwsAuth.NTLM
    #: login name if it differs from ``address`` (UPN or DOMAIN\\user)
    username: str | None = None
    #: PEM file of CAs to trust instead of the system store (company CA, the sandbox CA)
    ca_file: str | None = None
    timeout: float = 60.0
    #: the most this store waits in total, per operation, for a throttled or busy server
    max_wait: float = 30.0
    #: first wait after a transient failure without BackOffMilliseconds (doubles each retry)
    retry_wait: float = 2.0
    #: items per CreateItem/UpdateItem/DeleteItem/GetItem request
    batch_size: int = DEFAULT_BATCH_SIZE
    #: (major, minor, build, revision) to skip exchangelib's version probe; None = ask the server once
    server_build: tuple[int, int, int, int] | None = None
    #: a JSON file (0600) keeping the server's version per EWS address across stores and runs; None = none
    build_file: str | None = None
    #: IANA zone the mailbox works in (calendar items are written in it); None = this computer's zone
    timezone: str | None = None
    #: messages larger than this are parsed partially (no attachments)
    size_limit: int = 25 * 1024 * 1024
    #: requests of one bulk operation on the wire at once (1 = one after the other)
    concurrency: int = DEFAULT_CONCURRENCY


# --------------------------------------------------------------------------------------------------
# TLS: a per-store adapter


def make_adapter_class(ca_file: str | None) -> type[requests.adapters.HTTPAdapter]:
    """An HTTPAdapter class bound to one CA choice.

    ``verify`` is forced on every request: requests merges ``REQUESTS_CA_BUNDLE`` over ``session.verify``
    before the adapter sees the request, so the adapter is the only place where our CA file reliably wins.
    """
    verify = verify_for(ca_file)

    class StoreTLSAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = tls_context(ca_file)
            super().init_poolmanager(*args, **kwargs)

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs["verify"] = verify
            response = super().send(request, *args, **kwargs)
            if not kwargs.get("stream"):
                read_in_large_slices(response)
            return response

    return StoreTLSAdapter


#: the slice exchangelib's parser gets of an answer already in memory (requests' default is ONE byte)
READ_SLICE = 256 * 1024


def read_in_large_slices(response: requests.Response) -> None:
    """exchangelib parses every answer from ``response.iter_content()``, whose default slice is one byte: two
    million Python calls for a 2 MB listing. The answer (not streamed) is in memory already, so a default
    of :data:`READ_SLICE` changes nothing but the cost. A streamed answer (notifications) keeps requests'
    default: a larger slice would wait for that many bytes."""
    iter_content = response.iter_content

    def large_slices(chunk_size: int | None = READ_SLICE, decode_unicode: bool = False) -> Iterator[Any]:
        return iter_content(chunk_size, decode_unicode)

    response.iter_content = large_slices  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# Retry policy


class BoundedBackOff(FaultTolerance):  # type: ignore[misc]
    """exchangelib's FaultTolerance, bounded by a total wait per operation, and honest about 401.

    exchangelib gives up only when a *single* requested back-off exceeds ``max_wait``; a server that keeps
    answering ErrorServerBusy with short back-offs would keep it waiting forever. We also count the waits and
    give up when their sum would pass ``max_wait``. A 401 under FaultTolerance is treated by exchangelib as
    throttling (retried for minutes); for a desktop client it is a wrong password, so it fails at once.
    """

    def __init__(self, max_wait: float) -> None:
        super().__init__(max_wait=max_wait)
        self.waited = 0.0
        self._budget_lock = threading.Lock()  # the requests of one operation may run on several threads

    def reset(self) -> None:
        with self._budget_lock:
            self.waited = 0.0
        self.back_off_until = None

    def back_off(self, seconds: float | None) -> None:
        wait = float(self.max_wait if seconds is None else seconds)
        with self._budget_lock:
            if wait > self.max_wait or self.waited + wait > self.max_wait:
                raise RateLimitError("Max total back-off reached", wait=wait)
            self.waited += wait
        super().back_off(wait)

    def raise_response_errors(self, response: Any) -> Any:
        if response.status_code == 401:
            raise UnauthorizedError(f"Invalid credentials for {response.url}")
        return super().raise_response_errors(response)


# --------------------------------------------------------------------------------------------------
# Credentials


class _PasswordCredentials(Credentials):  # type: ignore[misc]
    """exchangelib Credentials that are unique per store (its Protocol cache keys on credentials)."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self.store_key = uuid.uuid4().hex


class TokenCredentials(OAuth2AuthorizationCodeCredentials):  # type: ignore[misc]
    """Bearer tokens from a :class:`~wizard.odata.session.TokenProvider` (MSAL silent sign-in).

    exchangelib's OAuth2 credentials hold an access token only; ``refresh()`` is exchangelib's hook when a
    token expired, and :meth:`EwsConnection._run` also asks the provider before each operation (cheap: MSAL
    answers from its cache) and after a 401 with ``force_refresh=True``.
    """

    def __init__(self, provider: TokenProvider, address: str) -> None:
        self._provider = provider
        self.store_key = uuid.uuid4().hex
        super().__init__(
            access_token=self._wrap(provider.token()), identity=Identity(primary_smtp_address=address)
        )

    @staticmethod
    def _wrap(token: str) -> dict[str, str]:
        from oauthlib.oauth2 import OAuth2Token

        return cast(dict[str, str], OAuth2Token({"access_token": token, "token_type": "Bearer"}))

    @property
    def current(self) -> str | None:
        token = self.access_token
        return None if token is None else str(token.get("access_token"))

    def update(self, *, force_refresh: bool = False) -> bool:
        """Take the provider's token; True if it changed (then the sessions holding the old one must go)."""
        fresh = self._provider.token(force_refresh=force_refresh)
        if fresh == self.current:
            return False
        with self.lock:
            self.access_token = self._wrap(fresh)
        return True

    def refresh(self, session: Any) -> None:
        self.update(force_refresh=True)

    def __repr__(self) -> str:
        return "TokenCredentials([access_token])"

    def __str__(self) -> str:
        return "[access_token]"


DISTINGUISHED = {
    FolderKind.INBOX: "inbox",
    FolderKind.SENT_ITEMS: "sentitems",
    FolderKind.DELETED_ITEMS: "deleteditems",
    FolderKind.CONTACTS: "contacts",
    FolderKind.CALENDAR: "calendar",
    FolderKind.TASKS: "tasks",
}
ACCOUNT_FOLDERS = {
    FolderKind.INBOX: "inbox",
    FolderKind.SENT_ITEMS: "sent",
    FolderKind.DELETED_ITEMS: "trash",
    FolderKind.CONTACTS: "contacts",
    FolderKind.CALENDAR: "calendar",
    FolderKind.TASKS: "tasks",
}
FOLDER_CLASSES: dict[FolderKind, type[Any]] = {
    FolderKind.INBOX: Inbox,
    FolderKind.SENT_ITEMS: SentItems,
    FolderKind.DELETED_ITEMS: DeletedItems,
    FolderKind.CONTACTS: Contacts,
    FolderKind.CALENDAR: Calendar,
    FolderKind.TASKS: Tasks,
}


@dataclass
class Opened:
    """A connected store: its exchangelib account and protocol, and the folder objects built so far."""

    account: Account
    protocol: Any
    folders: dict[FolderKind, Any] = field(default_factory=dict)
    root_stub: Any = None


def kept_build(build_file: str | None, ews_url: str | None) -> ServerBuild | None:
    """The server version ``build_file`` keeps for ``ews_url`` (None: none, or an unreadable file)."""
    if not build_file or not ews_url:
        return None
    try:
        with open(build_file, encoding="utf-8") as source:
            value = json.load(source).get(ews_url)
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(value, list) and len(value) == 4 and all(type(v) is int for v in value):
        return (value[0], value[1], value[2], value[3])
    return None


def keep_build(build_file: str, ews_url: str, build: ServerBuild | None) -> None:
    """Keep (or, with None, forget) the server version of ``ews_url``; a failure is logged, not raised."""
    try:
        with open(build_file, encoding="utf-8") as source:
            kept = json.load(source)
        if not isinstance(kept, dict):
            kept = {}
    except (OSError, ValueError):
        kept = {}
    if build is None:
        kept.pop(ews_url, None)
    else:
        kept[ews_url] = list(build)
    temp = build_file + ".tmp"
    try:
        os.makedirs(os.path.dirname(build_file) or ".", mode=0o700, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(kept, out)
        os.replace(temp, build_file)
    except OSError as error:
        log.warning("EWS server version not kept in %s: %s", build_file, error)


def _keep_pool_size(_protocol: Any) -> None:
    """exchangelib answers ``ErrorServerBusy`` by shrinking the session pool: it takes the pool's lock, then
    waits for a free session to close. With several requests in flight that deadlocks (the sessions are held
    by threads that wait for the same lock to shrink the pool in turn), so the pool keeps its size: the
    service's gate (:mod:`wizard.odata.overlap`) already holds back every request while the server is busy."""


def _build_of(protocol: Any) -> ServerBuild | None:
    """The version exchangelib found (or was given), without asking the server."""
    version = getattr(protocol.config, "version", None)
    build = getattr(version, "build", None)
    if build is None:
        return None
    return (build.major_version, build.minor_version, build.major_build or 0, build.minor_build or 0)


class EwsConnection:
    """The connection half of :class:`~wizard.mailbox.ews.store.EwsStore`: credentials, autodiscover, the
    store's own exchangelib ``Protocol`` and ``Account``, one operation with back-off and typed errors, and the
    batched item services. Nothing touches the network until the first operation.
    """

    def __init__(
        self,
        settings: EwsSettings,
        *,
        password: str | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        if settings.auth is EwsAuth.OAUTH2:
            if token_provider is None:
                raise ValueError("OAuth2 needs a token_provider")
        elif password is None:
            raise ValueError(f"{settings.auth.value} needs a password")
        if not 1 <= settings.batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000")
        checked_limit(settings.concurrency)
        if settings.timezone:
            EWSTimeZone(settings.timezone)  # raises for a zone name exchangelib cannot map to Windows
        self.settings = settings
        self._password = password
        self._token_provider = token_provider
        self._adapter_cls = make_adapter_class(settings.ca_file)
        self._policy = BoundedBackOff(max_wait=settings.max_wait)
        #: how many requests of one operation are on the wire at once
        self.gate = Gate(settings.concurrency)
        self._credentials: Any = None
        self._open: Opened | None = None
        self._registered = False
        self._ews_url = settings.ews_url
        self._address = settings.address
        self._build = settings.server_build
        self._build_kept = False  # the build was found and written to settings.build_file
        if self._ews_url:
            self._check_url(self._ews_url)

    @property
    def ews_url(self) -> str | None:
        """The EWS endpoint in use (after autodiscover), for the profile."""
        return self._ews_url

    @property
    def address(self) -> str:
        """The mailbox's primary SMTP address (autodiscover may correct the one configured)."""
        return self._address

    @property
    def _server(self) -> str:
        host = urlsplit(self._ews_url).hostname if self._ews_url else None
        return f"The Exchange server {host}" if host else "The Exchange server"

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme == "https":
            return
        if parts.scheme == "http" and is_loopback_host(host) and self.settings.auth is EwsAuth.NTLM:
            return
        raise TLSFailure(
            f"refused non-TLS EWS URL for {self.settings.auth.value}",
            user_text="The Exchange address must start with https:// — the password or sign-in token "
            "would otherwise travel unencrypted.",
        )

    def _make_credentials(self) -> Any:
        if self._credentials is None:
            if self.settings.auth is EwsAuth.OAUTH2:
                assert self._token_provider is not None
                self._credentials = TokenCredentials(self._token_provider, self.settings.address)
            else:
                assert self._password is not None
                self._credentials = _PasswordCredentials(
                    self.settings.username or self.settings.address, self._password
                )
        return self._credentials

    @property
    def _auth_type(self) -> str:
        names: dict[EwsAuth, str] = {EwsAuth.NTLM: NTLM, EwsAuth.BASIC: BASIC, EwsAuth.OAUTH2: OAUTH2}
        return names[self.settings.auth]

    def _connect(self) -> Opened:
        if self._open is not None:
            if not self._registered:
                register_named_properties()
                self._registered = True
            return self._open
        credentials = self._make_credentials()
        if not self._ews_url:
            found = autodiscover(
                self.settings.address,
                credentials,
                auth_type=self._auth_type,
                adapter_cls=self._adapter_cls,
                candidates=self.settings.autodiscover_urls,
                allowed_hosts=self.settings.autodiscover_redirects,
            )
            self._check_url(found.ews_url)
            self._ews_url = found.ews_url
            self._address = found.address
            self._build = self._build or found.build
        if not self._build:
            self._build = kept_build(self.settings.build_file, self._ews_url)
            self._build_kept = self._build is not None
        version = Version(Build(*self._build)) if self._build else None
        config = Configuration(
            service_endpoint=self._ews_url,
            credentials=credentials,
            auth_type=self._auth_type,
            version=version,
            retry_policy=self._policy,
            max_connections=self.settings.concurrency,  # one session (connection) per request in flight
        )
        # A Protocol subclass of our own: its adapter (CA, TLS 1.2+) and timeouts apply to this store only.
        protocol_cls = type(
            "EwsStoreProtocol",
            (Protocol,),
            {
                "HTTP_ADAPTER_CLS": self._adapter_cls,
                "TIMEOUT": self.settings.timeout,
                "RETRY_WAIT": self.settings.retry_wait,
                "decrease_poolsize": _keep_pool_size,
            },
        )
        protocol = protocol_cls(config=config)  # cached by exchangelib under (url, our unique credentials)
        tz = EWSTimeZone(self.settings.timezone) if self.settings.timezone else None
        account = Account(
            self._address,
            config=config,
            autodiscover=False,
            access_type=DELEGATE,
            default_timezone=tz,
        )
        account.protocol = protocol
        if not self._registered:
            register_named_properties()
            self._registered = True
        self._open = Opened(account=account, protocol=protocol)
        return self._open

    def close(self) -> None:
        """Drop connections and registrations; the store reconnects on its next call."""
        opened = self._open
        if opened is not None:
            with contextlib.suppress(Exception):
                opened.protocol.close()
            with contextlib.suppress(Exception):
                del Protocol[opened.protocol.config]
            opened.folders.clear()
            self._open = None
        if self._registered:
            deregister_named_properties()
            self._registered = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, what: str, func: Callable[[Opened], T]) -> T:
        """Run one operation with the back-off budget reset, a fresh token, and typed errors."""
        opened: Opened | None = None
        for attempt in (1, 2):
            try:
                opened = self._connect()
                self._policy.reset()
                if isinstance(self._credentials, TokenCredentials) and self._credentials.update():
                    opened.protocol.close()  # sessions carry the old token
                result = func(opened)
                self._keep_build(opened)
                return result
            except MailboxError:
                raise
            except VERSION_ERRORS as exc:
                if attempt == 1 and self._build_kept:  # the kept version is stale: guess it again
                    log.info("EWS %s: the server refused the kept version; asking it again", what)
                    self._forget_build()
                    continue
                raise translate_error(exc, server=self._server) from exc
            except UnauthorizedError as exc:
                if (
                    attempt == 1
                    and isinstance(self._credentials, TokenCredentials)
                    and self._credentials.update(force_refresh=True)
                ):
                    if opened is not None:
                        opened.protocol.close()
                    continue
                raise translate_error(exc, server=self._server) from exc
            except Exception as exc:
                error = translate_error(exc, server=self._server)
                log.info("EWS %s failed: %s", what, error.message)
                raise error from exc
        raise AssertionError("unreachable")

    def _keep_build(self, opened: Opened) -> None:
        """After the first operation: keep the version exchangelib found, for the next store."""
        if self._build_kept or not self.settings.build_file or not self._ews_url:
            return
        build = _build_of(opened.protocol)
        if build is not None:
            keep_build(self.settings.build_file, self._ews_url, build)
        self._build_kept = True

    def _forget_build(self) -> None:
        """Drop the kept version (file and connection): the next connect guesses it again."""
        if self.settings.build_file and self._ews_url:
            keep_build(self.settings.build_file, self._ews_url, None)
        self._build = self.settings.server_build
        self._build_kept = False
        opened, self._open = self._open, None
        if opened is not None:
            with contextlib.suppress(Exception):
                opened.protocol.close()
            with contextlib.suppress(Exception):
                del Protocol[opened.protocol.config]

    def _folder_obj(self, opened: Opened, kind: FolderKind) -> Any:
        """The well-known folder as exchangelib knows it, without a request.

        The folder object is built on an unfetched root, so it is addressed by its DistinguishedFolderId:
        creating, finding and syncing items then costs no GetFolder round trips.
        """
        if kind not in opened.folders:
            if opened.root_stub is None:
                opened.root_stub = Root(account=opened.account)
            opened.folders[kind] = FOLDER_CLASSES[kind](root=opened.root_stub)
        return opened.folders[kind]

    def _dist(self, opened: Opened, kind: FolderKind) -> DistinguishedFolderId:
        return DistinguishedFolderId(
            id=DISTINGUISHED[kind], mailbox=XMailbox(email_address=opened.account.primary_smtp_address)
        )

    def _tz(self, opened: Opened) -> Any:
        return opened.account.default_timezone

    def _chunks(self, values: Sequence[T]) -> Iterator[Sequence[T]]:
        size = self.settings.batch_size
        for start in range(0, len(values), size):
            yield values[start : start + size]

    def _in_chunks(self, values: Sequence[T], call: Callable[[Sequence[T]], list[R]]) -> list[R]:
        """``call`` over ``values`` in chunks of ``batch_size``, up to the gate's limit at once; the results in
        input order. The first chunk's error is raised (after every chunk on the wire has finished)."""
        chunks = list(self._chunks(values))
        if len(chunks) == 1:
            return call(chunks[0])
        out: list[R] = []
        for answer in run_in_order(self.gate, [functools.partial(call, c) for c in chunks], "ews"):
            out.extend(answer.result())
        return out

    def _call_batch(
        self, opened: Opened, service: type[Any], *, items: Sequence[Any], **kwargs: Any
    ) -> list[Any]:
        """One item service over ``items`` in requests of ``batch_size``; results in input order."""
        if not items:
            return []

        def one(chunk: Sequence[Any]) -> list[Any]:
            svc = service(account=opened.account, chunk_size=self.settings.batch_size)
            return list(svc.call(items=chunk, **kwargs))

        return self._in_chunks(items, one)

    def _update(self, opened: Opened, pairs: Sequence[tuple[Any, list[str]]], resolution: str) -> list[Any]:
        return self._call_batch(
            opened,
            BatchUpdateItem,
            items=pairs,
            conflict_resolution=resolution,
            message_disposition=SAVE_ONLY,
            send_meeting_invitations_or_cancellations=SEND_TO_NONE,
            suppress_read_receipts=True,
        )
