"""Contacts, appointments and tasks: the two-way sync of one record kind per :class:`RecordSync`.

- ``common``: the tables, limits and the mapping context reading and applying share;
- ``appointment_series``: recurring series on the Dynamics 365 side (read, write, conversions);
- ``read``: the CRM scope (filters, FetchXML, change tracking) and the mailbox listing;
- ``apply``: the executor of the planner's operations;
- ``kind``: one kind's run (read, plan, apply, cursors);
- ``resolve``: applying the side the user chose for a logged conflict.
"""

from wizard.sync.records.common import AttendeeResolver, KindAborted
from wizard.sync.records.kind import RecordSync
from wizard.sync.records.resolve import resolve_conflict

__all__ = ["AttendeeResolver", "KindAborted", "RecordSync", "resolve_conflict"]
