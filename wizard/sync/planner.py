"""The planner: what to do for one kind, given the links and what changed on each side. Pure, no I/O.

``plan(kind, links, crm_changes, mailbox_changes, rules) -> Plan`` turns the three views of DESIGN section 4
(CRM, mailbox, synced base in the links) into a deterministic list of operations; the executor applies them
and records results in the state DB. Operations that belong to one linked pair are consecutive, and a
pair's group ends with :class:`UpdateBase` whenever the base changes: the executor writes the base only
there and skips the rest of a group once one of its operations failed, so the next run merges again and
nothing is lost.

Deletes follow the original's table (reference B.9):

============  ===============================  ==================================================
kind          deleted in the mailbox           deleted in Dynamics 365
============  ===============================  ==================================================
contacts      never deletes in CRM: the link   deletes the mailbox copy only if I am NOT the
              is forgotten (see below)         owner; the owner keeps an unlinked copy
appointments  deletes in CRM                   deletes in the mailbox if @end >= now (or no end: an
                                               open series) AND I own it or organize it; else unlink
tasks         deletes in CRM                   deletes in the mailbox if the task is current, i.e.
                                               @state == "open" (not completed, not canceled; an
                                               overdue open task is still current); else unlink
============  ===============================  ==================================================

Decisions:

- Contact deleted in the mailbox: the link is forgotten and the contact is NOT re-created right away (the
  user removed it on purpose). Like the original ("a deleted-in-Outlook contact reappears when changed in
  CRM", B.9 notes), a later CRM edit of a record still in scope shows up as an unlinked CRM row and is
  created in the mailbox again; an edit in CRM in the same run re-creates it at once (the edit survives).
- Edited on one side, deleted on the other: where the table propagates the delete, the delete wins (as in
  vdirsyncer) and the version the other side reported this run is recorded whole (unsynced fields too)
  as a conflict (field "*", reason "delete_vs_edit") so the user can restore it; where it does not
  propagate, the edit survives: the CRM-deleted case unlinks (the mailbox keeps its edited copy), the
  mailbox-deleted contact is re-created from the edited CRM row.
- New items: a CRM row in ``crm_changes.changed`` (in scope by definition) with no link and no mailbox
  item claiming it is created in the mailbox; a mailbox item is created in CRM only if the user tracked
  it ("@linkstate" 1 or "@tracked": the "Tracked to Dynamics 365" category) and it names no crmid.
  Creates carry every synced field (direction != NONE) whatever its arrow, as the original did on
  create; one-way arrows apply to later updates.
- "ask" conflicts leave both values in place; the base remembers them under "@unresolved" so a later
  run in which only one side reports changes cannot overwrite the undecided value unrecorded.
- Leaving the sync filter scope unlinks (crmlinkstate 0), never deletes; it also beats a delete in the
  mailbox (the link is only forgotten), so nothing outside our scope is ever destroyed. A pending mailbox
  edit stays on the unlinked item. A CRM ``full_resync`` (every in-scope row listed) unlinks links whose
  row was not listed; a mailbox ``full_resync`` never deletes anything that was simply not seen.
- Relinking (after a lost state DB, or a record that comes back into scope): an unlinked mailbox item whose
  ``@crmid`` names a CRM row in ``crm_changes.changed`` is linked, not duplicated, with no base; the merge
  then records every differing field as a conflict (reason "no_base") and applies the policy. Call
  :func:`lookups` first: it names the mailbox items and CRM rows the engine should fetch so that relinking
  can see them.
- Mass-delete guard: if planned deletes on a side exceed ``mass_delete_min`` AND ``mass_delete_fraction``
  of that side's items, and not ``rules.force``, the plan has NO operations at all and
  ``needs_confirmation`` set: the run stops and asks. The engine must then keep that kind's cursors, so the
  same changes come back; run again with ``force=True`` (yes, delete) or ``decline_deletes=True`` (no: the
  deletes become unlinks, both copies stay where they still exist).
"""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from wizard.settings.enums import DEFAULT_POLICY, ConflictPolicy, Kind
from wizard.sync.merge import FieldConflict, canonical, merge, parse_time, project, synced_fields
from wizard.sync.model import Direction, Fields, Link

