"""What the sync engine needs from a mailbox, whatever speaks to it (EWS, Graph, POP3/SMTP).

The engine sees one :class:`MailboxStore` per bound mailbox. Backends differ a lot in what they can do
(POP3 can only hand out Inbox mail; Exchange has contacts, calendars, tasks, named properties and
categories), so every backend declares :class:`Capabilities` and raises :class:`NotSupported` for the rest;
the engine reads the capabilities first and never relies on catching that error for control flow.

Items are plain dataclasses (no Qt, no protocol objects) so the planner can compare them and the state DB
can store what it needs. Every linked item carries :class:`NamedProps` like the original add-in's MAPI
named properties (reference B.10), so links survive a lost state DB.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar, runtime_checkable

from wizard.errors import D365SyncError, Severity

# --------------------------------------------------------------------------------------------------
# Constants the original product used (reference B.10)

#: MAPI property set PS_PUBLIC_STRINGS; the add-in's named properties live in it.
PS_PUBLIC_STRINGS = "00020329-0000-0000-C000-000000000046"
#: The Exchange category that marks an item the user tracked by hand (server-side sync's category tracking).
TRACKED_CATEGORY = "Tracked to Dynamics 365"
#: Names of the named properties, exactly as the original stamped them.
PROP_CRMID = "crmid"
PROP_CRMLINKSTATE = "crmlinkstate"
PROP_CRMORGID = "crmorgid"
PROP_CRMREGARDINGOBJECTID = "crmregardingobjectid"
PROP_CRMREGARDINGOBJECTTYPECODE = "crmregardingobjecttypecode"
PROP_CRMOWNERSYSTEMUSERID = "crmownersystemuserid"
NAMED_PROP_NAMES: tuple[str, ...] = (
    PROP_CRMID,
    PROP_CRMLINKSTATE,
    PROP_CRMORGID,
    PROP_CRMREGARDINGOBJECTID,
    PROP_CRMREGARDINGOBJECTTYPECODE,
    PROP_CRMOWNERSYSTEMUSERID,
)


class FolderKind(enum.Enum):
    """The well-known folders the product touches."""

    INBOX = "inbox"
    SENT_ITEMS = "sentitems"
    DELETED_ITEMS = "deleteditems"
    CONTACTS = "contacts"
    CALENDAR = "calendar"
    TASKS = "tasks"


MAIL_FOLDERS = frozenset({FolderKind.INBOX, FolderKind.SENT_ITEMS, FolderKind.DELETED_ITEMS})

#: changes per listing page the engine asks ``MailboxStore.changes`` for: ids and change keys only (the items
#: are read separately), so the most EWS allows (MaxChangesReturned 512) costs little memory and saves requests
LISTING_PAGE = 512


class LinkState(enum.IntEnum):
    """``crmLinkState``: 0 = was tracked once, not any more; 1 = tracking pending; 2 = tracked."""

    NOT_TRACKED = 0
    PENDING = 1
    TRACKED = 2


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the engine plans only what is declared here."""

    #: folders that can be read (``changes``/``get_many``)
    readable: frozenset[FolderKind]
    #: folders where create/update/delete work
    writable: frozenset[FolderKind] = frozenset()
    #: ``send`` works
    can_send: bool = False
    #: a sent message appears in Sent Items (else the engine must not look for it there)
    sent_items_copy: bool = False
    #: ``set_named_props`` / ``find_by_crmid`` / ``scan_links`` work
    named_properties: bool = False
    #: categories are stored on the server
    categories: bool = False
    #: items can be moved between folders on the server (deletes go to Deleted Items)
    server_side_moves: bool = False
    #: ``delete_many`` works at all
    server_side_deletes: bool = False
    #: the root folder can carry the synchronizing organization's id
    root_folder_props: bool = False
    #: updates carry a change key that the server checks (optimistic concurrency)
    change_keys: bool = False

    def can_read(self, kind: FolderKind) -> bool:
        return kind in self.readable

    def can_write(self, kind: FolderKind) -> bool:
        return kind in self.writable

    @property
    def contacts(self) -> bool:
        return FolderKind.CONTACTS in self.readable

    @property
    def appointments(self) -> bool:
        return FolderKind.CALENDAR in self.readable

    @property
    def tasks(self) -> bool:
        return FolderKind.TASKS in self.readable


@dataclass(frozen=True)
class Folder:
    kind: FolderKind
    id: str
    display_name: str
    total_count: int | None = None


