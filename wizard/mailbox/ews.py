"""Exchange Web Services: the full mailbox backend (mail, contacts, calendar, tasks), on exchangelib 5.

What this module adds on top of exchangelib, and why:

* **One connection setup per store.** exchangelib keeps HTTP adapters in a class attribute
  (``BaseProtocol.HTTP_ADAPTER_CLS``) and shares ``Protocol`` objects through a process-wide cache. Each
  :class:`EwsStore` therefore builds its *own* ``Protocol`` subclass whose adapter verifies against the
  store's CA file (or the system store), requires TLS 1.2+, and forces ``verify`` per request so the
  ``REQUESTS_CA_BUNDLE`` environment variable (which requests lets override ``session.verify``) cannot win.
  Nothing global is patched; the store's protocol is evicted from exchangelib's cache when it closes.
* **Autodiscover without DNS in tests.** :func:`autodiscover` speaks exchangelib's SOAP Autodiscover
  (``GetUserSettings``) to explicit candidate URLs, or to the candidates exchangelib derives from the
  email domain (``https://<domain>/…``, ``https://autodiscover.<domain>/…``, then the SRV record).
* **Bounded back-off.** :class:`BoundedBackOff` honours ``BackOffMilliseconds`` like exchangelib's
  ``FaultTolerance`` but caps the *total* wait per operation, and never mistakes a 401 for throttling;
  when the budget is spent the caller gets :class:`~wizard.mailbox.base.Throttled` with ``retry_after``.
* **Typed errors.** Every exchangelib / requests failure becomes a :class:`MailboxError` subclass with a
  user text (:func:`translate_error`); per-item failures of a batch land in that item's result.
* **Named properties.** ``crmid``, ``crmlinkstate`` (Integer), ``crmorgid``, ``crmregardingobjectid``,
  ``crmregardingobjecttypecode`` (Integer), ``crmownersystemuserid`` in PS_PUBLIC_STRINGS, registered on
  exchangelib's item classes while at least one store is open (reference-counted, so tests do not leak
  registrations), plus ``crmorgid`` on the mailbox root folder for the synchronizing organization.

Secrets (passwords, tokens) are kept out of reprs, logs and error texts.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import enum
import functools
import logging
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
import requests.adapters
from exchangelib import (
    BASIC,
    DELEGATE,
    NTLM,
    OAUTH2,
    Account,
    Attendee,
    Build,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    EWSDate,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    Identity,
    Message,
    Task,
    Version,
)
from exchangelib import Mailbox as XMailbox
from exchangelib.credentials import OAuth2AuthorizationCodeCredentials
from exchangelib.errors import (
    CASError,
    EWSError,
    MalformedResponseError,
    RateLimitError,
    RedirectError,
    ResponseMessageError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.folders import (
    Calendar,
    Contacts,
    DeletedItems,
    Inbox,
    Root,
    RootOfHierarchy,
    SentItems,
    Tasks,
)
from exchangelib.indexed_properties import EmailAddress as XEmailAddress
from exchangelib.indexed_properties import PhoneNumber as XPhoneNumber
from exchangelib.indexed_properties import PhysicalAddress as XPhysicalAddress
from exchangelib.items import (
    ALL_OCCURRENCES,
    ALWAYS_OVERWRITE,
    HARD_DELETE,
    MOVE_TO_DELETED_ITEMS,
    NEVER_OVERWRITE,
    SAVE_ONLY,
    SEND_TO_NONE,
)
from exchangelib.properties import DistinguishedFolderId, OccurrenceItemId
from exchangelib.protocol import FaultTolerance, Protocol
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from exchangelib.recurrence import Recurrence as XRecurrence
from exchangelib.services import CreateItem, DeleteItem, SyncFolderItems, UpdateItem

from wizard.errors import Severity
from wizard.mailbox.base import (
    PS_PUBLIC_STRINGS,
    AppointmentItem,
    AuthenticationFailed,
    Capabilities,
    ChangeBatch,
    Conflict,
    ContactItem,
    Folder,
    FolderKind,
    Item,
    ItemNotFound,
    ItemResult,
    MailboxError,
    MailItem,
    ModifiedOccurrence,
    NamedProps,
    OutgoingMessage,
    PhysicalAddress,
    ProtocolError,
    Recurrence,
    RecurrencePattern,
    ServerUnreachable,
    TaskItem,
    TaskStatus,
    Throttled,
    TLSFailure,
    not_supported,
    occurrence_plan,
)
from wizard.mailbox.message import build_mime, parse_message, render
from wizard.odata.session import TokenProvider
from wizard.tls import is_loopback_host, tls_context, verify_for

log = logging.getLogger(__name__)

BACKEND = "Exchange (EWS)"
CURSOR_PREFIX = "ews:v1:"
#: EWS's own cap for MaxChangesReturned.
MAX_SYNC_PAGE = 512
DEFAULT_BATCH_SIZE = 100
AUTODISCOVER_PATH = "/autodiscover/autodiscover.svc"

T = TypeVar("T")

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
    #: IANA zone the mailbox works in (calendar items are written in it); None = this computer's zone
    timezone: str | None = None
    #: messages larger than this are parsed partially (no attachments)
    size_limit: int = 25 * 1024 * 1024


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
            return super().send(request, *args, **kwargs)

    return StoreTLSAdapter


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

    def reset(self) -> None:
        self.waited = 0.0
        self.back_off_until = None

    def back_off(self, seconds: float | None) -> None:
        wait = float(self.max_wait if seconds is None else seconds)
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
    token expired, and :meth:`EwsStore._run` also asks the provider before each operation (cheap: MSAL
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


# --------------------------------------------------------------------------------------------------
# Named properties


def _named_property(name: str, property_type: str) -> type[ExtendedProperty]:
    """exchangelib wants one ExtendedProperty class per property: the crm* named property ``name`` in
    PS_PUBLIC_STRINGS, as the original product stamps it."""
    return type(
        f"_Crm_{name}",
        (ExtendedProperty,),
        {"property_set_id": PS_PUBLIC_STRINGS, "property_name": name, "property_type": property_type},
    )


#: NamedProps attribute -> (exchangelib attribute name, property class)
NAMED_PROPERTIES: dict[str, tuple[str, type[ExtendedProperty]]] = {
    name: (f"d365_{name}", _named_property(name, property_type))
    for name, property_type in (
        ("crmid", "String"),
        ("crmlinkstate", "Integer"),
        ("crmorgid", "String"),
        ("crmregardingobjectid", "String"),
        ("crmregardingobjecttypecode", "Integer"),
        ("crmownersystemuserid", "String"),
    )
}
PROP_ATTRS = tuple(attr for attr, _ in NAMED_PROPERTIES.values())
ROOT_ORG_ATTR = "d365_sync_orgid"
ITEM_CLASSES: tuple[type[Any], ...] = (Message, Contact, CalendarItem, Task)

_registration_lock = threading.Lock()
_registrations = 0


def _is_registered(cls: type[Any], attr: str) -> bool:
    try:
        cls.get_field_by_fieldname(attr)
    except Exception:  # exchangelib raises InvalidField
        return False
    return True


def register_named_properties() -> None:
    """Register the CRM properties on exchangelib's classes (reference-counted; idempotent per holder)."""
    global _registrations
    with _registration_lock:
        if _registrations == 0:
            for cls in ITEM_CLASSES:
                for attr, prop in NAMED_PROPERTIES.values():
                    if not _is_registered(cls, attr):
                        cls.register(attr, prop)
            if not _is_registered(RootOfHierarchy, ROOT_ORG_ATTR):
                RootOfHierarchy.register(ROOT_ORG_ATTR, NAMED_PROPERTIES["crmorgid"][1])
        _registrations += 1


def deregister_named_properties() -> None:
    """Drop one holder; the last one removes the registrations again."""
    global _registrations
    with _registration_lock:
        if _registrations == 0:
            return
        _registrations -= 1
        if _registrations:
            return
        for cls in ITEM_CLASSES:
            for attr in PROP_ATTRS:
                if _is_registered(cls, attr):
                    cls.deregister(attr)
        if _is_registered(RootOfHierarchy, ROOT_ORG_ATTR):
            RootOfHierarchy.deregister(ROOT_ORG_ATTR)


def props_from_item(xitem: Any) -> NamedProps:
    values: dict[str, str] = {}
    for name, (attr, _) in NAMED_PROPERTIES.items():
        value = getattr(xitem, attr, None)
        if value is not None and value != "":
            values[name] = str(value)
    return NamedProps.from_dict(values)