META_KEYS = ("@owned_by_me", "@is_organizer", "@end", "@state")
"""Metadata kept in the base so the delete rules still know it once a side is gone."""

UNRESOLVED = "@unresolved"
"""Base key: field -> [crm value, mailbox value] of conflicts left to the user ("ask")."""

WAITING = "@waiting"
"""Base key of a recurring series: the dates of its mailbox exceptions that wait for Dynamics 365 to make their
occurrences (:mod:`wizard.sync.records.appointment_series`). The executor sets it with the base it stores; plans carry it over."""

TRACKED_CATEGORY = "Tracked to Dynamics 365"
LINK_UNTRACKED, LINK_PENDING, LINK_TRACKED = 0, 1, 2  # crmlinkstate values (reference B.10)


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class CrmChanges:
    """What Dynamics 365 reported for one kind since the last run.

    ``changed``: created or updated rows in scope; ``deleted``: ids gone from CRM; ``out_of_scope``: ids
    that left the user's sync filters. ``full_resync``: ``changed`` lists every in-scope row (initial
    sync, rebuilt state, expired change token). ``total``: rows of the kind on the CRM side, if known.
    """

    changed: Mapping[str, Fields] = field(default_factory=dict)
    deleted: Set[str] = frozenset()
    out_of_scope: Set[str] = frozenset()
    full_resync: bool = False
    total: int | None = None


@dataclass(frozen=True)
class MailboxChanges:
    """What the mailbox reported for one kind: items carry "@crmid", "@linkstate" and "@tracked"."""

    changed: Mapping[str, Fields] = field(default_factory=dict)
    deleted: Set[str] = frozenset()
    full_resync: bool = False
    total: int | None = None


@dataclass(frozen=True)
class Rules:
    """The user's choices for a run. ``now`` is explicit so that planning stays a pure function."""

    directions: Mapping[str, Direction]
    now: datetime
    policy: ConflictPolicy = DEFAULT_POLICY
    user_id: str | None = None  # ownership reaches the planner as "@owned_by_me", computed with it
    mass_delete_min: int = 10
    mass_delete_fraction: float = 0.25
    force: bool = False
    decline_deletes: bool = False


# ----------------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class CreateInMailbox:
    """Create the item, stamp crmid/crmlinkstate 2 on it and link it (journal the create first)."""

    crm_id: str
    fields: Fields
    base: Fields


@dataclass(frozen=True)
class CreateInCrm:
    """Create the row from a tracked mailbox item, stamp its crmid and link them (journal first)."""

    mailbox_id: str
    fields: Fields
    base: Fields


@dataclass(frozen=True)
class UpdateMailbox:
    crm_id: str
    mailbox_id: str
    changes: Fields


@dataclass(frozen=True)
class UpdateCrm:
    crm_id: str
    mailbox_id: str
    changes: Fields


@dataclass(frozen=True)
class DeleteInMailbox:
    """Move the item to Deleted Items and forget the link."""

    crm_id: str
    mailbox_id: str
    reason: str


@dataclass(frozen=True)
class DeleteInCrm:
    """Delete the row and forget the link."""

    crm_id: str
    mailbox_id: str
    reason: str


@dataclass(frozen=True)
class Unlink:
    """Stamp crmlinkstate 0 on the mailbox item (if any) and forget the link (if any); never deletes."""

    crm_id: str | None
    mailbox_id: str | None
    reason: str


@dataclass(frozen=True)
class ForgetLink:
    """Forget the link only: nothing to write on either side (one side is gone already)."""

    crm_id: str
    mailbox_id: str
    reason: str


@dataclass(frozen=True)
class Relink:
    """Link a mailbox item to the CRM row its crmid names, with no base yet (UpdateBase follows)."""

    crm_id: str
    mailbox_id: str


@dataclass(frozen=True)
class RecordConflict:
    crm_id: str
    mailbox_id: str
    conflict: FieldConflict
    policy: str


@dataclass(frozen=True)
class UpdateBase:
    """The commit point of a pair: store the new synced view (merge base) in the link."""

    crm_id: str
    mailbox_id: str
    base: Fields


