"""How a store reaches Exchange Online: settings, the Graph token provider, and the JSON ``$batch`` client.

Built on the product's own OData core (:class:`wizard.odata.ODataSession`: TLS 1.2+ and plain http only to
loopback (:mod:`wizard.tls`), bearer tokens with one forced refresh on 401, 429/503 with Retry-After through
the injected retry policy, typed errors). Writes go through JSON ``$batch`` (20 requests each); a throttled
request inside a batch is retried alone after its Retry-After, within the same retry budget.
Secrets (tokens) are never logged or shown: the session only ever puts them in the Authorization header.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import quote

from wizard.errors import Severity
from wizard.mailbox.base import Conflict, FolderKind, ItemNotFound, MailboxError, ProtocolError
from wizard.mailbox.graph.errors import translate
from wizard.mailbox.graph.values import zone_named
from wizard.odata.errors import InsecureURLError, InvalidURLError, ODataError, error_for_status
from wizard.odata.overlap import DEFAULT_CONCURRENCY, checked_limit, run_in_order
from wizard.odata.retry import FaultTolerance, RetryPolicy, Sleeper, parse_retry_after
from wizard.odata.session import ODataSession, TokenProvider
from wizard.odata.transport import gate_of
from wizard.tls import verify_for

log = logging.getLogger(__name__)
T = TypeVar("T")


GRAPH_URL = "https://graph.microsoft.com/v1.0"
MAX_BATCH = 20
#: the largest message Exchange Online accepts (150 MB): one message read alone always fits under this
MAX_MESSAGE_BYTES = 150 * 1024 * 1024
#: per message of a $batch answer beyond its MIME content: the resource, its properties, JSON escaping
_MESSAGE_SLACK = 256 * 1024


def message_batch_bytes(messages: int, size_limit: int) -> int:
    """The most a ``$batch`` answer with ``messages`` messages of up to ``size_limit`` bytes can decently be:
    each MIME content in base64 (4/3) inside JSON (a little escaping), plus the message resource."""
    per_message = (size_limit * 4 + 2) // 3 * 101 // 100 + _MESSAGE_SLACK
    return messages * per_message + 1024 * 1024


class SilentSignIn(Protocol):
    """What :class:`GraphTokenProvider` needs from :class:`wizard.crm.auth.SignIn` (kept structural so the
    mailbox layer does not import the CRM layer)."""

    def silent_token(self, scopes: list[str], username: str, *, force_refresh: bool = False) -> str: ...


class GraphTokenProvider:
    """Bearer tokens for Graph from the user's MSAL sign-in: scope ``<graph resource>/.default``.

    On the real cloud the resource is ``https://graph.microsoft.com``; the sandbox authority issues tokens
    whose audience is the stand-in's origin, which is what ``resource_of(graph_url)`` gives.
    """

    def __init__(self, sign_in: SilentSignIn, graph_url: str, username: str) -> None:
        self._sign_in = sign_in
        self.scopes = [f"{resource_of(graph_url)}/.default"]
        self.username = username

    def __repr__(self) -> str:
        return f"GraphTokenProvider(scopes={self.scopes!r}, username={self.username!r})"

    def token(self, *, force_refresh: bool = False) -> str:
        return self._sign_in.silent_token(self.scopes, self.username, force_refresh=force_refresh)


def resource_of(graph_url: str) -> str:
    """``https://graph.microsoft.com/v1.0`` -> ``https://graph.microsoft.com`` (the token audience)."""
    root = graph_url.rstrip("/")
    return root[: -len("/v1.0")] if root.lower().endswith("/v1.0") else root


@dataclass(frozen=True)
class GraphSettings:
    """Where and how to reach one Exchange Online mailbox. No secrets: the token provider has them."""

    #: the mailbox's primary SMTP address (must be the signed-in user's ``mail``)
    address: str
    #: the Graph service root including the version
    graph_url: str = GRAPH_URL
    #: PEM file of CAs to trust instead of the system store (company proxy CA, the sandbox CA)
    ca_file: str | None = None
    timeout: float = 60.0
    #: the most one operation waits in total for a throttled or busy service
    max_wait: float = 60.0
    #: the calendarView delta window, relative to now
    calendar_past_days: int = 365
    calendar_future_days: int = 730
    #: zone appointment times are shown and series written in (IANA or Windows name); None = UTC
    timezone: str | None = None
    #: requests per JSON $batch (Graph allows at most 20)
    batch_size: int = MAX_BATCH
    #: messages larger than this are parsed partially (no attachments)
    size_limit: int = 25 * 1024 * 1024
    #: ``$batch`` requests of one bulk write on the wire at once (1 = one after the other)
    concurrency: int = DEFAULT_CONCURRENCY