# --------------------------------------------------------------------------------------------------
# Items

#: (display name, address); the name may be "".
Address = tuple[str, str]


@dataclass
class NamedProps:
    """The add-in's named properties on one item (all optional; ``None`` = not stamped)."""

    crmid: str | None = None
    crmlinkstate: LinkState | None = None
    crmorgid: str | None = None
    crmregardingobjectid: str | None = None
    crmregardingobjecttypecode: int | None = None
    crmownersystemuserid: str | None = None

    @property
    def is_linked(self) -> bool:
        return bool(self.crmid) and self.crmlinkstate == LinkState.TRACKED

    def as_dict(self) -> dict[str, str]:
        """String form, the way the properties are stored on the server (only stamped ones)."""
        out: dict[str, str] = {}
        for name in NAMED_PROP_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = str(int(value)) if isinstance(value, int) else str(value)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> NamedProps:
        """Inverse of :meth:`as_dict`; tolerant of case (``crmLinkState``) and junk numbers."""
        lowered = {k.lower(): v for k, v in values.items()}

        def number(name: str) -> int | None:
            raw = lowered.get(name)
            try:
                return int(raw) if raw not in (None, "") else None
            except ValueError:
                return None

        state = number(PROP_CRMLINKSTATE)
        return cls(
            crmid=lowered.get(PROP_CRMID) or None,
            crmlinkstate=LinkState(state) if state in (0, 1, 2) else None,
            crmorgid=lowered.get(PROP_CRMORGID) or None,
            crmregardingobjectid=lowered.get(PROP_CRMREGARDINGOBJECTID) or None,
            crmregardingobjecttypecode=number(PROP_CRMREGARDINGOBJECTTYPECODE),
            crmownersystemuserid=lowered.get(PROP_CRMOWNERSYSTEMUSERID) or None,
        )


@dataclass
class Attachment:
    """A file attached to an item. ``content`` is loaded, or ``loader`` fetches it on demand."""

    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    content: bytes | None = field(default=None, repr=False)
    loader: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    content_id: str | None = None
    is_inline: bool = False

    def data(self) -> bytes:
        """The bytes, loading them once if they were left on the server."""
        if self.content is None:
            if self.loader is None:
                raise AttachmentOmitted(f"attachment {self.name!r} was not downloaded")
            self.content = self.loader()
        return self.content


@dataclass
class MailItem:
    """One email as the engine sees it (received or sent)."""

    id: str
    folder: FolderKind = FolderKind.INBOX
    change_key: str | None = None
    subject: str = ""
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    received: datetime | None = None
    sent: datetime | None = None
    message_id: str = ""
    #: True when the message had no Message-ID and ``message_id`` was derived from its bytes
    message_id_synthetic: bool = False
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    #: Outlook's Thread-Index / Exchange ConversationIndex, base64 as in the header
    conversation_index: str | None = None
    conversation_topic: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    #: attachments were left out (size limit); ``attachments`` then lists none or only some
    attachments_omitted: bool = False
    #: the body was cut at the size limit
    truncated: bool = False
    size: int | None = None
    #: all header fields in order, decoded (duplicates kept; readers take the first)
    headers: list[tuple[str, str]] = field(default_factory=list, repr=False)
    categories: list[str] = field(default_factory=list)
    is_read: bool = False
    importance: str = "normal"
    props: NamedProps = field(default_factory=NamedProps)
    #: what was wrong with the message (parser defects, charset guesses), for the log and the user
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first header with this name (case-insensitive), the way the whole product reads headers."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass
class PhysicalAddress:
    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass
class ContactItem:
    id: str
    change_key: str | None = None
    folder: FolderKind = FolderKind.CONTACTS
    given_name: str = ""
    surname: str = ""
    display_name: str = ""
    company: str = ""
    department: str = ""
    job_title: str = ""
    #: email1..email3, in order
    emails: list[str] = field(default_factory=list)
    #: keys: business, business2, mobile, home, fax
    phones: dict[str, str] = field(default_factory=dict)
    business_address: PhysicalAddress | None = None
    home_address: PhysicalAddress | None = None
    web_page: str = ""
    birthday: date | None = None
    notes: str = ""
    categories: list[str] = field(default_factory=list)
    last_modified: datetime | None = None
    props: NamedProps = field(default_factory=NamedProps)