Operation = (
    CreateInMailbox
    | CreateInCrm
    | UpdateMailbox
    | UpdateCrm
    | DeleteInMailbox
    | DeleteInCrm
    | Unlink
    | ForgetLink
    | Relink
    | RecordConflict
    | UpdateBase
)


@dataclass(frozen=True)
class MassDelete:
    """Why a plan stopped: the deletes it would make and the sizes they were measured against."""

    crm_deletes: int
    mailbox_deletes: int
    crm_total: int
    mailbox_total: int


@dataclass(frozen=True)
class Plan:
    kind: Kind
    operations: tuple[Operation, ...] = ()
    needs_confirmation: MassDelete | None = None

    def counts(self) -> dict[str, int]:
        """Operations per type name, e.g. {"CreateInMailbox": 3}."""
        return dict(Counter(type(op).__name__ for op in self.operations))


@dataclass(frozen=True)
class Lookups:
    """What the engine should fetch before planning so relinking sees it.

    ``mailbox_items_for``: CRM ids with no link: find mailbox items whose crmid names them and add those to
    ``MailboxChanges.changed``. ``crm_rows``: ids named by unlinked tracked mailbox items that CRM did not
    report: fetch them into ``CrmChanges.changed`` (in scope), ``out_of_scope`` or ``deleted``.
    """

    mailbox_items_for: tuple[str, ...] = ()
    crm_rows: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------ the links


class Links(Mapping[str, Link]):
    """The links of one kind as :func:`plan` reads them: ids at hand, a merge base only when it is asked for.

    A mapping CRM id -> :class:`Link` (base included). :func:`plan` and :func:`lookups` ask about the ids that
    changed (:meth:`linked`, :meth:`by_mailbox`) and read the bases of the pairs something happened to
    (:meth:`bases`, in one call), so a run with nothing to do reads no merge base at all. The state DB's
    subclass answers from the DB (wizard.sync.state); :meth:`of` wraps links already in memory.
    """

    @abstractmethod
    def linked(self, crm_ids: Collection[str]) -> dict[str, str]:
        """CRM id -> mailbox id of those of ``crm_ids`` that are linked."""

    @abstractmethod
    def by_mailbox(self, mailbox_ids: Collection[str]) -> dict[str, str]:
        """Mailbox id -> CRM id of those of ``mailbox_ids`` that are linked."""

    @abstractmethod
    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every link's (CRM id, mailbox id), no base."""

    @abstractmethod
    def bases(self, crm_ids: Collection[str]) -> dict[str, Link]:
        """The links of those of ``crm_ids`` that are linked, with their merge bases."""

    def __getitem__(self, crm_id: str) -> Link:
        return self.bases([crm_id])[crm_id]

    def __iter__(self) -> Iterator[str]:
        return (crm_id for crm_id, _ in self.pairs())

    def __contains__(self, crm_id: object) -> bool:
        return isinstance(crm_id, str) and bool(self.linked([crm_id]))

    @staticmethod
    def of(links: Mapping[str, Link]) -> Links:
        """``links`` as :class:`Links` (any keys; a link is known by its CRM id)."""
        return links if isinstance(links, Links) else _MemoryLinks(links)


class _MemoryLinks(Links):
    """Links held in a mapping (tests, the planner's simulation)."""

    def __init__(self, links: Mapping[str, Link]) -> None:
        self._by_crm = {link.crm_id: link for link in links.values()}
        self._by_mailbox = {link.mailbox_id: link.crm_id for link in links.values()}

    def linked(self, crm_ids: Collection[str]) -> dict[str, str]:
        return {c: self._by_crm[c].mailbox_id for c in crm_ids if c in self._by_crm}

    def by_mailbox(self, mailbox_ids: Collection[str]) -> dict[str, str]:
        return {m: self._by_mailbox[m] for m in mailbox_ids if m in self._by_mailbox}

    def pairs(self) -> Iterator[tuple[str, str]]:
        return ((c, link.mailbox_id) for c, link in self._by_crm.items())

    def bases(self, crm_ids: Collection[str]) -> dict[str, Link]:
        return {c: self._by_crm[c] for c in crm_ids if c in self._by_crm}

    def __len__(self) -> int:
        return len(self._by_crm)


