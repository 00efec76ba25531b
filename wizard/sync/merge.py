"""Three-way merge per field against the synced view, and the conflict policies.

Pure functions: the planner calls :func:`merge` for every linked pair that changed on either side.
Nothing is ever silently dropped: when a value loses (to a conflict policy or to a one-way field
direction) a :class:`FieldConflict` carries it, and the engine stores it in the conflict log so the user
can apply it later (DESIGN section 4).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from wizard.settings.enums import DEFAULT_POLICY, ConflictPolicy
from wizard.sync.model import Direction, Fields

POLICIES: tuple[ConflictPolicy, ...] = tuple(ConflictPolicy)

Winner = Literal["crm", "mailbox"]
ConflictReason = Literal["both_changed", "one_way", "no_base", "delete_vs_edit"]

_TO_MAILBOX = (Direction.TO_MAILBOX, Direction.BOTH)
_TO_CRM = (Direction.TO_CRM, Direction.BOTH)


@dataclass(frozen=True)
class FieldConflict:
    """Two different values for one field; ``winner`` None means "ask": unresolved, nothing written.

    ``reason``: both sides changed it; one side edited a one-way field and was overwritten from the
    authoritative side; a relink had no base to compare with; or a whole record was deleted on one side
    while edited on the other (then ``field`` is "*" and the values are whole Fields or None).
    ``item`` names the record for people (a contact's name, a subject); the planner fills it in.
    """

    field: str
    base: Any
    crm: Any
    mailbox: Any
    winner: Winner | None
    reason: ConflictReason = "both_changed"
    item: str = ""

    @property
    def resolved(self) -> bool:
        return self.winner is not None

    @property
    def losing_value(self) -> Any:
        """The value that was not applied (for "ask", the mailbox's; the CRM's stays in ``crm``)."""
        return self.crm if self.winner == "mailbox" else self.mailbox


@dataclass(frozen=True)
class MergeResult:
    """Field changes to write to each side, the new merge base, and every value that lost."""

    to_crm: Fields = field(default_factory=dict)
    to_mailbox: Fields = field(default_factory=dict)
    new_base: Fields = field(default_factory=dict)
    conflicts: tuple[FieldConflict, ...] = ()

    @property
    def writes(self) -> bool:
        return bool(self.to_crm or self.to_mailbox)


def canonical(value: Any) -> Any:
    """A comparable form: lists (attendees, ...) sorted by their canonical JSON, dicts recursively."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [canonical(v) for v in value]
        return sorted(items, key=_sort_key)
    return value


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def same(a: Any, b: Any) -> bool:
    """Equality on canonical forms (missing and None are the same thing)."""
    return bool(canonical(a) == canonical(b))


def synced_fields(directions: Mapping[str, Direction]) -> list[str]:
    """Fields that sync at all, in a stable order; Direction.NONE fields are never written."""
    return sorted(name for name, d in directions.items() if d != Direction.NONE and not name.startswith("@"))


def project(fields: Fields, names: Iterable[str]) -> Fields:
    """The canonical values of ``names`` (missing -> None): what a create writes and the base stores."""
    return {name: canonical(fields.get(name)) for name in names}


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (or datetime) as an aware UTC datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        text = value.replace("Z", "+00:00") if value.endswith("Z") else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _policy_winner(policy: ConflictPolicy, crm_modified: Any, mailbox_modified: Any) -> Winner | None:
    if policy == ConflictPolicy.CRM_WINS:
        return "crm"
    if policy == ConflictPolicy.MAILBOX_WINS:
        return "mailbox"
    if policy == ConflictPolicy.NEWEST_WINS:
        crm_time, mailbox_time = parse_time(crm_modified), parse_time(mailbox_modified)
        if crm_time is not None and mailbox_time is not None and mailbox_time > crm_time:
            return "mailbox"
        return "crm"  # ties and unknown times: Dynamics 365 wins, as the default policy does
    return None


def merge(
    base: Fields | None,
    crm: Fields,
    mailbox: Fields,
    directions: Mapping[str, Direction],
    policy: ConflictPolicy = DEFAULT_POLICY,
    *,
    crm_modified: Any = None,
    mailbox_modified: Any = None,
    undecided: Collection[str] = (),
) -> MergeResult:
    """Merge one linked pair field by field against ``base`` (None: no base, e.g. right after a relink).

    - one side changed: it flows to the other if the field's direction allows; an edit against a one-way
      field is overwritten from the authoritative side (the original's behaviour) and recorded;
    - both changed to the same value: nothing to write;
    - both changed differently (or no base and they differ): one-way fields follow their direction,
      two-way fields follow ``policy``; "ask" writes nothing for the field, keeps its base and records an
      unresolved conflict. ``undecided`` names fields such an earlier "ask" left open: whatever the base
      says, they are compared side against side, so the open conflict is never mistaken for an edit.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {policy!r}")
    to_crm: Fields = {}
    to_mailbox: Fields = {}
    new_base: Fields = {}
    conflicts: list[FieldConflict] = []
    for name in synced_fields(directions):
        direction = directions[name]
        c = canonical(crm.get(name))
        m = canonical(mailbox.get(name))
        if base is None or name in undecided:
            b = None if base is None else canonical(base.get(name))
            crm_changed = mailbox_changed = c != m
            reason: ConflictReason = "no_base" if base is None else "both_changed"
        else:
            b = canonical(base.get(name))
            crm_changed, mailbox_changed = c != b, m != b
            reason = "both_changed"

        if not crm_changed and not mailbox_changed:
            new_base[name] = c  # == b when there is a base to compare with
            continue
        if crm_changed and mailbox_changed and c == m:
            new_base[name] = c
            continue

        if crm_changed and not mailbox_changed:
            if direction in _TO_MAILBOX:
                to_mailbox[name], new_base[name] = c, c
            else:  # one-way to CRM: the mailbox is authoritative, the CRM edit is undone
                to_crm[name], new_base[name] = m, m
                conflicts.append(FieldConflict(name, b, c, m, "mailbox", "one_way"))
            continue
        if mailbox_changed and not crm_changed:
            if direction in _TO_CRM:
                to_crm[name], new_base[name] = m, m
            else:  # one-way to the mailbox: Dynamics 365 is authoritative
                to_mailbox[name], new_base[name] = c, c
                conflicts.append(FieldConflict(name, b, c, m, "crm", "one_way"))
            continue

        # Both changed, differently (or no base to tell who changed).
        winner: Winner | None
        why: ConflictReason
        if direction == Direction.TO_MAILBOX:
            winner, why = "crm", ("one_way" if reason == "both_changed" else reason)
        elif direction == Direction.TO_CRM:
            winner, why = "mailbox", ("one_way" if reason == "both_changed" else reason)
        else:
            winner, why = _policy_winner(policy, crm_modified, mailbox_modified), reason
        conflicts.append(FieldConflict(name, b, c, m, winner, why))
        if winner == "crm":
            to_mailbox[name], new_base[name] = c, c
        elif winner == "mailbox":
            to_crm[name], new_base[name] = m, m
        else:
            new_base[name] = b  # "ask": both stay as they are until the user decides
    return MergeResult(to_crm, to_mailbox, new_base, tuple(conflicts))