def props_to_fields(props: NamedProps) -> dict[str, Any]:
    """exchangelib attribute values for ``props`` (None = remove the property)."""
    out: dict[str, Any] = {}
    for name, (attr, _) in NAMED_PROPERTIES.items():
        value = getattr(props, name)
        out[attr] = int(value) if isinstance(value, int) else value
    return out


# --------------------------------------------------------------------------------------------------
# Error translation


class InvalidSyncState(ProtocolError):
    """The server rejected a SyncFolderItems state (expired, corrupt, another folder's): re-read everything."""

    severity = Severity.KIND


_NOT_FOUND = {
    "ErrorItemNotFound",
    "ErrorInvalidIdMalformed",
    "ErrorInvalidIdMalformedEwsLegacyIdFormat",
    "ErrorInvalidId",
    "ErrorInvalidIdEmpty",
    "ErrorInvalidIdNotAnItemAttachmentId",
    "ErrorFolderNotFound",
}
_CONFLICT = {
    "ErrorIrresolvableConflict",
    "ErrorChangeKeyRequired",
    "ErrorChangeKeyRequiredForWriteOperations",
    "ErrorInvalidChangeKey",
    "ErrorStaleObject",
}
_THROTTLED = {"ErrorServerBusy", "ErrorTooManyObjectsOpened", "ErrorExceededConnectionCount"}
_UNAVAILABLE = {
    "ErrorMailboxStoreUnavailable",
    "ErrorMailboxMoveInProgress",
    "ErrorConnectionFailed",
    "ErrorTimeoutExpired",
    "ErrorInternalServerTransientError",
}


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, requests.exceptions.SSLError | ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_connection_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, requests.exceptions.ConnectionError | requests.exceptions.Timeout | OSError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translate_error(exc: BaseException, *, server: str = "the Exchange server") -> MailboxError:
    """The typed MailboxError for an exchangelib/requests failure (never includes secrets)."""
    if isinstance(exc, MailboxError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, RateLimitError):
        wait = float(exc.wait) if exc.wait is not None else None
        return Throttled(
            f"EWS throttled: gave up after a requested back-off of {wait} s",
            retry_after=wait,
            user_text=f"{server} is busy and asked us to slow down. Synchronization continues later.",
        )
    if name in _THROTTLED:
        back_off = getattr(exc, "back_off", None)
        return Throttled(
            f"EWS throttled ({name})",
            retry_after=float(back_off) if back_off else None,
            user_text=f"{server} is busy and asked us to slow down. Synchronization continues later.",
        )
    if isinstance(exc, UnauthorizedError) or (isinstance(exc, CASError) and "401" in str(exc)):
        return AuthenticationFailed(
            "EWS refused the credentials",
            user_text=f"{server} did not accept the user name or password (or the sign-in token). "
            "Check them and try again.",
        )
    if name in ("ErrorAccessDenied", "ErrorImpersonateUserDenied"):
        return AuthenticationFailed(
            f"EWS access denied ({name})",
            user_text=f"You are signed in, but {server} does not allow this account to open the mailbox.",
        )
    if name == "ErrorNonExistentMailbox":
        return MailboxError(
            "EWS: no such mailbox",
            user_text=f"{server} has no mailbox for this address. Check the email address.",
            retriable=False,
        )
    if _is_tls_error(exc):
        return TLSFailure(
            f"TLS failure talking to EWS ({name})",
            user_text=f"A secure connection to {server} could not be set up: its certificate is not trusted "
            "or TLS failed. Check the server name and, for a company certificate authority, the CA file.",
        )
    if name in _NOT_FOUND:
        return ItemNotFound(
            f"EWS: item not found ({name})", user_text="The item no longer exists in the mailbox."
        )
    if name in _CONFLICT:
        return Conflict(
            f"EWS: item changed on the server ({name})",
            user_text="The item was changed in the mailbox at the same time; it will be merged on the next run.",
        )
    if name in _UNAVAILABLE or _is_connection_error(exc):
        return ServerUnreachable(
            f"EWS server unreachable ({name})",
            user_text=f"{server} cannot be reached right now. Check the network connection; "
            "synchronization continues later.",
        )
    if name in ("ErrorInvalidSyncStateData", "ErrorSyncFolderNotFound"):
        return InvalidSyncState(
            f"EWS rejected the sync state ({name})", user_text="The mailbox's change marker was not accepted."
        )
    if isinstance(exc, RedirectError):
        return ProtocolError(
            "EWS redirected the request",
            user_text=f"{server} redirected the request elsewhere; check the EWS address.",
        )
    if isinstance(exc, ResponseMessageError) and name not in ("ErrorInternalServerError",):
        return MailboxError(
            f"EWS refused the item ({name}: {exc})",
            user_text=f"{server} refused an item: {exc}",
            severity=Severity.ITEM,
            retriable=False,
        )
    if isinstance(exc, MalformedResponseError | TransportError | EWSError):
        return ProtocolError(
            f"EWS server error ({name})",
            user_text=f"{server} reported an internal error. Synchronization will try again later.",
        )
    return ProtocolError(
        f"unexpected EWS failure ({name})", user_text=f"Talking to {server} failed unexpectedly."
    )


def _hash_stable(folder: Any) -> Any:
    """``folder`` with its DistinguishedFolderId filled in now, before it is used in a FindItem.

    exchangelib (5.x) fills a well-known folder's ``_distinguished_id`` lazily in ``to_id()``, while it
    builds the FindItem request; the folder's hash covers that field, and ``_paged_call`` keys its paging
    table by folder, so a folder whose first request is a FindItem changes its hash mid-call and the
    paging bookkeeping fails with KeyError. (An exchangelib bug; the stand-in's answer is fine.)
    """
    folder.to_id()
    return folder


_NOT_ITEM_LEVEL = (
    _THROTTLED
    | _UNAVAILABLE
    | {
        "ErrorAccessDenied",
        "ErrorImpersonateUserDenied",
        "ErrorNonExistentMailbox",
        "ErrorInvalidServerVersion",
        "ErrorIncorrectSchemaVersion",
        "ErrorInvalidRequest",
        "ErrorInvalidSchemaVersionForMailboxVersion",
        "ErrorInternalServerError",
        "ErrorInvalidSyncStateData",
    }
)


def _item_level_errors() -> tuple[type[BaseException], ...]:
    """EWS response codes that concern one item of a batch (not the connection, version or throttling)."""
    import exchangelib.errors as xerrors

    return tuple(
        cls
        for cls in vars(xerrors).values()
        if isinstance(cls, type)
        and issubclass(cls, ResponseMessageError)
        and cls is not ResponseMessageError
        and cls.__name__ not in _NOT_ITEM_LEVEL
    )


def _batch_service(base: type[Any]) -> type[Any]:
    """A subclass of an exchangelib item service that returns *every* item-level error in the result list.

    exchangelib raises some per-item codes (ErrorIrresolvableConflict, ErrorStaleObject, ...) for the whole
    call, which would throw away the results of the other 99 items of the batch.
    """
    return type(
        f"Batch{base.__name__}",
        (base,),
        {"ERRORS_TO_CATCH_IN_RESPONSE": tuple(base.ERRORS_TO_CATCH_IN_RESPONSE) + _item_level_errors()},
    )


_BatchCreateItem = _batch_service(CreateItem)
_BatchUpdateItem = _batch_service(UpdateItem)
_BatchDeleteItem = _batch_service(DeleteItem)


def _item_error(exc: BaseException) -> MailboxError:
    """Per-item result error; account-level failures are raised instead of being hidden in a result."""
    error = translate_error(exc)
    if error.severity >= Severity.ACCOUNT:
        raise error from exc
    return error


# --------------------------------------------------------------------------------------------------
# Autodiscover


@dataclass(frozen=True)
class Discovered:
    ews_url: str
    address: str
    build: tuple[int, int, int, int] | None


def autodiscover_candidates(address: str) -> list[str]:
    """The SOAP Autodiscover URLs exchangelib tries for an address, in its order (SRV comes later)."""
    domain = address.rsplit("@", 1)[-1].strip().lower()
    return [f"https://{domain}{AUTODISCOVER_PATH}", f"https://autodiscover.{domain}{AUTODISCOVER_PATH}"]


def _srv_candidates(domain: str) -> list[str]:
    """``_autodiscover._tcp.<domain>`` SRV targets (highest priority first) as Autodiscover URLs."""
    try:
        import dns.resolver

        answers = dns.resolver.resolve(f"_autodiscover._tcp.{domain}.", "SRV", lifetime=10)
    except Exception:
        return []
    records = sorted(answers, key=lambda r: (r.priority, -r.weight))
    return [f"https://{str(r.target).rstrip('.')}{AUTODISCOVER_PATH}" for r in records if r.port == 443]


