"""Per-kind field mappings: which Dataverse columns meet which mailbox fields, in which direction.

The Synchronization Fields table and the conversion context are in :mod:`.specs`; each record kind's
conversions are a module of its own (:mod:`.contacts`, :mod:`.appointments`, :mod:`.tasks`) with the same
functions (:class:`KindMapping`), found through one table keyed by :class:`~wizard.settings.enums.Kind`.

The functions here convert between the three shapes the engine deals with, and nothing else (pure, no
I/O): Dataverse rows -> canonical :data:`Fields` (:func:`crm_view`), mailbox items -> Fields
(:func:`mailbox_view`), changed Fields -> a Web API body (:func:`crm_payload`) and changed Fields -> a
mailbox item (:func:`apply_to_mailbox`). Both views of the same data give equal non-"@" fields, so
:func:`wizard.sync.model.content_hash` is stable across sides.

Time: CRM values are UTC; mailbox items carry aware datetimes in the mailbox zone (``MappingContext.
mailbox_tz``); canonical date-times are UTC ISO strings. All-day appointments are midnight-to-midnight in
the mailbox zone on both sides; date-only values (birthday, recurrence range) never shift.

Meeting invitations: neither the CRM payload nor the mailbox item asks for invitations to be sent. A CRM
appointment created through the Web API sends nothing; the mailbox backend must save calendar items
without sending meeting requests (EWS ``SendMeetingInvitations="SendToNone"``, Graph: no ``/forward``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, overload

from wizard.mailbox.base import AppointmentItem, ContactItem, LinkState, TaskItem
from wizard.settings.enums import Kind
from wizard.sync.mapping import appointments, contacts, tasks
from wizard.sync.mapping.appointments import crm_expand, crm_master_select, crm_party_select
from wizard.sync.mapping.specs import FieldSpec, MappingContext, directions, field_groups, field_specs
from wizard.sync.model import Fields

__all__ = [
    "FieldSpec",
    "MappingContext",
    "apply_to_mailbox",
    "crm_entity_set",
    "crm_expand",
    "crm_master_select",
    "crm_party_select",
    "crm_payload",
    "crm_select",
    "crm_view",
    "directions",
    "field_groups",
    "field_specs",
    "mailbox_view",
]

MailboxItem = ContactItem | AppointmentItem | TaskItem


class KindMapping(Protocol):
    """What each kind's module provides; keyword arguments another kind needs are accepted and ignored."""

    @property
    def ITEM_TYPE(self) -> type[MailboxItem]: ...

    def crm_view(
        self,
        row: Mapping[str, Any],
        ctx: MappingContext,
        *,
        parties: Sequence[Mapping[str, Any]],
        master: Mapping[str, Any] | None,
        instances: Iterable[Mapping[str, Any]],
    ) -> Fields: ...

    def mailbox_view(self, item: Any, ctx: MappingContext) -> Fields: ...

    def crm_payload(
        self, changes: Fields, ctx: MappingContext, *, creating: bool, series: bool | None
    ) -> dict[str, Any]: ...

    def apply(self, changes: Fields, item: Any, ctx: MappingContext) -> Any: ...

    def crm_select(self, *, all_addresses: bool) -> list[str]: ...

    def entity_set(self, fields: Mapping[str, Any] | None) -> str: ...


_KINDS: dict[Kind, KindMapping] = {
    Kind.CONTACTS: contacts,
    Kind.APPOINTMENTS: appointments,
    Kind.TASKS: tasks,
}


def _mapping(kind: Kind) -> KindMapping:
    found = _KINDS.get(kind)
    if found is None:
        raise ValueError(f"unknown kind {kind!r}")
    return found


def crm_select(kind: Kind, *, all_addresses: bool = False) -> list[str]:
    """``$select`` for reading ``kind`` from its main entity set (contacts, appointments, tasks)."""
    return _mapping(kind).crm_select(all_addresses=all_addresses)


def crm_entity_set(kind: Kind, fields: Mapping[str, Any] | None = None) -> str:
    """Where a record of ``kind`` lives; an appointment with a recurrence is a ``recurringappointmentmaster``."""
    return _mapping(kind).entity_set(fields)