class RecurrencePattern(enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    ABSOLUTE_MONTHLY = "absolute_monthly"
    RELATIVE_MONTHLY = "relative_monthly"
    ABSOLUTE_YEARLY = "absolute_yearly"
    RELATIVE_YEARLY = "relative_yearly"


#: how many occurrences an open-ended series is expanded to at most (Exchange caps CalendarView too)
MAX_EXPANSION = 999


@dataclass(frozen=True)
class ModifiedOccurrence:
    """One changed occurrence: its original date, its own times and what differs from the series.

    ``subject`` / ``location`` are None when the occurrence keeps the series' value.
    """

    original: date
    start: datetime | None = None
    end: datetime | None = None
    subject: str | None = None
    location: str | None = None


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEK_INDEX_NAMES = ("first", "second", "third", "fourth", "last")


@dataclass
class Recurrence:
    """A recurring appointment's pattern and range (the shape Exchange and Dataverse share).

    ``weekdays`` are 0 = Monday .. 6 = Sunday; ``week_index`` 0 = first .. 4 = last; ``month`` 1..12.
    The range ends at ``end_date``, after ``occurrences``, or never (both ``None``).
    """

    pattern: RecurrencePattern
    start_date: date
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    day_of_month: int | None = None
    week_index: int | None = None
    month: int | None = None
    end_date: date | None = None
    occurrences: int | None = None
    first_day_of_week: int = 0
    #: original (pattern) dates of occurrences deleted from the series, sorted
    deleted_occurrences: tuple[date, ...] = ()
    #: occurrences changed on their own (an Exchange exception / a Dataverse exception instance)
    modified_occurrences: tuple[ModifiedOccurrence, ...] = ()

    def dates(self, *, limit: int = MAX_EXPANSION, until: date | None = None) -> list[date]:
        """The pattern's occurrence dates (deleted ones included: they keep their instance index).

        ``InstanceIndex`` in EWS and the instances of a Dataverse series count from the first of these.
        A series without an end stops after ``limit`` dates or at ``until``.
        """
        return expand_dates(self, limit=limit, until=until)

    def describe(self) -> str:
        """A sentence like Outlook's: "every 2 weeks on Monday, Wednesday from 2024-01-01, 10 times"."""
        days = ", ".join(WEEKDAY_NAMES[d] for d in self.weekdays)
        every = "every" if self.interval == 1 else f"every {self.interval}"
        unit = {
            RecurrencePattern.DAILY: "day",
            RecurrencePattern.WEEKLY: "week",
            RecurrencePattern.ABSOLUTE_MONTHLY: "month",
            RecurrencePattern.RELATIVE_MONTHLY: "month",
            RecurrencePattern.ABSOLUTE_YEARLY: "year",
            RecurrencePattern.RELATIVE_YEARLY: "year",
        }[self.pattern]
        text = f"{every} {unit}" if self.interval == 1 else f"{every} {unit}s"
        if self.pattern is RecurrencePattern.WEEKLY and days:
            text += f" on {days}"
        elif self.pattern in (RecurrencePattern.ABSOLUTE_MONTHLY, RecurrencePattern.ABSOLUTE_YEARLY):
            if self.month:
                text += f" in month {self.month}"
            if self.day_of_month:
                text += f" on day {self.day_of_month}"
        elif self.pattern in (RecurrencePattern.RELATIVE_MONTHLY, RecurrencePattern.RELATIVE_YEARLY):
            index = WEEK_INDEX_NAMES[self.week_index] if self.week_index is not None else "first"
            text += f" on the {index} {days or 'day'}"
            if self.month:
                text += f" of month {self.month}"
        text += f" from {self.start_date.isoformat()}"
        if self.end_date is not None:
            text += f" until {self.end_date.isoformat()}"
        elif self.occurrences is not None:
            text += f", {self.occurrences} times"
        return text


def pattern_key(rec: Recurrence) -> tuple[object, ...]:
    """What makes two patterns the same series (the week start only matters for every-N-weeks)."""
    weekly_n = rec.pattern is RecurrencePattern.WEEKLY and rec.interval > 1
    return (
        rec.pattern,
        rec.interval,
        tuple(sorted(rec.weekdays)),
        rec.day_of_month,
        rec.week_index,
        rec.month,
        rec.start_date,
        rec.end_date,
        rec.occurrences,
        rec.first_day_of_week if weekly_n else 0,
    )


@dataclass
class OccurrencePlan:
    """How to bring a series' exceptions from what the server has to ``target``'s (see :func:`occurrence_plan`)."""

    #: send the pattern again (the server then drops every exception; the wanted ones are applied after)
    reset: bool
    #: original dates of occurrences to delete (cancel)
    deletes: list[date] = field(default_factory=list)
    #: changes to apply to single occurrences (the instance on ``change.original`` becomes an exception)
    modifies: list[ModifiedOccurrence] = field(default_factory=list)
    #: wanted exceptions on dates the pattern does not produce (left out, logged)
    skipped: list[date] = field(default_factory=list)


def occurrence_plan(target: Recurrence, current: Recurrence | None) -> OccurrencePlan:
    """The occurrence writes that give a master ``target``'s deleted and modified occurrences.

    ``current`` is the series as the server has it (None: a new series without exceptions). Neither EWS nor
    Graph can restore a deleted occurrence or undo an exception: either, or a new pattern, means sending the
    pattern again (``reset``), which drops all exceptions, and applying the wanted ones from scratch. The plan
    names occurrences by original date; EWS turns a date into its InstanceIndex (:meth:`Recurrence.dates`),
    Graph into an instance id (``/instances``).
    """
    reset = current is not None and pattern_key(current) != pattern_key(target)
    have_deleted: set[date] = set()
    have_modified: dict[date, ModifiedOccurrence] = {}
    if current is not None and not reset:
        have_deleted = set(current.deleted_occurrences)
        have_modified = {m.original: m for m in current.modified_occurrences}
        want_deleted = set(target.deleted_occurrences)
        want_modified = {m.original for m in target.modified_occurrences}
        if not have_deleted <= want_deleted or not set(have_modified) <= want_modified | want_deleted:
            reset, have_deleted, have_modified = True, set(), {}
    wanted = sorted({*target.deleted_occurrences, *(m.original for m in target.modified_occurrences)})
    produced = set(target.dates(until=wanted[-1])) if wanted else set()
    plan = OccurrencePlan(reset)
    deleted = set(target.deleted_occurrences)
    for day in sorted(deleted - have_deleted):
        (plan.deletes if day in produced else plan.skipped).append(day)
    for change in sorted(target.modified_occurrences, key=lambda m: m.original):
        if change.original in deleted or have_modified.get(change.original) == change:
            continue
        if change.original in produced:
            plan.modifies.append(change)
        else:
            plan.skipped.append(change.original)
    return plan


def _month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _nth_in_month(year: int, month: int, weekdays: tuple[int, ...], week_index: int) -> date | None:
    """The first..fourth (0..3) or last (4) day of ``month`` that falls on one of ``weekdays``.

    As in Outlook, a set of days counts as one: "the second weekday" is the 2nd Monday-to-Friday day.
    """
    days = [
        date(year, month, d)
        for d in range(1, _month_days(year, month) + 1)
        if date(year, month, d).weekday() in (weekdays or tuple(range(7)))
    ]
    if not days:
        return None
    if week_index >= 4:
        return days[-1]
    return days[week_index] if week_index < len(days) else None


def _candidates(rec: Recurrence) -> Iterator[date]:
    """Pattern dates on or after the start date, in order, without the range's end."""
    start, step = rec.start_date, max(1, rec.interval)
    pattern = rec.pattern
    if pattern is RecurrencePattern.DAILY:
        day = start
        while True:
            yield day
            day = day.fromordinal(day.toordinal() + step)
    elif pattern is RecurrencePattern.WEEKLY:
        weekdays = set(rec.weekdays or (start.weekday(),))
        # weeks begin on first_day_of_week; "every N weeks" counts from the week holding the start date
        week = start.fromordinal(start.toordinal() - (start.weekday() - rec.first_day_of_week) % 7)
        while True:
            for offset in range(7):
                day = week.fromordinal(week.toordinal() + offset)
                if day >= start and day.weekday() in weekdays:
                    yield day
            week = week.fromordinal(week.toordinal() + 7 * step)
    else:
        yearly = pattern in (RecurrencePattern.ABSOLUTE_YEARLY, RecurrencePattern.RELATIVE_YEARLY)
        year, month = start.year, (rec.month or start.month) if yearly else start.month
        months = 12 * step if yearly else step
        while year <= 9999:
            if pattern in (RecurrencePattern.ABSOLUTE_MONTHLY, RecurrencePattern.ABSOLUTE_YEARLY):
                wanted = rec.day_of_month or start.day
                day_or_none: date | None = date(year, month, min(wanted, _month_days(year, month)))
            else:
                day_or_none = _nth_in_month(year, month, rec.weekdays, rec.week_index or 0)
            if day_or_none is not None and day_or_none >= start:
                yield day_or_none
            month += months
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def expand_dates(rec: Recurrence, *, limit: int = MAX_EXPANSION, until: date | None = None) -> list[date]:
    """See :meth:`Recurrence.dates`."""
    out: list[date] = []
    count = rec.occurrences if rec.occurrences is not None else limit
    last = rec.end_date
    if until is not None and (last is None or until < last):
        last = until
    for day in _candidates(rec):
        if len(out) >= min(count, limit) or (last is not None and day > last):
            break
        out.append(day)
    return out


@dataclass
class AppointmentItem:
    id: str
    change_key: str | None = None
    folder: FolderKind = FolderKind.CALENDAR
    subject: str = ""
    start: datetime | None = None
    end: datetime | None = None
    is_all_day: bool = False
    location: str = ""
    body: str = ""
    organizer: Address | None = None
    required_attendees: list[Address] = field(default_factory=list)
    optional_attendees: list[Address] = field(default_factory=list)
    #: set on a recurring master; occurrences are not separate items
    recurrence: Recurrence | None = None
    #: iCalendar UID (the same across organizer and attendees)
    uid: str | None = None
    is_cancelled: bool = False
    #: 0 free, 1 tentative, 2 busy, 3 out of office (Dataverse/Outlook numbering)
    show_as: int = 2
    reminder_minutes: int | None = None
    categories: list[str] = field(default_factory=list)
    last_modified: datetime | None = None
    props: NamedProps = field(default_factory=NamedProps)


class TaskStatus(enum.Enum):
    NOT_STARTED = "notstarted"
    IN_PROGRESS = "inprogress"
    COMPLETED = "completed"
    WAITING = "waitingonothers"
    DEFERRED = "deferred"


@dataclass
class TaskItem:
    id: str
    change_key: str | None = None
    folder: FolderKind = FolderKind.TASKS
    subject: str = ""
    body: str = ""
    start: date | None = None
    due: date | None = None
    completed: datetime | None = None
    status: TaskStatus = TaskStatus.NOT_STARTED
    percent_complete: int = 0
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    last_modified: datetime | None = None
    props: NamedProps = field(default_factory=NamedProps)


Item = MailItem | ContactItem | AppointmentItem | TaskItem
ItemT = TypeVar("ItemT", MailItem, ContactItem, AppointmentItem, TaskItem)
T = TypeVar("T")


@dataclass
class OutgoingMessage:
    """A message the product sends (CRM "Pending Send" emails)."""

    sender: Address
    to: list[Address]
    subject: str
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    body_text: str | None = None
    body_html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    #: None = the backend makes one; either way ``send`` returns the one used
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    #: extra header fields (e.g. X-... correlation headers); never From/To/Subject/Message-ID
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    importance: str = "normal"
    date: datetime | None = None

    def recipients(self) -> list[str]:
        return [addr for _, addr in (*self.to, *self.cc, *self.bcc)]


# --------------------------------------------------------------------------------------------------
# Change detection and batch results


@dataclass
class ChangeBatch:
    """One page of changes in a folder since a cursor.

    Persist ``cursor`` only after the page was processed; passing it back resumes after this page.
    ``full_resync`` means the old cursor was unusable (expired, lost, corrupt) and ``created`` lists
    *everything* in the folder: the engine must reconcile against its state, not create duplicates.
    ``more`` is True when another page follows in the same iteration.
    ``change_keys`` maps created/updated ids to the change key the server listed with them (EWS
    SyncFolderItems answers ItemId with ChangeKey), where the backend knows one: an item whose change key
    equals the one the engine stored after its own write has not changed since, and needs no read.
    ``notice`` is a user text the kind reports with its result (why a full re-read happened, when the
    reason is worth telling: a stored cursor that led to another server).
    """

    kind: FolderKind
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cursor: str = ""
    full_resync: bool = False
    more: bool = False
    change_keys: dict[str, str] = field(default_factory=dict)
    notice: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.created or self.updated or self.deleted)


