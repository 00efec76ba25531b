"""``$batch`` for the Dataverse stand-in: multipart/mixed in and out, as the Web API documents it.

Parts run in order through :class:`WebApi`. A change set runs inside one store transaction, so its first
failure rolls back everything the set already did and answers with just that failure. Content-IDs of
change-set parts can be referenced later as ``$n`` at the start of a URL or as a JSON string value
(``"...@odata.bind": "$1"``).
Without ``Prefer: odata.continue-on-error`` the first failure ends the batch and the whole answer is 400.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from wizard.sandbox.dataverse.protocol import (
    NOT_SUPPORTED_CODE,
    ApiError,
    Headers,
    Request,
    Response,
)
from wizard.sandbox.dataverse.webapi import WebApi

MAX_REQUESTS = 1000
CRLF = "\r\n"


@dataclass
class Part:
    headers: Headers
    method: str = ""
    target: str = ""
    request_headers: Headers = field(default_factory=Headers)
    body: str = ""
    content_id: str | None = None
    changeset: list[Part] | None = None


class _Rollback(Exception):
    pass


def _boundary(content_type: str) -> str | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _split(text: str, boundary: str) -> list[str]:
    """The bodies between ``--boundary`` delimiters (preamble and epilogue dropped)."""
    pieces = re.split(r"(?:^|\n)--" + re.escape(boundary) + r"(--)?[ \t]*(?:\n|$)", text)
    parts: list[str] = []
    # re.split with one group yields [pre, g, part, g, part, ...]
    for index in range(2, len(pieces), 2):
        if pieces[index - 1] == "--":
            break
        parts.append(pieces[index])
    return parts


def _headers_and_body(text: str) -> tuple[Headers, str]:
    head, _, body = text.partition("\n\n")
    items = []
    for line in head.split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            items.append((name.strip(), value.strip()))
    return Headers(items), body


def _parse_http(part: Part, text: str) -> None:
    request_line, _, rest = text.lstrip("\n").partition("\n")
    pieces = request_line.split()
    if len(pieces) < 2:
        raise ApiError(
            400, f"The request line '{request_line}' of a batch part is not valid.", NOT_SUPPORTED_CODE
        )
    part.method, part.target = pieces[0].upper(), pieces[1]
    part.request_headers, body = _headers_and_body(rest if "\n\n" in rest or not rest else rest + "\n\n")
    part.body = body.rstrip("\n")
    part.content_id = part.headers.get("content-id") or part.request_headers.get("content-id")


def parse_batch(body: bytes, content_type: str) -> list[Part]:
    boundary = _boundary(content_type)
    if not content_type.lower().startswith("multipart/mixed") or not boundary:
        raise ApiError(
            400,
            "The content type of a $batch request must be multipart/mixed with a boundary.",
            NOT_SUPPORTED_CODE,
        )
    text = body.decode("utf-8").replace("\r\n", "\n")
    parts: list[Part] = []
    for chunk in _split(text, boundary):
        headers, content = _headers_and_body(chunk)
        inner_type = headers.get("content-type", "")
        if inner_type.lower().startswith("multipart/mixed"):
            inner_boundary = _boundary(inner_type)
            if not inner_boundary:
                raise ApiError(400, "A change set needs a boundary.", NOT_SUPPORTED_CODE)
            changeset: list[Part] = []
            for inner in _split(content, inner_boundary):
                inner_headers, inner_content = _headers_and_body(inner)
                item = Part(inner_headers)
                _parse_http(item, inner_content)
                changeset.append(item)
            parts.append(Part(headers, changeset=changeset))
        else:
            item = Part(headers)
            _parse_http(item, content)
            parts.append(item)
    return parts


def _render(response: Response, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines.append("")
    lines.append(f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}")
    headers = response.all_headers()
    if response.status >= 400:
        headers = {"REQ_ID": str(uuid.uuid4()), **headers}
    if response.status == 204 and "OData-EntityId" in headers:
        headers = {"OData-Version": "4.0", "Location": headers["OData-EntityId"], **headers}
    for name, value in headers.items():
        lines.append(f"{name}: {value}")
    lines.append("")
    body = response.body.decode("utf-8") if response.status not in (204, 304) else ""
    return CRLF.join(lines) + CRLF + body


class _Runner:
    def __init__(self, api: WebApi, outer: Request) -> None:
        self.api = api
        self.outer = outer
        self.references: dict[str, str] = {}
        match = re.match(r"^(/api/data/v9\.[012])/", outer.path, re.IGNORECASE)
        self.root_path = match.group(1) if match else "/api/data/v9.2"

    def _target(self, part: Part) -> str:
        target = part.target
        ref = re.match(r"^\$(\d+)(.*)$", target)
        if ref:
            if ref.group(1) not in self.references:
                raise ApiError(
                    400,
                    f"Content-ID Reference: '${ref.group(1)}' does not exist in the batch context.",
                    NOT_SUPPORTED_CODE,
                )
            target = self.references[ref.group(1)] + ref.group(2)
        if "://" in target:
            split = urlsplit(target)
            target = split.path + (f"?{split.query}" if split.query else "")
        elif not target.startswith("/"):
            target = f"{self.root_path}/{target}"
        return target

    def _body(self, part: Part) -> bytes:
        def replace(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in self.references:
                raise ApiError(
                    400,
                    f"Content-ID Reference: '${key}' does not exist in the batch context.",
                    NOT_SUPPORTED_CODE,
                )
            return f'"{self.references[key]}"'

        return re.sub(r'"\$(\d+)"', replace, part.body).encode("utf-8")

    def run(self, part: Part) -> Response:
        try:
            request = Request(
                part.method, self._target(part), part.request_headers, self._body(part), self.outer.caller
            )
        except ApiError as exc:
            return Response.error(exc)
        if re.search(r"/\$batch$", request.path):
            return Response.error(
                ApiError(400, "A batch request cannot contain another batch request.", NOT_SUPPORTED_CODE)
            )
        response = self.api.handle(request)
        if part.content_id is not None and response.entity_url:
            self.references[part.content_id] = response.entity_url
        return response


def handle_batch(api: WebApi, request: Request) -> Response:
    """Run a ``$batch`` request and answer it as multipart/mixed."""
    if request.method != "POST":
        return Response.error(
            ApiError(405, f"The requested resource does not support http method '{request.method}'.")
        )
    try:
        parts = parse_batch(request.body, request.headers.get_header("Content-Type"))
    except (ApiError, UnicodeDecodeError) as exc:
        error = (
            exc
            if isinstance(exc, ApiError)
            else ApiError(400, "The batch body is not UTF-8.", NOT_SUPPORTED_CODE)
        )
        return Response.error(error)
    total = sum(len(p.changeset) if p.changeset is not None else 1 for p in parts)
    if total > MAX_REQUESTS:
        return Response.error(
            ApiError(
                400, f"Number of requests in a batch exceeded the limit of {MAX_REQUESTS}.", "0x8004d101"
            )
        )
    continue_on_error = "odata.continue-on-error" in request.prefs
    runner = _Runner(api, request)
    boundary = f"batchresponse_{uuid.uuid4()}"
    rendered: list[str] = []
    failed = False
    for part in parts:
        if part.changeset is None:
            response = runner.run(part)
            rendered.append(_render(response, None))
            failed = response.status >= 400
        else:
            rendered_set, failed = _run_changeset(api, runner, part.changeset)
            rendered.append(rendered_set)
        if failed and not continue_on_error:
            break
    payload = "".join(f"--{boundary}{CRLF}{chunk}{CRLF}" for chunk in rendered) + f"--{boundary}--{CRLF}"
    headers = {}
    if continue_on_error:
        headers["Preference-Applied"] = "odata.continue-on-error"
    status = 400 if failed and not continue_on_error else 200
    return Response(status, payload.encode("utf-8"), headers, f"multipart/mixed; boundary={boundary}")


def _run_changeset(api: WebApi, runner: _Runner, items: list[Part]) -> tuple[str, bool]:
    """Run a change set atomically; the rendered part and whether it failed."""
    for item in items:
        if item.method == "GET":
            error = ApiError(400, "GET requests are not allowed inside a change set.", NOT_SUPPORTED_CODE)
            return _render(Response.error(error), item.content_id), True
    results: list[tuple[Response, str | None]] = []
    failure: tuple[Response, str | None] | None = None
    saved = dict(runner.references)
    try:
        with api.store.transaction():
            for item in items:
                response = runner.run(item)
                if response.status >= 400:
                    failure = (response, item.content_id)
                    raise _Rollback
                results.append((response, item.content_id))
    except _Rollback:
        runner.references = saved
    if failure is not None:
        return _render(failure[0], failure[1]), True
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = "".join(f"--{boundary}{CRLF}{_render(r, cid)}{CRLF}" for r, cid in results)
    return f"Content-Type: multipart/mixed; boundary={boundary}{CRLF}{CRLF}{inner}--{boundary}--", False
