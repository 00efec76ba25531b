"""One HTTP session per OData service root: headers, auth, TLS policy, retries, paging and delta reads.

Dataverse (``<org>/api/data/v9.2/``), Global Discovery (``/api/discovery/v2.0/``) and Microsoft Graph all
speak OData v4 over JSON; this class is the only place in the product that turns their HTTP answers into data
or typed errors (:mod:`wizard.odata.errors`).
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urljoin, urlsplit

import requests
import requests.auth

import wizard
from wizard.errors import D365SyncError
from wizard.odata import etag as etags
from wizard.odata.batch import BatchItem, BatchResult, run_batch
from wizard.odata.errors import (
    AuthError,
    InsecureURLError,
    InvalidURLError,
    MalformedResponseError,
    NetworkError,
    ODataError,
    StoppedAnsweringError,
    TLSError,
    error_for_status,
    malformed,
    parse_error_body,
)
from wizard.odata.links import origin_of, same_origin, shown
from wizard.odata.paging import DEFAULT_MAX_PAGES, PageGuard
from wizard.odata.retry import FaultTolerance, RetryPolicy, Sleeper, parse_retry_after
from wizard.odata.transport import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    UPLOAD_ALLOWANCE,
    WatchedAdapter,
    guarded,
    read_body,
    stopped_answering,
)
from wizard.tls import is_loopback_host, tls_context

log = logging.getLogger(__name__)

USER_AGENT = f"d365sync/{wizard.__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@runtime_checkable
class TokenProvider(Protocol):
    """Something that hands out bearer tokens for one resource (MSAL silent sign-in, or a static token)."""

    def token(self, *, force_refresh: bool = False) -> str: ...


# -- URL policy ----------------------------------------------------------------------------------------------


def validate_url(url: str, *, what: str = "service address") -> str:
    """Return ``url`` if it is usable, else raise InvalidURLError / InsecureURLError with a clear message."""
    shown = url if len(url) <= 200 else url[:200] + "…"
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError(
            f"Empty {what}",
            user_text=f"The {what} is empty. Enter an address like https://contoso.crm.dynamics.com.",
        )
    url = url.strip()
    if re.search(r"\s", url):
        raise InvalidURLError(
            f"Invalid {what}: contains spaces",
            user_text=f"The {what} '{shown}' is not a valid URL: it contains spaces.",
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidURLError(
            f"Invalid {what}: scheme {parts.scheme!r}",
            user_text=f"The {what} '{shown}' is not a valid URL: it must start with https://.",
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidURLError(
            f"Invalid {what}: credentials in URL",
            user_text=(
                f"The {what} must not contain a user name or password; enter them when asked to sign in."
            ),
        )
    host = parts.hostname or ""
    if not host:
        raise InvalidURLError(
            f"Invalid {what}: no host",
            user_text=f"The {what} '{shown}' is not a valid URL: it has no server name.",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidURLError(
            f"Invalid {what}: bad port", user_text=f"The port in the {what} '{shown}' is not a valid number."
        ) from exc
    if not re.fullmatch(r"[A-Za-z0-9.\-_:\[\]%]+", parts.netloc.rsplit("@", 1)[-1]):
        raise InvalidURLError(
            f"Invalid {what}: bad host", user_text=f"The server name in the {what} '{shown}' is not valid."
        )
    if scheme == "http" and not is_loopback_host(host):
        raise InsecureURLError(
            f"Refused plain http:// to {host}",
            user_text=(
                f"The {what} uses http://, which would send your data and sign-in unencrypted. "
                f"Use https://{host}{parts.path} instead (plain http is only allowed to this computer)."
            ),
        )
    return url


class TLS12Adapter(WatchedAdapter):
    """A transport adapter that refuses anything older than TLS 1.2 (certificate checks stay on).

    Its connections obey each request's total deadline (:mod:`wizard.odata.transport`).
    """

    @staticmethod
    def _context() -> ssl.SSLContext:
        return tls_context()

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        pool_kwargs["ssl_context"] = self._context()
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._context()
        return super().proxy_manager_for(proxy, **proxy_kwargs)


def encode_query(params: Mapping[str, Any] | Sequence[tuple[str, Any]]) -> str:
    """OData query strings: keys keep ``$``, values keep ``,'()`` readable, the rest is percent-encoded."""
    items = params.items() if isinstance(params, Mapping) else params
    out = []
    for key, value in items:
        if value is None:
            continue
        safe_value = ",'()*@$"
        out.append(f"{quote(str(key), safe='$@')}={quote(str(value), safe=safe_value)}")
    return "&".join(out)


