"""EWS failures as the product's typed errors.

Every exchangelib / requests failure becomes a :class:`~wizard.mailbox.base.MailboxError` subclass with a
user text (:func:`translate_error`, never including secrets); per-item failures of a batch land in that
item's result (:func:`item_error` and the ``Batch*Item`` services, which return every item-level error in
the result list instead of raising it for the whole call).
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
import requests.adapters
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
from exchangelib.services import CreateItem, DeleteItem, UpdateItem

from wizard.errors import Severity
from wizard.mailbox.base import (
    AuthenticationFailed,
    Conflict,
    ItemNotFound,
    MailboxError,
    ProtocolError,
    ServerUnreachable,
    Throttled,
    TLSFailure,
)


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


def is_tls_error(exc: BaseException) -> bool:
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
    if is_tls_error(exc):
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


BatchCreateItem = _batch_service(CreateItem)
BatchUpdateItem = _batch_service(UpdateItem)
BatchDeleteItem = _batch_service(DeleteItem)


def item_error(exc: BaseException) -> MailboxError:
    """Per-item result error; account-level failures are raised instead of being hidden in a result."""
    error = translate_error(exc)
    if error.severity >= Severity.ACCOUNT:
        raise error from exc
    return error
