"""The names the whole program shares for what it synchronizes and how conflicts are decided.

String enums: a member equals its value (``Kind.CONTACTS == "contacts"``) and is written to JSON, the
profile and the state DB as that value, so stored data keeps its format.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What the messaging synchronization handles; email is one-way per direction, the rest two-way."""

    EMAIL = "email"
    CONTACTS = "contacts"
    APPOINTMENTS = "appointments"
    TASKS = "tasks"


#: the two-way record kinds, in the order a run handles them
RECORD_KINDS: tuple[Kind, ...] = (Kind.CONTACTS, Kind.APPOINTMENTS, Kind.TASKS)
#: every kind, in the order the status window and ``d365sync status`` show them
ALL_KINDS: tuple[Kind, ...] = (Kind.EMAIL, *RECORD_KINDS)


class ConflictPolicy(StrEnum):
    """Who wins when a field changed on both sides since the last agreed state (DESIGN section 4)."""

    CRM_WINS = "crm_wins"
    MAILBOX_WINS = "mailbox_wins"
    NEWEST_WINS = "newest_wins"
    ASK = "ask"


DEFAULT_POLICY = ConflictPolicy.CRM_WINS

__all__ = ["ALL_KINDS", "DEFAULT_POLICY", "RECORD_KINDS", "ConflictPolicy", "Kind"]
