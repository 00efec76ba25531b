"""The engine's shared vocabulary: record kinds, sync directions and the canonical "view" of a record.

Both sides of a sync (CRM rows, mailbox items) are turned into :data:`Fields` by ``wizard.sync.mapping``;
the planner and the merge only ever see Fields, which keeps them pure and testable (Dropbox Nucleus's
"three views": remote, local, synced base).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from wizard.settings.enums import RECORD_KINDS, Kind

#: the two-way record kinds (the same tuple as wizard.settings.enums.RECORD_KINDS)
KINDS: tuple[Kind, ...] = RECORD_KINDS


class Direction(IntEnum):
    """syncattributemapping.syncdirection: which way a field may flow."""

    NONE = 0
    TO_MAILBOX = 1
    TO_CRM = 2
    BOTH = 3


Fields = dict[str, Any]
"""One record on one side in canonical form: canonical field name -> JSON-comparable value.

Values are str | int | float | bool | None | list | dict; datetimes as ISO-8601 UTC strings
("2026-11-25T10:00:00Z"), dates as "2026-11-25". Keys starting with "@" are metadata the rules use
and are never synced:

- "@owned_by_me": bool  (CRM: _ownerid_value == me; mailbox side: True)
- "@is_organizer": bool (appointments)
- "@end": ISO datetime or None (appointments: scheduledend / end; tasks: due)
- "@state": "open" | "completed" | "canceled"
- "@modified": ISO datetime (for "newest wins")
- "@crmid": str | None (mailbox side: the crmid named property), "@linkstate": int | None (crmlinkstate)
"""


def content_hash(fields: Fields) -> str:
    """sha256 over the non-"@" fields as canonical JSON (sorted keys), so metadata never marks a change."""
    payload = {k: v for k, v in fields.items() if not k.startswith("@")}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Link:
    """One linked pair as the state DB keeps it; ``base`` is the synced view (the merge base).

    ``base`` is None right after a relink (a mailbox item found by its ``crmid``): nothing is agreed yet,
    so the next merge treats every differing field as a conflict and records the losing value.
    The base may hold "@" metadata (ownership, end, state) the delete rules need once a side is gone.
    """

    kind: Kind
    crm_id: str
    mailbox_id: str
    base: Fields | None
    crm_etag: str | None = None
    mailbox_change_key: str | None = None
    content_hash: str | None = None
    linked_at: str | None = None
    updated_at: str | None = None
