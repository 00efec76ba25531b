"""A record's fields in the three shapes it takes: what a user types, what the store keeps, what a write sends.

* typed: ``{"lastname": "Bär", "parentcustomerid": "account:6f1c…"}`` (a lookup as ``table:id``, or a bare id
  when the lookup can point to one table only, or ``""`` to clear it);
* kept (the offline store, a server row): ``_parentcustomerid_value`` plus its table in
  ``_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname``;
* sent (a Web API create or update body): the columns, and the lookups bound through their navigation
  property per target table, ``"parentcustomerid_account@odata.bind": "/accounts(6f1c…)"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wizard.crm.client import guid
from wizard.offline.tables import BY_NAME, LOOKUP_TABLE, OfflineTable


def _set_of(target: str) -> str:
    spec = BY_NAME.get(target)
    return (
        spec.entity_set if spec is not None else ("systemusers" if target == "systemuser" else target + "s")
    )


def lookup_value(spec: OfflineTable, name: str, text: str) -> tuple[str | None, str | None]:
    """``(id, table)`` of a typed lookup value; ValueError when it is not one."""
    lookup = spec.lookup(name)
    assert lookup is not None
    if text.strip() == "":
        return None, None
    target, _, raw = text.rpartition(":")
    if not target:
        if len(lookup.targets) != 1:
            choices = ", ".join(f"{t}:<id>" for t in lookup.targets)
            raise ValueError(f"{lookup.attribute}: say which table it points to ({choices}).")
        target = next(iter(lookup.targets))
    if target not in lookup.targets:
        raise ValueError(f"{lookup.attribute}: points to {', '.join(lookup.targets)}, not {target}.")
    try:
        return guid(raw), target
    except ValueError:
        raise ValueError(f"{lookup.attribute}: {raw!r} is not a record id.") from None


def kept(spec: OfflineTable, typed: Mapping[str, Any]) -> dict[str, Any]:
    """Typed fields as the store keeps them (lookups as value + table)."""
    out: dict[str, Any] = {}
    for name, value in typed.items():
        lookup = spec.lookup(name)
        if lookup is None:
            out[name] = value
            continue
        row_id, target = lookup_value(spec, name, "" if value is None else str(value))
        out[lookup.value_name] = row_id
        out[lookup.value_name + LOOKUP_TABLE] = target
    return out


def body(
    spec: OfflineTable, fields: Mapping[str, Any], *, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A write body from kept fields: read-only columns left out, lookups bound by navigation property (a
    cleared lookup unbinds the navigation of the table it pointed to in ``base``)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name.endswith(LOOKUP_TABLE) or name in spec.read_only or name == spec.primary_id:
            continue
        lookup = spec.lookup(name)
        if lookup is None:
            out[name] = value
            continue
        target = fields.get(lookup.value_name + LOOKUP_TABLE)
        if value:
            target = target if target in lookup.targets else next(iter(lookup.targets))
            out[f"{lookup.targets[target]}@odata.bind"] = f"/{_set_of(target)}({guid(str(value))})"
        else:
            before = (base or {}).get(lookup.value_name + LOOKUP_TABLE)
            target = before if before in lookup.targets else next(iter(lookup.targets))
            out[f"{lookup.targets[target]}@odata.bind"] = None
    return out


def referred(spec: OfflineTable, fields: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(table, id)`` of the records ``fields`` point to."""
    out: set[tuple[str, str]] = set()
    for lookup in spec.lookups:
        value = fields.get(lookup.value_name)
        target = fields.get(lookup.value_name + LOOKUP_TABLE)
        if value and isinstance(target, str):
            out.add((target, str(value).lower()))
    return out
