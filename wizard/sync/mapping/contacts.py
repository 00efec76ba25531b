"""Contacts: a Dataverse ``contact`` row and an Outlook contact item as canonical Fields, and back.

Names: Outlook keeps the middle name inside the display name. Addresses: the mailing address (Address 1)
is the business address; with the org's "all addresses" option Address 2 is the home address. The company
is the parent account's name, one-way to the mailbox and only with ``synccontactcompany``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from wizard.mailbox.base import ContactItem, PhysicalAddress
from wizard.settings.enums import Kind
from wizard.sync import timezones as tzs
from wizard.sync.mapping.specs import ADDRESS_PARTS, ADDRESS_SLOTS, MappingContext, field_specs
from wizard.sync.mapping.values import META_COLUMNS, crm_meta, iso_date, memo, meta_links, text
from wizard.sync.model import Fields

ITEM_TYPE = ContactItem
ENTITY_SET = "contacts"
LOOKUP_LOGICAL = "@Microsoft.Dynamics.CRM.lookuplogicalname"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"

_PHONES = {"telephone1": "business", "telephone2": "home", "mobilephone": "mobile", "fax": "fax"}


def _street_lines(street: str | None) -> list[str | None]:
    if not street:
        return [None, None, None]
    lines = street.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(lines) > 3:
        lines = [lines[0], lines[1], "\n".join(lines[2:])]
    lines += [""] * (3 - len(lines))
    return [line or None for line in lines]


def _street(lines: Sequence[str | None]) -> str:
    parts = [line or "" for line in lines]
    while parts and not parts[-1]:
        parts.pop()
    return "\n".join(parts)


def _middle_name(item: ContactItem) -> str | None:
    """Outlook keeps the middle name inside the display name: "Given Middle Surname"."""
    given, surname, display = item.given_name.strip(), item.surname.strip(), item.display_name.strip()
    if not given or not surname:
        return None
    head, tail = given + " ", " " + surname
    if display.startswith(head) and display.endswith(tail) and len(display) > len(head) + len(tail) - 1:
        return display[len(head) : len(display) - len(tail)].strip() or None
    return None


def _contact_prefixes(ctx: MappingContext) -> tuple[str, ...]:
    return ("address1", "address2") if ctx.all_addresses else ("address1",)


def _contact_company_crm(row: Mapping[str, Any], ctx: MappingContext) -> str | None:
    if not ctx.sync_contact_company:
        return None
    parent = row.get("_parentcustomerid_value")
    if not parent:
        return None
    name = ctx.account_names.get(str(parent)) or ctx.account_names.get(str(parent).lower())
    logical = row.get("_parentcustomerid_value" + LOOKUP_LOGICAL)
    if name is None and logical in (None, "account"):
        name = row.get("_parentcustomerid_value" + FORMATTED)
    return text(name)


def crm_view(row: Mapping[str, Any], ctx: MappingContext, **_appointment_only: object) -> Fields:
    out: Fields = {
        "firstname": text(row.get("firstname")),
        "middlename": text(row.get("middlename")),
        "lastname": text(row.get("lastname")),
        "company": _contact_company_crm(row, ctx),
        "jobtitle": text(row.get("jobtitle")),
        "department": text(row.get("department")),
        "emailaddress1": text(row.get("emailaddress1")),
        "emailaddress2": text(row.get("emailaddress2")),
        "emailaddress3": text(row.get("emailaddress3")),
    }
    for column in _PHONES:
        out[column] = text(row.get(column))
    for prefix in _contact_prefixes(ctx):
        for part, _attr, _label in ADDRESS_PARTS:
            name = f"{prefix}_{part}"
            out[name] = text(row.get(name))
    out["websiteurl"] = text(row.get("websiteurl"))
    out["birthdate"] = iso_date(row.get("birthdate"), ctx.mailbox_tz)
    out["description"] = memo(row.get("description"))
    out.update(crm_meta(Kind.CONTACTS, row, ctx, "contactid"))
    return out


def mailbox_view(item: ContactItem, ctx: MappingContext) -> Fields:
    emails = [*item.emails, "", "", ""]
    out: Fields = {
        "firstname": text(item.given_name),
        "middlename": _middle_name(item),
        "lastname": text(item.surname),
        "company": text(item.company) if ctx.sync_contact_company else None,
        "jobtitle": text(item.job_title),
        "department": text(item.department),
        "emailaddress1": text(emails[0]),
        "emailaddress2": text(emails[1]),
        "emailaddress3": text(emails[2]),
    }
    for column, key in _PHONES.items():
        out[column] = text(item.phones.get(key))
    for prefix in _contact_prefixes(ctx):
        address: PhysicalAddress | None = getattr(item, ADDRESS_SLOTS[prefix])
        lines = _street_lines(address.street if address else None)
        out[f"{prefix}_line1"], out[f"{prefix}_line2"], out[f"{prefix}_line3"] = lines
        out[f"{prefix}_city"] = text(address.city) if address else None
        out[f"{prefix}_stateorprovince"] = text(address.state) if address else None
        out[f"{prefix}_postalcode"] = text(address.postal_code) if address else None
        out[f"{prefix}_country"] = text(address.country) if address else None
    out["websiteurl"] = text(item.web_page)
    out["birthdate"] = iso_date(item.birthday, ctx.mailbox_tz)
    out["description"] = memo(item.notes)
    out.update(
        {
            "@owned_by_me": True,
            "@state": "open",
            "@modified": tzs.to_utc_iso(item.last_modified, ctx.mailbox_tz),
            **meta_links(item.props, item.categories),
        }
    )
    return out


def crm_payload(changes: Fields, ctx: MappingContext, **_appointment_only: object) -> dict[str, Any]:
    known = {s.name for s in field_specs(Kind.CONTACTS, all_addresses=True)}
    body: dict[str, Any] = {}
    for name, value in changes.items():
        if name.startswith("@"):
            continue
        if name not in known:
            raise ValueError(f"contacts: {name!r} is not a synchronized field")
        if name == "company":
            continue  # one-way to the mailbox: the parent account is never changed from a name
        if name == "birthdate":
            body[name] = iso_date(value, ctx.mailbox_tz)
        elif name == "description":
            body[name] = memo(value)
        else:
            body[name] = text(value)
    return body


def apply(changes: Fields, item: ContactItem, ctx: MappingContext) -> ContactItem:
    names = ("firstname", "middlename", "lastname")
    if any(n in changes for n in names):
        middle = changes["middlename"] if "middlename" in changes else _middle_name(item)
        if "firstname" in changes:
            item.given_name = changes["firstname"] or ""
        if "lastname" in changes:
            item.surname = changes["lastname"] or ""
        item.display_name = " ".join(p for p in (item.given_name, middle or "", item.surname) if p)
    simple = {"jobtitle": "job_title", "department": "department", "websiteurl": "web_page"}
    for name, attr in simple.items():
        if name in changes:
            setattr(item, attr, changes[name] or "")
    if "company" in changes and ctx.sync_contact_company:
        item.company = changes["company"] or ""
    if "description" in changes:
        item.notes = changes["description"] or ""
    if "birthdate" in changes:
        item.birthday = tzs.parse_date(changes["birthdate"], ctx.mailbox_tz)
    if any(f"emailaddress{n}" in changes for n in (1, 2, 3)):
        emails = [*item.emails, "", "", ""][:3]
        for n in (1, 2, 3):
            key = f"emailaddress{n}"
            if key in changes:
                emails[n - 1] = changes[key] or ""
        while emails and not emails[-1]:
            emails.pop()
        item.emails = emails
    for column, key in _PHONES.items():
        if column in changes:
            if changes[column]:
                item.phones[key] = changes[column]
            else:
                item.phones.pop(key, None)
    for prefix, slot in ADDRESS_SLOTS.items():
        touched = [f"{prefix}_{part}" for part, _a, _l in ADDRESS_PARTS if f"{prefix}_{part}" in changes]
        if not touched:
            continue
        current: PhysicalAddress | None = getattr(item, slot)
        address = copy.copy(current) if current is not None else PhysicalAddress()
        lines = _street_lines(address.street)
        for index, part in enumerate(("line1", "line2", "line3")):
            if f"{prefix}_{part}" in changes:
                lines[index] = changes[f"{prefix}_{part}"]
        address.street = _street(lines)
        for part, attr in (("city", "city"), ("stateorprovince", "state"), ("postalcode", "postal_code")):
            if f"{prefix}_{part}" in changes:
                setattr(address, attr, changes[f"{prefix}_{part}"] or "")
        if f"{prefix}_country" in changes:
            address.country = changes[f"{prefix}_country"] or ""
        empty = not any((address.street, address.city, address.state, address.postal_code, address.country))
        setattr(item, slot, None if empty else address)
    return item


def crm_select(*, all_addresses: bool = False) -> list[str]:
    """``$select`` for reading contacts: the key, the synced fields' columns and the metadata."""
    columns = ["contactid"]
    for spec in field_specs(Kind.CONTACTS, all_addresses=all_addresses):
        columns.extend(spec.crm)
    columns.extend(META_COLUMNS)
    return list(dict.fromkeys(columns))


def entity_set(fields: Mapping[str, Any] | None = None) -> str:
    """Where a contact lives (one entity set, whatever its fields)."""
    return ENTITY_SET
