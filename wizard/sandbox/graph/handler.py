"""The HTTP front of the Graph stand-in: version check, sign-in, ``$batch`` or one request, the service's
throttling and failure answers, and a stand-in bug answered as a 500 (and logged)."""

from __future__ import annotations

import logging
from typing import ClassVar, Protocol
from urllib.parse import urlsplit

from wizard.sandbox._http import SandboxHandler
from wizard.sandbox.graph.protocol import API, GraphError, Reply, Request, parse_request, throttled
from wizard.sandbox.graph.store import (
    Mailbox,
)

log = logging.getLogger("wizard.sandbox.graph.server")


class StandIn(Protocol):
    """What the handler needs of the stand-in it serves (:class:`.server.GraphStandIn`)."""

    def authenticate(self, authorization: str) -> Mailbox: ...

    def batch(self, handler: GraphHandler, authorization: str, body: bytes) -> Reply: ...

    def dispatch(self, box: Mailbox, req: Request) -> Reply: ...


class GraphHandler(SandboxHandler):
    standin: ClassVar[StandIn]

    def send_throttled(self, retry_after: float) -> None:
        error = throttled(retry_after)
        self.send_json(429, error.body(), error.headers)

    def send_failure(self, status: int) -> None:
        self.send_json(status, GraphError(status, "serviceNotAvailable", "Service unavailable.").body())

    def route(self, method: str, body: bytes) -> None:
        headers: dict[str, str] = {}
        for (
            name,
            value,
        ) in self.headers.items():  # a header sent twice (Prefer) counts as one list (RFC 9110 5.3)
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        authorization = headers.get("authorization", "")
        try:
            parts = urlsplit(self.path)
            if not parts.path.startswith(API + "/"):
                raise GraphError(400, "BadRequest", "Invalid version.")
            if parts.path == API + "/$batch":
                if method != "POST":
                    raise GraphError(405, "BadRequest", "Method not allowed.")
                self.standin.authenticate(authorization)
                reply = self.standin.batch(self, authorization, body)
            else:
                box = self.standin.authenticate(authorization)
                reply = self.standin.dispatch(box, parse_request(method, self.path, headers, body))
        except GraphError as exc:
            self.send_json(exc.status, exc.body(), exc.headers)
            return
        except Exception:  # a bug in the stand-in: answer like the service would, and log it
            log.exception("Graph stand-in failed on %s %s", method, self.path.split("?")[0])
            self.send_json(
                500, GraphError(500, "InternalServerError", "An internal server error occurred.").body()
            )
            return
        if isinstance(reply.body, bytes):
            self.send_bytes(reply.status, reply.body, reply.content_type, reply.headers)
        elif reply.body is None:
            self.send_bytes(reply.status, b"", "application/json", reply.headers)
        else:
            self.send_json(reply.status, reply.body, reply.headers)