def autodiscover(
    address: str,
    credentials: Any,
    *,
    auth_type: str,
    adapter_cls: type[requests.adapters.HTTPAdapter],
    candidates: Sequence[str] = (),
    max_redirects: int = 5,
) -> Discovered:
    """Find the EWS URL for ``address`` with SOAP Autodiscover (GetUserSettings).

    Tries ``candidates`` (or the domain's standard ones, then SRV), follows address redirects; only https
    URLs are ever contacted (plain-HTTP redirect discovery, exchangelib's step 3, is left out on purpose).
    """
    from exchangelib.autodiscover.protocol import AutodiscoverProtocol
    from exchangelib.errors import ErrorNonExistentMailbox
    from exchangelib.protocol import FailFast

    protocol_cls = type(
        "StoreAutodiscoverProtocol", (AutodiscoverProtocol,), {"HTTP_ADAPTER_CLS": adapter_cls}
    )
    email = address
    urls = list(candidates) or autodiscover_candidates(address)
    tried_srv = bool(candidates)
    last: BaseException | None = None
    redirects = 0
    index = 0
    while True:
        if index >= len(urls):
            if tried_srv:
                break
            tried_srv = True  # the DNS step comes last, and only when the https candidates failed
            urls.extend(_srv_candidates(address.rsplit("@", 1)[-1]))
            continue
        url = urls[index]
        index += 1
        parts = urlsplit(url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and is_loopback_host(parts.hostname or "")
        ):
            continue
        protocol = protocol_cls(
            config=Configuration(
                service_endpoint=url, credentials=credentials, auth_type=auth_type, retry_policy=FailFast()
            )
        )
        try:
            response = protocol.get_user_settings(user=email)
        except RedirectError as exc:
            protocol.close()
            if redirects < max_redirects and exc.url.startswith("https://"):
                redirects += 1
                urls.insert(index, exc.url)
            continue
        except UnauthorizedError as exc:
            protocol.close()
            raise translate_error(exc, server=parts.hostname or "the server") from exc
        except Exception as exc:  # unreachable, TLS, not an autodiscover server: next candidate
            protocol.close()
            last = exc
            log.info("autodiscover candidate %s failed: %s", url, type(exc).__name__)
            continue
        protocol.close()
        if response.redirect_address and redirects < max_redirects:
            redirects += 1
            email = response.redirect_address
            index -= 1  # ask the same server about the new address
            continue
        if response.redirect_url and redirects < max_redirects:
            redirects += 1
            urls.insert(index, response.redirect_url)
            continue
        try:
            response.raise_errors()
        except ErrorNonExistentMailbox as exc:
            raise translate_error(exc) from exc
        except Exception as exc:
            last = exc
            continue
        if not response.ews_url:
            last = ProtocolError("autodiscover answered without an EWS URL")
            continue
        version = response.version
        build = None
        if version is not None and version.build is not None:
            b = version.build
            build = (b.major_version, b.minor_version, b.major_build or 0, b.minor_build or 0)
        return Discovered(
            ews_url=response.ews_url, address=response.autodiscover_smtp_address or email, build=build
        )
    if last is not None and _is_tls_error(last):
        raise translate_error(last) from last
    raise ServerUnreachable(
        "autodiscover found no EWS endpoint",
        user_text=f"The Exchange server for {address} could not be found automatically. "
        "Enter the server's EWS address (https://…/EWS/Exchange.asmx) instead.",
    )


# --------------------------------------------------------------------------------------------------
# Conversions


_DISTINGUISHED = {
    FolderKind.INBOX: "inbox",
    FolderKind.SENT_ITEMS: "sentitems",
    FolderKind.DELETED_ITEMS: "deleteditems",
    FolderKind.CONTACTS: "contacts",
    FolderKind.CALENDAR: "calendar",
    FolderKind.TASKS: "tasks",
}
_ACCOUNT_FOLDER = {
    FolderKind.INBOX: "inbox",
    FolderKind.SENT_ITEMS: "sent",
    FolderKind.DELETED_ITEMS: "trash",
    FolderKind.CONTACTS: "contacts",
    FolderKind.CALENDAR: "calendar",
    FolderKind.TASKS: "tasks",
}
_FOLDER_CLASSES: dict[FolderKind, type[Any]] = {
    FolderKind.INBOX: Inbox,
    FolderKind.SENT_ITEMS: SentItems,
    FolderKind.DELETED_ITEMS: DeletedItems,
    FolderKind.CONTACTS: Contacts,
    FolderKind.CALENDAR: Calendar,
    FolderKind.TASKS: Tasks,
}
_WRITABLE = frozenset({FolderKind.CONTACTS, FolderKind.CALENDAR, FolderKind.TASKS})

_PHONE_LABELS = {
    "business": "BusinessPhone",
    "business2": "BusinessPhone2",
    "mobile": "MobilePhone",
    "home": "HomePhone",
    "fax": "BusinessFax",
}
_EMAIL_LABELS = ("EmailAddress1", "EmailAddress2", "EmailAddress3")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK_NUMBERS = ("First", "Second", "Third", "Fourth", "Last")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SHOW_AS = ("Free", "Tentative", "Busy", "OOF")
_TASK_STATUS = {
    TaskStatus.NOT_STARTED: "NotStarted",
    TaskStatus.IN_PROGRESS: "InProgress",
    TaskStatus.COMPLETED: "Completed",
    TaskStatus.WAITING: "WaitingOnOthers",
    TaskStatus.DEFERRED: "Deferred",
}
_IMPORTANCE = {"low": "Low", "normal": "Normal", "high": "High"}

