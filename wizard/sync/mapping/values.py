"""The canonical values the kinds share: text, memo and number forms, link and record metadata.

Both views of a record (Dataverse row, mailbox item) pass their values through these, so equal content
gives equal :data:`wizard.sync.model.Fields` (and an equal :func:`wizard.sync.model.content_hash`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wizard.mailbox.base import TRACKED_CATEGORY, LinkState, NamedProps
from wizard.settings.enums import Kind
from wizard.sync import timezones as tzs
from wizard.sync.mapping.specs import MappingContext
from wizard.sync.model import Fields

#: the columns every record read selects besides its fields (owner, state, last change)
META_COLUMNS = ("_ownerid_value", "statecode", "statuscode", "modifiedon")


def text(value: Any) -> str | None:
    """Strings as they are; empty and missing are both None."""
    if value is None:
        return None
    string = str(value)
    return string if string != "" else None


def memo(value: Any) -> str | None:
    """Multi-line text: CRLF -> LF and trailing whitespace dropped (Exchange appends line breaks)."""
    string = text(value)
    if string is None:
        return None
    string = string.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return string or None


def int_or(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    return int(value)


def iso_date(value: Any, tz: str) -> str | None:
    parsed = tzs.parse_date(value, tz)
    return parsed.isoformat() if parsed is not None else None


def address_key(value: Any) -> str:
    """An e-mail address as compared: stripped, lower case."""
    return str(value or "").strip().lower()


def meta_links(props: NamedProps, categories: Sequence[str]) -> Fields:
    state = props.crmlinkstate
    return {
        "@crmid": props.crmid,
        "@linkstate": int(state) if state is not None else None,
        "@tracked": TRACKED_CATEGORY in categories or state in (LinkState.PENDING, LinkState.TRACKED),
    }


def _crm_state(row: Mapping[str, Any], kind: Kind) -> str:
    state = int_or(row.get("statecode"), 0)
    if kind == Kind.CONTACTS:
        return "open" if state == 0 else "canceled"
    return {1: "completed", 2: "canceled"}.get(state, "open")


def crm_meta(kind: Kind, row: Mapping[str, Any], ctx: MappingContext, id_column: str) -> Fields:
    owner = row.get("_ownerid_value")
    return {
        "@owned_by_me": bool(owner) and str(owner).lower() == ctx.user_id.lower(),
        "@state": _crm_state(row, kind),
        "@modified": tzs.to_utc_iso(row.get("modifiedon")),
        "@crmid": text(row.get(id_column)),
        "@linkstate": None,
    }
