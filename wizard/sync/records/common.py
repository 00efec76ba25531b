"""What reading and applying share for contacts, appointments and tasks: the tables, the limits, the mapping context.

The mapping context holds what a run reads once for all record kinds (the user's "synchronize the contact's
company" setting, the attendee resolver); it lives on the :class:`~wizard.sync.run.RunContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from wizard.crm.client import DataverseClient, guid, odata_string
from wizard.errors import D365SyncError, Severity
from wizard.mailbox.base import AppointmentItem, ContactItem, FolderKind, TaskItem
from wizard.settings.enums import Kind
from wizard.sync import mapping
from wizard.sync.model import Fields
from wizard.sync.parties import PARTY_TABLES, PartyResolver
from wizard.sync.run import RunContext
from wizard.sync.timezones import local_zone_name

log = logging.getLogger(__name__)

FOLDERS: dict[Kind, FolderKind] = {
    Kind.CONTACTS: FolderKind.CONTACTS,
    Kind.APPOINTMENTS: FolderKind.CALENDAR,
    Kind.TASKS: FolderKind.TASKS,
}
TABLE: dict[Kind, str] = {Kind.CONTACTS: "contact", Kind.APPOINTMENTS: "appointment", Kind.TASKS: "task"}
ID_COLUMN: dict[Kind, str] = {
    Kind.CONTACTS: "contactid",
    Kind.APPOINTMENTS: "activityid",
    Kind.TASKS: "activityid",
}
CHUNK = 50  # ids per ``In`` query (a GET: the URL stays short)
READ_PAGE = 5000  # rows per page of a table read (odata.maxpagesize; the service maximum)
CREATE_BATCH = 1000  # CRM creates per $batch request (the service maximum)
SCOPE_CHUNK = 100  # ids per FetchXML scope check (a GET: the URL stays well below 32 KB)

MailboxItem = ContactItem | AppointmentItem | TaskItem


class KindAborted(D365SyncError):
    """Something failed that stops this kind only (the others go on)."""

    severity = Severity.KIND


# ------------------------------------------------------------------------------------- small helpers


def in_filter(column: str, ids: Sequence[str]) -> str:
    values = ",".join(odata_string(guid(i)) for i in ids)
    return f"Microsoft.Dynamics.CRM.In(PropertyName='{column}',PropertyValues=[{values}])"


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class AttendeeResolver:
    """Address -> (logical name, id) for appointment parties: the documented order and ranking of
    :class:`wizard.sync.parties.PartyResolver` (shared with email tracking), over the tables an attendee can be
    (not queues); cached per run. A look-up that fails for another reason than a missing table fails the item."""

    def __init__(self, client: DataverseClient, user_id: str) -> None:
        tables = [t for t in PARTY_TABLES if t.logical_name != "queue"]
        self.parties = PartyResolver(client, user_id, tables)

    def __call__(self, address: str) -> tuple[str, str] | None:
        found = self.parties.lookup(address)
        return (found.logical_name, found.id) if found is not None else None


def mapping_context(ctx: RunContext) -> mapping.MappingContext:
    """The mapping's context for this run; the user's settings it needs are read once per run."""
    settings = getattr(ctx.mailbox, "settings", None)
    zone = getattr(settings, "timezone", None) or local_zone_name()
    if ctx.sync_contact_company is None:
        try:
            ctx.sync_contact_company = bool(ctx.crm.user_settings(ctx.user_id).synccontactcompany)
        except D365SyncError as exc:
            if exc.severity >= Severity.ACCOUNT:
                raise
            ctx.sync_contact_company = True
    if ctx.attendee_resolver is None:
        ctx.attendee_resolver = AttendeeResolver(ctx.crm, ctx.user_id)
    return mapping.MappingContext(
        user_id=ctx.user_id,
        org_id=ctx.org.id,
        mailbox_tz=zone,
        sync_contact_company=ctx.sync_contact_company,
        all_addresses=ctx.options.sync_all_addresses,
        account_names={},
        now=ctx.now,
        mailbox_address=ctx.options.mailbox_address,
        resolve_party=ctx.attendee_resolver,
    )


def mailbox_view(kind: Kind, item: MailboxItem, mctx: mapping.MappingContext) -> Fields:
    """The mapping's view, with the crmid in the form CRM ids have here ({GUID} from other clients too)."""
    view = mapping.mailbox_view(kind, item, mctx)
    crmid = view.get("@crmid")
    if isinstance(crmid, str) and crmid:
        view["@crmid"] = crmid.strip().strip("{}").lower()
    return view


def written_key(written: Any, result: Any) -> str | None:
    """The change key to keep on the link after our own write (None: the next run reads the item again).

    Not a series master's: the store reads its key again after writing the occurrences (EWS: a GetItem after
    them), so a user's edit made in between would carry that key, be taken for our own write and never be
    read (seed 170 in docs/RELIABILITY.md). Reading the master again next run costs one request.
    """
    if isinstance(written, AppointmentItem) and written.recurrence is not None:
        return None
    return getattr(result, "change_key", None)
