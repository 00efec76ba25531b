"""OData ``$batch``: build multipart/mixed requests, parse multipart responses, split at 1000 requests.

A batch holds plain requests (GETs must be outside change sets) and change sets (atomic groups whose members
carry a Content-ID and may refer to an earlier member as ``$n``). The service answers in request order; a
change set is answered either by its own multipart part (one response per member) or, when it failed and
was rolled back, by a single error response. Without ``Prefer: odata.continue-on-error`` the service stops
at the first failure and the whole ``$batch`` returns 400 carrying that error: later requests are reported
as not run.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from wizard.odata.errors import (
    BatchAbortedError,
    ODataError,
    UnsafeLinkError,
    error_for_status,
    malformed,
    parse_error_body,
)
from wizard.odata.links import same_origin
from wizard.odata.overlap import InOrder
from wizard.odata.transport import gate_of


class BatchSession(Protocol):
    """What ``$batch`` needs of a session (an :class:`~wizard.odata.session.ODataSession`): its root, one
    request with the session's policies, and the typed error for an error answer. A protocol, so this module
    does not import the session (which imports it)."""

    @property
    def root(self) -> str: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        prefer: Iterable[str] = (),
        idempotent: bool | None = None,
        allow_statuses: Iterable[int] = (),
    ) -> requests.Response: ...

    def error_from(self, response: requests.Response) -> ODataError: ...


MAX_BATCH_REQUESTS = 1000
CRLF = "\r\n"


@dataclass
class BatchRequest:
    """One request in a batch. ``url`` is relative to the service root (``tasks``, ``accounts(<id>)``,
    ``contacts?$select=fullname``) or a ``$n`` reference to an earlier change-set member."""

    method: str
    url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_id: str | None = None


@dataclass
class ChangeSet:
    """Requests applied atomically (all or none). No GETs inside."""

    requests: list[BatchRequest]

    def __post_init__(self) -> None:
        for request in self.requests:
            if request.method.upper() == "GET":
                raise ValueError("GET requests are not allowed inside a change set")


BatchItem = BatchRequest | ChangeSet


@dataclass
class BatchPart:
    """One parsed HTTP response inside a batch response."""

    status: int
    reason: str
    headers: CaseInsensitiveDict[str]
    body: bytes
    content_id: str | None = None


@dataclass
class BatchResult:
    """The outcome of one request of a batch. ``status`` 0 = not run (see ``error``)."""

    request: BatchRequest
    status: int
    headers: Mapping[str, str]
    body: Any
    error: ODataError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    @property
    def entity_id(self) -> str | None:
        """The id from ``OData-EntityId`` (creates without return=representation)."""
        return entity_id_from_header(self.headers.get("OData-EntityId") or self.headers.get("Location"))

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error


_ID_RE = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$")


def entity_id_from_header(value: str | None, root: str | None = None) -> str | None:
    """The row id at the end of an ``OData-EntityId`` (or ``Location``) URL.

    With ``root`` (the service root) the URL must lead to the service's own origin, else
    :class:`UnsafeLinkError`: an answer naming a row on another server is not a Dataverse answer.
    """
    if not value:
        return None
    if root is not None:
        same_origin(value.strip(), root, what="OData-EntityId header")
    match = _ID_RE.search(value.strip())
    return match.group(1).lower() if match else None


def _check_entity_links(headers: Mapping[str, str], root: str | None) -> UnsafeLinkError | None:
    if root is None:
        return None
    for name in ("OData-EntityId", "Location"):
        value = headers.get(name)
        if value:
            try:
                same_origin(value.strip(), root, what=f"{name} header")
            except UnsafeLinkError as error:
                return error
    return None


# -- building ------------------------------------------------------------------------------------------------


def count_requests(items: Sequence[BatchItem]) -> int:
    return sum(len(item.requests) if isinstance(item, ChangeSet) else 1 for item in items)


def split_batches(
    items: Sequence[BatchItem], max_requests: int = MAX_BATCH_REQUESTS
) -> list[list[BatchItem]]:
    """Group items into batches of at most ``max_requests`` requests, never splitting a change set."""
    batches: list[list[BatchItem]] = []
    current: list[BatchItem] = []
    size = 0
    for item in items:
        n = len(item.requests) if isinstance(item, ChangeSet) else 1
        if n > max_requests:
            raise ValueError(f"a change set of {n} requests exceeds the batch limit of {max_requests}")
        if size + n > max_requests and current:
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += n
    if current:
        batches.append(current)
    return batches


def _request_lines(request: BatchRequest, root_path: str) -> str:
    target = (
        request.url
        if request.url.startswith("$") or "://" in request.url
        else root_path + request.url.lstrip("/")
    )
    lines = [f"{request.method.upper()} {target} HTTP/1.1"]
    headers = dict(request.headers)
    body_text = ""
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
        body_text = json.dumps(request.body, ensure_ascii=False)
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return CRLF.join(lines) + CRLF + CRLF + body_text


def build_batch(
    items: Sequence[BatchItem], service_root: str, *, boundary: str | None = None
) -> tuple[str, bytes]:
    """``(content_type, body)`` of a ``$batch`` request; change-set members lacking a Content-ID get one."""
    boundary = boundary or f"batch_{uuid.uuid4()}"
    root_path = urlsplit(service_root).path
    if not root_path.endswith("/"):
        root_path += "/"
    used = {
        r.content_id for item in items if isinstance(item, ChangeSet) for r in item.requests if r.content_id
    }
    counter = 0

    def next_id() -> str:
        nonlocal counter
        while True:
            counter += 1
            if str(counter) not in used:
                used.add(str(counter))
                return str(counter)

    out: list[str] = []
    for item in items:
        out.append(f"--{boundary}")
        if isinstance(item, ChangeSet):
            changeset = f"changeset_{uuid.uuid4()}"
            out.append(f'Content-Type: multipart/mixed; boundary="{changeset}"')
            out.append("")
            for request in item.requests:
                if request.content_id is None:
                    request.content_id = next_id()
                out.append(f"--{changeset}")
                out.append("Content-Type: application/http")
                out.append("Content-Transfer-Encoding: binary")
                out.append(f"Content-ID: {request.content_id}")
                out.append("")
                out.append(_request_lines(request, root_path))
            out.append(f"--{changeset}--")
        else:
            out.append("Content-Type: application/http")
            out.append("Content-Transfer-Encoding: binary")
            out.append("")
            out.append(_request_lines(item, root_path))
    out.append(f"--{boundary}--")
    out.append("")
    return f'multipart/mixed; boundary="{boundary}"', CRLF.join(out).encode("utf-8")


# -- parsing -------------------------------------------------------------------------------------------------


def _boundary_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r'boundary\s*=\s*"?([^";]+)"?', content_type, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _split_head(data: bytes) -> tuple[list[str], bytes]:
    """Header lines and the rest, split at the first blank line (CRLF or LF)."""
    data = data.lstrip(b"\r\n")
    candidates = [(i, n) for i, n in ((data.find(b"\r\n\r\n"), 4), (data.find(b"\n\n"), 2)) if i >= 0]
    if not candidates:
        head, rest = data, b""
    else:
        index, length = min(candidates)
        head, rest = data[:index], data[index + length :]
    lines = [line.rstrip("\r") for line in head.decode("utf-8", "replace").split("\n")]
    return lines, rest


def _headers(lines: Sequence[str]) -> CaseInsensitiveDict[str]:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip()] = value.strip()
    return headers


def split_multipart(body: bytes, boundary: str) -> Iterator[bytes]:
    """The parts of a multipart body (LF or CRLF line ends), without the delimiter lines."""
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        elif chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        elif chunk.endswith(b"\n"):
            chunk = chunk[:-1]
        yield chunk


ParsedItem = BatchPart | list[BatchPart]


def parse_batch_response(content_type: str | None, body: bytes) -> list[ParsedItem]:
    """Parse a ``$batch`` response body into parts (a list for each change-set answer).

    The boundary comes from the Content-Type header; when that is missing (as in Microsoft's doc sample) it is
    taken from the first delimiter line of the body.
    """
    boundary = _boundary_of(content_type)
    if boundary is None:
        match = re.search(rb"^--([^\r\n]+?)\s*$", body, re.MULTILINE)
        if match is None:
            raise malformed("a $batch answer without multipart boundary", status=None, url=None)
        boundary = match.group(1).decode("latin-1")
    items: list[ParsedItem] = []
    for raw in split_multipart(body, boundary):
        lines, rest = _split_head(raw)
        headers = _headers(lines)
        part_type = headers.get("Content-Type", "")
        if part_type.lower().startswith("multipart/mixed"):
            inner = _boundary_of(part_type)
            if inner is None:
                raise malformed("a change-set answer without boundary", status=None, url=None)
            items.append([_http_part(p) for p in split_multipart(rest, inner)])
        else:
            items.append(_http_part(raw))
    return items


def _http_part(raw: bytes) -> BatchPart:
    mime_lines, rest = _split_head(raw)
    mime = _headers(mime_lines)
    status_lines, body = _split_head(rest)
    if not status_lines or not status_lines[0].startswith("HTTP/"):
        raise malformed("a $batch part without an HTTP status line", status=None, url=None)
    pieces = status_lines[0].split(" ", 2)
    try:
        status = int(pieces[1])
    except (IndexError, ValueError) as exc:
        raise malformed("a $batch part with a bad status line", status=None, url=None) from exc
    reason = pieces[2].strip() if len(pieces) > 2 else ""
    headers = _headers(status_lines[1:])
    return BatchPart(status, reason, headers, body.strip(), content_id=mime.get("Content-ID"))


def _result(request: BatchRequest, part: BatchPart, root: str | None = None) -> BatchResult:
    body: Any = None
    error: ODataError | None = None
    text = part.body
    if part.status >= 400:
        parsed = parse_error_body(text) if text else None
        code, message, annotations = parsed if parsed else ("", part.reason, {})
        error = error_for_status(part.status, code=code, message=message, annotations=annotations)
    else:
        error = _check_entity_links(part.headers, root)
        if error is None and text:
            try:
                body = json.loads(text)
            except RecursionError:
                error = malformed("JSON nested too deeply in a $batch part", status=part.status, url=root)
            except ValueError:
                error = malformed("invalid JSON in a $batch part", status=part.status, url=root)
    return BatchResult(request, part.status, part.headers, body, error)


def _not_run(request: BatchRequest, why: str) -> BatchResult:
    return BatchResult(
        request,
        0,
        {},
        None,
        BatchAbortedError(why, user_text=f"Not saved: {why}. It will be tried again.", retriable=True),
    )


def map_results(
    items: Sequence[BatchItem], parsed: Sequence[ParsedItem], *, root: str | None = None
) -> list[BatchResult]:
    """One BatchResult per request (change sets flattened), in request order.

    With ``root``, a success whose ``OData-EntityId``/``Location`` leads to another origin is an error.
    """
    results: list[BatchResult] = []
    for index, item in enumerate(items):
        part = parsed[index] if index < len(parsed) else None
        if isinstance(item, ChangeSet):
            if part is None:
                results.extend(_not_run(r, "an earlier request in the batch failed") for r in item.requests)
            elif isinstance(part, list):
                by_id = {p.content_id: p for p in part if p.content_id}
                for position, request in enumerate(item.requests):
                    match = by_id.get(request.content_id) if request.content_id else None
                    if match is None and position < len(part):
                        match = part[position]
                    results.append(
                        _result(request, match, root)
                        if match
                        else _not_run(request, "no answer for this request")
                    )
            else:
                # The change set failed as a whole and was rolled back: its single error answers every member.
                failed = _result(item.requests[0], part, root)
                for request in item.requests:
                    results.append(BatchResult(request, part.status, part.headers, None, failed.error))
        else:
            if part is None:
                results.append(_not_run(item, "an earlier request in the batch failed"))
            elif isinstance(part, list):
                raise malformed("a change-set answer for a plain request", status=None, url=None)
            else:
                results.append(_result(item, part, root))
    return results


def _send(
    session: BatchSession,
    chunk: Sequence[BatchItem],
    content_type: str,
    body: bytes,
    *,
    continue_on_error: bool,
    path: str,
) -> list[BatchResult]:
    """One ``$batch`` request of ``chunk`` (its body built already); one result per request in it."""
    response = session.request(
        "POST",
        path,
        data=body,
        headers={"Content-Type": content_type},
        prefer=["odata.continue-on-error"] if continue_on_error else [],
        idempotent=False,
        allow_statuses=[400],
    )
    answer_type = response.headers.get("Content-Type", "")
    sniffed = not answer_type and response.content.lstrip().startswith(b"--")
    if "multipart/" not in answer_type.lower() and not sniffed:
        if response.status_code >= 400:
            raise session.error_from(response)
        raise malformed(
            f"content type {answer_type or 'none'} for $batch",
            status=response.status_code,
            url=response.url,
        )
    return map_results(chunk, parse_batch_response(answer_type, response.content), root=session.root)


def run_batch(
    session: BatchSession,
    items: Sequence[BatchItem],
    *,
    continue_on_error: bool = True,
    max_requests: int = MAX_BATCH_REQUESTS,
    path: str = "$batch",
) -> list[BatchResult]:
    """Send ``items`` in as few ``$batch`` requests as the limit allows; return one result per request.

    With ``continue_on_error`` (the default) the requests overlap, up to the session's gate
    (:func:`wizard.odata.transport.gate_of`): the next body is built while the last one is on the wire. A
    request that fails raises its error once those on the wire have finished. With ``continue_on_error`` off
    they go one after the other, and the first failure stops everything after it, including later batches.
    """
    chunks = split_batches(items, max_requests)
    if continue_on_error and len(chunks) > 1:
        return _overlapped(session, chunks, path)
    results: list[BatchResult] = []
    stopped = False
    for chunk in chunks:
        if stopped:
            for item in chunk:
                requests_ = item.requests if isinstance(item, ChangeSet) else [item]
                results.extend(_not_run(r, "an earlier request in the batch failed") for r in requests_)
            continue
        content_type, body = build_batch(chunk, session.root)
        chunk_results = _send(
            session, chunk, content_type, body, continue_on_error=continue_on_error, path=path
        )
        results.extend(chunk_results)
        if not continue_on_error and any(r.error is not None for r in chunk_results):
            stopped = True
    return results


def _overlapped(session: BatchSession, chunks: Sequence[Sequence[BatchItem]], path: str) -> list[BatchResult]:
    results: list[BatchResult] = []
    with InOrder[int, list[BatchResult]](gate_of(session), "dataverse") as pipe:
        for n, chunk in enumerate(chunks):
            for _, answer in pipe.room():
                results.extend(answer.result())
            content_type, body = build_batch(chunk, session.root)
            pipe.submit(
                n,
                functools.partial(
                    _send, session, chunk, content_type, body, continue_on_error=True, path=path
                ),
            )
        for _, answer in pipe.drain():
            results.extend(answer.result())
    return results
