"""The HTTP front of the Dataverse stand-in: bearer-token check (on premises: NTLM), then :class:`WebApi` or
``$batch``; the service's headers, throttling and failure answers."""

from __future__ import annotations

import math
import uuid
from typing import Protocol, cast

from wizard.sandbox._http import SandboxHandler, SandboxServer
from wizard.sandbox.dataverse.batch import handle_batch
from wizard.sandbox.dataverse.protocol import (
    PATH_RE,
    THROTTLE_BODY,
    ApiError,
    Caller,
    Headers,
    Request,
    Response,
    org_relative,
)
from wizard.sandbox.dataverse.webapi import WebApi
from wizard.sandbox.directory import Directory
from wizard.sandbox.ntlm import NtlmAccounts


# -- HTTP ------------------------------------------------------------------------------------------
class Environment(Protocol):
    """What the handler needs of the environment it serves (:class:`.environment.DataverseEnvironment`)."""

    ntlm: NtlmAccounts | None
    directory: Directory
    api: WebApi

    @property
    def url(self) -> str: ...

    def caller_for(self, oid: str) -> Caller: ...

    def authenticate(self, authorization: str) -> Caller: ...


class DataverseServer(SandboxServer):
    environment: Environment
    #: the degree of parallelism every answer recommends (``x-ms-dop-hint``); tests lower it
    dop_hint: int = 4


class DataverseHandler(SandboxHandler):
    """HTTP front of :class:`WebApi`: bearer-token check (on premises: NTLM), then dispatch (``$batch`` via
    :mod:`.batch`)."""

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def route(self, method: str, body: bytes) -> None:
        environment = cast(DataverseServer, self.server).environment
        headers = Headers(self.headers.items())
        try:
            if environment.ntlm is not None:
                upn = self.windows_sign_in(environment.ntlm)
                if upn is None:
                    return  # 401 sent: the CHALLENGE, or IIS's "access denied" page
                user = environment.directory.user(upn)
                caller = environment.caller_for(user.oid if user is not None else "")
            else:
                caller = environment.authenticate(headers.get_header("Authorization"))
        except ApiError as exc:
            self._send(Response.error(exc))
            return
        request = Request(method, org_relative(self.path, environment.url), headers, body, caller)
        path = request.path.rstrip("/")
        if path.lower().endswith("/$batch") and PATH_RE.match(path):
            response = handle_batch(environment.api, request)
        else:
            response = environment.api.handle(request)
        self._send(response)

    def _send(self, response: Response) -> None:
        payload = response.body if response.status not in (204, 304) else b""
        self.send_response(response.status)
        headers = response.all_headers()
        headers.setdefault("REQ_ID", str(uuid.uuid4()))
        headers["x-ms-service-request-id"] = headers["REQ_ID"]
        headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = "5999"
        headers["x-ms-ratelimit-time-remaining-xrm-requests"] = "1,200,000.00"
        headers["x-ms-dop-hint"] = str(cast(DataverseServer, self.server).dop_hint)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def send_throttled(self, retry_after: float) -> None:
        response = Response.json(429, THROTTLE_BODY, {"Retry-After": str(max(0, math.ceil(retry_after)))})
        self._send(response)

    def send_failure(self, status: int) -> None:
        message = {
            500: "An unexpected error occurred.",
            502: "Bad Gateway",
            503: "The service is temporarily unavailable. Please try again later.",
            504: "The request timed out.",
        }.get(status, "An unexpected error occurred.")
        self._send(Response.json(status, {"error": {"code": "0x80040216", "message": message}}))