@dataclass
class Sub:
    """One request of a JSON batch."""

    method: str
    url: str
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass
class SubResult:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


MAIL_FOLDERS = {
    FolderKind.INBOX: "inbox",
    FolderKind.SENT_ITEMS: "sentitems",
    FolderKind.DELETED_ITEMS: "deleteditems",
}


class GraphConnection:
    """The connection half of :class:`~wizard.mailbox.graph.store.GraphStore`: the OData session with its
    retry budget, one operation with typed errors, resource paths, and JSON ``$batch`` (throttled requests
    inside a batch retried alone, within the same budget).
    """

    def __init__(
        self,
        settings: GraphSettings,
        *,
        token_provider: TokenProvider,
        retry_policy: RetryPolicy | None = None,
        sleeper: Sleeper = time.sleep,
    ) -> None:
        if not 1 <= settings.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        self.settings = settings
        self._zone: tzinfo = UTC
        if settings.timezone:
            zone = zone_named(settings.timezone)
            if zone is None:
                raise ValueError(
                    f"unknown time zone {settings.timezone!r} (expected an IANA or Windows name)"
                )
            self._zone = zone
        self._policy: RetryPolicy = retry_policy or FaultTolerance(max_wait=settings.max_wait)
        self._sleeper = sleeper
        try:
            self._session = ODataSession(
                settings.graph_url,
                auth=token_provider,
                verify=verify_for(settings.ca_file),
                timeout=(min(10.0, settings.timeout), settings.timeout),
                retry_policy=self._policy,
                sleeper=sleeper,
                send_if_none_match_null=False,
            )
        except (InsecureURLError, InvalidURLError) as exc:
            raise translate(exc, "connect") from exc
        gate_of(self._session).configure(checked_limit(settings.concurrency))
        self._task_list: str | None = None

    @property
    def request_count(self) -> int:
        return self._session.request_count

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------------
    def _call(self, what: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except MailboxError:
            raise
        except (ODataError, InsecureURLError, InvalidURLError) as exc:
            error = translate(exc, what)
            log.info("Graph %s failed: %s", what, error.message)
            raise error from exc

    def _get(
        self, path: str, params: Mapping[str, Any] | None = None, prefer: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self._session.get_json(path, params=params, prefer=prefer)

    def _task_list_id(self) -> str:
        if self._task_list is None:
            document = self._get("me/todo/lists")
            lists = [v for v in document.get("value") or [] if isinstance(v, Mapping)]
            default = next((v for v in lists if v.get("wellknownListName") == "defaultList"), None)
            if default is None or not default.get("id"):
                raise ProtocolError(
                    "no default To Do list", user_text="The mailbox has no default task list."
                )
            self._task_list = str(default["id"])
        return self._task_list

    def _item_path(self, kind: FolderKind, item_id: str = "") -> str:
        suffix = f"/{quote(item_id, safe='')}" if item_id else ""
        if kind in MAIL_FOLDERS:
            return f"me/messages{suffix}"
        if kind is FolderKind.CONTACTS:
            return f"me/contacts{suffix}"
        if kind is FolderKind.CALENDAR:
            return f"me/events{suffix}" if item_id else "me/calendar/events"
        return f"me/todo/lists/{self._task_list_id()}/tasks{suffix}"

    def _batch(self, subs: Sequence[Sub], *, max_bytes: int | None = None) -> list[SubResult]:
        """Run requests through JSON $batch, ``batch_size`` at a time; throttled ones are retried alone.

        Account-level failures (auth, throttling beyond the budget) raise; item-level ones come back.
        ``max_bytes``: the largest answer accepted when it is more than the session's own cap (message
        contents, see :func:`message_batch_bytes`); such reads go one batch after the other, the others up to
        ``GraphSettings.concurrency`` at once (:mod:`wizard.odata.overlap`), answers in order.
        """
        size = self.settings.batch_size
        ranges = [range(start, min(start + size, len(subs))) for start in range(0, len(subs), size)]
        calls = [functools.partial(self._one_batch, subs, list(r), max_bytes) for r in ranges]
        if max_bytes is not None or len(calls) <= 1:  # the answer cap is the session's: not shared
            return [result for call in calls for result in call()]
        results: list[SubResult] = []
        for answer in run_in_order(gate_of(self._session), calls, "graph"):
            results.extend(answer.result())
        return results

    def _one_batch(self, subs: Sequence[Sub], pending: list[int], max_bytes: int | None) -> list[SubResult]:
        """One ``$batch`` of ``subs[n] for n in pending``, its throttled requests retried alone."""
        results: dict[int, SubResult] = {}
        attempt, waited = 0, 0.0
        while pending:
            attempt += 1
            requests = []
            for n in pending:
                sub = subs[n]
                entry: dict[str, Any] = {
                    "id": str(n),
                    "method": sub.method,
                    "url": "/" + sub.url.lstrip("/"),
                }
                headers = dict(sub.headers or {})
                if sub.body is not None:
                    headers.setdefault("Content-Type", "application/json")
                    entry["body"] = sub.body
                if headers:
                    entry["headers"] = headers
                requests.append(entry)
            document = self._session.decode_json(self._post_batch(requests, max_bytes))
            answers = document.get("responses")
            if not isinstance(answers, list):
                raise ProtocolError(
                    "a $batch answer without responses",
                    user_text="Exchange Online answered a batch oddly.",
                )
            retry: list[int] = []
            delays: list[float] = []
            for answer in answers:
                if not isinstance(answer, Mapping):
                    continue
                try:
                    n = int(str(answer.get("id")))
                except ValueError:
                    continue
                if n not in pending:
                    continue
                headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
                status = int(answer.get("status") or 0)
                result = SubResult(status=status, body=answer.get("body"), headers=headers)
                if status in (429, 503, 504):
                    retry.append(n)
                    lowered = {k.lower(): v for k, v in headers.items()}
                    after = parse_retry_after(lowered.get("retry-after"))
                    if after is not None:
                        delays.append(after)
                results[n] = result
            missing = [n for n in pending if n not in results]
            if missing:
                raise ProtocolError(
                    "a $batch answer without some responses",
                    user_text="Exchange Online left out part of a batch answer.",
                )
            if not retry:
                break
            delay = self._policy.next_delay(attempt, waited, max(delays) if delays else None)
            if delay is None:
                raise self._sub_error(results[retry[0]], "batch")
            log.info("Graph $batch: %d request(s) throttled; retrying in %.1fs", len(retry), delay)
            if delays:  # the service asked for a pause: the other batches on their way wait too
                gate_of(self._session).pause(max(delays))
            self._sleeper(delay)
            waited += delay
            for n in retry:
                del results[n]
            pending = retry
        return [results[n] for n in sorted(results)]

    def _post_batch(self, requests: list[dict[str, Any]], max_bytes: int | None) -> Any:
        """POST one ``$batch``, accepting an answer of up to ``max_bytes`` (never less than the session's cap)."""
        session = self._session
        usual = session.max_response_bytes
        if max_bytes is not None:
            session.max_response_bytes = max(usual, max_bytes)
        try:
            return session.request("POST", "$batch", json={"requests": requests})
        finally:
            session.max_response_bytes = usual

    def _sub_error(self, result: SubResult, what: str) -> MailboxError:
        body = result.body if isinstance(result.body, Mapping) else {}
        raw_error = body.get("error")
        error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
        lowered = {k.lower(): v for k, v in result.headers.items()}
        odata = error_for_status(
            result.status,
            code=str(error.get("code") or ""),
            message=str(error.get("message") or ""),
            url=self.settings.graph_url,
            retry_after=parse_retry_after(lowered.get("retry-after")),
        )
        return translate(odata, what)

    def _item_failure(self, result: SubResult, what: str) -> MailboxError:
        """An item-level error for a result, or raise when the failure concerns the whole account."""
        error = self._sub_error(result, what)
        if error.severity in (Severity.ACCOUNT, Severity.FATAL) and not isinstance(
            error, ItemNotFound | Conflict
        ):
            raise error
        return error
