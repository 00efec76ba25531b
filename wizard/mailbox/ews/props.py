"""The crm* named extended properties on exchangelib's item classes.

``crmid``, ``crmlinkstate`` (Integer), ``crmorgid``, ``crmregardingobjectid``,
``crmregardingobjecttypecode`` (Integer), ``crmownersystemuserid`` in PS_PUBLIC_STRINGS, registered on
exchangelib's item classes while at least one store is open (reference-counted, so tests do not leak
registrations), plus ``crmorgid`` on the mailbox root folder for the synchronizing organization.
"""

from __future__ import annotations

import threading
from typing import Any

from exchangelib import CalendarItem, Contact, ExtendedProperty, Message, Task
from exchangelib.folders import RootOfHierarchy

from wizard.mailbox.base import PS_PUBLIC_STRINGS, NamedProps


def _named_property(name: str, property_type: str) -> type[ExtendedProperty]:
    """exchangelib wants one ExtendedProperty class per property: the crm* named property ``name`` in
    PS_PUBLIC_STRINGS, as the original product stamps it."""
    return type(
        f"_Crm_{name}",
        (ExtendedProperty,),
        {"property_set_id": PS_PUBLIC_STRINGS, "property_name": name, "property_type": property_type},
    )


#: NamedProps attribute -> (exchangelib attribute name, property class)
NAMED_PROPERTIES: dict[str, tuple[str, type[ExtendedProperty]]] = {
    name: (f"d365_{name}", _named_property(name, property_type))
    for name, property_type in (
        ("crmid", "String"),
        ("crmlinkstate", "Integer"),
        ("crmorgid", "String"),
        ("crmregardingobjectid", "String"),
        ("crmregardingobjecttypecode", "Integer"),
        ("crmownersystemuserid", "String"),
    )
}
PROP_ATTRS = tuple(attr for attr, _ in NAMED_PROPERTIES.values())
ROOT_ORG_ATTR = "d365_sync_orgid"
ITEM_CLASSES: tuple[type[Any], ...] = (Message, Contact, CalendarItem, Task)

_registration_lock = threading.Lock()
_registrations = 0


def _is_registered(cls: type[Any], attr: str) -> bool:
    try:
        cls.get_field_by_fieldname(attr)
    except Exception:  # exchangelib raises InvalidField
        return False
    return True


def register_named_properties() -> None:
    """Register the CRM properties on exchangelib's classes (reference-counted; idempotent per holder)."""
    global _registrations
    with _registration_lock:
        if _registrations == 0:
            for cls in ITEM_CLASSES:
                for attr, prop in NAMED_PROPERTIES.values():
                    if not _is_registered(cls, attr):
                        cls.register(attr, prop)
            if not _is_registered(RootOfHierarchy, ROOT_ORG_ATTR):
                RootOfHierarchy.register(ROOT_ORG_ATTR, NAMED_PROPERTIES["crmorgid"][1])
        _registrations += 1


def deregister_named_properties() -> None:
    """Drop one holder; the last one removes the registrations again."""
    global _registrations
    with _registration_lock:
        if _registrations == 0:
            return
        _registrations -= 1
        if _registrations:
            return
        for cls in ITEM_CLASSES:
            for attr in PROP_ATTRS:
                if _is_registered(cls, attr):
                    cls.deregister(attr)
        if _is_registered(RootOfHierarchy, ROOT_ORG_ATTR):
            RootOfHierarchy.deregister(ROOT_ORG_ATTR)


def props_from_item(xitem: Any) -> NamedProps:
    values: dict[str, str] = {}
    for name, (attr, _) in NAMED_PROPERTIES.items():
        value = getattr(xitem, attr, None)
        if value is not None and value != "":
            values[name] = str(value)
    return NamedProps.from_dict(values)


def props_to_fields(props: NamedProps) -> dict[str, Any]:
    """exchangelib attribute values for ``props`` (None = remove the property)."""
    out: dict[str, Any] = {}
    for name, (attr, _) in NAMED_PROPERTIES.items():
        value = getattr(props, name)
        out[attr] = int(value) if isinstance(value, int) else value
    return out