# ------------------------------------------------------------------------------------------ the rules


def is_tracked(item: Fields) -> bool:
    """A mailbox item the user asked to track: crmlinkstate 1 (pending) or the tracking category."""
    return item.get("@linkstate") == LINK_PENDING or bool(item.get("@tracked"))


def crm_delete_propagates(kind: Kind, meta: Mapping[str, object], now: datetime) -> bool:
    """Does a delete in Dynamics 365 delete the mailbox copy? (B.9; unknown facts keep the copy)."""
    if kind == Kind.CONTACTS:
        return meta.get("@owned_by_me", True) is False
    if kind == Kind.APPOINTMENTS:
        if not (meta.get("@owned_by_me") is True or meta.get("@is_organizer") is True):
            return False
        raw_end = meta.get("@end")
        if raw_end is None:
            return True  # no end: an open-ended series, present by definition
        end = parse_time(raw_end)
        return end is not None and end >= now
    return meta.get("@state") == "open"  # tasks: "current" = neither completed nor canceled


def mailbox_delete_propagates(kind: Kind) -> bool:
    """Does a delete in the mailbox delete the CRM row? Never for contacts (B.9)."""
    return kind != Kind.CONTACTS


def _meta(base: Fields | None, crm: Fields | None, mailbox: Fields | None) -> Fields:
    out: Fields = {k: base[k] for k in (*META_KEYS, WAITING) if base is not None and k in base}
    if mailbox is not None:
        out.update({k: mailbox[k] for k in META_KEYS if k != "@owned_by_me" and k in mailbox})
    if crm is not None:
        out.update({k: crm[k] for k in META_KEYS if k in crm})
    return out


def _edited(base: Fields | None, fields: Fields, names: list[str]) -> bool:
    if base is None:
        return True
    return any(canonical(fields.get(n)) != canonical(base.get(n)) for n in names)


def lookups(links: Mapping[str, Link], crm_changes: CrmChanges, mailbox_changes: MailboxChanges) -> Lookups:
    """The fetches that let :func:`plan` relink instead of duplicating (see :class:`Lookups`)."""
    table = Links.of(links)
    linked_mailbox = table.by_mailbox(list(mailbox_changes.changed))
    claimed = {
        item.get("@crmid")
        for mid, item in mailbox_changes.changed.items()
        if mid not in linked_mailbox and item.get("@crmid")
    }
    mailbox_items_for: tuple[str, ...] = ()
    if not mailbox_changes.full_resync:
        linked_crm = table.linked(list(crm_changes.changed))
        mailbox_items_for = tuple(
            sorted(cid for cid in crm_changes.changed if cid not in linked_crm and cid not in claimed)
        )
    crm_rows: list[str] = []
    if not crm_changes.full_resync:
        known = set(crm_changes.changed) | set(crm_changes.deleted) | set(crm_changes.out_of_scope)
        linked_claimed = table.linked([c for c in claimed if isinstance(c, str)])
        for mid in sorted(mailbox_changes.changed):
            item = mailbox_changes.changed[mid]
            cid = item.get("@crmid")
            if (
                mid not in linked_mailbox
                and isinstance(cid, str)
                and cid
                and cid not in linked_claimed
                and cid not in known
                and item.get("@linkstate") in (LINK_PENDING, LINK_TRACKED)
            ):
                crm_rows.append(cid)
    return Lookups(mailbox_items_for, tuple(sorted(set(crm_rows))))


# ------------------------------------------------------------------------------------------- planning


