"""Server-side business rules of the Dataverse stand-in that go beyond a column's type: required columns,
option set values and the default duplicate detection rules (contacts and leads with the same email address).

Required levels and option values come from :mod:`.metadata` / :mod:`.labels`, so the rules and the table
definitions a client reads cannot disagree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wizard.sandbox.dataverse.labels import option_labels
from wizard.sandbox.dataverse.metadata import APPLICATION_REQUIRED, SYSTEM_REQUIRED, attributes
from wizard.sandbox.dataverse.protocol import ApiError
from wizard.sandbox.dataverse.schema import CHOICE, EntityDef

VALIDATION_CODE = "0x80044331"
DUPLICATE_CODE = "0x80040333"
DUPLICATE_MESSAGE = (
    "A record was not created or updated because a duplicate of the current record already exists."
)
#: table -> the columns of its default duplicate detection rule ("… with the same e-mail address")
DUPLICATE_RULES: dict[str, tuple[str, ...]] = {"contact": ("emailaddress1",), "lead": ("emailaddress1",)}
#: columns the store fills in when a create leaves them out
_DEFAULTED = ("ownerid", "statecode", "statuscode")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_required(
    definition: EntityDef,
    values: Mapping[str, Any],
    *,
    creating: bool,
    application_required: bool,
) -> None:
    """A create must give every required column a value and an update must not clear one. SystemRequired
    columns are always checked; ApplicationRequired ("business required") ones only when
    ``application_required`` is on (see docs/sandbox-fidelity.md §1.1 for why that is off by default)."""
    levels = {SYSTEM_REQUIRED} | ({APPLICATION_REQUIRED} if application_required else set())
    for attribute in attributes(definition):
        name = attribute.logical_name
        if (
            attribute.required_level not in levels
            or name == definition.primary_key
            or name in _DEFAULTED
            or name in definition.defaults
        ):
            continue
        key = attribute.lookup.value_name if attribute.lookup is not None else name
        if (creating and _blank(values.get(key))) or (key in values and _blank(values[key])):
            raise ApiError(
                400,
                f"A validation error occurred.  The value of the '{name}' attribute of the "
                f"'{definition.logical_name}' entity is required ({attribute.required_level}).",
                VALIDATION_CODE,
            )


def check_options(definition: EntityDef, values: Mapping[str, Any]) -> None:
    """A choice column (other than state and status, checked as a pair) takes only its option set's values."""
    for name, value in values.items():
        column = definition.columns.get(name)
        if column is None or column.kind != CHOICE or name in ("statecode", "statuscode") or value is None:
            continue
        options = option_labels(definition.logical_name, name)
        if options and value not in options:
            accepted = ",".join(str(v) for v in sorted(options))
            raise ApiError(
                400,
                f"A validation error occurred.  The value {value} of '{name}' on record of type "
                f"'{definition.logical_name}' is outside the valid range. Accepted Values: {accepted}",
                VALIDATION_CODE,
            )


def check_duplicates(
    definition: EntityDef,
    merged: Mapping[str, Any],
    others: Iterable[Mapping[str, Any]],
    suppress_header: str,
) -> None:
    """Duplicate detection on create/update: only when the request sends ``MSCRM.SuppressDuplicateDetection:
    false`` and the table has a rule; a match (case-insensitive, blank values never match) is refused with the
    documented 500 / ``0x80040333``."""
    columns = DUPLICATE_RULES.get(definition.logical_name)
    if columns is None or suppress_header.strip().lower() != "false":
        return
    wanted = [str(merged.get(c) or "").strip().lower() for c in columns]
    if not all(wanted):
        return
    own_id = str(merged.get(definition.primary_key) or "")
    for row in others:
        if str(row.get(definition.primary_key)) == own_id:
            continue
        if [str(row.get(c) or "").strip().lower() for c in columns] == wanted:
            raise ApiError(500, DUPLICATE_MESSAGE, DUPLICATE_CODE)