def crm_view(
    kind: Kind,
    row: Mapping[str, Any],
    ctx: MappingContext,
    *,
    parties: Sequence[Mapping[str, Any]] = (),
    master: Mapping[str, Any] | None = None,
    instances: Iterable[Mapping[str, Any]] = (),
) -> Fields:
    """Canonical Fields of a Dataverse row (+ its activity parties / series master / series exceptions).

    For appointments ``row`` is an ``appointment`` or a ``recurringappointmentmaster`` row; a series'
    pattern comes from ``master`` when given, else from ``row`` itself. Parties may also be expanded
    into the row (``appointment_activity_parties``), in which case ``parties`` may be left empty.
    """
    return _mapping(kind).crm_view(row, ctx, parties=parties, master=master, instances=instances)


def mailbox_view(kind: Kind, item: MailboxItem, ctx: MappingContext) -> Fields:
    """Canonical Fields of a mailbox item."""
    found = _KINDS.get(kind)
    if found is None or not isinstance(item, found.ITEM_TYPE):
        raise ValueError(f"a {type(item).__name__} is not a mailbox item of kind {kind!r}")
    return found.mailbox_view(item, ctx)


def crm_payload(
    kind: Kind, changes: Fields, ctx: MappingContext, *, creating: bool, series: bool | None = None
) -> dict[str, Any]:
    """The Web API body (POST when ``creating``, else PATCH) for the changed canonical fields.

    Only the fields in ``changes`` are written ("@" keys are ignored); ``company`` is never written (it is
    one-way to the mailbox). Tasks: status -> ``statecode``/``statuscode`` (completed = 1/5). Appointments:
    parties go in ``appointment_activity_parties`` (``recurringappointmentmaster_activity_parties`` for a
    series; ``series`` defaults to "recurrence is set") as ``partyid_<table>@odata.bind`` when the address
    resolves (me -> my systemuser; others through ``ctx.resolve_party``) and ``addressused`` always, with
    ``participationtypemask`` 5 required / 6 optional / 7 organizer; the organizer defaults to me. A list
    of parties replaces the old one. Nothing here sends a meeting invitation: a Web API create/update of
    an appointment is a calendar entry only (invitations are the mailbox backend's business, and it must
    not send them either). Deleted/modified occurrences of a series are not columns: the executor deletes
    or updates the instance appointments instead; and turning a series into a single appointment
    (recurrence -> None) is not an update either: delete the master, create an appointment.
    """
    return _mapping(kind).crm_payload(changes, ctx, creating=creating, series=series)


@overload
def apply_to_mailbox(kind: Kind, changes: Fields, item: ContactItem, ctx: MappingContext) -> ContactItem: ...
@overload
def apply_to_mailbox(
    kind: Kind, changes: Fields, item: AppointmentItem, ctx: MappingContext
) -> AppointmentItem: ...
@overload
def apply_to_mailbox(kind: Kind, changes: Fields, item: TaskItem, ctx: MappingContext) -> TaskItem: ...
@overload
def apply_to_mailbox(kind: Kind, changes: Fields, item: None, ctx: MappingContext) -> MailboxItem: ...


def apply_to_mailbox(
    kind: Kind, changes: Fields, item: MailboxItem | None, ctx: MappingContext
) -> MailboxItem:
    """A copy of ``item`` (or a new item with id "") with the changed canonical fields applied.

    The input item is not modified. When ``changes`` carries "@crmid", the copy is stamped as linked to
    that record (crmid, crmorgid, crmlinkstate 2) so the link survives a lost state DB.
    """
    found = _mapping(kind)
    target = copy.deepcopy(item) if item is not None else found.ITEM_TYPE(id="")
    if not isinstance(target, found.ITEM_TYPE):
        raise ValueError(f"a {type(target).__name__} is not a mailbox item of kind {kind!r}")
    result: MailboxItem = found.apply(changes, target, ctx)
    crmid = changes.get("@crmid")
    if crmid:
        result.props.crmid = str(crmid)
        result.props.crmorgid = ctx.org_id
        result.props.crmlinkstate = LinkState.TRACKED
    return result