def plan(
    kind: Kind,
    links: Mapping[str, Link],
    crm_changes: CrmChanges,
    mailbox_changes: MailboxChanges,
    rules: Rules,
) -> Plan:
    """Plan one kind's run. ``links`` are the state DB's links of this kind (any keys; usually crm ids).

    Only the pairs something happened to are looked at (a pair neither side reported, still in scope, has
    nothing to do), and only their merge bases are read (see :class:`Links`)."""
    names = synced_fields(rules.directions)
    table = Links.of(links)
    by_mailbox = table.by_mailbox(list(mailbox_changes.changed))
    claims = {item.get("@crmid") for mid, item in mailbox_changes.changed.items() if mid not in by_mailbox}
    claimed_linked = table.linked([c for c in claims if isinstance(c, str) and c])

    relinks: dict[str, Link] = {}
    creates_in_crm: list[CreateInCrm] = []
    strays: list[Unlink] = []
    for mid in sorted(mailbox_changes.changed):
        if mid in by_mailbox or mid in mailbox_changes.deleted:
            continue
        item = mailbox_changes.changed[mid]
        cid = item.get("@crmid") or None
        state = item.get("@linkstate")
        if isinstance(cid, str):
            if cid in claimed_linked or cid in relinks:
                if state in (LINK_PENDING, LINK_TRACKED):  # a copy of a linked item: never a second link
                    strays.append(Unlink(None, mid, "another item is linked to this record"))
                continue
            claimed_and_gone = (
                cid in crm_changes.deleted
                or cid in crm_changes.out_of_scope
                or (crm_changes.full_resync and cid not in crm_changes.changed)
            )
            if cid in crm_changes.changed and not claimed_and_gone:
                relinks[cid] = Link(kind, cid, mid, None)
            elif claimed_and_gone and state in (LINK_PENDING, LINK_TRACKED):
                strays.append(Unlink(None, mid, "its record is no longer in scope"))
            # else: an unlinked orphan (crmlinkstate 0) or a record the engine has not looked up yet
            continue
        if is_tracked(item):
            fields = project(item, names)
            base = {**fields, **_meta(None, None, item), "@owned_by_me": True}
            creates_in_crm.append(CreateInCrm(mid, fields, base))

    ops: list[Operation] = []
    pairs = _pairs(table, crm_changes, mailbox_changes)
    touched = [
        cid
        for cid, mid in pairs.items()
        if cid in crm_changes.changed
        or cid in crm_changes.deleted
        or mid in mailbox_changes.changed
        or mid in mailbox_changes.deleted
    ]
    # The others only left the scope (an Unlink, whatever their base says) or have nothing to do.
    stored = table.bases(touched) if touched else {}
    for cid in sorted({*pairs, *relinks}):
        link = relinks.get(cid) or stored.get(cid) or Link(kind, cid, pairs[cid], None)
        ops.extend(_plan_pair(kind, link, cid in relinks, names, crm_changes, mailbox_changes, rules))

    for cid in sorted(crm_changes.changed):
        if cid in pairs or cid in relinks or cid in crm_changes.deleted or cid in crm_changes.out_of_scope:
            continue
        ops.append(_create_in_mailbox(cid, crm_changes.changed[cid], names))
    ops.extend(creates_in_crm)
    ops.extend(strays)
    return _guard(kind, ops, links, crm_changes, mailbox_changes, rules)


def only_created(
    links: Mapping[str, Link], crm_changes: CrmChanges, mailbox_changes: MailboxChanges
) -> list[str]:
    """The changed CRM rows whose one operation in :func:`plan` is a :class:`CreateInMailbox`: not linked,
    named by no mailbox item, neither deleted nor out of scope (most rows of an initial sync).

    Their creates depend on nothing else in the plan and count for no guard, so a caller may plan the other
    rows with :func:`plan` and these a page at a time with :func:`mailbox_creates`: the same operations,
    without holding all of them at once."""
    table = Links.of(links)
    claimed = {item.get("@crmid") for item in mailbox_changes.changed.values()}
    candidates = [
        cid
        for cid in crm_changes.changed
        if cid not in crm_changes.deleted and cid not in crm_changes.out_of_scope and cid not in claimed
    ]
    linked = table.linked(candidates)
    return sorted(cid for cid in candidates if cid not in linked)


def mailbox_creates(rows: Mapping[str, Fields], rules: Rules) -> list[CreateInMailbox]:
    """The creates :func:`plan` makes of rows :func:`only_created` named, in the same order (by CRM id)."""
    names = synced_fields(rules.directions)
    return [_create_in_mailbox(cid, rows[cid], names) for cid in sorted(rows)]


def _create_in_mailbox(cid: str, row: Fields, names: list[str]) -> CreateInMailbox:
    """A CRM row in scope that the mailbox lacks: every synced field, whatever its arrow (see the docstring)."""
    fields = project(row, names)
    return CreateInMailbox(cid, fields, {**fields, **_meta(None, row, None)})