# -- results -------------------------------------------------------------------------------------------------


@dataclass
class DeltaResult:
    """One change-tracking read: changed/new rows, ids of deleted rows, and the link for the next read."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    delta_link: str | None = None


def is_deleted_entity(row: Mapping[str, Any]) -> bool:
    context = str(row.get("@odata.context") or "")
    return context.endswith("$deletedEntity") or (
        row.get("reason") in ("deleted", "changed") and "id" in row and len(row) <= 4
    )


# -- the session ---------------------------------------------------------------------------------------------


class ODataSession:
    """HTTP access to one OData service root with the product's policies.

    ``auth`` is a :class:`TokenProvider` (Bearer; on 401 one forced refresh and one retry, then AuthError)
    or a ``requests`` auth object (NTLM for on-premises). ``verify`` is True (system CAs) or a CA bundle path;
    turning verification off is not offered.

    Every answer is bounded: ``timeout`` is (connect, per read); ``deadline`` the total seconds one request
    may take, connect and the whole body included (plus an allowance for what we upload);
    ``max_response_bytes`` the largest decoded body read; ``max_pages`` the most pages one listing follows.
    Links the server sends are followed only to the service's own origin (:mod:`wizard.odata.links`).
    """

    def __init__(
        self,
        service_root: str,
        *,
        auth: TokenProvider | requests.auth.AuthBase | None = None,
        verify: bool | str = True,
        timeout: tuple[float, float] = (10.0, 60.0),
        retry_policy: RetryPolicy | None = None,
        sleeper: Sleeper = time.sleep,
        user_agent: str = USER_AGENT,
        send_if_none_match_null: bool = True,
        extra_headers: Mapping[str, str] | None = None,
        deadline: float = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        root = validate_url(service_root)
        if not root.endswith("/"):
            root += "/"
        try:
            origin_of(root)
        except ValueError as exc:
            raise InvalidURLError(
                f"Invalid service address: {exc}",
                user_text=f"The service address '{shown(root)}' is not a valid URL ({exc}).",
            ) from exc
        if verify is False:
            raise InsecureURLError(
                "Certificate verification cannot be turned off",
                user_text="Certificate checks cannot be turned off; give the CA certificate file instead.",
            )
        self.root = root
        self.auth = auth
        self.verify: bool | str = str(verify) if not isinstance(verify, bool) else verify
        self.timeout = timeout
        self.retry_policy: RetryPolicy = retry_policy if retry_policy is not None else FaultTolerance()
        self.sleeper = sleeper
        self.send_if_none_match_null = send_if_none_match_null
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self.max_pages = max_pages
        self.http = requests.Session()
        self.http.trust_env = True
        self.http.mount("https://", TLS12Adapter())
        self.http.mount("http://", WatchedAdapter())
        self.http.headers.clear()
        self.http.headers.update(
            {
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
                "User-Agent": user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Connection": "keep-alive",
            }
        )
        if extra_headers:
            self.http.headers.update(extra_headers)
        if isinstance(auth, requests.auth.AuthBase):
            self.http.auth = auth
        self.request_count = 0  # requests sent (retries included); counted under a lock: calls overlap
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ODataSession({self.root!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ODataSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- URLs ------------------------------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        """Absolute URL for a path relative to the service root (or an absolute URL on the same origin)."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path):
            return self.checked_link(path)
        return urljoin(self.root, path.lstrip("/"))

    def checked_link(self, link: object, what: str = "link") -> str:
        """A server-provided link (nextLink, deltaLink, EntityId) may only point at this service's own origin.

        Anything else would send our bearer token to a third party; it is refused with
        :class:`~wizard.odata.errors.UnsafeLinkError` (a malformed response that stops the kind).
        """
        return same_origin(link, self.root, what=what)

    def _full_url(self, path: str, params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None) -> str:
        url = self.url_for(path)
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{encode_query(params)}"
        return url

    # -- core request ----------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        prefer: Iterable[str] = (),
        idempotent: bool | None = None,
        allow_statuses: Iterable[int] = (),
    ) -> requests.Response:
        """Send one request with auth, retries and error mapping; return the response for 2xx/3xx.

        Raises a typed :class:`ODataError` for everything else (after retries for transient failures).
        ``allow_statuses`` lists error statuses the caller wants to see as a response instead (e.g. the
        whole-batch 400 of ``$batch``).
        """
        method = method.upper()
        url = self._full_url(path, params)
        allowed = set(allow_statuses)
        is_idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        send_headers: dict[str, str] = {}
        preferences = [p for p in prefer if p]
        if preferences:
            send_headers["Prefer"] = ",".join(preferences)
        if self.send_if_none_match_null and method == "GET":
            send_headers["If-None-Match"] = "null"
        body: bytes | str | None = data
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
            send_headers["Content-Type"] = "application/json; charset=utf-8"
        if headers:
            send_headers.update(headers)

        attempt = 0
        waited = 0.0
        refreshed = False
        stalled = 0
        seconds = self.deadline + len(body or b"") * UPLOAD_ALLOWANCE
        token_value: str | None = None
        provider = self._token_provider()
        while True:
            attempt += 1
            if provider is not None:
                if token_value is None:
                    token_value = provider.token()
                send_headers["Authorization"] = f"Bearer {token_value}"
            try:
                with self._count_lock:
                    self.request_count += 1
                response = self._exchange(method, url, body, send_headers, seconds)
            except StoppedAnsweringError as stopped:
                stalled += 1
                if is_idempotent and stalled <= 1:
                    delay = self.retry_policy.next_delay(attempt, waited, None)
                    if delay is not None:
                        log.info("%s %s: %s; retrying in %.1fs", method, _safe(url), stopped.message, delay)
                        self.sleeper(delay)
                        waited += delay
                        continue
                raise
            except requests.RequestException as exc:
                error = network_error(exc, url, method)
                if error.retriable and (is_idempotent or _nothing_was_sent(exc)):
                    delay = self.retry_policy.next_delay(attempt, waited, None)
                    if delay is not None:
                        log.info("%s %s: %s; retrying in %.1fs", method, _safe(url), error.message, delay)
                        self.sleeper(delay)
                        waited += delay
                        continue
                raise error from exc

            status = response.status_code
            if status == 401 and provider is not None and not refreshed:
                refreshed = True
                response.close()
                token_value = provider.token(force_refresh=True)
                continue
            if status == 429 or status == 503 or (status in (502, 504) and is_idempotent):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry_policy.next_delay(attempt, waited, retry_after)
                if delay is not None:
                    log.info("%s %s: HTTP %s; retrying in %.1fs", method, _safe(url), status, delay)
                    response.close()
                    self.sleeper(delay)
                    waited += delay
                    continue
                raise self.error_from(response, attempts=attempt)
            if status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location", "")
                raise malformed(
                    f"a redirect to {_redirect_target(location)}",
                    status=status,
                    url=url,
                    detail="sign-in page or wrong address",
                )
            if status >= 400 and status not in allowed:
                raise self.error_from(response, attempts=attempt, refreshed=refreshed)
            return response

    def _exchange(
        self, method: str, url: str, body: bytes | str | None, headers: Mapping[str, str], seconds: float
    ) -> requests.Response:
        """One HTTP exchange under a total deadline; the body is read (decoded, capped) before returning."""
        with guarded(seconds) as deadline:
            try:
                response = self.http.request(
                    method,
                    url,
                    data=body,
                    headers=dict(headers),
                    timeout=self.timeout,
                    verify=self.verify,
                    allow_redirects=False,
                    stream=True,
                )
                content = read_body(response, max_bytes=self.max_response_bytes, deadline=deadline)
            except (StoppedAnsweringError, ODataError):
                raise
            except Exception as exc:
                if deadline.expired:  # the watchdog cut the socket: whatever broke, the cause is the deadline
                    raise stopped_answering(url, seconds) from exc
                raise
        response._content = content  # what requests itself caches after reading a body
        return response

    def _token_provider(self) -> TokenProvider | None:
        if self.auth is None or isinstance(self.auth, requests.auth.AuthBase):
            return None
        return self.auth

    def error_from(
        self, response: requests.Response, *, attempts: int = 1, refreshed: bool = False
    ) -> ODataError:
        """The typed error for an error response (JSON error body, or a proxy's page, or nothing)."""
        status = response.status_code
        url = response.url or self.root
        content_type = response.headers.get("Content-Type", "").lower()
        raw = response.content or b""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        parsed = parse_error_body(raw) if raw else None
        # A page instead of an error body: a proxy's, usually. Not for 401 (IIS and sign-in gateways answer a
        # refused sign-in with a page; the status says it all) nor 429 (throttled, whatever the body).
        if (
            parsed is None
            and raw
            and ("html" in content_type or raw.lstrip()[:1] == b"<")
            and status not in (401, 429)
        ):
            return malformed(
                "an HTML page instead of an error message", status=status, url=url, detail=f"HTTP {status}"
            )
        code, message, annotations = parsed if parsed else ("", response.reason or "", {})
        error = error_for_status(
            status, code=code, message=message, annotations=annotations, url=url, retry_after=retry_after
        )
        if isinstance(error, AuthError):
            host = urlsplit(url).netloc or "The server"
            error.user_text = (
                f"{host} did not accept the sign-in"
                + (" even after a fresh sign-in token" if refreshed else "")
                + f" ({message or 'HTTP 401'}). Sign in again in the Configuration Wizard; "
                "if it keeps failing, your account may be disabled or have no access to this organization."
            )
        if attempts > 1 and error.retriable:
            error.message += f" (gave up after {attempts} attempts)"
        return error

    # -- JSON helpers ----------------------------------------------------------------------------------------
    def decode_json(self, response: requests.Response) -> dict[str, Any]:
        """The JSON object of a success response ({} for 204/empty); malformed answers raise."""
        raw = response.content or b""
        if response.status_code == 204 or not raw.strip():
            return {}
        content_type = response.headers.get("Content-Type", "").lower()
        if "json" not in content_type:
            kind = (
                "a web page"
                if "html" in content_type or raw.lstrip()[:1] == b"<"
                else f"content type {content_type or 'none'}"
            )
            raise malformed(kind + " instead of JSON", status=response.status_code, url=response.url)
        try:
            document = jsonlib.loads(raw)
        except RecursionError:
            raise malformed(
                "JSON nested too deeply to read",
                status=response.status_code,
                url=response.url,
                detail=_request_line(response),
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise malformed(
                "invalid JSON",
                status=response.status_code,
                url=response.url,
                detail=f"{_request_line(response)}: {str(exc)[:120]}",
            ) from exc
        if not isinstance(document, dict):
            raise malformed(
                f"a JSON {type(document).__name__} where an object was expected",
                status=response.status_code,
                url=response.url,
                detail=_request_line(response),
            )
        return document

    def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        prefer: Iterable[str] = (),
    ) -> dict[str, Any]:
        return self.decode_json(self.request("GET", path, params=params, headers=headers, prefer=prefer))

    def get_if_changed(
        self, path: str, etag: str, *, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Conditional GET: the row if it changed since ``etag``, None if the server says 304 Not Modified."""
        response = self.request("GET", path, params=params, headers=etags.if_none_match(etag))
        if response.status_code == 304:
            return None
        return self.decode_json(response)

    # -- collections -----------------------------------------------------------------------------------------
    def iter_pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        page_size: int | None = None,
        prefer: Iterable[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Yield each page document, following ``@odata.nextLink`` unchanged with the same maxpagesize."""
        preferences = list(prefer)
        if page_size:
            preferences.append(f"odata.maxpagesize={int(page_size)}")
        url: str = path
        query = params
        guard = PageGuard(
            self._full_url(path, params), page_size=page_size, max_pages=self.max_pages, what=_safe(path)
        )
        while True:
            document = self.get_json(url, params=query, prefer=preferences)
            yield document
            next_link = document.get("@odata.nextLink")
            if not next_link:
                return
            url = guard.follow(document, self.checked_link(next_link, "@odata.nextLink"))
            query = None

    def page_guard(self, what: str, *, page_size: int | None = None) -> PageGuard:
        """A guard for a listing paged another way (FetchXML page numbers): the same caps as for nextLinks."""
        return PageGuard(self.root + what, page_size=page_size, max_pages=self.max_pages, what=what)

    def iter_rows(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        page_size: int | None = None,
        prefer: Iterable[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """Yield rows lazily across pages; only one page is in memory at a time."""
        for document in self.iter_pages(path, params=params, page_size=page_size, prefer=prefer):
            yield from _rows_of(document, self.url_for(path))

    def read_delta(
        self,
        path: str | None = None,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> DeltaResult:
        """Start a change-tracking read (``path`` + ``params``) or continue from a stored ``delta_link``.

        Follows nextLinks; collects changed rows, ``$deletedEntity`` ids and the new deltaLink. An empty
        answer (no changes) keeps the previous deltaLink.
        """
        if (path is None) == (delta_link is None):
            raise ValueError("give either path (start) or delta_link (continue)")
        prefer = ["odata.track-changes"]
        if page_size:
            prefer.append(f"odata.maxpagesize={int(page_size)}")
        result = DeltaResult(delta_link=delta_link)
        url: str = self.checked_link(delta_link, "stored @odata.deltaLink") if delta_link else str(path)
        query = params if delta_link is None else None
        guard = PageGuard(
            self._full_url(url, query), page_size=page_size, max_pages=self.max_pages, what=_safe(url)
        )
        while True:
            document = self.get_json(url, params=query, prefer=prefer)
            for row in _rows_of(document, url):
                if is_deleted_entity(row):
                    if row.get("id"):
                        result.deleted_ids.append(str(row["id"]))
                else:
                    result.rows.append(row)
            if document.get("@odata.deltaLink"):
                result.delta_link = self.checked_link(document["@odata.deltaLink"], "@odata.deltaLink")
            next_link = document.get("@odata.nextLink")
            if not next_link:
                break
            url = guard.follow(document, self.checked_link(next_link, "@odata.nextLink"))
            query = None
        if path is not None and result.delta_link is None:
            raise malformed(
                "a change-tracking answer without a deltaLink", status=200, url=self.url_for(path)
            )
        return result

    # -- $batch ----------------------------------------------------------------------------------------------
    def batch(
        self,
        items: Sequence[BatchItem],
        *,
        continue_on_error: bool = True,
        max_requests: int = 1000,
        path: str = "$batch",
    ) -> list[BatchResult]:
        """Run requests through ``$batch`` (at most ``max_requests`` per batch); one result per request."""
        return run_batch(
            self, items, continue_on_error=continue_on_error, max_requests=max_requests, path=path
        )


def _rows_of(document: Mapping[str, Any], url: str) -> list[dict[str, Any]]:
    """The rows of a collection page; a ``value`` that is not a list of objects is a malformed answer."""
    value = document.get("value")
    if value is None:
        return []
    if not isinstance(value, list):
        raise malformed("a collection without a value list", status=200, url=url, detail=_safe(url))
    if not all(isinstance(row, dict) for row in value):
        raise malformed("a collection whose rows are not objects", status=200, url=url, detail=_safe(url))
    return value


def _request_line(response: requests.Response) -> str:
    """``GET /api/data/v9.2/contacts`` for messages: which request got the odd answer (no query)."""
    method = response.request.method if response.request is not None else "answer to"
    return f"{method} {_safe(urlsplit(response.url or '').path or '/')}"


def _redirect_target(location: str) -> str:
    try:
        return str(origin_of(location))
    except ValueError:
        return shown(location)[:80] or "nowhere"


def _safe(url: str) -> str:
    """A URL for logs: without query (which may hold filters with personal data or delta tokens)."""
    return url.split("?", 1)[0]


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        nxt: BaseException | None = None
        if current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nxt = reason
        if nxt is None:
            nxt = current.__cause__ or current.__context__
        if nxt is None:
            break
        current = nxt
    return current


def _nothing_was_sent(exc: requests.RequestException) -> bool:
    """Connection never established (refused, DNS, connect timeout): safe to retry even a POST."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "NameResolutionError", "Connection refused"))


def network_error(exc: requests.RequestException, url: str, method: str = "GET") -> D365SyncError:
    """Map a transport exception to NetworkError/TLSError/InvalidURLError with a message a user can act on."""
    host = urlsplit(url).netloc or "the server"
    text = repr(exc)
    root = _root_cause(exc)
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return InvalidURLError(
            f"Invalid URL: {_safe(url)[:200]}",
            user_text=f"The address '{_safe(url)[:200]}' is not a valid URL.",
        )
    if isinstance(exc, requests.exceptions.InvalidHeader | requests.exceptions.ContentDecodingError):
        return malformed("broken HTTP headers or encoding", status=None, url=url, detail=type(exc).__name__)
    if isinstance(exc, requests.exceptions.SSLError) or isinstance(root, ssl.SSLError):
        detail = (
            "certificate verify failed"
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text
            else "TLS handshake failed"
        )
        return TLSError(
            f"TLS failure with {host}: {detail}",
            user_text=(
                f"A secure (TLS 1.2+) connection to {host} could not be established ({detail}). "
                "If your organization uses its own certificate authority, give its CA file in the settings; "
                "otherwise a proxy may be intercepting the connection."
            ),
            url=url,
        )
    if isinstance(exc, requests.ConnectTimeout):
        return NetworkError(
            f"Timed out connecting to {host}",
            user_text=(
                f"{host} did not answer in time. Check your network connection; it will be tried again."
            ),
            url=url,
        )
    if isinstance(exc, requests.ReadTimeout):
        return NetworkError(
            f"{host} did not answer a {method} in time",
            user_text=f"{host} accepted the connection but did not answer in time. It will be tried again.",
            url=url,
        )
    if (
        "NameResolutionError" in text
        or "Name or service not known" in text
        or "getaddrinfo failed" in text
        or "nodename nor servname" in text
    ):
        return NetworkError(
            f"Host name not found: {host}",
            user_text=(
                f"The server name {host} could not be found. Check the address and your network connection."
            ),
            url=url,
        )
    if "Connection refused" in text or isinstance(root, ConnectionRefusedError):
        return NetworkError(
            f"Connection refused by {host}",
            user_text=(
                f"{host} refused the connection: the service is not running there, or the port is wrong."
            ),
            url=url,
        )
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ConnectionError):
        return NetworkError(
            f"Connection to {host} dropped",
            user_text=(
                f"The connection to {host} was interrupted before the answer arrived. It will be tried again."
            ),
            url=url,
        )
    return NetworkError(
        f"Network failure talking to {host}: {type(exc).__name__}",
        user_text=f"Talking to {host} failed ({type(exc).__name__}). Check your network connection.",
        url=url,
    )


__all__ = [
    "USER_AGENT",
    "DeltaResult",
    "InsecureURLError",
    "InvalidURLError",
    "MalformedResponseError",
    "ODataSession",
    "TLS12Adapter",
    "TokenProvider",
    "encode_query",
    "is_loopback_host",
    "network_error",
    "validate_url",
]
