"""Typed errors for OData v4 services (Dataverse Web API, Microsoft Graph).

Every non-success answer becomes one of these classes, chosen by HTTP status, carrying the service's own
``code``/``message`` (``{"error": {"code", "message", @annotations}}``), a ``user_text`` that says what
happened and what to do, and a severity from DESIGN section 7: a bad row is an *item* problem, a missing
privilege stops a *kind*, sign-in/throttling/outages stop the *account*, a bad URL is *fatal*.
Messages never contain tokens or passwords.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from wizard.errors import ConfigurationError, D365SyncError, Severity


class ODataError(D365SyncError):
    """A failed request: HTTP status, the service's error code and message, and its annotations."""

    severity = Severity.ACCOUNT

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        user_text: str | None = None,
        severity: Severity | None = None,
        retriable: bool | None = None,
        annotations: Mapping[str, Any] | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, user_text=user_text, severity=severity, retriable=retriable)
        self.status = status
        self.code = code
        self.annotations: dict[str, Any] = dict(annotations or {})
        self.url = url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class ValidationError(ODataError):
    """400: the service refused the data or the query (one item or one request is wrong)."""

    severity = Severity.ITEM


class AuthError(ODataError):
    """401: the sign-in is missing, expired or not valid for this service (also after one silent refresh)."""

    severity = Severity.ACCOUNT


class PrivilegeError(ODataError):
    """403: signed in, but the user lacks a privilege for this table or operation."""

    severity = Severity.KIND


class NotFoundError(ODataError):
    """404: the row or resource does not exist (any more)."""

    severity = Severity.ITEM


class MethodNotAllowedError(ODataError):
    """405: wrong method for the resource, or a delete blocked by associations."""

    severity = Severity.ITEM


class PreconditionFailedError(ODataError):
    """412: the row changed since it was read (stale ETag) or a duplicate key exists."""

    severity = Severity.ITEM


class RequestTooLargeError(ODataError):
    """413: the request body is larger than the service accepts (attachment too big)."""

    severity = Severity.ITEM


class ThrottledError(ODataError):
    """429: service protection limits; ``retry_after`` seconds is what the service asked us to wait."""

    severity = Severity.ACCOUNT
    retriable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ODataError):
    """5xx: the service failed or is unavailable."""

    severity = Severity.ACCOUNT
    retriable = True


class NetworkError(ODataError):
    """No HTTP answer: host not found, refused, timed out, connection dropped."""

    severity = Severity.ACCOUNT
    retriable = True


class TLSError(NetworkError):
    """The TLS handshake or the certificate check failed; trying again will not help."""

    retriable = False


class MalformedResponseError(ODataError):
    """Not what an OData service sends: a proxy's HTML page, a wrong content type, bad JSON."""

    severity = Severity.ACCOUNT


class UnsafeLinkError(MalformedResponseError):
    """A link the server sent (nextLink, deltaLink, OData-EntityId, Location) that points elsewhere or is crafted.

    Following it could send the bearer token to another host, so the kind stops; trying again will not help.
    """

    severity = Severity.KIND
    retriable = False


class ResponseTooLargeError(MalformedResponseError):
    """An answer whose (decompressed) body is larger than any legitimate page: a gzip bomb or a runaway server."""

    severity = Severity.KIND
    retriable = False


class PagingLoopError(MalformedResponseError):
    """A listing whose nextLinks repeat (a cycle) or run on for more pages than the data can fill."""

    severity = Severity.KIND
    retriable = False


class StoppedAnsweringError(NetworkError):
    """The server did not finish its answer within the request's total deadline (connect + the whole body).

    Retried at most once (the session's retry policy still decides the wait), then the kind stops.
    """

    severity = Severity.KIND
    retriable = True


class InvalidURLError(ConfigurationError):
    """A service URL that cannot be used at all (no host, bad port, credentials in it, unknown scheme)."""


class InsecureURLError(ConfigurationError):
    """Plain ``http://`` to anything but this computer; TLS is required (DESIGN section 7)."""


class BatchAbortedError(ODataError):
    """A $batch request that was not run (an earlier one failed) or was rolled back with its change set."""

    severity = Severity.ITEM
    retriable = True


# "The user is not a member of the organization." / "The user is disabled."
_NOT_A_MEMBER_CODES = frozenset({"0x80072560", "0x80040225"})

