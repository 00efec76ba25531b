"""Checks a record before it is saved, as Dataverse would check it, from the table's definitions (metadata).

Required columns (ApplicationRequired / SystemRequired) must have a value, text no longer than its
``MaxLength``, a choice one of its option values. Each problem names the field by its display name in the
user's language. Values typed as text (the command line's ``--set FIELD=VALUE``) are first turned into the
column's type (:func:`coerce`); the fields checked are in the store's shape (``wizard.offline.fields``). Without definitions (a service that has none) nothing is checked here: the
service checks on its own when the change is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wizard.crm.metadata import ENGLISH, Attribute, TableDefinition
from wizard.errors import D365SyncError, Severity
from wizard.offline.tables import LOOKUP_TABLE, OfflineTable

_INTEGER_TYPES = frozenset({"Integer", "Picklist", "State", "Status", "BigInt"})
_NUMBER_TYPES = frozenset({"Decimal", "Double", "Money"})
_TEXT_TYPES = frozenset({"String", "Memo"})
_SERVER_SET = frozenset({"ownerid", "statecode", "statuscode"})  # the service fills these in on create


@dataclass(frozen=True)
class Problem:
    field: str
    label: str
    message: str

    def __str__(self) -> str:
        return self.message


class InvalidRecord(D365SyncError):
    """The record cannot be saved; ``problems`` says why, field by field (``user_text``: all of them)."""

    severity = Severity.ITEM

    def __init__(self, problems: list[Problem]) -> None:
        text = " ".join(p.message for p in problems)
        super().__init__(text, user_text=f"Not saved: {text}")
        self.problems = problems


def coerce(attribute: Attribute | None, text: str) -> Any:
    """``text`` (from the command line) as a value of the column's type; "" is no value (None)."""
    if text == "":
        return None
    kind = attribute.attribute_type if attribute is not None else ""
    name = attribute.logical_name if attribute is not None else "value"
    try:
        if kind in _INTEGER_TYPES:
            return int(text)
        if kind in _NUMBER_TYPES:
            return float(text)
    except ValueError:
        raise InvalidRecord([Problem(name, name, f"{name}: {text!r} is not a number.")]) from None
    if kind == "Boolean":
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "ja"):
            return True
        if lowered in ("0", "false", "no", "nein"):
            return False
        raise InvalidRecord([Problem(name, name, f"{name}: {text!r} is not yes or no.")])
    return text


def _label(definition: TableDefinition | None, name: str, language: int) -> str:
    attribute = definition.attributes.get(name) if definition else None
    return attribute.label(language) if attribute is not None else name


def check(
    spec: OfflineTable,
    definition: TableDefinition | None,
    fields: Mapping[str, Any],
    *,
    creating: bool,
    language: int = ENGLISH,
) -> list[Problem]:
    """The problems of saving ``fields`` (the whole row on create, the changed columns on update)."""
    problems: list[Problem] = []
    for name in fields:
        if name.endswith(LOOKUP_TABLE):
            continue
        if name not in spec.fields or name in spec.read_only:
            label = _label(definition, name, language)
            problems.append(
                Problem(name, label, f"{label}: not a field of {spec.logical_name} that can be set.")
            )
    if definition is None:
        return problems
    for name, value in fields.items():
        lookup = spec.lookup(name)
        attribute = definition.attributes.get(lookup.attribute if lookup is not None else name)
        if attribute is None or name.endswith(LOOKUP_TABLE):
            continue
        label = attribute.label(language)
        if value in (None, "") and attribute.required:
            problems.append(Problem(name, label, f"{label}: a value is required."))
        elif isinstance(value, str) and attribute.attribute_type in _TEXT_TYPES and attribute.max_length:
            if len(value) > attribute.max_length:
                problems.append(
                    Problem(
                        name,
                        label,
                        f"{label}: at most {attribute.max_length} characters ({len(value)} given).",
                    )
                )
        elif attribute.options and value is not None and value not in attribute.option_values():
            allowed = ", ".join(f"{o.value} ({o.label.text(language)})" for o in attribute.options)
            problems.append(Problem(name, label, f"{label}: {value!r} is not one of the choices: {allowed}."))
    if creating:
        for name in spec.fields:
            lookup = spec.lookup(name)
            attribute = definition.attributes.get(lookup.attribute if lookup is not None else name)
            if (
                attribute is not None
                and attribute.required
                and name not in spec.read_only
                and attribute.logical_name not in _SERVER_SET
                and fields.get(name) in (None, "")
                and not any(p.field == name for p in problems)
            ):
                label = attribute.label(language)
                problems.append(Problem(name, label, f"{label}: a value is required."))
    return problems
