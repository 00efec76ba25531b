"""Graph failures as the product's typed errors: the OData layer's errors (and configuration errors) become
:class:`~wizard.mailbox.base.MailboxError` subclasses with a user text; :func:`needs_resync` tells a lost
delta state apart."""

from __future__ import annotations

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
from wizard.odata.errors import (
    AuthError,
    InsecureURLError,
    InvalidURLError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    ODataError,
    PreconditionFailedError,
    PrivilegeError,
    ServerError,
    ThrottledError,
    TLSError,
)

RESYNC_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid", "invaliddeltatoken"})


def translate(exc: BaseException, what: str) -> MailboxError:
    """The mailbox error for a failure of the OData layer (or a configuration error)."""
    if isinstance(exc, MailboxError):
        return exc
    server = "Exchange Online (Microsoft Graph)"
    if isinstance(exc, TLSError | InsecureURLError):
        return TLSFailure(str(exc), user_text=getattr(exc, "user_text", None) or f"TLS to {server} failed.")
    if isinstance(exc, InvalidURLError):
        return MailboxError(str(exc), user_text=exc.user_text, severity=Severity.FATAL)
    if isinstance(exc, AuthError):
        return AuthenticationFailed(
            f"{what}: {exc.message}",
            user_text=f"{server} did not accept the sign-in ({exc.code or 'HTTP 401'}). "
            "Sign in again in the Configuration Wizard (Mailbox page).",
        )
    if isinstance(exc, ThrottledError):
        return Throttled(
            f"{what}: {exc.message}",
            retry_after=exc.retry_after,
            user_text=f"{server} is limiting requests; synchronization continues automatically later.",
        )
    if isinstance(exc, NetworkError):
        return ServerUnreachable(f"{what}: {exc.message}", user_text=exc.user_text)
    if isinstance(exc, NotFoundError):
        return ItemNotFound(f"{what}: {exc.message}", user_text="The item no longer exists in the mailbox.")
    if isinstance(exc, PreconditionFailedError):
        return Conflict(
            f"{what}: {exc.message}", user_text="The item changed in the mailbox; it is read again."
        )
    if isinstance(exc, ODataError) and exc.code.lower() in ("errorinvalididmalformed", "erroritemnotfound"):
        return ItemNotFound(f"{what}: {exc.message}", user_text="The item no longer exists in the mailbox.")
    if isinstance(exc, ODataError) and exc.code == "MailboxNotEnabledForRESTAPI":
        return MailboxError(
            f"{what}: {exc.message}",
            user_text="This mailbox is not in Exchange Online (or is inactive); use the Exchange (EWS) option.",
            severity=Severity.ACCOUNT,
        )
    if isinstance(exc, PrivilegeError):
        return MailboxError(
            f"{what}: {exc.message}",
            user_text=f"The sign-in has no permission for this ({exc.message}). "
            "An administrator must consent to the app's mail, contacts, calendar and tasks permissions.",
            severity=Severity.KIND,
        )
    if isinstance(
        exc, MalformedResponseError
    ):  # keeps its severity: a refused link or a runaway stops the kind
        return ProtocolError(
            f"{what}: {exc.message}",
            user_text=exc.user_text,
            severity=exc.severity,
            retriable=None if exc.severity is Severity.ACCOUNT else exc.retriable,
        )
    if isinstance(exc, ServerError):
        return ProtocolError(f"{what}: {exc.message}", user_text=exc.user_text)
    if isinstance(exc, ODataError):
        return MailboxError(
            f"{what}: {exc.message}",
            user_text=f"{server} refused this: {exc.message}",
            severity=Severity.ITEM if exc.status and 400 <= exc.status < 500 else Severity.ACCOUNT,
            retriable=exc.retriable,
        )
    return ProtocolError(
        f"{what}: {type(exc).__name__}", user_text=f"Talking to {server} failed unexpectedly."
    )


def needs_resync(exc: ODataError) -> bool:
    return exc.status == 410 or exc.code.lower() in RESYNC_CODES
