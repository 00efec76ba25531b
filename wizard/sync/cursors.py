"""Where each kind stopped reading, kept in the state DB's cursor slots as JSON (record kinds and email).

- :class:`CrmCursor` (a record kind's ``crm`` slot): the Dataverse change token, a digest of the filters the
  scope was computed with, the time of the last full read and the snapshot id -> version of the rows in scope;
- :class:`MailboxCursor` (a record kind's ``mailbox`` slot): the mailbox sync state and ids to look at again;
- :class:`EmailCursors` (email's ``mailbox`` slot): a change cursor per tracked folder and the ids to read again;
- the outbox (email's ``crm`` slot): sends in flight, activityid -> Message-ID (:func:`in_flight`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wizard.settings.enums import Kind

if TYPE_CHECKING:
    from wizard.sync.state import StateDB

CURSOR_VERSION = 2
FULL_READ_EVERY = timedelta(days=1)
"""A full read of the scope at least this often: filters on time ("next 7 days") or on related rows
(link-entity) can move a row in or out of scope without the row itself changing."""


def _json_object(text: str | None) -> dict[str, Any] | None:
    """The JSON object a cursor slot holds; None when it is empty, not JSON or not an object (the slot is
    then read as "start over")."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@dataclass
class MailboxCursor:
    """The mailbox sync state, plus ids to treat as changed (``retry``: failed last time, or changed while
    this engine wrote) and as deleted (``deleted``: seen deleted while catching up after our own writes)."""

    state: str | None = None
    retry: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> MailboxCursor:
        data = _json_object(text)
        if data is None:
            return cls()
        return cls(
            data.get("state") or None,
            [str(i) for i in data.get("retry") or []],
            [str(i) for i in data.get("deleted") or []],
        )

    def dump(self) -> str:
        return json.dumps(
            {"state": self.state, "retry": sorted(set(self.retry)), "deleted": sorted(set(self.deleted))}
        )


def parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class CrmCursor:
    """The CRM side's cursor: the change token, what the scope was computed with, and the in-scope rows.

    ``versions`` (in-scope id -> ETag) is the snapshot of the last run: a full read compares against it so
    only rows that really changed reach the planner, and the mass-delete guard knows the kind's size.
    ``filters`` is a digest of the active filters' FetchXML: when it changes, the scope is read in full.
    ``retry``: ids whose operations failed, treated as changed next run.
    """

    token: str | None = None
    filters: str | None = None
    full_at: str | None = None
    versions: dict[str, str] | None = None
    retry: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> CrmCursor:
        data = _json_object(text)
        if data is None:
            return cls()
        if data.get("v") != CURSOR_VERSION:  # the old format: a bare id -> ETag snapshot
            return cls(versions={str(k): str(v) for k, v in data.items()})
        versions = data.get("versions")
        return cls(
            token=data.get("token") or None,
            filters=data.get("filters") or None,
            full_at=data.get("full_at") or None,
            versions={str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else None,
            retry=[str(i) for i in data.get("retry") or []],
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "v": CURSOR_VERSION,
                "token": self.token,
                "filters": self.filters,
                "full_at": self.full_at,
                "versions": self.versions,
                "retry": sorted(set(self.retry)),
            },
            sort_keys=True,
        )


@dataclass
class EmailCursors:
    """Per-folder change cursors and the ids to read again (items that failed), kept as one JSON value."""

    folders: dict[str, str] = field(default_factory=dict)
    retry: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> EmailCursors:
        data = _json_object(text)
        if data is None:
            return cls()
        folders = data.get("folders") if isinstance(data.get("folders"), dict) else {}
        retry = data.get("retry") if isinstance(data.get("retry"), dict) else {}
        return cls(
            {str(k): str(v) for k, v in (folders or {}).items()},
            {str(k): [str(i) for i in v] for k, v in (retry or {}).items() if isinstance(v, list)},
        )

    def dump(self) -> str:
        return json.dumps({"folders": self.folders, "retry": self.retry}, sort_keys=True)


# The outbox: sends in flight (activityid -> Message-ID), written before ``send`` and cleared once the row
# says Sent/Failed. It lives in the state DB's cursor slot ("email", "crm") rather than the create journal,
# because the engine's start-up recovery resolves every journal entry generically and would declare a send
# it cannot check "never made" -- and the email would go out twice.


def in_flight(state: StateDB) -> dict[str, str]:
    """Sends written down but not finished (a crash between sending and updating the row)."""
    data = _json_object(state.cursor(Kind.EMAIL, "crm")) or {}
    outbox = data.get("outbox")
    return {str(k): str(v) for k, v in outbox.items()} if isinstance(outbox, dict) else {}


def outbox_put(state: StateDB, activity_id: str, message_id: str) -> None:
    outbox = in_flight(state)
    outbox[activity_id] = message_id
    state.set_cursor(Kind.EMAIL, "crm", json.dumps({"outbox": outbox}, sort_keys=True))


def outbox_drop(state: StateDB, activity_id: str) -> None:
    outbox = in_flight(state)
    if outbox.pop(activity_id, None) is not None:
        state.set_cursor(Kind.EMAIL, "crm", json.dumps({"outbox": outbox}, sort_keys=True))
