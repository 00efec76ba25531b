"""Reading what changed in a Dataverse table since the last run, with a fallback when change tracking fails.

Preferred: change tracking (``Prefer: odata.track-changes``, deltaLinks, ``$deletedEntity`` rows). Fallbacks:

* the table has Track changes off (``0x80072491`` ChangeTrackingNotEnabledForEntity, "Entity {0} isn't enabled
  for change tracking.") -> ``modifiedon ge <last seen>`` queries. Deletions cannot be seen this way:
  ``deletes_detected`` is False and the caller reconciles deletions on its own (e.g. by ids on a full read);
* the stored delta token expired (``0x80044352`` ExpiredVersionStamp, "Version stamp associated with the
  client has expired. Please perform a full sync."; tokens live ``ExpireChangeTrackingInDays``, 7 days by
  default) -> a full re-read, reported as ``full_read=True, resync_reason="expired"`` so the caller
  reconciles everything again.

The token says which mode it is in (``ct1:delta:<deltaLink>`` or ``ct1:modifiedon:<ISO time>``), so the next
read continues the same way. It is opaque to callers: store it, hand it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from wizard.odata.errors import ODataError
from wizard.odata.session import ODataSession

TOKEN_PREFIX = "ct1:"
EPOCH = "1900-01-01T00:00:00Z"
ERR_CHANGE_TRACKING_NOT_ENABLED = "0x80072491"
ERR_EXPIRED_VERSION_STAMP = "0x80044352"

Mode = Literal["delta", "modifiedon"]


class ChangeSource(Protocol):
    """What a change read needs from :class:`wizard.crm.client.DataverseClient`: delta reads and plain queries.

    A protocol, so this module does not import the client that calls it (crm's modules form a DAG).
    """

    @property
    def session(self) -> ODataSession: ...

    def query(
        self,
        entity_set: str,
        *,
        select: Sequence[str] | None = None,
        filter: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]: ...


@dataclass
class ChangeSet:
    """One change read of a table."""

    rows: list[dict[str, Any]]
    deleted_ids: list[str]
    next_token: str
    mode: Mode = "delta"
    full_read: bool = False  # rows are the table's complete current content (first read, or after expiry)
    resync_reason: str | None = None  # "expired": the stored token was refused and everything was re-read
    deletes_detected: bool = True  # False in modifiedon mode
    notices: list[str] = field(default_factory=list)


def is_tracking_not_enabled(error: ODataError) -> bool:
    text = error.message.lower()
    return error.code.lower() == ERR_CHANGE_TRACKING_NOT_ENABLED or (
        "change tracking" in text and ("isn't enabled" in text or "not enabled" in text)
    )


def is_token_expired(error: ODataError) -> bool:
    text = error.message.lower()
    return error.code.lower() == ERR_EXPIRED_VERSION_STAMP or (
        "expired" in text and ("version stamp" in text or "token" in text or "full sync" in text)
    )


def make_token(mode: Mode, value: str) -> str:
    return f"{TOKEN_PREFIX}{mode}:{value}"


def parse_token(token: str | None) -> tuple[Mode | None, str]:
    """``(mode, value)``; ``(None, "")`` for no token; ValueError for a token not made here."""
    if not token:
        return None, ""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not a change token of this product")
    mode, _, value = token[len(TOKEN_PREFIX) :].partition(":")
    if mode == "delta" and value:
        return "delta", value
    if mode == "modifiedon" and value:
        return "modifiedon", value
    raise ValueError("unknown change token mode")


def _parse_time(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _latest(rows: Sequence[dict[str, Any]], since: str) -> str:
    """The newest ``modifiedon`` seen (or ``since``). ``ge`` on it re-reads that second's rows: harmless."""
    best = _parse_time(since)
    for row in rows:
        stamp = _parse_time(str(row.get("modifiedon") or ""))
        if stamp is not None and (best is None or stamp > best):
            best = stamp
    return _format_time(best) if best else since


def _with_modifiedon(select: Sequence[str]) -> list[str]:
    columns = list(select)
    if "modifiedon" not in columns:
        columns.append("modifiedon")
    return columns


def read_changes(
    client: ChangeSource,
    entity_set: str,
    select: Sequence[str],
    token: str | None,
    *,
    page_size: int | None = None,
) -> ChangeSet:
    mode, value = parse_token(token)
    if mode is None:
        return _start(client, entity_set, select, page_size=page_size)
    if mode == "delta":
        try:
            result = client.session.read_delta(delta_link=value, page_size=page_size)
        except ODataError as error:
            if is_token_expired(error):
                changes = _start(client, entity_set, select, page_size=page_size)
                changes.resync_reason = "expired"
                changes.notices.append(
                    f"The change token for {entity_set} expired; all rows were read again to catch up."
                )
                return changes
            if is_tracking_not_enabled(error):
                changes = _modifiedon_full(client, entity_set, select, page_size=page_size)
                changes.resync_reason = "tracking-disabled"
                return changes
            raise
        return ChangeSet(
            rows=result.rows,
            deleted_ids=result.deleted_ids,
            next_token=make_token("delta", result.delta_link or value),
        )
    columns = _with_modifiedon(select)
    rows = list(
        client.query(entity_set, select=columns, filter=f"modifiedon ge {value}", page_size=page_size)
    )
    return ChangeSet(
        rows=rows,
        deleted_ids=[],
        next_token=make_token("modifiedon", _latest(rows, value)),
        mode="modifiedon",
        deletes_detected=False,
    )


def _start(
    client: ChangeSource, entity_set: str, select: Sequence[str], *, page_size: int | None
) -> ChangeSet:
    try:
        result = client.session.read_delta(
            entity_set, params=[("$select", ",".join(select))] if select else None, page_size=page_size
        )
    except ODataError as error:
        if not is_tracking_not_enabled(error):
            raise
        return _modifiedon_full(client, entity_set, select, page_size=page_size)
    assert result.delta_link is not None
    return ChangeSet(
        rows=result.rows,
        deleted_ids=result.deleted_ids,
        next_token=make_token("delta", result.delta_link),
        full_read=True,
    )


def _modifiedon_full(
    client: ChangeSource, entity_set: str, select: Sequence[str], *, page_size: int | None
) -> ChangeSet:
    rows = list(client.query(entity_set, select=_with_modifiedon(select), page_size=page_size))
    return ChangeSet(
        rows=rows,
        deleted_ids=[],
        next_token=make_token("modifiedon", _latest(rows, EPOCH)),
        mode="modifiedon",
        full_read=True,
        deletes_detected=False,
        notices=[
            f"Change tracking is not enabled for {entity_set}; changes are found by modification time "
            "(deletions in Dynamics 365 are noticed only on full reads). An administrator can turn on "
            "'Track changes' for the table."
        ],
    )