@dataclass
class ItemResult(Generic[T]):
    """The outcome for one item of a batch call: a value or an error, never both."""

    id: str | None
    value: T | None = None
    error: MailboxError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------------------------------
# Errors


class MailboxError(D365SyncError):
    """Base of every failure talking to a mailbox."""

    severity = Severity.ACCOUNT


class AuthenticationFailed(MailboxError):
    """The server refused the credentials."""

    severity = Severity.ACCOUNT
    retriable = False


class ServerUnreachable(MailboxError):
    """No connection (DNS, refused, timeout, dropped)."""

    severity = Severity.ACCOUNT
    retriable = True


class TLSFailure(MailboxError):
    """TLS could not be set up or the certificate was not trusted; never retried silently."""

    severity = Severity.ACCOUNT
    retriable = False


class Throttled(MailboxError):
    """The server asked us to slow down; ``retry_after`` seconds if it said how long."""

    severity = Severity.ACCOUNT
    retriable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        user_text: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        super().__init__(message, user_text=user_text, severity=severity)
        self.retry_after = retry_after


class ProtocolError(MailboxError):
    """The server answered something the protocol does not allow; usually a server-side hiccup."""

    severity = Severity.ACCOUNT
    retriable = True


class AutodiscoverRedirect(MailboxError):
    """Autodiscover was sent on to a server outside the address's own domain that nobody confirmed.

    Nothing was sent there. ``host`` is the server named by the redirect: the wizard asks the user whether to
    trust it, the command line requires ``--allow-redirect HOST``; either way the next try passes the host in
    the binding's ``autodiscover_redirects``.
    """

    severity = Severity.ACCOUNT
    retriable = False

    def __init__(self, message: str, *, host: str, url: str, user_text: str | None = None) -> None:
        super().__init__(message, user_text=user_text)
        self.host = host
        self.url = url


