"""The Graph stand-in's request, reply and error (``{"error": {"code", "message", "innerError"}}``), its limits,
and the small parsers every part shares ($expand items, extended property ids, the request target and its
segments, OData action parameters)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

API = "/v1.0"
MAX_BATCH = 20
DEFAULT_PAGE = 10
MAX_PAGE = 1000

CONTACT_FIELDS = frozenset(
    {
        "givenName", "surname", "displayName", "middleName", "nickName", "title", "companyName",
        "department", "jobTitle", "officeLocation", "emailAddresses", "businessPhones", "homePhones",
        "mobilePhone", "businessAddress", "homeAddress", "otherAddress", "businessHomePage", "birthday",
        "personalNotes", "categories", "fileAs", "imAddresses", "initials", "manager", "assistantName",
        "profession", "spouseName", "generation", "children",
    }
)  # fmt: skip
EVENT_FIELDS = frozenset(
    {
        "subject", "body", "start", "end", "isAllDay", "location", "locations", "attendees",
        "recurrence", "showAs", "isReminderOn", "reminderMinutesBeforeStart", "categories", "importance",
        "sensitivity", "responseRequested", "allowNewTimeProposals", "isOnlineMeeting", "transactionId",
    }
)  # fmt: skip
TASK_FIELDS = frozenset(
    {
        "title", "body", "importance", "status", "categories", "dueDateTime", "startDateTime",
        "completedDateTime", "reminderDateTime", "isReminderOn", "recurrence", "linkedResources",
    }
)  # fmt: skip
MESSAGE_PATCH_FIELDS = frozenset({"categories", "isRead", "importance", "flag", "inferenceClassification"})
TASK_STATUSES = frozenset({"notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"})
SHOW_AS = frozenset({"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"})


class GraphError(Exception):
    """An error answer: status, Graph's error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        }


@dataclass
class Reply:
    status: int
    body: Any = None  # dict (JSON), bytes (raw) or None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Request:
    method: str
    path: str  # below /v1.0, without query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    #: preferences honoured while answering (``Preference-Applied``), e.g. ``outlook.timezone="UTC"``
    applied: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        try:
            document = json.loads(self.body)
        except ValueError as exc:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from exc
        if not isinstance(document, dict):
            raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
        return document

    @property
    def prefer(self) -> str:
        return self.headers.get("prefer", "")

    def page_size(self) -> int:
        match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", self.prefer)
        if match:
            return max(1, min(int(match.group(1)), MAX_PAGE))
        if "$top" in self.query:
            return max(1, min(self.int_option("$top", DEFAULT_PAGE), MAX_PAGE))
        return DEFAULT_PAGE

    def int_option(self, name: str, default: int) -> int:
        """A whole-number query option (``$top``, ``$skip``); anything else is a 400, as OData answers it."""
        text = self.query.get(name, "").strip()
        if not text:
            return default
        if not text.isdigit():
            raise GraphError(400, "BadRequest", f"Invalid value '{text}' for the query option '{name}'.")
        return int(text)


#: the spellings of the delta function: "/delta is a shortcut for the fully qualified name /microsoft.graph.delta"
#: (delta query overview); Graph's API description, and every SDK generated from it, calls it as ``delta()``
DELTA_SEGMENTS = frozenset({"delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"})
_KEYED = re.compile(r"^([A-Za-z][\w.]*)\(\s*'?([^'()]+?)'?\s*\)$")


def segments(path: str) -> list[str]:
    """The path's segments, percent-decoded; a key in OData's parentheses form (``mailFolders('inbox')``) becomes
    a segment of its own, and every spelling of the delta function becomes ``delta``."""
    out: list[str] = []
    for raw in path.split("/"):
        part = unquote(raw)
        if not part:
            continue
        if part.lower() in DELTA_SEGMENTS:
            out.append("delta")
            continue
        keyed = _KEYED.match(part)
        out.extend(keyed.groups() if keyed else (part,))
    return out


def action_parameters(document: Mapping[str, Any], action: str, *names: str) -> dict[str, Any]:
    """An OData action's parameters by their metadata names, matched case-insensitively as Graph does
    (``sendMail`` with ``{"Message": …, "SaveToSentItems": …}`` from a generated client); a parameter the action
    does not have is refused (400), as OData refuses it."""
    wanted = {name.lower(): name for name in names}
    for key in document:
        if key.lower() not in wanted and not key.startswith("@"):
            raise GraphError(400, "BadRequest",
                             f"The parameter '{key}' in the request payload is not a valid parameter for the operation '{action}'.")  # fmt: skip
    return {wanted[key.lower()]: value for key, value in document.items() if key.lower() in wanted}


def not_found(what: str = "The specified object was not found in the store.") -> GraphError:
    return GraphError(404, "ErrorItemNotFound", what)


def throttled(seconds: float) -> GraphError:
    return GraphError(
        429,
        "TooManyRequests",
        "Application is over its MailboxConcurrency limit.",
        {"Retry-After": str(max(0, round(seconds)))},
    )


def odata_type(collection: str) -> str:
    return {
        "contacts": "#microsoft.graph.contact",
        "events": "#microsoft.graph.event",
        "tasks": "#microsoft.graph.todoTask",
    }.get(collection, "#microsoft.graph.message")


def ext_key(prop_id: str) -> str:
    """Extended property ids compare case-insensitively except the name part (GUIDs upper-case)."""
    kind, _, rest = prop_id.strip().partition(" ")
    match = re.match(r"^\{([0-9A-Fa-f-]{36})\} Name (\S+)$", rest)
    if match:
        return f"{kind.lower()} {{{match.group(1).upper()}}} Name {match.group(2)}"
    return f"{kind.lower()} {rest.lower()}"


def display_ext_id(key: str) -> str:
    kind, _, rest = key.partition(" ")
    return f"{kind.capitalize()} {rest}"


def expand_items(expand: str) -> list[tuple[str, str]]:
    """``a,b($filter=x)`` -> [("a", ""), ("b", "$filter=x")], splitting only at top-level commas."""
    items: list[tuple[str, str]] = []
    depth, current = 0, ""
    for char in expand + ",":
        if char == "," and depth == 0:
            text = current.strip()
            if text:
                name, _, inner = text.partition("(")
                items.append((name.strip(), inner[:-1] if inner.endswith(")") else inner))
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    return items


def parse_request(method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
    parts = urlsplit(target)
    path = parts.path
    if path.startswith(API + "/") or path == API:
        path = path[len(API) :]
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return Request(method, path, query, headers, body)
