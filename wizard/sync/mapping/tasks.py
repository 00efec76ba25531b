"""Tasks: a Dataverse ``task`` row and an Outlook task as canonical Fields, and back.

Outlook tasks carry calendar dates, Dynamics 365 date-times: start and due are compared as the mailbox's
calendar date and written back as local midnight. Status maps to ``statecode``/``statuscode``
(completed = 1/5; Outlook has no "canceled", so a canceled task shows as deferred).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from wizard.mailbox.base import TaskItem, TaskStatus
from wizard.settings.enums import Kind
from wizard.sync import timezones as tzs
from wizard.sync.mapping.specs import TASK_SPECS, MappingContext, field_specs
from wizard.sync.mapping.values import META_COLUMNS, crm_meta, int_or, memo, meta_links, text
from wizard.sync.model import Fields

ITEM_TYPE = TaskItem
ENTITY_SET = "tasks"

_TASK_STATUS_CRM = {
    2: "notstarted",
    3: "inprogress",
    4: "waiting",
    7: "deferred",
    5: "completed",
    6: "deferred",
}
_TASK_STATUS_CODES = {"notstarted": 2, "inprogress": 3, "waiting": 4, "deferred": 7}
_TASK_STATUS_MAILBOX = {
    TaskStatus.NOT_STARTED: "notstarted",
    TaskStatus.IN_PROGRESS: "inprogress",
    TaskStatus.WAITING: "waiting",
    TaskStatus.DEFERRED: "deferred",
    TaskStatus.COMPLETED: "completed",
}
_MAILBOX_STATUS = {v: k for k, v in _TASK_STATUS_MAILBOX.items()}
_IMPORTANCE = {"low": 0, "normal": 1, "high": 2}
_PRIORITY = {v: k for k, v in _IMPORTANCE.items()}


def _task_status_crm(row: Mapping[str, Any]) -> str:
    state = int_or(row.get("statecode"), 0)
    status = row.get("statuscode")
    if state == 1:
        return "completed"
    if state == 2:
        return "deferred"  # Outlook has no "canceled"; "@state" says canceled
    return _TASK_STATUS_CRM.get(int_or(status, 2), "notstarted")


def _task_end(due: str | None, tz: str) -> str | None:
    if due is None:
        return None
    return tzs.to_utc_iso(tzs.local_midnight(date.fromisoformat(due) + timedelta(days=1), tz))


def _task_date(value: Any, tz: str, naive_tz: str | None = None) -> str | None:
    """Task start/due as the mailbox's calendar date (Outlook tasks carry dates, CRM date-times).

    ``naive_tz`` is the zone an offset-less date-time is in: UTC for CRM values, else the mailbox zone.
    """
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value.strip()) == 10:
        return date.fromisoformat(value.strip()).isoformat()
    instant = tzs.parse_datetime(value, naive_tz or tz)
    assert instant is not None
    return tzs.local_date(instant, tz).isoformat()


def crm_view(row: Mapping[str, Any], ctx: MappingContext, **_appointment_only: object) -> Fields:
    tz = ctx.mailbox_tz
    due = _task_date(row.get("scheduledend"), tz, "UTC")
    out: Fields = {
        "subject": text(row.get("subject")),
        "scheduledstart": _task_date(row.get("scheduledstart"), tz, "UTC"),
        "scheduledend": due,
        "percentcomplete": int_or(row.get("percentcomplete"), 0),
        "status": _task_status_crm(row),
        "prioritycode": int_or(row.get("prioritycode"), 1),
        "description": memo(row.get("description")),
    }
    out.update(crm_meta(Kind.TASKS, row, ctx, "activityid"))
    out["@end"] = _task_end(due, tz)
    return out


def mailbox_view(item: TaskItem, ctx: MappingContext) -> Fields:
    tz = ctx.mailbox_tz
    due = _task_date(item.due, tz)
    status = _TASK_STATUS_MAILBOX.get(item.status, "notstarted")
    return {
        "subject": text(item.subject),
        "scheduledstart": _task_date(item.start, tz),
        "scheduledend": due,
        "percentcomplete": int(item.percent_complete or 0),
        "status": status,
        "prioritycode": _IMPORTANCE.get(str(item.importance).lower(), 1),
        "description": memo(item.body),
        "@owned_by_me": True,
        "@state": "completed" if status == "completed" else "open",
        "@end": _task_end(due, tz),
        "@modified": tzs.to_utc_iso(item.last_modified, tz),
        **meta_links(item.props, item.categories),
    }


def crm_payload(changes: Fields, ctx: MappingContext, **_appointment_only: object) -> dict[str, Any]:
    known = {s.name for s in TASK_SPECS}
    body: dict[str, Any] = {}
    for name, value in changes.items():
        if name.startswith("@"):
            continue
        if name not in known:
            raise ValueError(f"tasks: {name!r} is not a synchronized field")
        if name in ("scheduledstart", "scheduledend"):
            day = _task_date(value, ctx.mailbox_tz)
            # a date-only Outlook value becomes local midnight, as Dynamics shows all-day dates
            body[name] = (
                tzs.to_utc_iso(tzs.local_midnight(date.fromisoformat(day), ctx.mailbox_tz)) if day else None
            )
        elif name == "percentcomplete":
            body[name] = int_or(value, 0)
        elif name == "prioritycode":
            code = int_or(value, 1)
            if code not in _PRIORITY:
                raise ValueError(f"tasks: prioritycode {code} is not 0 (low), 1 (normal) or 2 (high)")
            body[name] = code
        elif name == "status":
            if value == "completed":
                body["statecode"], body["statuscode"] = 1, 5
            elif value in _TASK_STATUS_CODES:
                body["statecode"], body["statuscode"] = 0, _TASK_STATUS_CODES[value]
            else:
                raise ValueError(f"tasks: unknown status {value!r}")
        elif name == "description":
            body[name] = memo(value)
        else:
            body[name] = text(value)
    return body


def apply(changes: Fields, item: TaskItem, ctx: MappingContext) -> TaskItem:
    if "subject" in changes:
        item.subject = changes["subject"] or ""
    if "description" in changes:
        item.body = changes["description"] or ""
    if "scheduledstart" in changes:
        start = _task_date(changes["scheduledstart"], ctx.mailbox_tz)
        item.start = date.fromisoformat(start) if start else None
    if "scheduledend" in changes:
        due = _task_date(changes["scheduledend"], ctx.mailbox_tz)
        item.due = date.fromisoformat(due) if due else None
    if "percentcomplete" in changes:
        item.percent_complete = int_or(changes["percentcomplete"], 0)
    if "prioritycode" in changes:
        item.importance = _PRIORITY.get(int_or(changes["prioritycode"], 1), "normal")
    if "status" in changes:
        status = _MAILBOX_STATUS.get(str(changes["status"]))
        if status is None:
            raise ValueError(f"tasks: unknown status {changes['status']!r}")
        item.status = status
        if status is TaskStatus.COMPLETED:
            item.completed = item.completed or ctx.now
        else:
            item.completed = None
    return item


def crm_select(**_contacts_only: object) -> list[str]:
    """``$select`` for reading tasks: the key, the synced fields' columns and the metadata."""
    columns = ["activityid"]
    for spec in field_specs(Kind.TASKS):
        columns.extend(spec.crm)
    columns.extend(META_COLUMNS)
    return list(dict.fromkeys(columns))


def entity_set(fields: Mapping[str, Any] | None = None) -> str:
    """Where a task lives (one entity set, whatever its fields)."""
    return ENTITY_SET