class NotSupported(MailboxError):
    """This backend cannot do that (e.g. contacts over POP3); see :class:`Capabilities`."""

    severity = Severity.KIND
    retriable = False


class ItemNotFound(MailboxError):
    """The item is gone (deleted on the server since we listed it)."""

    severity = Severity.ITEM
    retriable = False


class Conflict(MailboxError):
    """The item changed on the server since we read it (stale change key); re-read and merge."""

    severity = Severity.ITEM
    retriable = True


class MalformedMessage(MailboxError):
    """A message that cannot be read at all (e.g. empty); damaged but readable mail is parsed instead."""

    severity = Severity.ITEM
    retriable = False


class AttachmentOmitted(MailboxError):
    """The attachment's bytes were left out (size limit) and cannot be loaded."""

    severity = Severity.ITEM
    retriable = False


def not_supported(backend: str, what: str) -> NotSupported:
    """The standard error for an operation a backend does not declare."""
    return NotSupported(
        f"{backend} does not support {what}",
        user_text=f"This mailbox type ({backend}) cannot {what}.",
    )


# --------------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class MailboxStore(Protocol):
    """One bound mailbox. Not thread-safe: use one per worker thread.

    Batch calls return one :class:`ItemResult` per input, in input order; an item-level failure
    (not found, conflict, malformed) is reported there, while account-level failures (auth, network,
    TLS, throttling) raise.
    """

    @property
    def capabilities(self) -> Capabilities: ...

    def folder(self, kind: FolderKind) -> Folder:
        """The well-known folder (raises NotSupported when the backend has none)."""
        ...

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        """Changes since ``cursor`` (None = first sync: everything is "created"), page by page.

        Always yields at least one batch (possibly empty) so the caller gets a cursor to store.
        """
        ...

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]: ...

    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        """Create items; the results carry the server's id and change key."""
        ...

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        """Update items; each item's ``change_key`` must be current, else its result is a Conflict."""
        ...

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        """Delete items: to Deleted Items unless ``permanently``."""
        ...

    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        """Stamp named properties on existing items; results carry the new change keys."""
        ...

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        """Items carrying ``crmid`` (relinking after a lost state DB); normally zero or one."""
        ...

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        """(item id, props) of every item in the folder that carries a ``crmid``."""
        ...

    def root_sync_org(self) -> str | None:
        """The synchronizing organization's id stamped on the mailbox root, or None."""
        ...

    def set_root_sync_org(self, org_id: str | None) -> None: ...

    def send(self, message: OutgoingMessage) -> str:
        """Send; returns the Message-ID used. A copy lands in Sent Items where the backend has one."""
        ...

    def check(self) -> None:
        """Connect and authenticate once (the wizard's Test button); raises the typed MailboxError."""
        ...

    def close(self) -> None: ...