def _pairs(table: Links, crm_changes: CrmChanges, mailbox_changes: MailboxChanges) -> dict[str, str]:
    """CRM id -> mailbox id of the links a side reported something about (all of them on a full CRM read,
    which unlinks what it did not list)."""
    if crm_changes.full_resync:
        return dict(table.pairs())
    pairs = table.linked({*crm_changes.changed, *crm_changes.deleted, *crm_changes.out_of_scope})
    mailbox = table.by_mailbox({*mailbox_changes.changed, *mailbox_changes.deleted})
    pairs.update({cid: mid for mid, cid in mailbox.items()})
    return pairs


def _plan_pair(
    kind: Kind,
    link: Link,
    relinked: bool,
    names: list[str],
    crm_changes: CrmChanges,
    mailbox_changes: MailboxChanges,
    rules: Rules,
) -> list[Operation]:
    cid, mid, base = link.crm_id, link.mailbox_id, link.base
    crm_deleted = cid in crm_changes.deleted
    crm_out = not crm_deleted and (
        cid in crm_changes.out_of_scope or (crm_changes.full_resync and cid not in crm_changes.changed)
    )
    crm_fields = None if crm_deleted or crm_out else crm_changes.changed.get(cid)
    mailbox_deleted = mid in mailbox_changes.deleted
    mailbox_fields = None if mailbox_deleted else mailbox_changes.changed.get(mid)
    ops: list[Operation] = [Relink(cid, mid)] if relinked else []

    if crm_deleted and mailbox_deleted:
        return [*ops, ForgetLink(cid, mid, "deleted on both sides")]

    if crm_deleted:
        meta = _meta(base, None, mailbox_fields)
        if not crm_delete_propagates(kind, meta, rules.now):
            return [*ops, Unlink(cid, mid, "deleted in Dynamics 365; the mailbox keeps its copy")]
        if mailbox_fields is not None and _worth_keeping(base, mailbox_fields, names):
            lost = FieldConflict(
                "*",
                _content(base, names),
                None,
                _whole(mailbox_fields),
                "crm",
                "delete_vs_edit",
                record_name(kind, mailbox_fields, base),
            )
            ops.append(RecordConflict(cid, mid, lost, "delete_table"))
        return [*ops, DeleteInMailbox(cid, mid, "deleted in Dynamics 365")]

    if mailbox_deleted:
        if crm_out:
            return [*ops, ForgetLink(cid, mid, "deleted in the mailbox after leaving the sync filter")]
        if not mailbox_delete_propagates(kind):
            ops.append(ForgetLink(cid, mid, "deleted in the mailbox; Dynamics 365 keeps the record"))
            if crm_fields is not None and _edited(base, crm_fields, names):
                fields = project(crm_fields, names)
                ops.append(CreateInMailbox(cid, fields, {**fields, **_meta(base, crm_fields, None)}))
            return ops
        if crm_fields is not None and _worth_keeping(base, crm_fields, names):
            lost = FieldConflict(
                "*",
                _content(base, names),
                _whole(crm_fields),
                None,
                "mailbox",
                "delete_vs_edit",
                record_name(kind, crm_fields, base),
            )
            ops.append(RecordConflict(cid, mid, lost, "delete_table"))
        return [*ops, DeleteInCrm(cid, mid, "deleted in the mailbox")]

    if crm_out:
        return [*ops, Unlink(cid, mid, "left the sync filter")]

    if crm_fields is None and mailbox_fields is None:
        return ops
    # A side that reported nothing is as the base says, except for fields left undecided ("ask"):
    # those still hold the values the conflict saw, so a later merge cannot overwrite them unrecorded.
    known: Fields = base if base is not None else {}
    unresolved: Mapping[str, list[Any]] = known.get(UNRESOLVED) or {}
    crm_view: Fields = (
        crm_fields if crm_fields is not None else {**known, **{f: v[0] for f, v in unresolved.items()}}
    )
    mailbox_view: Fields = (
        mailbox_fields
        if mailbox_fields is not None
        else {**known, **{f: v[1] for f, v in unresolved.items()}}
    )
    if crm_fields is None and base is None:
        crm_view = mailbox_view  # unknown CRM side and no base: nothing to compare, adopt what we see
    result = merge(
        base,
        crm_view,
        mailbox_view,
        rules.directions,
        rules.policy,
        crm_modified=crm_view.get("@modified"),
        mailbox_modified=mailbox_view.get("@modified"),
        undecided=frozenset(unresolved),
    )
    if result.conflicts:
        item = record_name(kind, crm_view, mailbox_view, base)
        ops.extend(RecordConflict(cid, mid, replace(c, item=item), rules.policy) for c in result.conflicts)
    if result.to_crm:
        ops.append(UpdateCrm(cid, mid, result.to_crm))
    if result.to_mailbox:
        ops.append(UpdateMailbox(cid, mid, result.to_mailbox))
    new_base = {**result.new_base, **_meta(base, crm_fields, mailbox_fields)}
    undecided = {c.field: [c.crm, c.mailbox] for c in result.conflicts if c.winner is None}
    if undecided:
        new_base[UNRESOLVED] = undecided
    if relinked or result.writes or new_base != base:
        ops.append(UpdateBase(cid, mid, new_base))
    return ops