CONTACT_FIELDS = (
    "given_name",
    "surname",
    "display_name",
    "company_name",
    "department",
    "job_title",
    "email_addresses",
    "phone_numbers",
    "physical_addresses",
    "business_homepage",
    "birthday",
    "body",
    "categories",
)
CALENDAR_FIELDS = (
    "subject",
    "start",
    "end",
    "is_all_day",
    "location",
    "body",
    "required_attendees",
    "optional_attendees",
    "recurrence",
    "legacy_free_busy_status",
    "reminder_is_set",
    "reminder_minutes_before_start",
    "categories",
)
TASK_FIELDS = (
    "subject",
    "body",
    "start_date",
    "due_date",
    "status",
    "percent_complete",
    "importance",
    "categories",
)
MAIL_FIELDS = (
    "mime_content",
    "is_read",
    "categories",
    "datetime_received",
    "conversation_index",
    "conversation_topic",
    "size",
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _aware(value: Any) -> dt.datetime | None:
    """A plain aware datetime (EWSDateTime is a datetime subclass; keep the zone it carries)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        out = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo or dt.UTC,
        )
        return out
    return None


def _in_zone(value: Any, tz: Any) -> dt.datetime | None:
    aware = _aware(value)
    return None if aware is None else _aware(aware.astimezone(tz))


def _plain_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return dt.date(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return None


def _address(mailbox: Any) -> tuple[str, str] | None:
    if mailbox is None:
        return None
    return (_text(getattr(mailbox, "name", "")), _text(getattr(mailbox, "email_address", "")))


def recurrence_to_ews(rec: Recurrence) -> XRecurrence:
    """base.Recurrence -> exchangelib Recurrence (pattern + boundary)."""
    p = rec.pattern

    def one_weekday() -> str:
        days = tuple(sorted(rec.weekdays))
        if days == tuple(range(7)):
            return "Day"
        if days == (0, 1, 2, 3, 4):
            return "Weekday"
        if days == (5, 6):
            return "WeekendDay"
        return _WEEKDAYS[days[0] if days else 0]

    week = _WEEK_NUMBERS[rec.week_index if rec.week_index is not None else 0]
    month = _MONTHS[(rec.month or 1) - 1]
    pattern: Any
    if p is RecurrencePattern.DAILY:
        pattern = DailyPattern(interval=rec.interval)
    elif p is RecurrencePattern.WEEKLY:
        pattern = WeeklyPattern(
            interval=rec.interval,
            weekdays=[_WEEKDAYS[d] for d in rec.weekdays] or [_WEEKDAYS[rec.start_date.weekday()]],
            first_day_of_week=_WEEKDAYS[rec.first_day_of_week],
        )
    elif p is RecurrencePattern.ABSOLUTE_MONTHLY:
        pattern = AbsoluteMonthlyPattern(interval=rec.interval, day_of_month=rec.day_of_month or 1)
    elif p is RecurrencePattern.RELATIVE_MONTHLY:
        pattern = RelativeMonthlyPattern(interval=rec.interval, weekday=one_weekday(), week_number=week)
    elif p is RecurrencePattern.ABSOLUTE_YEARLY:
        pattern = AbsoluteYearlyPattern(day_of_month=rec.day_of_month or 1, month=month)
    else:
        pattern = RelativeYearlyPattern(weekday=one_weekday(), week_number=week, month=month)
    start = EWSDate.from_date(rec.start_date)
    boundary: Any
    if rec.end_date is not None:
        boundary = EndDatePattern(start=start, end=EWSDate.from_date(rec.end_date))
    elif rec.occurrences is not None:
        boundary = NumberedPattern(start=start, number=rec.occurrences)
    else:
        boundary = NoEndPattern(start=start)
    return XRecurrence(pattern=pattern, boundary=boundary)


def _weekday_index(value: Any) -> int:
    if isinstance(value, int):
        return value - 1
    return _WEEKDAYS.index(str(value))


def _weekday_set(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and value > 7:
        value = ("Day", "Weekday", "WeekendDay")[value - 8]
    if value == "Day":
        return tuple(range(7))
    if value == "Weekday":
        return (0, 1, 2, 3, 4)
    if value == "WeekendDay":
        return (5, 6)
    return (_weekday_index(value),)


def _index_of(value: Any, names: Sequence[str]) -> int:
    """0-based index of an exchangelib enum value (it keeps some as 1-based ints, some as names)."""
    if isinstance(value, int):
        return value - 1
    return list(names).index(str(value))


def recurrence_from_ews(xrec: Any) -> Recurrence | None:
    if xrec is None or getattr(xrec, "pattern", None) is None:
        return None
    xp = xrec.pattern
    boundary = xrec.boundary
    start = _plain_date(getattr(boundary, "start", None)) or dt.date(1970, 1, 1)
    end_date = _plain_date(getattr(boundary, "end", None)) if isinstance(boundary, EndDatePattern) else None
    occurrences = int(boundary.number) if isinstance(boundary, NumberedPattern) else None
    base: dict[str, Any] = {"start_date": start, "end_date": end_date, "occurrences": occurrences}
    if isinstance(xp, DailyPattern):
        return Recurrence(RecurrencePattern.DAILY, interval=int(xp.interval), **base)
    if isinstance(xp, WeeklyPattern):
        days = xp.weekdays or []
        if not isinstance(days, list | tuple):
            days = [days]
        return Recurrence(
            RecurrencePattern.WEEKLY,
            interval=int(xp.interval),
            weekdays=tuple(_weekday_index(d) for d in days),
            first_day_of_week=_weekday_index(xp.first_day_of_week) if xp.first_day_of_week else 0,
            **base,
        )
    if isinstance(xp, AbsoluteMonthlyPattern):
        return Recurrence(
            RecurrencePattern.ABSOLUTE_MONTHLY,
            interval=int(xp.interval),
            day_of_month=int(xp.day_of_month),
            **base,
        )
    if isinstance(xp, RelativeMonthlyPattern):
        return Recurrence(
            RecurrencePattern.RELATIVE_MONTHLY,
            interval=int(xp.interval),
            weekdays=_weekday_set(xp.weekday),
            week_index=_index_of(xp.week_number, _WEEK_NUMBERS),
            **base,
        )
    if isinstance(xp, AbsoluteYearlyPattern):
        return Recurrence(
            RecurrencePattern.ABSOLUTE_YEARLY,
            day_of_month=int(xp.day_of_month),
            month=_index_of(xp.month, _MONTHS) + 1,
            **base,
        )
    if isinstance(xp, RelativeYearlyPattern):
        return Recurrence(
            RecurrencePattern.RELATIVE_YEARLY,
            weekdays=_weekday_set(xp.weekday),
            week_index=_index_of(xp.week_number, _WEEK_NUMBERS),
            month=_index_of(xp.month, _MONTHS) + 1,
            **base,
        )
    return None  # regenerating patterns (tasks) have no counterpart in the item model


def instance_indexes(target: Recurrence, days: Sequence[dt.date]) -> dict[dt.date, int]:
    """EWS's InstanceIndex of each date: its 1-based position in the pattern, deleted occurrences counted."""
    if not days:
        return {}
    return {day: n for n, day in enumerate(target.dates(until=max(days)), start=1)}


def _physical(addresses: Any, label: str) -> PhysicalAddress | None:
    for entry in addresses or []:
        if entry.label == label:
            return PhysicalAddress(
                street=_text(entry.street),
                city=_text(entry.city),
                state=_text(entry.state),
                postal_code=_text(entry.zipcode),
                country=_text(entry.country),
            )
    return None


def contact_from_ews(x: Any) -> ContactItem:
    emails: dict[str, str] = {e.label: _text(e.email) for e in (x.email_addresses or []) if e.email}
    phones = {
        key: _text(p.phone_number)
        for p in (x.phone_numbers or [])
        for key, label in _PHONE_LABELS.items()
        if p.label == label and p.phone_number
    }
    return ContactItem(
        id=x.id,
        change_key=x.changekey,
        given_name=_text(x.given_name),
        surname=_text(x.surname),
        display_name=_text(x.display_name),
        company=_text(x.company_name),
        department=_text(x.department),
        job_title=_text(x.job_title),
        emails=[emails[label] for label in _EMAIL_LABELS if label in emails],
        phones=phones,
        business_address=_physical(x.physical_addresses, "Business"),
        home_address=_physical(x.physical_addresses, "Home"),
        web_page=_text(x.business_homepage),
        birthday=_plain_date(x.birthday),
        notes=_text(x.body),
        categories=list(x.categories or []),
        last_modified=_aware(x.last_modified_time),
        props=props_from_item(x),
    )


def contact_to_fields(item: ContactItem) -> dict[str, Any]:
    addresses = []
    for label, address in (("Business", item.business_address), ("Home", item.home_address)):
        if address is not None:
            addresses.append(
                XPhysicalAddress(
                    label=label,
                    street=address.street or None,
                    city=address.city or None,
                    state=address.state or None,
                    zipcode=address.postal_code or None,
                    country=address.country or None,
                )
            )
    return {
        "given_name": item.given_name or None,
        "surname": item.surname or None,
        # exchangelib (like Outlook) requires a display name: derive one the way Outlook does
        "display_name": item.display_name
        or " ".join(p for p in (item.given_name, item.surname) if p)
        or item.company
        or (item.emails[0] if item.emails else "")
        or "-",
        "company_name": item.company or None,
        "department": item.department or None,
        "job_title": item.job_title or None,
        "email_addresses": [
            XEmailAddress(label=label, email=email)
            for label, email in zip(_EMAIL_LABELS, item.emails, strict=False)
            if email
        ]
        or None,
        "phone_numbers": [
            XPhoneNumber(label=_PHONE_LABELS[key], phone_number=number)
            for key, number in item.phones.items()
            if key in _PHONE_LABELS and number
        ]
        or None,
        "physical_addresses": addresses or None,
        "business_homepage": item.web_page or None,
        "birthday": EWSDate.from_date(item.birthday) if item.birthday else None,
        "body": item.notes or None,
        "categories": list(item.categories) or None,
    }


def task_from_ews(x: Any) -> TaskItem:
    status = next((k for k, v in _TASK_STATUS.items() if v == x.status), TaskStatus.NOT_STARTED)
    return TaskItem(
        id=x.id,
        change_key=x.changekey,
        subject=_text(x.subject),
        body=_text(x.body),
        start=_plain_date(x.start_date),
        due=_plain_date(x.due_date),
        completed=_aware(x.complete_date),
        status=status,
        percent_complete=int(x.percent_complete or 0),
        importance=_text(x.importance).lower() or "normal",
        categories=list(x.categories or []),
        last_modified=_aware(x.last_modified_time),
        props=props_from_item(x),
    )


def task_to_fields(item: TaskItem) -> dict[str, Any]:
    return {
        "subject": item.subject or None,
        "body": item.body or None,
        "start_date": EWSDate.from_date(item.start) if item.start else None,
        "due_date": EWSDate.from_date(item.due) if item.due else None,
        "status": _TASK_STATUS[item.status],
        "percent_complete": Decimal(100 if item.status is TaskStatus.COMPLETED else item.percent_complete),
        "importance": _IMPORTANCE.get(item.importance, "Normal"),
        "categories": list(item.categories) or None,
    }


# --------------------------------------------------------------------------------------------------
# The store


@dataclass
class _Open:
    account: Account
    protocol: Any
    folders: dict[FolderKind, Any] = field(default_factory=dict)
    root_stub: Any = None


class EwsStore:
    """One Exchange mailbox over EWS. Not thread-safe: one store per worker thread.

    Pass ``password`` for NTLM/Basic or ``token_provider`` (``token(*, force_refresh=False) -> str``) for
    OAuth2. Nothing touches the network until the first call (or :meth:`check`).
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
        if settings.timezone:
            EWSTimeZone(settings.timezone)  # raises for a zone name exchangelib cannot map to Windows
        self.settings = settings
        self._password = password
        self._token_provider = token_provider
        self._adapter_cls = make_adapter_class(settings.ca_file)
        self._policy = BoundedBackOff(max_wait=settings.max_wait)
        self._credentials: Any = None
        self._open: _Open | None = None
        self._registered = False
        self._ews_url = settings.ews_url
        self._address = settings.address
        self._build = settings.server_build
        self._capabilities = Capabilities(
            readable=frozenset(FolderKind),
            writable=_WRITABLE,
            can_send=True,
            sent_items_copy=True,
            named_properties=True,
            categories=True,
            server_side_moves=True,
            server_side_deletes=True,
            root_folder_props=True,
            change_keys=True,
        )
        if self._ews_url:
            self._check_url(self._ews_url)

    def __repr__(self) -> str:
        return f"EwsStore({self._address!r}, url={self._ews_url!r}, auth={self.settings.auth.value})"

    # -- connection ------------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

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

    def _connect(self) -> _Open:
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
            )
            self._check_url(found.ews_url)
            self._ews_url = found.ews_url
            self._address = found.address
            self._build = self._build or found.build
        version = Version(Build(*self._build)) if self._build else None
        config = Configuration(
            service_endpoint=self._ews_url,
            credentials=credentials,
            auth_type=self._auth_type,
            version=version,
            retry_policy=self._policy,
        )
        # A Protocol subclass of our own: its adapter (CA, TLS 1.2+) and timeouts apply to this store only.
        protocol_cls = type(
            "EwsStoreProtocol",
            (Protocol,),
            {
                "HTTP_ADAPTER_CLS": self._adapter_cls,
                "TIMEOUT": self.settings.timeout,
                "RETRY_WAIT": self.settings.retry_wait,
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
        self._open = _Open(account=account, protocol=protocol)
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

    def __enter__(self) -> EwsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, what: str, func: Callable[[_Open], T]) -> T:
        """Run one operation with the back-off budget reset, a fresh token, and typed errors."""
        opened: _Open | None = None
        for attempt in (1, 2):
            try:
                opened = self._connect()
                self._policy.reset()
                if isinstance(self._credentials, TokenCredentials) and self._credentials.update():
                    opened.protocol.close()  # sessions carry the old token
                return func(opened)
            except MailboxError:
                raise
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

    def check(self) -> None:
        """Connect (autodiscover if needed), authenticate and open the Inbox; raises typed errors."""
        self.folder(FolderKind.INBOX)

    # -- folders ---------------------------------------------------------------------------------
    def _folder_obj(self, opened: _Open, kind: FolderKind) -> Any:
        """The well-known folder as exchangelib knows it, without a request.

        The folder object is built on an unfetched root, so it is addressed by its DistinguishedFolderId:
        creating, finding and syncing items then costs no GetFolder round trips.
        """
        if kind not in opened.folders:
            if opened.root_stub is None:
                opened.root_stub = Root(account=opened.account)
            opened.folders[kind] = _FOLDER_CLASSES[kind](root=opened.root_stub)
        return opened.folders[kind]

    def _dist(self, opened: _Open, kind: FolderKind) -> DistinguishedFolderId:
        return DistinguishedFolderId(
            id=_DISTINGUISHED[kind], mailbox=XMailbox(email_address=opened.account.primary_smtp_address)
        )

    def _readable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_read(kind):
            raise not_supported(BACKEND, f"read {kind.value}")

    def _writable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_write(kind):
            raise not_supported(BACKEND, f"change items in {kind.value}")

    def folder(self, kind: FolderKind) -> Folder:
        self._readable(kind)

        def get(opened: _Open) -> Folder:
            f = getattr(opened.account, _ACCOUNT_FOLDER[kind])
            return Folder(kind=kind, id=f.id, display_name=_text(f.name), total_count=f.total_count)

        return self._run(f"folder {kind.value}", get)

    # -- changes ---------------------------------------------------------------------------------
    def _encode_cursor(self, kind: FolderKind, state: str) -> str:
        return f"{CURSOR_PREFIX}{kind.value}:{state}"

    def _decode_cursor(self, kind: FolderKind, cursor: str | None) -> tuple[str | None, bool]:
        """(sync state, usable). A cursor of another kind or not ours is unusable."""
        if cursor is None or cursor == "":
            return None, True
        prefix = f"{CURSOR_PREFIX}{kind.value}:"
        if not cursor.startswith(prefix) or len(cursor) == len(prefix):
            return None, False
        return cursor[len(prefix) :], True

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        """SyncFolderItems, one request per page; an unusable cursor restarts with ``full_resync``."""
        self._readable(kind)
        limit = max(1, min(int(page_size), MAX_SYNC_PAGE))
        state, usable = self._decode_cursor(kind, cursor)
        full_resync = not usable
        while True:
            try:
                page = self._run(
                    f"changes {kind.value}",
                    functools.partial(self._sync_page, kind=kind, state=state, limit=limit),
                )
            except InvalidSyncState:
                if state is not None:
                    log.info("EWS sync state for %s rejected; full re-read", kind.value)
                    state, full_resync = None, True
                    continue
                raise
            batch, state, done = page
            batch.full_resync = full_resync
            batch.more = not done
            yield batch
            if done:
                return

    def _sync_page(
        self, opened: _Open, kind: FolderKind, state: str | None, limit: int
    ) -> tuple[ChangeBatch, str, bool]:
        svc = SyncFolderItems(account=opened.account)
        batch = ChangeBatch(kind=kind)
        seen: set[str] = set()
        for change_type, obj in svc.call(
            folder=self._dist(opened, kind),
            shape="IdOnly",
            additional_fields=None,
            sync_state=state,
            ignore=None,
            max_changes_returned=limit,
            sync_scope=None,
        ):
            if isinstance(obj, Exception):
                raise obj
            if change_type == "read_flag_change":
                item_id = obj[0].id
                target = batch.updated
            else:
                item_id = obj.id
                target = {"create": batch.created, "update": batch.updated, "delete": batch.deleted}[
                    change_type
                ]
            if item_id in seen:
                continue
            seen.add(item_id)
            target.append(item_id)
            change_key = getattr(obj, "changekey", None) if change_type in ("create", "update") else None
            if change_key:
                batch.change_keys[item_id] = str(change_key)
        new_state = svc.sync_state or state or ""
        batch.cursor = self._encode_cursor(kind, new_state)
        done = bool(svc.includes_last_item_in_range) or new_state == state
        return batch, new_state, done

    # -- reading ---------------------------------------------------------------------------------
    def _fields_for(self, kind: FolderKind) -> list[str]:
        if kind is FolderKind.CONTACTS:
            base = [*CONTACT_FIELDS, "last_modified_time"]
        elif kind is FolderKind.CALENDAR:
            base = [
                *CALENDAR_FIELDS,
                "uid",
                "organizer",
                "is_cancelled",
                "last_modified_time",
                "type",
                "modified_occurrences",
                "deleted_occurrences",
            ]
        elif kind is FolderKind.TASKS:
            base = [*TASK_FIELDS, "complete_date", "last_modified_time"]
        else:
            base = list(MAIL_FIELDS)
        return base + list(PROP_ATTRS)

    def _fetch(self, opened: _Open, kind: FolderKind, ids: Sequence[str]) -> list[Any]:
        folder = self._folder_obj(opened, kind)
        return list(
            opened.account.fetch(
                ids=[(i, None) for i in ids],
                folder=folder,
                only_fields=self._fields_for(kind),
                chunk_size=self.settings.batch_size,
            )
        )

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]:
        self._readable(kind)
        if not ids:
            return []

        def work(opened: _Open) -> list[ItemResult[Item]]:
            out: list[ItemResult[Item]] = []
            read: list[tuple[Item, Any]] = []
            for item_id, got in zip(ids, self._fetch(opened, kind, ids), strict=True):
                if isinstance(got, Exception):
                    out.append(ItemResult(id=item_id, error=_item_error(got)))
                    continue
                try:
                    value = self._to_item(opened, kind, got)
                except MailboxError as exc:
                    out.append(ItemResult(id=item_id, error=exc))
                    continue
                out.append(ItemResult(id=item_id, value=value))
                read.append((value, got))
            if kind is FolderKind.CALENDAR:
                self._fill_exceptions(opened, [v for v, _ in read], [x for _, x in read])
            return out

        return self._run(f"read {kind.value}", work)

    def _to_item(self, opened: _Open, kind: FolderKind, x: Any) -> Item:
        if kind is FolderKind.CONTACTS:
            return contact_from_ews(x)
        if kind is FolderKind.TASKS:
            return task_from_ews(x)
        if kind is FolderKind.CALENDAR:
            return self._appointment_from_ews(x, self._tz(opened))
        return self._mail_from_ews(kind, x)

    def _mail_from_ews(self, kind: FolderKind, x: Any) -> MailItem:
        raw = x.mime_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        item = parse_message(
            raw, item_id=x.id, folder=kind, size_limit=self.settings.size_limit, size=x.size or None
        )
        item.change_key = x.changekey
        item.is_read = bool(x.is_read)
        item.categories = list(x.categories or [])
        item.received = _aware(x.datetime_received) or item.received
        if item.conversation_index is None and x.conversation_index:
            index = x.conversation_index
            item.conversation_index = (
                base64.b64encode(index).decode("ascii") if isinstance(index, bytes) else str(index)
            )
        if item.conversation_topic is None and x.conversation_topic:
            item.conversation_topic = str(x.conversation_topic)
        item.props = props_from_item(x)
        return item

    def _tz(self, opened: _Open) -> Any:
        return opened.account.default_timezone

    def _appointment_from_ews(self, x: Any, tz: Any) -> AppointmentItem:
        """Times come back in the mailbox's zone (EWS answers in UTC; the instant is the same)."""
        start, end = x.start, x.end
        if isinstance(start, dt.date) and not isinstance(start, dt.datetime):
            start = dt.datetime.combine(start, dt.time(), tzinfo=tz)
        if isinstance(end, dt.date) and not isinstance(end, dt.datetime):
            end = dt.datetime.combine(end, dt.time(), tzinfo=tz)
        status = _text(x.legacy_free_busy_status)
        show_as = _SHOW_AS.index(status) if status in _SHOW_AS else 2
        return AppointmentItem(
            id=x.id,
            change_key=x.changekey,
            subject=_text(x.subject),
            start=_in_zone(start, tz),
            end=_in_zone(end, tz),
            is_all_day=bool(x.is_all_day),
            location=_text(x.location),
            body=_text(x.body),
            organizer=_address(x.organizer),
            required_attendees=[a for a in (_address(t.mailbox) for t in x.required_attendees or []) if a],
            optional_attendees=[a for a in (_address(t.mailbox) for t in x.optional_attendees or []) if a],
            recurrence=self._series_from_ews(x, tz),
            uid=x.uid,
            is_cancelled=bool(x.is_cancelled),
            show_as=show_as,
            reminder_minutes=int(x.reminder_minutes_before_start or 0) if x.reminder_is_set else None,
            categories=list(x.categories or []),
            last_modified=_aware(x.last_modified_time),
            props=props_from_item(x),
        )

    def _series_from_ews(self, x: Any, tz: Any) -> Recurrence | None:
        """The pattern plus deleted and modified occurrences (dates in the mailbox zone).

        A modified occurrence's subject and location need the exception itself: :meth:`_fill_exceptions`.
        """
        rec = recurrence_from_ews(x.recurrence)
        if rec is None:
            return None

        def day(value: Any) -> dt.date | None:
            local = _in_zone(value, tz)
            return local.date() if local is not None else None

        deleted = sorted({d for d in (day(o.start) for o in x.deleted_occurrences or []) if d is not None})
        modified = []
        for occ in x.modified_occurrences or []:
            original = day(occ.original_start)
            if original is not None:
                modified.append(ModifiedOccurrence(original, _in_zone(occ.start, tz), _in_zone(occ.end, tz)))
        return replace(
            rec,
            deleted_occurrences=tuple(deleted),
            modified_occurrences=tuple(sorted(modified, key=lambda m: m.original)),
        )

    def _fill_exceptions(self, opened: _Open, items: Sequence[Item], xs: Sequence[Any]) -> None:
        """Subject and location of each modified occurrence, read from the exceptions in one GetItem."""
        wanted: list[tuple[AppointmentItem, int, str]] = []
        tz = self._tz(opened)
        for item, x in zip(items, xs, strict=True):
            if not isinstance(item, AppointmentItem) or item.recurrence is None:
                continue
            ids: dict[dt.date, str] = {}
            for occ in x.modified_occurrences or []:
                original = _in_zone(occ.original_start, tz)
                if occ.id and original is not None:
                    ids[original.date()] = occ.id
            for n, change in enumerate(item.recurrence.modified_occurrences):
                if change.original in ids:
                    wanted.append((item, n, ids[change.original]))
        if not wanted:
            return
        fetched = opened.account.fetch(
            ids=[(occ_id, None) for _, _, occ_id in wanted],
            folder=self._folder_obj(opened, FolderKind.CALENDAR),
            only_fields=["subject", "location"],
            chunk_size=self.settings.batch_size,
        )
        for (item, n, _), got in zip(wanted, fetched, strict=True):
            if isinstance(got, Exception) or item.recurrence is None:
                continue
            changes = list(item.recurrence.modified_occurrences)
            subject, location = _text(got.subject), _text(got.location)
            changes[n] = replace(
                changes[n],
                subject=subject if subject != item.subject else None,
                location=location if location != item.location else None,
            )
            item.recurrence = replace(item.recurrence, modified_occurrences=tuple(changes))

    def _write_occurrences(
        self, opened: _Open, pairs: Sequence[tuple[str, AppointmentItem, Recurrence | None]]
    ) -> dict[str, MailboxError]:
        """Delete / change single occurrences of the masters in ``pairs`` (id, wanted item, server's series).

        Never tells attendees (SendToNone). Returns the masters whose occurrence writes failed.
        """
        tz = self._tz(opened)
        deletes: list[tuple[str, Any]] = []
        updates: list[tuple[str, tuple[Any, list[str]]]] = []
        for master_id, item, current in pairs:
            target = item.recurrence
            if target is None:
                continue
            plan = occurrence_plan(target, current)
            if plan.skipped:
                log.warning(
                    "%s: %d exception(s) on dates the pattern does not produce were left out",
                    item.subject,
                    len(plan.skipped),
                )
            index_of = instance_indexes(target, [*plan.deletes, *(m.original for m in plan.modifies)])
            for day in plan.deletes:
                deletes.append(
                    (master_id, OccurrenceItemId(id=master_id, changekey=None, instance_index=index_of[day]))
                )
            for change in plan.modifies:
                index = index_of[change.original]
                values: dict[str, Any] = {
                    "subject": change.subject or item.subject or None,
                    "location": change.location or item.location or None,
                }
                if change.start is not None and change.end is not None:
                    for key, moment in (("start", change.start), ("end", change.end)):
                        local = moment.astimezone(tz)
                        values[key] = (
                            local if isinstance(local, EWSDateTime) else EWSDateTime.from_datetime(local)
                        )
                xitem = CalendarItem(
                    account=opened.account,
                    folder=self._folder_obj(opened, FolderKind.CALENDAR),
                    _id=OccurrenceItemId(id=master_id, changekey=None, instance_index=index),
                    **values,
                )
                updates.append((master_id, (xitem, list(values))))
        failed: dict[str, MailboxError] = {}
        answers = self._update(opened, [pair for _, pair in updates], ALWAYS_OVERWRITE)
        for (master_id, _), res in zip(updates, answers, strict=True):
            if isinstance(res, Exception):
                failed[master_id] = _item_error(res)
        gone = self._call_batch(
            opened,
            _BatchDeleteItem,
            items=[occ for _, occ in deletes],
            delete_type=HARD_DELETE,
            send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences=ALL_OCCURRENCES,
            suppress_read_receipts=True,
        )
        for (master_id, _), res in zip(deletes, gone, strict=True):
            if isinstance(res, Exception):
                failed[master_id] = _item_error(res)
        return failed

    def _occurrences_after_create(
        self, opened: _Open, chunk: Sequence[Item], results: list[ItemResult[Item] | None]
    ) -> None:
        """Deleted / modified occurrences of new masters (the master exists first, as in Outlook).

        A failure here is logged, not returned: the master exists and gets linked; the next run sees the
        missing exception and writes it again.
        """
        pairs = [
            (r.id, item, None)
            for item, r in zip(chunk, results, strict=True)
            if r is not None
            and r.ok
            and r.id
            and isinstance(item, AppointmentItem)
            and item.recurrence is not None
            and (item.recurrence.deleted_occurrences or item.recurrence.modified_occurrences)
        ]
        for master_id, error in self._write_occurrences(opened, pairs).items():
            log.warning("calendar: occurrences of %s not written: %s", master_id, error)
        keys = self._change_keys(opened, [master_id for master_id, _, _ in pairs])
        for r in results:
            if r is not None and r.id in keys and r.value is not None:
                r.value.change_key = keys[r.id]  # the occurrence writes gave the master a new one

    def _series_before_update(
        self, opened: _Open, kind: FolderKind, chunk: Sequence[Item]
    ) -> dict[str, tuple[bool, Recurrence | None]]:
        """For masters being updated: (send the pattern, the server's series); one GetItem for the chunk."""
        if kind is not FolderKind.CALENDAR:
            return {}
        ids = [i.id for i in chunk if isinstance(i, AppointmentItem) and i.id and i.recurrence is not None]
        out: dict[str, tuple[bool, Recurrence | None]] = {}
        for item_id, current in self._current_series(opened, ids).items():
            item = next(i for i in chunk if i.id == item_id)
            assert isinstance(item, AppointmentItem) and item.recurrence is not None
            plan = occurrence_plan(item.recurrence, current)
            out[item_id] = (current is None or plan.reset, None if current is None or plan.reset else current)
        return out

    def _occurrences_after_update(
        self,
        opened: _Open,
        chunk: Sequence[Item],
        results: list[ItemResult[Item] | None],
        series: dict[str, tuple[bool, Recurrence | None]],
    ) -> None:
        """Write the occurrence changes of updated masters; a failure fails that item (retried next run)."""
        pairs: list[tuple[str, AppointmentItem, Recurrence | None]] = []
        for item, r in zip(chunk, results, strict=True):
            if r is not None and r.ok and item.id in series and isinstance(item, AppointmentItem):
                pairs.append((item.id, item, series[item.id][1]))
        failed = self._write_occurrences(opened, pairs)
        keys = self._change_keys(opened, [item_id for item_id, _, _ in pairs])
        for n, r in enumerate(results):
            if r is None or r.id is None:
                continue
            if r.id in failed:
                results[n] = ItemResult(id=r.id, error=failed[r.id])
            elif r.id in keys and r.value is not None:
                r.value.change_key = keys[r.id]  # the occurrence writes gave the master a new one

    def _change_keys(self, opened: _Open, ids: Sequence[str]) -> dict[str, str]:
        """The masters' change keys after their occurrences were written (one GetItem; none if no ids)."""
        if not ids:
            return {}
        keys: dict[str, str] = {}
        fetched = opened.account.fetch(
            ids=[(i, None) for i in ids],
            folder=self._folder_obj(opened, FolderKind.CALENDAR),
            only_fields=["last_modified_time"],
            chunk_size=self.settings.batch_size,
        )
        for item_id, got in zip(ids, fetched, strict=True):
            if not isinstance(got, Exception) and got.changekey:
                keys[item_id] = got.changekey
        return keys

    def _current_series(self, opened: _Open, ids: Sequence[str]) -> dict[str, Recurrence | None]:
        """The series the server has for ``ids`` (pattern and exceptions), one GetItem."""
        if not ids:
            return {}
        tz = self._tz(opened)
        fetched = opened.account.fetch(
            ids=[(i, None) for i in ids],
            folder=self._folder_obj(opened, FolderKind.CALENDAR),
            only_fields=["recurrence", "modified_occurrences", "deleted_occurrences"],
            chunk_size=self.settings.batch_size,
        )
        return {
            i: (None if isinstance(x, Exception) else self._series_from_ews(x, tz))
            for i, x in zip(ids, fetched, strict=True)
        }

    def _appointment_fields(self, opened: _Open, item: AppointmentItem) -> dict[str, Any]:
        tz = self._tz(opened)
        if item.start is None or item.end is None:
            raise MailboxError(
                "appointment without start or end",
                user_text=f"The appointment {item.subject!r} has no start or end time.",
                severity=Severity.ITEM,
            )

        def when(value: dt.datetime) -> Any:
            if value.tzinfo is None:
                raise MailboxError(
                    "naive appointment time",
                    user_text="An appointment time had no time zone.",
                    severity=Severity.ITEM,
                )
            local = value.astimezone(tz)
            if item.is_all_day:
                return EWSDate(local.year, local.month, local.day)
            return local if isinstance(local, EWSDateTime) else EWSDateTime.from_datetime(local)

        return {
            "subject": item.subject or None,
            "start": when(item.start),
            "end": when(item.end),
            "is_all_day": item.is_all_day,
            "location": item.location or None,
            "body": item.body or None,
            "required_attendees": [
                Attendee(mailbox=XMailbox(name=n or None, email_address=a), response_type="Unknown")
                for n, a in item.required_attendees
            ]
            or None,
            "optional_attendees": [
                Attendee(mailbox=XMailbox(name=n or None, email_address=a), response_type="Unknown")
                for n, a in item.optional_attendees
            ]
            or None,
            "recurrence": recurrence_to_ews(item.recurrence) if item.recurrence else None,
            "legacy_free_busy_status": _SHOW_AS[item.show_as] if 0 <= item.show_as < 4 else "Busy",
            "reminder_is_set": item.reminder_minutes is not None,
            "reminder_minutes_before_start": item.reminder_minutes or 0,
            "categories": list(item.categories) or None,
        }

    def _build_x(self, opened: _Open, kind: FolderKind, item: Item) -> tuple[Any, list[str]]:
        """An exchangelib item carrying ``item``'s mapped fields, and the field names to send."""
        account = opened.account
        values: dict[str, Any]
        cls: type[Any]
        if kind is FolderKind.CONTACTS and isinstance(item, ContactItem):
            cls, values = Contact, contact_to_fields(item)
        elif kind is FolderKind.TASKS and isinstance(item, TaskItem):
            cls, values = Task, task_to_fields(item)
        elif kind is FolderKind.CALENDAR and isinstance(item, AppointmentItem):
            cls, values = CalendarItem, self._appointment_fields(opened, item)
        else:
            raise MailboxError(
                f"a {type(item).__name__} cannot go into {kind.value}",
                user_text="An item of the wrong type was sent to a mailbox folder.",
                severity=Severity.ITEM,
            )
        fields = list(values)
        props = props_to_fields(item.props)
        values.update(props)
        fields += list(props)
        xitem = cls(
            account=account,
            folder=self._folder_obj(opened, kind),
            id=item.id or None,
            changekey=item.change_key if item.id else None,
            **values,
        )
        try:
            xitem.clean(version=account.version)
        except (ValueError, TypeError) as exc:  # one bad item must not sink its batch
            raise MailboxError(
                f"item rejected before sending: {exc}",
                user_text=f"An item could not be written to the mailbox: {exc}",
                severity=Severity.ITEM,
            ) from exc
        return xitem, fields

    # -- writing ---------------------------------------------------------------------------------
    def _chunks(self, values: Sequence[T]) -> Iterator[Sequence[T]]:
        size = self.settings.batch_size
        for start in range(0, len(values), size):
            yield values[start : start + size]

    def _call_batch(
        self, opened: _Open, service: type[Any], *, items: Sequence[Any], **kwargs: Any
    ) -> list[Any]:
        """One item service over ``items`` in requests of ``batch_size``; results in input order."""
        if not items:
            return []
        svc = service(account=opened.account, chunk_size=self.settings.batch_size)
        return list(svc.call(items=items, **kwargs))

    def _update(self, opened: _Open, pairs: Sequence[tuple[Any, list[str]]], resolution: str) -> list[Any]:
        return self._call_batch(
            opened,
            _BatchUpdateItem,
            items=pairs,
            conflict_resolution=resolution,
            message_disposition=SAVE_ONLY,
            send_meeting_invitations_or_cancellations=SEND_TO_NONE,
            suppress_read_receipts=True,
        )

    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work(opened: _Open) -> list[ItemResult[Item]]:
            out: list[ItemResult[Item]] = []
            for chunk in self._chunks(items):
                built: list[tuple[int, Any]] = []
                results: list[ItemResult[Item] | None] = [None] * len(chunk)
                for n, item in enumerate(chunk):
                    try:
                        xitem, _ = self._build_x(opened, kind, replace(item, id="", change_key=None))
                    except MailboxError as exc:
                        results[n] = ItemResult(id=None, error=exc)
                        continue
                    built.append((n, xitem))
                created = self._call_batch(
                    opened,
                    _BatchCreateItem,
                    items=[x for _, x in built],
                    folder=self._folder_obj(opened, kind),
                    message_disposition=SAVE_ONLY,
                    send_meeting_invitations=SEND_TO_NONE,
                )
                for (n, _), res in zip(built, created, strict=True):
                    if isinstance(res, Exception):
                        results[n] = ItemResult(id=None, error=_item_error(res))
                    else:
                        value = copy.deepcopy(chunk[n])
                        value.id, value.change_key = res.id, res.changekey
                        results[n] = ItemResult(id=res.id, value=value)
                if kind is FolderKind.CALENDAR:
                    self._occurrences_after_create(opened, chunk, results)
                    self._read_back(opened, kind, results)
                out.extend(r for r in results if r is not None)
            return out

        return self._run(f"create {kind.value}", work)

    def _read_back(self, opened: _Open, kind: FolderKind, results: list[ItemResult[Item] | None]) -> None:
        """Add what only the server knows of a created appointment (organizer, UID): one GetItem per batch.

        Id and change key come with the CreateItem answer (kept: a key read now could cover an edit made
        since); everything else is what was sent. So only these two server-made fields are read, not the
        whole item: parsing full items was most of the cost of a create.
        """
        ok = [(n, r.id) for n, r in enumerate(results) if r is not None and r.ok and r.id]
        if not ok:
            return
        folder = self._folder_obj(opened, kind)
        fetched = opened.account.fetch(
            ids=[(i, None) for _, i in ok],
            folder=folder,
            only_fields=["uid", "organizer"],
            chunk_size=self.settings.batch_size,
        )
        for (n, _item_id), got in zip(ok, fetched, strict=True):
            current = results[n]
            if (
                isinstance(got, Exception)
                or current is None
                or not isinstance(current.value, AppointmentItem)
            ):
                continue
            current.value.uid = got.uid
            current.value.organizer = _address(got.organizer)

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work(opened: _Open) -> list[ItemResult[Item]]:
            out: list[ItemResult[Item]] = []
            for chunk in self._chunks(items):
                results: list[ItemResult[Item] | None] = [None] * len(chunk)
                built: list[tuple[int, tuple[Any, list[str]]]] = []
                series = self._series_before_update(opened, kind, chunk)
                for n, item in enumerate(chunk):
                    if not item.id:
                        results[n] = ItemResult(
                            id=None, error=ItemNotFound("update without an id", severity=Severity.ITEM)
                        )
                        continue
                    try:
                        xitem, fields = self._build_x(opened, kind, item)
                    except MailboxError as exc:
                        results[n] = ItemResult(id=item.id, error=exc)
                        continue
                    if item.id in series and not series[item.id][0]:
                        fields = [f for f in fields if f != "recurrence"]  # same pattern: keep the exceptions
                    built.append((n, (xitem, fields)))
                # NeverOverwrite: a stale change key is a Conflict, as the protocol promises.
                answers = self._update(opened, [pair for _, pair in built], NEVER_OVERWRITE)
                for (n, _), res in zip(built, answers, strict=True):
                    original = chunk[n]
                    if isinstance(res, Exception):
                        results[n] = ItemResult(id=original.id, error=_item_error(res))
                    else:
                        value = copy.deepcopy(original)
                        value.id, value.change_key = res[0], res[1]
                        results[n] = ItemResult(id=value.id, value=value)
                if series:
                    self._occurrences_after_update(opened, chunk, results, series)
                out.extend(r for r in results if r is not None)
            return out

        return self._run(f"update {kind.value}", work)

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        self._writable(kind)
        if not ids:
            return []

        def work(opened: _Open) -> list[ItemResult[None]]:
            answers = self._call_batch(
                opened,
                _BatchDeleteItem,
                items=[(i, None) for i in ids],
                delete_type=HARD_DELETE if permanently else MOVE_TO_DELETED_ITEMS,
                send_meeting_cancellations=SEND_TO_NONE,
                affected_task_occurrences=ALL_OCCURRENCES,
                suppress_read_receipts=True,
            )
            return [
                ItemResult(id=i, error=_item_error(r)) if isinstance(r, Exception) else ItemResult(id=i)
                for i, r in zip(ids, answers, strict=True)
            ]

        return self._run(f"delete {kind.value}", work)

    # -- named properties ------------------------------------------------------------------------
    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        self._readable(kind)
        if not updates:
            return []
        cls = {FolderKind.CONTACTS: Contact, FolderKind.CALENDAR: CalendarItem, FolderKind.TASKS: Task}.get(
            kind, Message
        )

        def work(opened: _Open) -> list[ItemResult[str]]:
            pairs = []
            for item_id, props in updates:
                values = props_to_fields(props)
                xitem = cls(account=opened.account, id=item_id, changekey=None, **values)
                pairs.append((xitem, list(values)))
            # Stamping our own properties must not conflict with the user's concurrent edits.
            answers = self._update(opened, pairs, ALWAYS_OVERWRITE)
            return [
                ItemResult(id=item_id, error=_item_error(r))
                if isinstance(r, Exception)
                else ItemResult(id=item_id, value=r[1])
                for (item_id, _), r in zip(updates, answers, strict=True)
            ]

        return self._run(f"stamp {kind.value}", work)

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        self._readable(kind)
        attr = NAMED_PROPERTIES["crmid"][0]

        def work(opened: _Open) -> list[Item]:
            folder = _hash_stable(self._folder_obj(opened, kind))
            ids = [x.id for x in folder.filter(**{attr: crmid}).only(attr)]
            if not ids:
                return []
            xs = [x for x in self._fetch(opened, kind, ids) if not isinstance(x, Exception)]
            found = [self._to_item(opened, kind, x) for x in xs]
            if kind is FolderKind.CALENDAR:
                self._fill_exceptions(opened, found, xs)
            return found

        return self._run(f"find {kind.value}", work)

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        self._readable(kind)
        attr = NAMED_PROPERTIES["crmid"][0]

        def work(opened: _Open) -> list[tuple[str, NamedProps]]:
            folder = _hash_stable(self._folder_obj(opened, kind))
            query = folder.filter(**{f"{attr}__exists": True}).only(*PROP_ATTRS)
            query.page_size = MAX_SYNC_PAGE
            return [(x.id, props_from_item(x)) for x in query if not isinstance(x, Exception)]

        yield from self._run(f"scan {kind.value}", work)

    # -- the root folder -------------------------------------------------------------------------
    def root_sync_org(self) -> str | None:
        def work(opened: _Open) -> str | None:
            root = opened.account.root
            root.refresh()
            value = getattr(root, ROOT_ORG_ATTR, None)
            return str(value) if value else None

        return self._run("read root folder", work)

    def set_root_sync_org(self, org_id: str | None) -> None:
        def work(opened: _Open) -> None:
            root = opened.account.root
            setattr(root, ROOT_ORG_ATTR, org_id or None)
            root.save(update_fields=[ROOT_ORG_ATTR])

        self._run("stamp root folder", work)

    # -- sending ---------------------------------------------------------------------------------
    def send(self, message: OutgoingMessage) -> str:
        """SendAndSaveCopy of the MIME we build ourselves, so Message-ID and extra headers are ours."""
        domain = self._address.rsplit("@", 1)[-1] or "d365sync.invalid"
        mime = build_mime(message, domain=domain)
        message_id = str(mime["Message-ID"])
        raw = render(mime)

        def work(opened: _Open) -> str:
            def boxes(pairs: Sequence[tuple[str, str]]) -> list[XMailbox] | None:
                return [XMailbox(name=n or None, email_address=a) for n, a in pairs] or None

            xmsg = Message(
                account=opened.account,
                folder=self._folder_obj(opened, FolderKind.SENT_ITEMS),
                mime_content=raw,
                to_recipients=boxes(message.to),
                cc_recipients=boxes(message.cc),
                bcc_recipients=boxes(message.bcc),
                categories=list(message.categories) or None,
            )
            xmsg.send_and_save()
            return message_id

        return self._run("send", work)


__all__ = [
    "BACKEND",
    "BoundedBackOff",
    "Discovered",
    "EwsAuth",
    "EwsSettings",
    "EwsStore",
    "TokenCredentials",
    "autodiscover",
    "autodiscover_candidates",
    "deregister_named_properties",
    "make_adapter_class",
    "register_named_properties",
    "translate_error",
]
