"""Editing the FetchXML of the user's filters: narrowing a query to some ids, asking it of another table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

import defusedxml.ElementTree as SafeET

from wizard.crm.client import guid


def restrict_to_ids(fetchxml: str, column: str, ids: Sequence[str]) -> str:
    """``fetchxml`` with an extra ``<filter>`` on the top entity: ``column in (ids)``, and no paging.

    Filters directly under an entity are AND-ed, so the filter's own conditions (whatever their shape)
    still decide; this only narrows the rows looked at.
    """
    root = SafeET.fromstring(fetchxml)
    entity = root.find("entity")
    if root.tag != "fetch" or entity is None:
        raise ValueError("FetchXML must have a <fetch> root with an <entity>")
    for attribute in ("page", "paging-cookie", "count", "top"):
        root.attrib.pop(attribute, None)
    extra = ET.SubElement(entity, "filter", {"type": "and"})
    condition = ET.SubElement(extra, "condition", {"attribute": column, "operator": "in"})
    for value in ids:
        ET.SubElement(condition, "value").text = guid(value)
    return ET.tostring(root, encoding="unicode")


def master_fetch(fetchxml: str) -> str | None:
    """An appointment filter's FetchXML asked of ``recurringappointmentmaster`` (None if it is not one)."""
    root = SafeET.fromstring(fetchxml)
    entity = root.find("entity")
    if root.tag != "fetch" or entity is None or entity.get("name") != "appointment":
        return None
    entity.set("name", "recurringappointmentmaster")
    return ET.tostring(root, encoding="unicode")