def record_name(kind: Kind, *views: Fields | None) -> str:
    """A record's name for people (the conflict log): a contact's first and last name (else its e-mail
    address), an appointment's or a task's subject; the first view that has one wins; "" when none has."""
    for fields in views:
        if not fields:
            continue
        if kind == Kind.CONTACTS:
            parts = [str(fields[n]).strip() for n in ("firstname", "middlename", "lastname") if fields.get(n)]
            text = " ".join(p for p in parts if p) or str(fields.get("emailaddress1") or "").strip()
        else:
            text = str(fields.get("subject") or "").strip()
        if text:
            return text
    return ""


def _content(base: Fields | None, names: list[str]) -> Fields | None:
    return None if base is None else project(base, names)


def _worth_keeping(base: Fields | None, fields: Fields, names: list[str]) -> bool:
    """Edited since the base, or holding unsynced content (which no base can vouch for)."""
    unsynced = (v for k, v in fields.items() if not k.startswith("@") and k not in names)
    return _edited(base, fields, names) or any(v is not None for v in unsynced)


def _whole(fields: Fields) -> Fields:
    """Every field of a record that is about to be deleted, synced or not, for the conflict log."""
    return {k: canonical(v) for k, v in sorted(fields.items()) if not k.startswith("@")}


def _guard(
    kind: Kind,
    ops: list[Operation],
    links: Mapping[str, Link],
    crm_changes: CrmChanges,
    mailbox_changes: MailboxChanges,
    rules: Rules,
) -> Plan:
    """vdirsyncer's "storage emptied" guard, with the original's numbers: >10 items and >1/4 of a side."""
    crm_deletes = sum(isinstance(op, DeleteInCrm) for op in ops)
    mailbox_deletes = sum(isinstance(op, DeleteInMailbox) for op in ops)
    crm_total = max(crm_changes.total or 0, len(links))
    mailbox_total = max(mailbox_changes.total or 0, len(links))

    def too_many(deletes: int, total: int) -> bool:
        return deletes > rules.mass_delete_min and deletes > rules.mass_delete_fraction * total

    if rules.force or not (too_many(crm_deletes, crm_total) or too_many(mailbox_deletes, mailbox_total)):
        return Plan(kind, tuple(ops))
    if not rules.decline_deletes:
        return Plan(kind, (), MassDelete(crm_deletes, mailbox_deletes, crm_total, mailbox_total))
    kept: list[Operation] = []
    for op in ops:
        if isinstance(op, DeleteInMailbox):
            kept.append(Unlink(op.crm_id, op.mailbox_id, "delete declined after a mass-delete warning"))
        elif isinstance(op, DeleteInCrm):
            kept.append(ForgetLink(op.crm_id, op.mailbox_id, "delete declined after a mass-delete warning"))
        elif isinstance(op, RecordConflict) and op.conflict.reason == "delete_vs_edit":
            continue  # the delete did not happen, so the edit was not lost
        else:
            kept.append(op)
    return Plan(kind, tuple(kept))
