"""The Microsoft Graph stand-in: ``/v1.0/me/...`` for the mailbox parts the product uses, on loopback HTTPS.

What it serves, and how it answers, follows the Graph v1.0 reference: messages in the well-known mail
folders (``inbox``, ``sentitems``, ``deleteditems``) with ``$value`` MIME and ``sendMail`` (JSON or base64
MIME), personal contacts, calendar events (``/me/calendarView`` and ``/me/calendarView/delta``; times in UTC
unless ``Prefer: outlook.timezone`` names a Windows or IANA zone, see :mod:`.times`; recurring series with
``/instances``, exceptions and cancelled occurrences, see :mod:`.instances`), To Do tasks of the
default list with open extensions, delta rounds (``delta`` in every spelling, ``delta()`` included;
``@odata.nextLink`` / ``@odata.deltaLink``, ``@removed`` rows, 410 ``SyncStateNotFound`` for a lost or damaged
token), ``$filter`` (:mod:`.filters`), single-value extended properties (written on
create/PATCH, read with ``$expand``, found with ``$filter=singleValueExtendedProperties/Any(...)``),
``If-Match`` change keys (412 ``ErrorIrresolvableConflict``), JSON ``$batch`` (at most 20 requests; each
one can be throttled on its own) and the ``{"error": {"code", "message", "innerError"}}`` error bodies.
docs/sandbox-fidelity.md lists what is simplified.

The parts: :mod:`.base` (state, sign-in, reading), :mod:`.messages`, :mod:`.items` (contacts, events, To Do),
:mod:`.events` (series, calendarView), :mod:`.delta`, :mod:`.filters`, :mod:`.times`, :mod:`.handler` (HTTP);
this module routes ``/me/…`` and ``$batch``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from wizard.sandbox.graph.handler import GraphHandler
from wizard.sandbox.graph.items import ItemRequests
from wizard.sandbox.graph.messages import MessageRequests
from wizard.sandbox.graph.protocol import (
    API,
    MAX_BATCH,
    GraphError,
    Reply,
    Request,
    parse_request,
    segments,
    throttled,
)
from wizard.sandbox.graph.store import (
    Mailbox,
)


class GraphStandIn(MessageRequests, ItemRequests):
    """Microsoft Graph for the sandbox directory: one mailbox per user, addressed as ``/me``."""

    # -- dispatch ----------------------------------------------------------------------------------------
    def dispatch(self, box: Mailbox, req: Request) -> Reply:
        """Answer one request; the preferences it honoured go out as ``Preference-Applied``."""
        reply = self._route(box, req)
        if req.applied and 200 <= reply.status < 300:
            reply.headers["Preference-Applied"] = ", ".join(dict.fromkeys(req.applied))
        return reply

    def _route(self, box: Mailbox, req: Request) -> Reply:
        parts = segments(req.path)
        if not parts or parts[0] != "me":
            raise GraphError(
                400, "BadRequest", f"Resource not found for the segment '{parts[0] if parts else ''}'."
            )
        rest = parts[1:]
        method = req.method
        if not rest:
            if method != "GET":
                raise GraphError(405, "Request_BadRequest", "Method not allowed.")
            user = self.user_of(box)
            return Reply(200, self._select(req, {
                "@odata.context": f"{self.url}/$metadata#users/$entity",
                "id": box.oid,
                "displayName": box.display_name,
                "mail": box.address,
                "userPrincipalName": user.upn if user else box.address,
                "givenName": user.first_name if user else "",
                "surname": user.last_name if user else "",
            }))  # fmt: skip
        head = rest[0].lower()
        if head == "sendmail" and len(rest) == 1:
            return self._send_mail(box, req)
        if head == "mailfolders" and len(rest) >= 2:
            return self._mail_folder(box, req, rest[1], rest[2:])
        if head == "messages" and rest[1:] == ["delta"]:
            raise GraphError(400, "ErrorInvalidUrlQuery",
                             "Change tracking of messages is offered per mail folder: mailFolders/{id}/messages/delta.")  # fmt: skip
        if head == "messages" and len(rest) >= 2:
            return self._message(box, req, rest[1], rest[2:])
        if head == "contacts":
            return self._items(box, req, "contacts", rest[1:])
        if head == "contactfolders" and len(rest) == 4 and rest[2].lower() == "contacts":
            return self._items(box, req, "contacts", rest[3:])
        if head == "calendar":
            if len(rest) == 1:
                return Reply(
                    200,
                    {"id": box.calendar_id, "name": "Calendar", "isDefaultCalendar": True, "canEdit": True},
                )
            if rest[1].lower() == "events":
                return self._items(box, req, "events", rest[2:])
        if head == "events":
            return self._items(box, req, "events", rest[1:])
        if head == "calendarview" and len(rest) == 1:
            if method != "GET":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            return self._calendar_view(box, req)
        if head == "calendarview" and rest[1:] == ["delta"]:
            return self._delta(box, req, "events")
        if head == "todo" and len(rest) >= 2 and rest[1].lower() == "lists":
            return self._todo(box, req, rest[2:])
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")

    # -- $batch ------------------------------------------------------------------------------------------------
    def batch(self, handler: GraphHandler, authorization: str, body: bytes) -> Reply:
        req = Request("POST", "/$batch", {}, {}, body)
        document = req.json()
        requests = document.get("requests")
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            raise GraphError(
                400, "BadRequest", f"The number of requests in the batch exceeds the limit of {MAX_BATCH}."
            )
        ids = [str(r.get("id", "")) for r in requests if isinstance(r, dict)]
        if len(ids) != len(requests) or any(not i for i in ids) or len({i.lower() for i in ids}) != len(ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be present and unique.")
        responses = []
        for sub in requests:
            responses.append(self._batch_one(handler, authorization, sub))
        return Reply(200, {"responses": responses})

    def _batch_one(self, handler: GraphHandler, authorization: str, sub: dict[str, Any]) -> dict[str, Any]:
        url = str(sub.get("url") or "")
        method = str(sub.get("method") or "").upper()
        headers = {str(k).lower(): str(v) for k, v in (sub.get("headers") or {}).items()}
        body = sub.get("body")
        raw: bytes = b""
        if body is not None:
            if "content-type" not in headers:
                return _sub_reply(
                    sub,
                    Reply(
                        400,
                        GraphError(
                            400, "BadRequest", "Content-Type header is required when a body is given."
                        ).body(),
                    ),
                )
            raw = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        for fault in handler.server.faults.pick(API + url):
            if fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "throttle":
                error = throttled(fault.seconds)
                return _sub_reply(sub, Reply(429, error.body(), error.headers))
            elif fault.kind in ("error", "drop"):
                status = fault.status if fault.kind == "error" else 503
                return _sub_reply(
                    sub,
                    Reply(status, GraphError(status, "serviceNotAvailable", "Service unavailable.").body()),
                )
        try:
            box = self.authenticate(authorization)
            if not url.startswith("/") or method not in ("GET", "POST", "PATCH", "DELETE", "PUT"):
                raise GraphError(400, "BadRequest", "Invalid request in batch.")
            reply = self.dispatch(box, parse_request(method, url, headers, raw))
        except GraphError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        return _sub_reply(sub, reply)


def _sub_reply(sub: dict[str, Any], reply: Reply) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(sub.get("id")), "status": reply.status, "headers": dict(reply.headers)}
    if isinstance(reply.body, bytes):
        out["headers"]["Content-Type"] = reply.content_type
        out["body"] = base64.b64encode(reply.body).decode("ascii")
    elif reply.body is not None:
        out["headers"]["Content-Type"] = "application/json; odata.metadata=minimal; odata.streaming=true"
        out["body"] = reply.body
    return out
