"""The crm* named properties on Graph resources.

Single-value extended properties ``String {PS_PUBLIC_STRINGS} Name crmid`` etc. on messages, contacts, events
and the mailbox root; To Do tasks have no extended properties in v1.0, so they carry the same names in the open
extension ``com.d365sync.crm`` (with the percentage complete Graph cannot express).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.mailbox.base import NAMED_PROP_NAMES, PS_PUBLIC_STRINGS, NamedProps, TaskItem, TaskStatus

TASK_EXTENSION = "com.d365sync.crm"
PROP_ATTENDEES = "d365attendees"
PROP_BUSINESS_FAX = "String 0x3A24"  # PidTagBusinessFaxNumber: Graph's contact has no fax property


def prop_id(name: str) -> str:
    """The Graph id of one of the add-in's named properties."""
    return f"String {{{PS_PUBLIC_STRINGS}}} Name {name}"


NAMED_IDS = {name: prop_id(name) for name in NAMED_PROP_NAMES}
ATTENDEES_ID = prop_id(PROP_ATTENDEES)


def ext_values(resource: Mapping[str, Any]) -> dict[str, str]:
    """``singleValueExtendedProperties`` as {lower-cased name or tag: value}."""
    out: dict[str, str] = {}
    for prop in resource.get("singleValueExtendedProperties") or []:
        if not isinstance(prop, Mapping):
            continue
        ident = str(prop.get("id") or "")
        name = ident.rsplit(" Name ", 1)[1] if " Name " in ident else ident.split(" ", 1)[-1]
        out[name.lower()] = str(prop.get("value") or "")
    return out


def props_from(resource: Mapping[str, Any]) -> NamedProps:
    """The named properties of a Graph resource: extended properties, or the tasks' open extension."""
    values = ext_values(resource)
    for extension in resource.get("extensions") or []:
        if isinstance(extension, Mapping) and extension.get("extensionName") == TASK_EXTENSION:
            values.update({k.lower(): str(v) for k, v in extension.items() if isinstance(v, str | int)})
    return NamedProps.from_dict({k: v for k, v in values.items() if k in NAMED_IDS})


def props_out(props: NamedProps) -> list[dict[str, str]]:
    """Every named property, "" for unset ones: Graph cannot delete an extended property, so unstamping
    writes an empty value (read back as None)."""
    stamped = props.as_dict()
    return [{"id": NAMED_IDS[name], "value": stamped.get(name, "")} for name in NAMED_PROP_NAMES]


def task_needs_extension(item: TaskItem) -> bool:
    """Only tasks with named properties or a percentage Graph cannot express need the open extension."""
    return bool(item.props.as_dict()) or item.percent_complete != (
        100 if item.status is TaskStatus.COMPLETED else 0
    )


def task_extension(item: TaskItem | None, props: NamedProps) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" for name in NAMED_PROP_NAMES}
    values.update(props.as_dict())
    if item is not None:
        values["percentcomplete"] = str(item.percent_complete)
    return values