_BY_STATUS: dict[int, type[ODataError]] = {
    400: ValidationError,
    401: AuthError,
    403: PrivilegeError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    412: PreconditionFailedError,
    413: RequestTooLargeError,
    429: ThrottledError,
}

_USER_TEXT: dict[type[ODataError], str] = {
    ValidationError: "The server refused the request: {message}",
    AuthError: (
        "The sign-in to {host} is no longer valid. Sign in again (Configuration Wizard > Organizations)."
    ),
    PrivilegeError: (
        "Your user account in {host} lacks a privilege for this: {message} "
        "Ask your Dynamics 365 administrator for the missing security role."
    ),
    NotFoundError: "The record no longer exists on {host}: {message}",
    MethodNotAllowedError: "The server does not allow this operation: {message}",
    PreconditionFailedError: (
        "The record was changed by someone else after it was read; "
        "it will be read again and the change retried."
    ),
    RequestTooLargeError: "The data is larger than {host} accepts (for example a very large attachment).",
    ThrottledError: (
        "{host} is limiting how many requests we may send (service protection). "
        "Synchronization continues automatically later."
    ),
    ServerError: "{host} is unavailable or failed (HTTP {status}). It will be tried again later.",
}


def _host(url: str | None) -> str:
    if not url:
        return "the server"
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]+)", url)
    return match.group(1) if match else "the server"


def parse_error_body(body: bytes | str) -> tuple[str, str, dict[str, Any]] | None:
    """``(code, message, annotations)`` from an OData error body, or None if it is not one.

    Tolerates the broken JSON Microsoft's own doc sample shows (a missing comma): when ``json.loads``
    fails but the text clearly is an error object, code and message are recovered with a pattern.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip().lstrip("\ufeff")
    if not text.startswith("{"):
        return None
    try:
        document = json.loads(text)
    except RecursionError:
        return None
    except ValueError:
        if '"error"' not in text:
            return None
        code_match = re.search(r'"code"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
        message_match = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
        if message_match is None:
            return None
        code = _unescape(code_match.group(1)) if code_match else ""
        return code, _unescape(message_match.group(1)), {}
    if not isinstance(document, dict) or not isinstance(document.get("error"), dict):
        return None
    error = document["error"]
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    annotations = {k.lstrip("@"): v for k, v in error.items() if k.startswith("@")}
    return code, message, annotations


def _unescape(fragment: str) -> str:
    try:
        value = json.loads(f'"{fragment}"')
    except ValueError:
        return fragment
    return str(value)


def error_for_status(
    status: int,
    *,
    code: str = "",
    message: str = "",
    annotations: Mapping[str, Any] | None = None,
    url: str | None = None,
    retry_after: float | None = None,
) -> ODataError:
    """The typed error for an HTTP status and the service's error code/message."""
    cls: type[ODataError]
    if status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif status >= 500:
        cls = ServerError
    else:
        cls = ODataError
    message = message or f"HTTP {status}"
    template = _USER_TEXT.get(cls, "The server answered HTTP {status}: {message}")
    user_text = template.format(host=_host(url), status=status, message=message)
    if code.lower() in _NOT_A_MEMBER_CODES:
        user_text = (
            f"Your account is not a user of the organization at {_host(url)} (or is disabled there). "
            "Ask your Dynamics 365 administrator to add you, or sign in with another account."
        )
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "user_text": user_text,
        "annotations": annotations,
        "url": url,
    }
    text = f"HTTP {status}: {message}" if code == "" else f"HTTP {status} ({code}): {message}"
    if cls is ThrottledError:
        return ThrottledError(text, retry_after=retry_after, **kwargs)
    if cls is ServerError and status not in (500, 502, 503, 504):
        kwargs["retriable"] = False  # 501 Not Implemented and the like will not get better
    return cls(text, **kwargs)


def malformed(
    reason: str, *, status: int | None, url: str | None, detail: str = ""
) -> MalformedResponseError:
    """A MalformedResponseError whose text names the likely cause (a proxy, a sign-in page, a wrong URL)."""
    host = _host(url)
    user_text = (
        f"{host} did not answer like a Dynamics 365 / OData service ({reason}). A proxy, a firewall sign-in "
        "page or a wrong URL may be in the way; check the address and your network."
    )
    retriable = status is not None and (status >= 500 or status == 429)
    return MalformedResponseError(
        f"Malformed response ({reason}){': ' + detail if detail else ''}",
        status=status,
        user_text=user_text,
        retriable=retriable,
        url=url,
    )
