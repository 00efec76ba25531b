"""Exchange Online through Microsoft Graph v1.0: mail, contacts, calendar and To Do tasks.

Built on the product's own OData core (:class:`wizard.odata.ODataSession`: TLS 1.2+, bearer tokens with
one forced refresh on 401, 429/503 with Retry-After through the injected retry policy, typed errors)
rather than msgraph-sdk, which would bring a second, asynchronous HTTP stack (httpx + kiota +
azure-identity) into a synchronous engine. docs/mailbox-graph.md describes the choices; in short:

* **Changes** are Graph delta rounds: ``/me/mailFolders/{wellKnown}/messages/delta``,
  ``/me/contacts/delta``, ``/me/calendarView/delta`` (the only event delta in v1.0; it needs a time
  window, so appointments outside ``calendar_past_days``/``calendar_future_days`` are not seen) and
  ``/me/todo/lists/{default}/tasks/delta``. The cursor holds the nextLink or deltaLink; a 410 (or
  ``syncStateNotFound``/``resyncRequired``) restarts the round with ``full_resync``. Graph does not say
  whether a row is new, so a row counts as *created* when its ``createdDateTime`` is not older than the
  start of the previous round (server clock, from the ``Date`` header).
* **Named properties** are single-value extended properties ``String {PS_PUBLIC_STRINGS} Name crmid``
  etc. on messages, contacts and events (``$expand`` to read, ``$filter=.../Any(...)`` to find) and on the
  mailbox root (``/me/mailFolders/msgfolderroot``). To Do tasks have no extended properties in v1.0: they
  carry the same names in an open extension ``com.d365sync.crm``, and tasks are searched client-side.
* **No invitations.** Graph sends meeting requests as soon as an event with ``attendees`` is created or
  changed, and v1.0 has no way to save a meeting without sending. Attendees are therefore never written
  as Graph attendees: they are kept in the extended property ``String {PS_PUBLIC_STRINGS} Name
  d365attendees`` (JSON) and read back from there, so CRM appointments land as the organizer's own
  appointments, as the original client's "save without sending" did.
* **Recurring series**: Graph v1.0 lists no exceptions on the master, so a master's deleted and modified
  occurrences are read from ``/me/events/{id}/instances`` over the pattern's span (a pattern date without an
  instance was deleted; ``type: exception`` was modified) and written by DELETE / PATCH of the instance.
  A new recurrence drops all exceptions, so updates send ``recurrence`` only when it must change.
* **Writes** go through JSON ``$batch`` (20 requests each); a throttled request inside a batch is
  retried alone after its Retry-After, within the same retry budget as whole requests.
* **Sending** posts our own MIME (base64, ``text/plain``) to ``/me/sendMail`` so Message-ID,
  In-Reply-To/References and correlation headers are ours; Graph keeps a copy in Sent Items.

Secrets (tokens) are never logged or shown: the session only ever puts them in the Authorization header.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from email.utils import formataddr, parsedate_to_datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wizard.errors import Severity
from wizard.mailbox.base import (
    NAMED_PROP_NAMES,
    PS_PUBLIC_STRINGS,
    AppointmentItem,
    AuthenticationFailed,
    Capabilities,
    ChangeBatch,
    Conflict,
    ContactItem,
    Folder,
    FolderKind,
    Item,
    ItemNotFound,
    ItemResult,
    MailboxError,
    ModifiedOccurrence,
    NamedProps,
    OccurrencePlan,
    OutgoingMessage,
    PhysicalAddress,
    ProtocolError,
    Recurrence,
    RecurrencePattern,
    ServerUnreachable,
    TaskItem,
    TaskStatus,
    Throttled,
    TLSFailure,
    not_supported,
    occurrence_plan,
)
from wizard.mailbox.message import build_mime, parse_message, render
from wizard.odata.errors import (
    AuthError,
    InsecureURLError,
    InvalidURLError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    ODataError,
    PreconditionFailedError,
    PrivilegeError,
    ServerError,
    ThrottledError,
    TLSError,
    error_for_status,
)
from wizard.odata.retry import FaultTolerance, RetryPolicy, Sleeper, parse_retry_after
from wizard.odata.session import ODataSession, TokenProvider, encode_query

log = logging.getLogger(__name__)

BACKEND = "Exchange Online (Microsoft Graph)"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
CURSOR_PREFIX = "graph:v1:"
MAX_BATCH = 20
MAX_PAGE = 1000
#: the open extension that carries the named properties on To Do tasks
TASK_EXTENSION = "com.d365sync.crm"
PROP_ATTENDEES = "d365attendees"
PROP_BUSINESS_FAX = "String 0x3A24"  # PidTagBusinessFaxNumber: Graph's contact has no fax property
RESYNC_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid", "invaliddeltatoken"})
T = TypeVar("T")


def prop_id(name: str) -> str:
    """The Graph id of one of the add-in's named properties."""
    return f"String {{{PS_PUBLIC_STRINGS}}} Name {name}"


NAMED_IDS = {name: prop_id(name) for name in NAMED_PROP_NAMES}
ATTENDEES_ID = prop_id(PROP_ATTENDEES)


class SilentSignIn(Protocol):
    """What :class:`GraphTokenProvider` needs from :class:`wizard.crm.auth.SignIn` (kept structural so the
    mailbox layer does not import the CRM layer)."""

    def silent_token(self, scopes: list[str], username: str, *, force_refresh: bool = False) -> str: ...


class GraphTokenProvider:
    """Bearer tokens for Graph from the user's MSAL sign-in: scope ``<graph resource>/.default``.

    On the real cloud the resource is ``https://graph.microsoft.com``; the sandbox authority issues tokens
    whose audience is the stand-in's origin, which is what ``resource_of(graph_url)`` gives.
    """

    def __init__(self, sign_in: SilentSignIn, graph_url: str, username: str) -> None:
        self._sign_in = sign_in
        self.scopes = [f"{resource_of(graph_url)}/.default"]
        self.username = username

    def __repr__(self) -> str:
        return f"GraphTokenProvider(scopes={self.scopes!r}, username={self.username!r})"

    def token(self, *, force_refresh: bool = False) -> str:
        return self._sign_in.silent_token(self.scopes, self.username, force_refresh=force_refresh)


def resource_of(graph_url: str) -> str:
    """``https://graph.microsoft.com/v1.0`` -> ``https://graph.microsoft.com`` (the token audience)."""
    root = graph_url.rstrip("/")
    return root[: -len("/v1.0")] if root.lower().endswith("/v1.0") else root


@dataclass(frozen=True)
class GraphSettings:
    """Where and how to reach one Exchange Online mailbox. No secrets: the token provider has them."""

    #: the mailbox's primary SMTP address (must be the signed-in user's ``mail``)
    address: str
    #: the Graph service root including the version
    graph_url: str = GRAPH_URL
    #: PEM file of CAs to trust instead of the system store (company proxy CA, the sandbox CA)
    ca_file: str | None = None
    timeout: float = 60.0
    #: the most one operation waits in total for a throttled or busy service
    max_wait: float = 60.0
    #: the calendarView delta window, relative to now
    calendar_past_days: int = 365
    calendar_future_days: int = 730
    #: IANA zone appointment times are shown in; None = UTC (instants are equal either way)
    timezone: str | None = None
    #: requests per JSON $batch (Graph allows at most 20)
    batch_size: int = MAX_BATCH
    #: messages larger than this are parsed partially (no attachments)
    size_limit: int = 25 * 1024 * 1024


# -- errors -----------------------------------------------------------------------------------------


def translate(exc: BaseException, what: str) -> MailboxError:
    """The mailbox error for a failure of the OData layer (or a configuration error)."""
    if isinstance(exc, MailboxError):
        return exc
    server = "Exchange Online (Microsoft Graph)"
    if isinstance(exc, TLSError | InsecureURLError):
        return TLSFailure(str(exc), user_text=getattr(exc, "user_text", None) or f"TLS to {server} failed.")
    if isinstance(exc, InvalidURLError):
        return MailboxError(str(exc), user_text=exc.user_text, severity=Severity.FATAL)
    if isinstance(exc, AuthError):
        return AuthenticationFailed(
            f"{what}: {exc.message}",
            user_text=f"{server} did not accept the sign-in ({exc.code or 'HTTP 401'}). "
            "Sign in again in the Configuration Wizard (Mailbox page).",
        )
    if isinstance(exc, ThrottledError):
        return Throttled(
            f"{what}: {exc.message}",
            retry_after=exc.retry_after,
            user_text=f"{server} is limiting requests; synchronization continues automatically later.",
        )
    if isinstance(exc, NetworkError):
        return ServerUnreachable(f"{what}: {exc.message}", user_text=exc.user_text)
    if isinstance(exc, NotFoundError):
        return ItemNotFound(f"{what}: {exc.message}", user_text="The item no longer exists in the mailbox.")
    if isinstance(exc, PreconditionFailedError):
        return Conflict(
            f"{what}: {exc.message}", user_text="The item changed in the mailbox; it is read again."
        )
    if isinstance(exc, ODataError) and exc.code.lower() in ("errorinvalididmalformed", "erroritemnotfound"):
        return ItemNotFound(f"{what}: {exc.message}", user_text="The item no longer exists in the mailbox.")
    if isinstance(exc, ODataError) and exc.code == "MailboxNotEnabledForRESTAPI":
        return MailboxError(
            f"{what}: {exc.message}",
            user_text="This mailbox is not in Exchange Online (or is inactive); use the Exchange (EWS) option.",
            severity=Severity.ACCOUNT,
        )
    if isinstance(exc, PrivilegeError):
        return MailboxError(
            f"{what}: {exc.message}",
            user_text=f"The sign-in has no permission for this ({exc.message}). "
            "An administrator must consent to the app's mail, contacts, calendar and tasks permissions.",
            severity=Severity.KIND,
        )
    if isinstance(exc, ServerError | MalformedResponseError):
        return ProtocolError(f"{what}: {exc.message}", user_text=exc.user_text)
    if isinstance(exc, ODataError):
        return MailboxError(
            f"{what}: {exc.message}",
            user_text=f"{server} refused this: {exc.message}",
            severity=Severity.ITEM if exc.status and 400 <= exc.status < 500 else Severity.ACCOUNT,
            retriable=exc.retriable,
        )
    return ProtocolError(
        f"{what}: {type(exc).__name__}", user_text=f"Talking to {server} failed unexpectedly."
    )


def _needs_resync(exc: ODataError) -> bool:
    return exc.status == 410 or exc.code.lower() in RESYNC_CODES


# -- value mapping ------------------------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEXES = ("first", "second", "third", "fourth", "last")
_PATTERNS = {
    RecurrencePattern.DAILY: "daily",
    RecurrencePattern.WEEKLY: "weekly",
    RecurrencePattern.ABSOLUTE_MONTHLY: "absoluteMonthly",
    RecurrencePattern.RELATIVE_MONTHLY: "relativeMonthly",
    RecurrencePattern.ABSOLUTE_YEARLY: "absoluteYearly",
    RecurrencePattern.RELATIVE_YEARLY: "relativeYearly",
}
_PATTERN_OF = {v.lower(): k for k, v in _PATTERNS.items()}
_SHOW_AS = ("free", "tentative", "busy", "oof")
_TASK_STATUS = {
    TaskStatus.NOT_STARTED: "notStarted",
    TaskStatus.IN_PROGRESS: "inProgress",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.WAITING: "waitingOnOthers",
    TaskStatus.DEFERRED: "deferred",
}
_TASK_STATUS_OF = {v.lower(): k for k, v in _TASK_STATUS.items()}


def _parse_dt(text: Any) -> datetime | None:
    if not text:
        return None
    value = str(text).replace("Z", "+00:00")
    if "." in value:  # Graph sends up to 7 fractional digits; Python reads 6
        head, _, tail = value.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        value = f"{head}.{digits[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dtz(value: Any) -> datetime | None:
    """A Graph dateTimeTimeZone (we always ask for / write UTC) as an aware datetime."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    moment = _parse_dt(str(value["dateTime"]).rstrip("Z"))
    if moment is None:
        return None
    zone_name = str(value.get("timeZone") or "UTC")
    if zone_name.upper() != "UTC":
        try:
            return moment.replace(tzinfo=ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            return moment
    return moment


def _to_dtz(moment: datetime, zone_name: str | None = None) -> dict[str, str]:
    """A dateTimeTimeZone: UTC, or the wall-clock time in ``zone_name`` (an IANA name Graph accepts).

    A series' start must be written in the mailbox's zone: Exchange repeats the *wall-clock* time of the start
    in its zone, so a series written in UTC would move by an hour in local time across a DST change.
    """
    if zone_name and zone_name.upper() != "UTC":
        try:
            local = moment.astimezone(ZoneInfo(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            local = None
        if local is not None:
            return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _date_dtz(day: date) -> dict[str, str]:
    return {"dateTime": f"{day.isoformat()}T00:00:00.0000000", "timeZone": "UTC"}


def _address(value: Any) -> tuple[str, str] | None:
    email = (value or {}).get("emailAddress") if isinstance(value, Mapping) else None
    if not isinstance(email, Mapping) or not email.get("address"):
        return None
    address = str(email["address"])
    name = str(email.get("name") or "")
    return (name if name != address else "", address)


def _phys(value: Any) -> PhysicalAddress | None:
    if not isinstance(value, Mapping) or not any(
        value.get(k) for k in ("street", "city", "state", "postalCode", "countryOrRegion")
    ):
        return None
    return PhysicalAddress(
        street=str(value.get("street") or ""),
        city=str(value.get("city") or ""),
        state=str(value.get("state") or ""),
        postal_code=str(value.get("postalCode") or ""),
        country=str(value.get("countryOrRegion") or ""),
    )


def _phys_out(value: PhysicalAddress | None) -> dict[str, str]:
    value = value or PhysicalAddress()
    return {
        "street": value.street,
        "city": value.city,
        "state": value.state,
        "postalCode": value.postal_code,
        "countryOrRegion": value.country,
    }


def _ext_values(resource: Mapping[str, Any]) -> dict[str, str]:
    """``singleValueExtendedProperties`` as {lower-cased name or tag: value}."""
    out: dict[str, str] = {}
    for prop in resource.get("singleValueExtendedProperties") or []:
        if not isinstance(prop, Mapping):
            continue
        ident = str(prop.get("id") or "")
        name = ident.rsplit(" Name ", 1)[1] if " Name " in ident else ident.split(" ", 1)[-1]
        out[name.lower()] = str(prop.get("value") or "")
    return out


def props_from(resource: Mapping[str, Any]) -> NamedProps:
    """The named properties of a Graph resource: extended properties, or the tasks' open extension."""
    values = _ext_values(resource)
    for extension in resource.get("extensions") or []:
        if isinstance(extension, Mapping) and extension.get("extensionName") == TASK_EXTENSION:
            values.update({k.lower(): str(v) for k, v in extension.items() if isinstance(v, str | int)})
    return NamedProps.from_dict({k: v for k, v in values.items() if k in NAMED_IDS})


def props_out(props: NamedProps) -> list[dict[str, str]]:
    """Every named property, "" for unset ones: Graph cannot delete an extended property, so unstamping
    writes an empty value (read back as None)."""
    stamped = props.as_dict()
    return [{"id": NAMED_IDS[name], "value": stamped.get(name, "")} for name in NAMED_PROP_NAMES]


def recurrence_out(rec: Recurrence, zone_name: str = "UTC") -> dict[str, Any]:
    """A Graph patternedRecurrence; the pattern's dates count in ``zone_name`` (the series start's zone)."""
    pattern: dict[str, Any] = {
        "type": _PATTERNS[rec.pattern],
        "interval": rec.interval,
        "firstDayOfWeek": _WEEKDAYS[rec.first_day_of_week],
    }
    if rec.weekdays:
        pattern["daysOfWeek"] = [_WEEKDAYS[d] for d in rec.weekdays]
    if rec.day_of_month is not None:
        pattern["dayOfMonth"] = rec.day_of_month
    if rec.month is not None:
        pattern["month"] = rec.month
    if rec.week_index is not None:
        pattern["index"] = _INDEXES[rec.week_index]
    rng: dict[str, Any] = {"startDate": rec.start_date.isoformat(), "recurrenceTimeZone": zone_name or "UTC"}
    if rec.end_date is not None:
        rng.update(type="endDate", endDate=rec.end_date.isoformat())
    elif rec.occurrences is not None:
        rng.update(type="numbered", numberOfOccurrences=rec.occurrences)
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}


def recurrence_from(value: Any) -> Recurrence | None:
    if not isinstance(value, Mapping):
        return None
    pattern = value.get("pattern") or {}
    rng = value.get("range") or {}
    kind = _PATTERN_OF.get(str(pattern.get("type") or "").lower())
    if kind is None or not rng.get("startDate"):
        return None
    weekly_like = kind in (
        RecurrencePattern.WEEKLY,
        RecurrencePattern.RELATIVE_MONTHLY,
        RecurrencePattern.RELATIVE_YEARLY,
    )
    days = tuple(
        _WEEKDAYS.index(d.lower()) for d in pattern.get("daysOfWeek") or [] if d.lower() in _WEEKDAYS
    )
    absolute = kind in (RecurrencePattern.ABSOLUTE_MONTHLY, RecurrencePattern.ABSOLUTE_YEARLY)
    yearly = kind in (RecurrencePattern.ABSOLUTE_YEARLY, RecurrencePattern.RELATIVE_YEARLY)
    relative = kind in (RecurrencePattern.RELATIVE_MONTHLY, RecurrencePattern.RELATIVE_YEARLY)
    index = str(pattern.get("index") or "first").lower()
    first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
    range_type = str(rng.get("type") or "noEnd")
    return Recurrence(
        pattern=kind,
        start_date=date.fromisoformat(str(rng["startDate"])),
        interval=int(pattern.get("interval") or 1),
        weekdays=days if weekly_like else (),
        day_of_month=int(pattern["dayOfMonth"]) if absolute and pattern.get("dayOfMonth") else None,
        week_index=_INDEXES.index(index) if relative and index in _INDEXES else None,
        month=int(pattern["month"]) if yearly and pattern.get("month") else None,
        end_date=date.fromisoformat(str(rng["endDate"]))
        if range_type == "endDate" and rng.get("endDate")
        else None,
        occurrences=int(rng["numberOfOccurrences"]) if range_type == "numbered" else None,
        first_day_of_week=_WEEKDAYS.index(first_day) if first_day in _WEEKDAYS else 6,
    )


def _recurrence_zone(resource: Mapping[str, Any], fallback: tzinfo) -> tzinfo:
    """The zone a series' pattern dates are counted in (``range.recurrenceTimeZone``; we write UTC).

    Windows zone names (series made in Outlook) are not IANA names: those fall back to the mailbox zone.
    """
    recurrence = resource.get("recurrence")
    rng = recurrence.get("range") if isinstance(recurrence, Mapping) else None
    name = str((rng or {}).get("recurrenceTimeZone") or "")
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def contact_from(r: Mapping[str, Any]) -> ContactItem:
    business = [str(p) for p in r.get("businessPhones") or [] if p]
    homes = [str(p) for p in r.get("homePhones") or [] if p]
    phones: dict[str, str] = {}
    if business:
        phones["business"] = business[0]
    if len(business) > 1:
        phones["business2"] = business[1]
    if r.get("mobilePhone"):
        phones["mobile"] = str(r["mobilePhone"])
    if homes:
        phones["home"] = homes[0]
    fax = _ext_values(r).get("0x3a24")
    if fax:
        phones["fax"] = fax
    birthday = _parse_dt(r.get("birthday"))
    return ContactItem(
        id=str(r.get("id") or ""),
        change_key=_change_key(r),
        given_name=str(r.get("givenName") or ""),
        surname=str(r.get("surname") or ""),
        display_name=str(r.get("displayName") or ""),
        company=str(r.get("companyName") or ""),
        department=str(r.get("department") or ""),
        job_title=str(r.get("jobTitle") or ""),
        emails=[
            str(e.get("address"))
            for e in r.get("emailAddresses") or []
            if isinstance(e, Mapping) and e.get("address")
        ],
        phones=phones,
        business_address=_phys(r.get("businessAddress")),
        home_address=_phys(r.get("homeAddress")),
        web_page=str(r.get("businessHomePage") or ""),
        birthday=birthday.date() if birthday else None,
        notes=str(r.get("personalNotes") or ""),
        categories=[str(c) for c in r.get("categories") or []],
        last_modified=_parse_dt(r.get("lastModifiedDateTime")),
        props=props_from(r),
    )


def contact_out(item: ContactItem) -> dict[str, Any]:
    phones = item.phones
    body: dict[str, Any] = {
        "givenName": item.given_name,
        "surname": item.surname,
        "displayName": item.display_name,
        "companyName": item.company,
        "department": item.department,
        "jobTitle": item.job_title,
        "emailAddresses": [{"address": e, "name": e} for e in item.emails[:3]],
        "businessPhones": [p for p in (phones.get("business"), phones.get("business2")) if p],
        "mobilePhone": phones.get("mobile") or None,
        "homePhones": [phones["home"]] if phones.get("home") else [],
        "businessAddress": _phys_out(item.business_address),
        "homeAddress": _phys_out(item.home_address),
        "businessHomePage": item.web_page or None,
        "birthday": f"{item.birthday.isoformat()}T00:00:00Z" if item.birthday else None,
        "personalNotes": item.notes,
        "categories": list(item.categories),
        "singleValueExtendedProperties": [{"id": PROP_BUSINESS_FAX, "value": phones.get("fax", "")}],
    }
    return body


def task_from(r: Mapping[str, Any]) -> TaskItem:
    due = _dtz(r.get("dueDateTime"))
    start = _dtz(r.get("startDateTime"))
    status = _TASK_STATUS_OF.get(str(r.get("status") or "").lower(), TaskStatus.NOT_STARTED)
    percent = 100 if status is TaskStatus.COMPLETED else 0
    for extension in r.get("extensions") or []:
        if isinstance(extension, Mapping) and extension.get("extensionName") == TASK_EXTENSION:
            with contextlib.suppress(TypeError, ValueError):
                percent = int(extension.get("percentcomplete", percent))
    body = r.get("body") or {}
    return TaskItem(
        id=str(r.get("id") or ""),
        change_key=_change_key(r),
        subject=str(r.get("title") or ""),
        body=str(body.get("content") or "") if isinstance(body, Mapping) else "",
        start=start.date() if start else None,
        due=due.date() if due else None,
        completed=_dtz(r.get("completedDateTime")),
        status=status,
        percent_complete=percent,
        importance=str(r.get("importance") or "normal").lower(),
        categories=[str(c) for c in r.get("categories") or []],
        last_modified=_parse_dt(r.get("lastModifiedDateTime")),
        props=props_from(r),
    )


def task_out(item: TaskItem) -> dict[str, Any]:
    return {
        "title": item.subject,
        "body": {"content": item.body, "contentType": "text"},
        "startDateTime": _date_dtz(item.start) if item.start else None,
        "dueDateTime": _date_dtz(item.due) if item.due else None,
        "completedDateTime": _to_dtz(item.completed) if item.completed else None,
        "status": _TASK_STATUS[item.status],
        "importance": item.importance if item.importance in ("low", "normal", "high") else "normal",
        "categories": list(item.categories),
    }


def _task_needs_extension(item: TaskItem) -> bool:
    """Only tasks with named properties or a percentage Graph cannot express need the open extension."""
    return bool(item.props.as_dict()) or item.percent_complete != (
        100 if item.status is TaskStatus.COMPLETED else 0
    )


def task_extension(item: TaskItem | None, props: NamedProps) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" for name in NAMED_PROP_NAMES}
    values.update(props.as_dict())
    if item is not None:
        values["percentcomplete"] = str(item.percent_complete)
    return values


def _change_key(r: Mapping[str, Any]) -> str | None:
    if r.get("changeKey"):
        return str(r["changeKey"])
    etag = str(r.get("@odata.etag") or "")
    if etag.startswith('W/"') and etag.endswith('"'):
        return etag[3:-1]
    return etag or None


def _location(resource: Mapping[str, Any]) -> str:
    location = resource.get("location")
    return str(location.get("displayName") or "") if isinstance(location, Mapping) else ""


def _if_match(change_key: str | None) -> dict[str, str]:
    return {"If-Match": f'W/"{change_key}"'} if change_key else {}


# -- the store ---------------------------------------------------------------------------------------


@dataclass
class _Sub:
    """One request of a JSON batch."""

    method: str
    url: str
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass
class _SubResult:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


_MAIL = {
    FolderKind.INBOX: "inbox",
    FolderKind.SENT_ITEMS: "sentitems",
    FolderKind.DELETED_ITEMS: "deleteditems",
}
_WRITABLE = frozenset({FolderKind.CONTACTS, FolderKind.CALENDAR, FolderKind.TASKS})
_EXT_EXPAND = (
    "singleValueExtendedProperties($filter="
    + " or ".join(f"id eq '{i}'" for i in [*NAMED_IDS.values(), ATTENDEES_ID, PROP_BUSINESS_FAX])
    + ")"
)
_MESSAGE_SELECT = "id,changeKey,categories,isRead,importance,parentFolderId,createdDateTime"
_MASTER_SELECT = "id,changeKey,subject,location,start,end,recurrence"
_INSTANCE_SELECT = "id,type,originalStart,start,end,subject,location"
_INSTANCE_PAGE = 200
#: instances are read over the pattern's span plus this much either side (exceptions moved a little)
_SERIES_PAD = timedelta(days=31)
_PREFER_UTC = 'outlook.timezone="UTC"'
#: a series as the server has it: the pattern with its exceptions, and the instance ids by original date
_Series = tuple[Recurrence | None, dict[date, str]]


class GraphStore:
    """One Exchange Online mailbox over Microsoft Graph v1.0. Not thread-safe: one store per worker."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        token_provider: TokenProvider,
        retry_policy: RetryPolicy | None = None,
        sleeper: Sleeper = time.sleep,
    ) -> None:
        if not 1 <= settings.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
        self.settings = settings
        self._zone: tzinfo = UTC
        if settings.timezone:
            self._zone = ZoneInfo(settings.timezone)  # raises for an unknown zone name
        self._policy: RetryPolicy = retry_policy or FaultTolerance(max_wait=settings.max_wait)
        self._sleeper = sleeper
        try:
            self._session = ODataSession(
                settings.graph_url,
                auth=token_provider,
                verify=settings.ca_file or True,
                timeout=(min(10.0, settings.timeout), settings.timeout),
                retry_policy=self._policy,
                sleeper=sleeper,
                send_if_none_match_null=False,
            )
        except (InsecureURLError, InvalidURLError) as exc:
            raise translate(exc, "connect") from exc
        self._task_list: str | None = None
        self._capabilities = Capabilities(
            readable=frozenset({*_MAIL, *_WRITABLE}),
            writable=_WRITABLE,
            can_send=True,
            sent_items_copy=True,
            named_properties=True,
            categories=True,
            server_side_moves=False,
            server_side_deletes=True,
            root_folder_props=True,
            change_keys=True,
        )

    def __repr__(self) -> str:
        return f"GraphStore({self.settings.address!r}, url={self.settings.graph_url!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def request_count(self) -> int:
        return self._session.request_count

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------------
    def _call(self, what: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except MailboxError:
            raise
        except (ODataError, InsecureURLError, InvalidURLError) as exc:
            error = translate(exc, what)
            log.info("Graph %s failed: %s", what, error.message)
            raise error from exc

    def _get(
        self, path: str, params: Mapping[str, Any] | None = None, prefer: Sequence[str] = ()
    ) -> dict[str, Any]:
        return self._session.get_json(path, params=params, prefer=prefer)

    def _readable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_read(kind):
            raise not_supported(BACKEND, f"read {kind.value}")

    def _writable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_write(kind):
            raise not_supported(BACKEND, f"change items in {kind.value}")

    def _task_list_id(self) -> str:
        if self._task_list is None:
            document = self._get("me/todo/lists")
            lists = [v for v in document.get("value") or [] if isinstance(v, Mapping)]
            default = next((v for v in lists if v.get("wellknownListName") == "defaultList"), None)
            if default is None or not default.get("id"):
                raise ProtocolError(
                    "no default To Do list", user_text="The mailbox has no default task list."
                )
            self._task_list = str(default["id"])
        return self._task_list

    def _item_path(self, kind: FolderKind, item_id: str = "") -> str:
        suffix = f"/{quote(item_id, safe='')}" if item_id else ""
        if kind in _MAIL:
            return f"me/messages{suffix}"
        if kind is FolderKind.CONTACTS:
            return f"me/contacts{suffix}"
        if kind is FolderKind.CALENDAR:
            return f"me/events{suffix}" if item_id else "me/calendar/events"
        return f"me/todo/lists/{self._task_list_id()}/tasks{suffix}"

    def _batch(self, subs: Sequence[_Sub]) -> list[_SubResult]:
        """Run requests through JSON $batch, ``batch_size`` at a time; throttled ones are retried alone.

        Account-level failures (auth, throttling beyond the budget) raise; item-level ones come back.
        """
        results: list[_SubResult | None] = [None] * len(subs)
        size = self.settings.batch_size
        for start in range(0, len(subs), size):
            pending = list(range(start, min(start + size, len(subs))))
            attempt, waited = 0, 0.0
            while pending:
                attempt += 1
                requests = []
                for n in pending:
                    sub = subs[n]
                    entry: dict[str, Any] = {
                        "id": str(n),
                        "method": sub.method,
                        "url": "/" + sub.url.lstrip("/"),
                    }
                    headers = dict(sub.headers or {})
                    if sub.body is not None:
                        headers.setdefault("Content-Type", "application/json")
                        entry["body"] = sub.body
                    if headers:
                        entry["headers"] = headers
                    requests.append(entry)
                document = self._session.decode_json(
                    self._session.request("POST", "$batch", json={"requests": requests})
                )
                answers = document.get("responses")
                if not isinstance(answers, list):
                    raise ProtocolError(
                        "a $batch answer without responses",
                        user_text="Exchange Online answered a batch oddly.",
                    )
                retry: list[int] = []
                delays: list[float] = []
                for answer in answers:
                    if not isinstance(answer, Mapping):
                        continue
                    try:
                        n = int(str(answer.get("id")))
                    except ValueError:
                        continue
                    if n not in pending:
                        continue
                    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
                    status = int(answer.get("status") or 0)
                    result = _SubResult(status=status, body=answer.get("body"), headers=headers)
                    if status in (429, 503, 504):
                        retry.append(n)
                        lowered = {k.lower(): v for k, v in headers.items()}
                        after = parse_retry_after(lowered.get("retry-after"))
                        if after is not None:
                            delays.append(after)
                    results[n] = result
                missing = [n for n in pending if results[n] is None]
                if missing:
                    raise ProtocolError(
                        "a $batch answer without some responses",
                        user_text="Exchange Online left out part of a batch answer.",
                    )
                if not retry:
                    break
                delay = self._policy.next_delay(attempt, waited, max(delays) if delays else None)
                if delay is None:
                    last = results[retry[0]]
                    assert last is not None
                    raise self._sub_error(last, "batch")
                log.info("Graph $batch: %d request(s) throttled; retrying in %.1fs", len(retry), delay)
                self._sleeper(delay)
                waited += delay
                for n in retry:
                    results[n] = None
                pending = retry
        return [r for r in results if r is not None]

    def _sub_error(self, result: _SubResult, what: str) -> MailboxError:
        body = result.body if isinstance(result.body, Mapping) else {}
        raw_error = body.get("error")
        error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
        lowered = {k.lower(): v for k, v in result.headers.items()}
        odata = error_for_status(
            result.status,
            code=str(error.get("code") or ""),
            message=str(error.get("message") or ""),
            url=self.settings.graph_url,
            retry_after=parse_retry_after(lowered.get("retry-after")),
        )
        return translate(odata, what)

    def _item_failure(self, result: _SubResult, what: str) -> MailboxError:
        """An item-level error for a result, or raise when the failure concerns the whole account."""
        error = self._sub_error(result, what)
        if error.severity in (Severity.ACCOUNT, Severity.FATAL) and not isinstance(
            error, ItemNotFound | Conflict
        ):
            raise error
        return error

    # -- folders ---------------------------------------------------------------------------------
    def check(self) -> None:
        """Sign in and read the profile; the signed-in user must own the configured address."""

        def work() -> None:
            me = self._get("me", params={"$select": "id,mail,userPrincipalName"})
            owned = {str(me.get("mail") or "").lower(), str(me.get("userPrincipalName") or "").lower()}
            if self.settings.address.lower() not in owned:
                raise AuthenticationFailed(
                    "signed in as another user",
                    user_text=f"The sign-in belongs to {me.get('mail') or me.get('userPrincipalName')}, "
                    f"not to the mailbox {self.settings.address}. Sign in as the mailbox's owner.",
                )

        self._call("check", work)

    def folder(self, kind: FolderKind) -> Folder:
        self._readable(kind)

        def work() -> Folder:
            if kind in _MAIL:
                doc = self._get(
                    f"me/mailFolders/{_MAIL[kind]}", params={"$select": "id,displayName,totalItemCount"}
                )
                return Folder(
                    kind, str(doc["id"]), str(doc.get("displayName") or ""), doc.get("totalItemCount")
                )
            if kind is FolderKind.CALENDAR:
                doc = self._get("me/calendar", params={"$select": "id,name"})
                return Folder(kind, str(doc["id"]), str(doc.get("name") or "Calendar"))
            if kind is FolderKind.TASKS:
                return Folder(kind, self._task_list_id(), "Tasks")
            doc = self._get("me/contacts", params={"$select": "parentFolderId", "$top": "1"})
            first = (doc.get("value") or [{}])[0]
            return Folder(kind, str(first.get("parentFolderId") or "contacts"), "Contacts")

        return self._call(f"folder {kind.value}", work)

    # -- changes ----------------------------------------------------------------------------------
    def _start(self, kind: FolderKind) -> tuple[str, dict[str, str]]:
        if kind in _MAIL:
            return f"me/mailFolders/{_MAIL[kind]}/messages/delta", {"$select": "id,createdDateTime"}
        if kind is FolderKind.CONTACTS:
            return "me/contacts/delta", {"$select": "id,createdDateTime"}
        if kind is FolderKind.TASKS:
            return f"me/todo/lists/{self._task_list_id()}/tasks/delta", {}
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=self.settings.calendar_past_days)
        end = now + timedelta(days=self.settings.calendar_future_days)
        return "me/calendarView/delta", {
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "$select": "id,createdDateTime,type,seriesMasterId",
        }

    def _encode_cursor(self, kind: FolderKind, link: str, since: str, round_start: str) -> str:
        payload = json.dumps({"l": link, "s": since, "r": round_start}, separators=(",", ":"))
        return f"{CURSOR_PREFIX}{kind.value}:" + base64.urlsafe_b64encode(payload.encode()).decode()

    def _decode_cursor(self, kind: FolderKind, cursor: str | None) -> tuple[dict[str, str] | None, bool]:
        if not cursor:
            return None, True
        prefix = f"{CURSOR_PREFIX}{kind.value}:"
        if not cursor.startswith(prefix):
            return None, False
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor[len(prefix) :].encode()))
            link = str(data["l"])
            self._session.checked_link(link)
            return {"l": link, "s": str(data.get("s") or ""), "r": str(data.get("r") or "")}, True
        except (ValueError, KeyError, TypeError, binascii.Error, MalformedResponseError):
            return None, False

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        """Delta rounds, one request per page; an unusable cursor or a lost sync state -> ``full_resync``."""
        self._readable(kind)
        limit = max(1, min(int(page_size), MAX_PAGE))
        state, usable = self._decode_cursor(kind, cursor)
        full_resync = not usable
        prefer = [f"odata.maxpagesize={limit}", 'outlook.timezone="UTC"']
        while True:
            since = state["s"] if state else ""
            round_start = state["r"] if state else ""
            try:
                if state is None:
                    path, params = self._call("changes", lambda: self._start(kind))
                    response = self._session.request("GET", path, params=params, prefer=prefer)
                else:
                    response = self._session.request("GET", state["l"], prefer=prefer)
                document = self._session.decode_json(response)
            except ODataError as exc:
                if state is not None and _needs_resync(exc):
                    log.info(
                        "Graph delta state for %s lost (%s); full re-read", kind.value, exc.code or exc.status
                    )
                    state, full_resync = None, True
                    continue
                raise translate(exc, f"changes {kind.value}") from exc
            except (InsecureURLError, InvalidURLError) as exc:
                raise translate(exc, f"changes {kind.value}") from exc
            server_now = _server_time(response.headers.get("Date"))
            if not round_start:  # first page of a round: it defines "new since" for the next round
                round_start = server_now
            batch = ChangeBatch(kind=kind, full_resync=full_resync)
            self._classify(kind, document.get("value") or [], batch, since)
            next_link = document.get("@odata.nextLink")
            delta_link = document.get("@odata.deltaLink")
            try:
                if next_link:
                    link = self._session.checked_link(str(next_link))
                    batch.cursor = self._encode_cursor(kind, link, since, round_start)
                    batch.more = True
                elif delta_link:
                    link = self._session.checked_link(str(delta_link))
                    batch.cursor = self._encode_cursor(kind, link, round_start, "")
                else:
                    raise ProtocolError(
                        "a delta page without next or delta link",
                        user_text="Exchange Online answered a change query oddly.",
                    )
            except MalformedResponseError as exc:
                raise translate(exc, f"changes {kind.value}") from exc
            yield batch
            if not batch.more:
                return
            state = {"l": link, "s": since, "r": round_start}

    def _classify(self, kind: FolderKind, rows: list[Any], batch: ChangeBatch, since: str) -> None:
        seen: set[str] = set()
        threshold = _parse_dt(since)
        for row in rows:
            if not isinstance(row, Mapping) or not row.get("id"):
                continue
            item_id = str(row.get("seriesMasterId") or row["id"])
            if item_id in seen:
                continue
            seen.add(item_id)
            if "@removed" in row:
                batch.deleted.append(item_id)
                continue
            created = _parse_dt(row.get("createdDateTime"))
            if threshold is None or created is None or created >= threshold:
                batch.created.append(item_id)
            else:
                batch.updated.append(item_id)

    # -- reading ----------------------------------------------------------------------------------
    def _read_subs(self, kind: FolderKind, item_id: str) -> list[_Sub]:
        path = self._item_path(kind, item_id)
        if kind in _MAIL:
            query = encode_query({"$select": _MESSAGE_SELECT, "$expand": _EXT_EXPAND})
            return [_Sub("GET", f"{path}?{query}"), _Sub("GET", f"{path}/$value")]
        query = encode_query({"$expand": "extensions" if kind is FolderKind.TASKS else _EXT_EXPAND})
        prefer = {"Prefer": 'outlook.timezone="UTC", outlook.body-content-type="text"'}
        return [_Sub("GET", f"{path}?{query}", headers=prefer)]

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]:
        self._readable(kind)
        if not ids:
            return []

        def work() -> list[ItemResult[Item]]:
            per = 2 if kind in _MAIL else 1
            subs = [s for i in ids for s in self._read_subs(kind, i)]
            answers = self._batch(subs)
            out: list[ItemResult[Item]] = []
            masters: list[tuple[int, Mapping[str, Any]]] = []
            for n, item_id in enumerate(ids):
                parts = answers[n * per : (n + 1) * per]
                failed = next((p for p in parts if not p.ok), None)
                if failed is not None:
                    out.append(ItemResult(id=item_id, error=self._item_failure(failed, f"read {kind.value}")))
                    continue
                try:
                    out.append(ItemResult(id=item_id, value=self._to_item(kind, parts)))
                    body = parts[0].body
                    if kind is FolderKind.CALENDAR and isinstance(body, Mapping) and body.get("recurrence"):
                        masters.append((len(out) - 1, body))
                except MailboxError as exc:
                    out.append(ItemResult(id=item_id, error=exc))
                except (KeyError, TypeError, ValueError) as exc:
                    out.append(
                        ItemResult(
                            id=item_id, error=ProtocolError(f"unreadable item: {exc}", severity=Severity.ITEM)
                        )
                    )
            series = self._series_of([resource for _, resource in masters])
            for (n, _), got in zip(masters, series, strict=True):
                value = out[n].value
                if isinstance(got, MailboxError):
                    out[n] = ItemResult(id=out[n].id, error=got)
                elif isinstance(value, AppointmentItem):
                    value.recurrence = got[0]
            return out

        return self._call(f"read {kind.value}", work)

    def _to_item(self, kind: FolderKind, parts: list[_SubResult]) -> Item:
        resource = parts[0].body if isinstance(parts[0].body, Mapping) else {}
        if kind is FolderKind.CONTACTS:
            return contact_from(resource)
        if kind is FolderKind.TASKS:
            return task_from(resource)
        if kind is FolderKind.CALENDAR:
            return self._appointment_from(resource)
        raw_body = parts[1].body
        try:
            raw = base64.b64decode(str(raw_body or ""), validate=True) if isinstance(raw_body, str) else b""
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError("MIME content that is not base64", severity=Severity.ITEM) from exc
        item = parse_message(
            raw, item_id=str(resource["id"]), folder=kind, size_limit=self.settings.size_limit
        )
        item.id = str(resource["id"])
        item.folder = kind
        item.change_key = _change_key(resource)
        item.categories = [str(c) for c in resource.get("categories") or []]
        item.is_read = bool(resource.get("isRead"))
        item.props = props_from(resource)
        return item

    def _appointment_from(self, r: Mapping[str, Any]) -> AppointmentItem:
        start, end = _dtz(r.get("start")), _dtz(r.get("end"))
        all_day = bool(r.get("isAllDay"))
        if all_day:
            start = datetime.combine(start.date(), datetime.min.time(), self._zone) if start else None
            end = datetime.combine(end.date(), datetime.min.time(), self._zone) if end else None
        else:
            start = start.astimezone(self._zone) if start else None
            end = end.astimezone(self._zone) if end else None
        ext = _ext_values(r)
        required: list[tuple[str, str]] = []
        optional: list[tuple[str, str]] = []
        try:
            stored = json.loads(ext.get(PROP_ATTENDEES, "") or "{}")
            required = [(str(n), str(a)) for n, a in stored.get("required", [])]
            optional = [(str(n), str(a)) for n, a in stored.get("optional", [])]
        except (ValueError, TypeError, AttributeError):
            log.info("unreadable attendee list on an appointment; ignored")
        for attendee in r.get("attendees") or []:  # meetings made in Outlook by the user
            pair = _address(attendee)
            if pair is None or pair in required or pair in optional:
                continue
            (optional if str(attendee.get("type")) == "optional" else required).append(pair)
        show = str(r.get("showAs") or "busy").lower()
        location = r.get("location") or {}
        body = r.get("body") or {}
        return AppointmentItem(
            id=str(r.get("id") or ""),
            change_key=_change_key(r),
            subject=str(r.get("subject") or ""),
            start=start,
            end=end,
            is_all_day=all_day,
            location=str(location.get("displayName") or "") if isinstance(location, Mapping) else "",
            body=str(body.get("content") or "") if isinstance(body, Mapping) else "",
            organizer=_address(r.get("organizer")),
            required_attendees=required,
            optional_attendees=optional,
            recurrence=recurrence_from(r.get("recurrence")),
            uid=str(r["iCalUId"]) if r.get("iCalUId") else None,
            is_cancelled=bool(r.get("isCancelled")),
            show_as=_SHOW_AS.index(show) if show in _SHOW_AS else 2,
            reminder_minutes=int(r.get("reminderMinutesBeforeStart") or 0) if r.get("isReminderOn") else None,
            categories=[str(c) for c in r.get("categories") or []],
            last_modified=_parse_dt(r.get("lastModifiedDateTime")),
            props=props_from(r),
        )

    # -- recurring series -------------------------------------------------------------------------
    def _instances_sub(self, master_id: str, pattern: Recurrence) -> _Sub | None:
        """The first page of a series' instances over the pattern's whole span (padded for moved exceptions)."""
        dates = pattern.dates()
        if not dates:
            return None
        lo = datetime.combine(dates[0], dtime.min, UTC) - _SERIES_PAD
        hi = datetime.combine(dates[-1], dtime.min, UTC) + timedelta(days=1) + _SERIES_PAD
        query = encode_query(
            {
                "startDateTime": lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "$select": _INSTANCE_SELECT,
                "$top": str(_INSTANCE_PAGE),
            }
        )
        path = self._item_path(FolderKind.CALENDAR, master_id)
        return _Sub("GET", f"{path}/instances?{query}", headers={"Prefer": _PREFER_UTC})

    def _series_of(self, resources: Sequence[Mapping[str, Any]]) -> list[_Series | MailboxError]:
        """Deleted and modified occurrences of series masters (their resources as read), one $batch of
        ``/instances`` (first pages; further pages one request each).

        An occurrence date the pattern gives but the instances lack was deleted; an instance of type
        ``exception`` is a modified occurrence. Dates are original dates in the series' zone, as EWS reports.
        """
        out: list[_Series | MailboxError | None] = [None] * len(resources)
        subs: list[_Sub] = []
        index: list[int] = []
        for n, resource in enumerate(resources):
            pattern = recurrence_from(resource.get("recurrence"))
            sub = self._instances_sub(str(resource.get("id") or ""), pattern) if pattern else None
            if sub is None:
                out[n] = (pattern, {})
                continue
            subs.append(sub)
            index.append(n)
        for n, answer in zip(index, self._batch(subs), strict=True):
            if not answer.ok or not isinstance(answer.body, Mapping):
                out[n] = self._item_failure(answer, "read series")
                continue
            rows = [r for r in answer.body.get("value") or [] if isinstance(r, Mapping)]
            link = answer.body.get("@odata.nextLink")
            while link:
                page = self._get(self._session.checked_link(str(link)), prefer=[_PREFER_UTC])
                rows.extend(r for r in page.get("value") or [] if isinstance(r, Mapping))
                link = page.get("@odata.nextLink")
            out[n] = self._series_from(resources[n], rows)
        return [r for r in out if r is not None]

    def _series_from(self, resource: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> _Series:
        pattern = recurrence_from(resource.get("recurrence"))
        if pattern is None:
            return None, {}
        zone = _recurrence_zone(resource, self._zone)
        subject = str(resource.get("subject") or "")
        location = _location(resource)
        dates = pattern.dates()
        produced = set(dates)
        ids: dict[date, str] = {}
        modified: list[ModifiedOccurrence] = []
        for row in rows:
            original = _parse_dt(row.get("originalStart"))
            if original is None or not row.get("id"):
                continue
            day = original.astimezone(zone).date()
            if day not in produced:
                continue
            ids[day] = str(row["id"])
            if str(row.get("type") or "").lower() != "exception":
                continue
            start, end = _dtz(row.get("start")), _dtz(row.get("end"))
            own_subject, own_location = str(row.get("subject") or ""), _location(row)
            modified.append(
                ModifiedOccurrence(
                    day,
                    start.astimezone(self._zone) if start else None,
                    end.astimezone(self._zone) if end else None,
                    own_subject if own_subject != subject else None,
                    own_location if own_location != location else None,
                )
            )
        return (
            replace(
                pattern,
                deleted_occurrences=tuple(d for d in dates if d not in ids),
                modified_occurrences=tuple(sorted(modified, key=lambda m: m.original)),
            ),
            ids,
        )

    def _read_series(self, ids: Sequence[str]) -> dict[str, _Series | MailboxError]:
        """The series the server has for master ``ids``: one $batch for the masters, one for their instances."""
        if not ids:
            return {}
        prefer = {"Prefer": _PREFER_UTC}
        query = encode_query({"$select": _MASTER_SELECT})
        answers = self._batch(
            [_Sub("GET", f"{self._item_path(FolderKind.CALENDAR, i)}?{query}", headers=prefer) for i in ids]
        )
        out: dict[str, _Series | MailboxError] = {}
        readable: list[tuple[str, Mapping[str, Any]]] = []
        for item_id, answer in zip(ids, answers, strict=True):
            if answer.ok and isinstance(answer.body, Mapping):
                readable.append((item_id, answer.body))
            else:
                out[item_id] = self._item_failure(answer, "read series")
        for (item_id, _), got in zip(readable, self._series_of([r for _, r in readable]), strict=True):
            out[item_id] = got
        return out

    def _write_occurrences(self, pairs: Sequence[tuple[str, AppointmentItem]]) -> dict[str, MailboxError]:
        """Cancel (DELETE) and change (PATCH) single instances so the masters in ``pairs`` get their items'
        exceptions; instance ids come from a fresh ``/instances`` read. Instances are never given attendees,
        so Exchange sends no meeting request or cancellation. Returns the masters whose writes failed."""
        failed: dict[str, MailboxError] = {}
        fresh = self._read_series([master_id for master_id, _ in pairs])
        subs: list[_Sub] = []
        owners: list[str] = []
        for master_id, item in pairs:
            got, target = fresh[master_id], item.recurrence
            if target is None:
                continue
            if isinstance(got, MailboxError):
                failed[master_id] = got
                continue
            current, instance_ids = got
            plan = occurrence_plan(target, current)
            if plan.reset:
                failed[master_id] = Conflict(
                    "the series changed on the server meanwhile", severity=Severity.ITEM
                )
                continue
            left_out = list(plan.skipped)
            for day in plan.deletes:
                if day in instance_ids:
                    subs.append(_Sub("DELETE", self._item_path(FolderKind.CALENDAR, instance_ids[day])))
                    owners.append(master_id)
                else:
                    left_out.append(day)
            for change in plan.modifies:
                if change.original not in instance_ids:
                    left_out.append(change.original)
                    continue
                body: dict[str, Any] = {
                    "subject": change.subject or item.subject,
                    "location": {"displayName": change.location or item.location},
                }
                if change.start is not None and change.end is not None:
                    body.update(start=_to_dtz(change.start), end=_to_dtz(change.end))
                path = self._item_path(FolderKind.CALENDAR, instance_ids[change.original])
                subs.append(_Sub("PATCH", path, body))
                owners.append(master_id)
            if left_out:
                log.warning(
                    "%s: %d exception(s) on dates the pattern does not produce were left out",
                    item.subject,
                    len(left_out),
                )
        for master_id, answer in zip(owners, self._batch(subs), strict=True):
            if not answer.ok and master_id not in failed:
                failed[master_id] = self._item_failure(answer, "write occurrences")
        return failed

    def _change_keys(self, ids: Sequence[str]) -> dict[str, str]:
        """The masters' change keys after their instances were written (one $batch; none if no ids)."""
        if not ids:
            return {}
        query = encode_query({"$select": "id,changeKey"})
        answers = self._batch(
            [_Sub("GET", f"{self._item_path(FolderKind.CALENDAR, i)}?{query}") for i in ids]
        )
        keys: dict[str, str] = {}
        for item_id, answer in zip(ids, answers, strict=True):
            key = _change_key(answer.body) if answer.ok and isinstance(answer.body, Mapping) else None
            if key:
                keys[item_id] = key
        return keys

    def _appointment_out(self, item: AppointmentItem) -> dict[str, Any]:
        if item.start is None or item.end is None:
            raise MailboxError(
                "appointment without start or end",
                user_text=f"The appointment {item.subject!r} has no start or end time.",
                severity=Severity.ITEM,
            )
        if item.start.tzinfo is None or item.end.tzinfo is None:
            raise MailboxError(
                "naive appointment time",
                user_text="An appointment time had no time zone.",
                severity=Severity.ITEM,
            )
        zone = self.settings.timezone
        if item.is_all_day:
            start, end = _date_dtz(item.start.date()), _date_dtz(item.end.date())
        else:
            start, end = _to_dtz(item.start, zone), _to_dtz(item.end, zone)
        attendees = {
            "required": [list(p) for p in item.required_attendees],
            "optional": [list(p) for p in item.optional_attendees],
        }
        return {
            "subject": item.subject,
            "body": {"contentType": "text", "content": item.body},
            "start": start,
            "end": end,
            "isAllDay": item.is_all_day,
            "location": {"displayName": item.location},
            "recurrence": recurrence_out(item.recurrence, start["timeZone"]) if item.recurrence else None,
            "showAs": _SHOW_AS[item.show_as] if 0 <= item.show_as < 4 else "busy",
            "isReminderOn": item.reminder_minutes is not None,
            "reminderMinutesBeforeStart": item.reminder_minutes or 0,
            "categories": list(item.categories),
            "singleValueExtendedProperties": [
                {
                    "id": ATTENDEES_ID,
                    "value": json.dumps(attendees, ensure_ascii=False)
                    if item.required_attendees or item.optional_attendees
                    else "",
                }
            ],
        }

    def _body_for(self, kind: FolderKind, item: Item, *, with_props: bool) -> dict[str, Any]:
        if kind is FolderKind.CONTACTS and isinstance(item, ContactItem):
            body = contact_out(item)
        elif kind is FolderKind.CALENDAR and isinstance(item, AppointmentItem):
            body = self._appointment_out(item)
        elif kind is FolderKind.TASKS and isinstance(item, TaskItem):
            return task_out(item)
        else:
            raise MailboxError(
                f"a {type(item).__name__} cannot go into {kind.value}",
                user_text="An item of the wrong type was sent to a mailbox folder.",
                severity=Severity.ITEM,
            )
        if with_props:
            body["singleValueExtendedProperties"] = [
                *body.get("singleValueExtendedProperties", []),
                *props_out(item.props),
            ]
        return body

    # -- writing ----------------------------------------------------------------------------------
    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work() -> list[ItemResult[Item]]:
            results: list[ItemResult[Item] | None] = [None] * len(items)
            subs: list[_Sub] = []
            index: list[int] = []
            for n, item in enumerate(items):
                try:
                    body = self._body_for(kind, item, with_props=True)
                except MailboxError as exc:
                    results[n] = ItemResult(id=None, error=exc)
                    continue
                subs.append(_Sub("POST", self._item_path(kind), body))
                index.append(n)
            created: list[tuple[int, str]] = []
            for n, answer in zip(index, self._batch(subs), strict=True):
                if not answer.ok or not isinstance(answer.body, Mapping) or not answer.body.get("id"):
                    results[n] = ItemResult(id=None, error=self._item_failure(answer, f"create {kind.value}"))
                    continue
                value = self._created_value(kind, items[n], answer.body)
                results[n] = ItemResult(id=value.id, value=value)
                created.append((n, value.id))
            stamp = [
                (n, item_id)
                for n, item_id in created
                if isinstance(items[n], TaskItem) and _task_needs_extension(items[n])  # type: ignore[arg-type]
            ]
            self._finish_tasks(stamp, items, results)
            self._occurrences_after_create(created, items, results)
            return [r for r in results if r is not None]

        return self._call(f"create {kind.value}", work)

    def _occurrences_after_create(
        self,
        created: Sequence[tuple[int, str]],
        items: Sequence[Item],
        results: list[ItemResult[Item] | None],
    ) -> None:
        """Deleted / modified occurrences of new masters (the master exists first, as in Outlook).

        A failure here is logged, not returned: the master exists and gets linked; the next run sees the
        missing exception and writes it again.
        """
        pairs: list[tuple[str, AppointmentItem]] = []
        for n, item_id in created:
            item = items[n]
            rec = item.recurrence if isinstance(item, AppointmentItem) else None
            if (
                isinstance(item, AppointmentItem)
                and rec
                and (rec.deleted_occurrences or rec.modified_occurrences)
            ):
                pairs.append((item_id, item))
        if not pairs:
            return
        for master_id, error in self._write_occurrences(pairs).items():
            log.warning("calendar: occurrences of %s not written: %s", master_id, error.message)
        keys = self._change_keys([master_id for master_id, _ in pairs])
        for n, item_id in created:
            result = results[n]
            if item_id in keys and result is not None and result.value is not None:
                result.value.change_key = keys[item_id]  # the instance writes gave the master a new one

    def _created_value(self, kind: FolderKind, original: Item, resource: Mapping[str, Any]) -> Item:
        value = copy.deepcopy(original)
        value.id = str(resource["id"])
        value.change_key = _change_key(resource)
        if isinstance(value, ContactItem | AppointmentItem | TaskItem):
            value.last_modified = _parse_dt(resource.get("lastModifiedDateTime"))
        if isinstance(value, AppointmentItem):
            value.organizer = _address(resource.get("organizer"))
            value.uid = str(resource["iCalUId"]) if resource.get("iCalUId") else None
        return value

    def _stamp_tasks(
        self, updates: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[tuple[MailboxError | None, str | None]]:
        """Write the tasks' open extension (PATCH; POST where it does not exist yet), then read the tasks'
        new etags. One (error, change key) per update."""
        path = self._item_path(FolderKind.TASKS)
        subs = [
            _Sub("PATCH", f"{path}/{quote(i, safe='')}/extensions/{TASK_EXTENSION}", values)
            for i, values in updates
        ]
        answers = self._batch(subs)
        missing = [k for k, a in enumerate(answers) if a.status == 404]
        if missing:
            # 404 means the task *or* its extension is missing; the POST tells them apart (404 again = task gone)
            creates = [
                _Sub(
                    "POST",
                    f"{path}/{quote(updates[k][0], safe='')}/extensions",
                    {
                        "@odata.type": "microsoft.graph.openTypeExtension",
                        "extensionName": TASK_EXTENSION,
                        **updates[k][1],
                    },
                )
                for k in missing
            ]
            for k, answer in zip(missing, self._batch(creates), strict=True):
                answers[k] = answer
        errors = [None if a.ok else self._item_failure(a, "stamp tasks") for a in answers]
        done = [k for k, e in enumerate(errors) if e is None]
        keys: dict[int, str | None] = {}
        if done:
            fresh = self._batch(
                [_Sub("GET", f"{path}/{quote(updates[k][0], safe='')}?$select=id") for k in done]
            )
            keys = {
                k: _change_key(a.body) if a.ok and isinstance(a.body, Mapping) else None
                for k, a in zip(done, fresh, strict=True)
            }
        return [(errors[k], keys.get(k)) for k in range(len(updates))]

    def _finish_tasks(
        self,
        targets: Sequence[tuple[int, str]],
        items: Sequence[Item],
        results: list[ItemResult[Item] | None],
    ) -> None:
        """After a task create/update: its open extension (named properties, percent complete)."""
        if not targets:
            return
        stamped = self._stamp_tasks([(i, task_extension(items[n], items[n].props)) for n, i in targets])  # type: ignore[arg-type]
        for (n, item_id), (error, key) in zip(targets, stamped, strict=True):
            current = results[n]
            if error is not None:
                results[n] = ItemResult(id=item_id, error=error)
            elif current is not None and current.value is not None:
                current.value.change_key = key

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work() -> list[ItemResult[Item]]:
            results: list[ItemResult[Item] | None] = [None] * len(items)
            subs: list[_Sub] = []
            index: list[int] = []
            plans = self._series_before_update(items) if kind is FolderKind.CALENDAR else {}
            for n, item in enumerate(items):
                if not item.id:
                    results[n] = ItemResult(
                        id=None, error=ItemNotFound("update without an id", severity=Severity.ITEM)
                    )
                    continue
                try:
                    body = self._body_for(kind, item, with_props=False)
                except MailboxError as exc:
                    results[n] = ItemResult(id=item.id, error=exc)
                    continue
                if item.id in plans and not plans[item.id][0]:
                    del body["recurrence"]  # the same pattern: sending it again would drop the exceptions
                subs.append(_Sub("PATCH", self._item_path(kind, item.id), body, _if_match(item.change_key)))
                index.append(n)
            extension_updates: list[int] = []
            for n, answer in zip(index, self._batch(subs), strict=True):
                original = items[n]
                if not answer.ok:
                    results[n] = ItemResult(
                        id=original.id, error=self._item_failure(answer, f"update {kind.value}")
                    )
                    continue
                value = copy.deepcopy(original)
                resource = answer.body if isinstance(answer.body, Mapping) else {}
                value.change_key = _change_key(resource)
                if isinstance(value, ContactItem | AppointmentItem | TaskItem):
                    value.last_modified = _parse_dt(resource.get("lastModifiedDateTime"))
                results[n] = ItemResult(id=value.id, value=value)
                if isinstance(original, TaskItem):
                    extension_updates.append(n)
            self._finish_tasks([(n, items[n].id) for n in extension_updates], items, results)
            self._occurrences_after_update(items, results, plans)
            return [r for r in results if r is not None]

        return self._call(f"update {kind.value}", work)

    def _series_before_update(self, items: Sequence[Item]) -> dict[str, tuple[bool, OccurrencePlan]]:
        """For masters being updated: (send the pattern, the instance writes wanted after the PATCH).

        The pattern is sent only when it differs from the server's or an exception must be taken back
        (a new recurrence drops every exception); one read of the masters and one of their instances.
        """
        wanted = {
            i.id: i.recurrence
            for i in items
            if isinstance(i, AppointmentItem) and i.id and i.recurrence is not None
        }
        out: dict[str, tuple[bool, OccurrencePlan]] = {}
        for item_id, got in self._read_series(list(wanted)).items():
            current = None if isinstance(got, MailboxError) else got[0]
            plan = occurrence_plan(wanted[item_id], current)
            out[item_id] = (current is None or plan.reset, plan)
        return out

    def _occurrences_after_update(
        self,
        items: Sequence[Item],
        results: list[ItemResult[Item] | None],
        plans: Mapping[str, tuple[bool, OccurrencePlan]],
    ) -> None:
        """Write the instance changes of updated masters; a failure fails that item (retried next run)."""
        pairs: list[tuple[str, AppointmentItem]] = []
        for item, result in zip(items, results, strict=True):
            plan = plans[item.id][1] if item.id in plans else None
            if plan is None or not (plan.deletes or plan.modifies):
                continue
            if result is not None and result.ok and isinstance(item, AppointmentItem):
                pairs.append((item.id, item))
        if not pairs:
            return
        failed = self._write_occurrences(pairs)
        keys = self._change_keys([master_id for master_id, _ in pairs])
        for n, result in enumerate(results):
            if result is None or result.id is None:
                continue
            if result.id in failed:
                results[n] = ItemResult(id=result.id, error=failed[result.id])
            elif result.id in keys and result.value is not None:
                result.value.change_key = keys[result.id]  # the instance writes gave the master a new one

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        """DELETE (Exchange keeps it recoverable); ``permanently`` uses ``permanentDelete`` where Graph has it."""
        self._writable(kind)
        if not ids:
            return []

        def work() -> list[ItemResult[None]]:
            if permanently and kind in (FolderKind.CONTACTS, FolderKind.CALENDAR):
                subs = [_Sub("POST", f"{self._item_path(kind, i)}/permanentDelete", {}) for i in ids]
            else:
                subs = [_Sub("DELETE", self._item_path(kind, i)) for i in ids]
            out: list[ItemResult[None]] = []
            for item_id, answer in zip(ids, self._batch(subs), strict=True):
                if answer.ok:
                    out.append(ItemResult(id=item_id))
                else:
                    out.append(
                        ItemResult(id=item_id, error=self._item_failure(answer, f"delete {kind.value}"))
                    )
            return out

        return self._call(f"delete {kind.value}", work)

    # -- named properties ----------------------------------------------------------------------------
    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        self._readable(kind)
        if not updates:
            return []

        def work() -> list[ItemResult[str]]:
            if kind is FolderKind.TASKS:
                stamped = self._stamp_tasks([(i, task_extension(None, p)) for i, p in updates])
                return [
                    ItemResult(id=i, error=error) if error else ItemResult(id=i, value=key or "")
                    for (i, _), (error, key) in zip(updates, stamped, strict=True)
                ]
            subs = [
                _Sub("PATCH", self._item_path(kind, i), {"singleValueExtendedProperties": props_out(p)})
                for i, p in updates
            ]
            out: list[ItemResult[str]] = []
            for (item_id, _), answer in zip(updates, self._batch(subs), strict=True):
                if answer.ok:
                    key = _change_key(answer.body) if isinstance(answer.body, Mapping) else None
                    out.append(ItemResult(id=item_id, value=key or ""))
                else:
                    out.append(
                        ItemResult(id=item_id, error=self._item_failure(answer, f"stamp {kind.value}"))
                    )
            return out

        return self._call(f"stamp {kind.value}", work)

    def _collection(self, kind: FolderKind) -> str:
        return f"me/mailFolders/{_MAIL[kind]}/messages" if kind in _MAIL else self._item_path(kind)

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        self._readable(kind)

        def work() -> list[Item]:
            if kind is FolderKind.TASKS:
                # todoTask has no extended properties to filter on: scan the list's open extensions.
                ids = [i for i, props in self._scan(kind) if props.crmid == crmid]
            else:
                literal = crmid.replace("'", "''")
                params = {
                    "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{NAMED_IDS['crmid']}' and ep/value eq '{literal}')",
                    "$select": "id",
                }
                ids = [
                    str(r["id"])
                    for r in self._session.iter_rows(self._collection(kind), params=params, page_size=100)
                ]
            if not ids:
                return []
            return [r.value for r in self.get_many(kind, ids) if r.value is not None]

        return self._call(f"find {kind.value}", work)

    def _scan(self, kind: FolderKind) -> list[tuple[str, NamedProps]]:
        params = {"$select": "id", "$expand": "extensions" if kind is FolderKind.TASKS else _EXT_EXPAND}
        out: list[tuple[str, NamedProps]] = []
        for row in self._session.iter_rows(self._collection(kind), params=params, page_size=200):
            props = props_from(row)
            if props.crmid:
                out.append((str(row["id"]), props))
        return out

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        self._readable(kind)
        yield from self._call(f"scan {kind.value}", lambda: self._scan(kind))

    # -- the root folder -------------------------------------------------------------------------
    def root_sync_org(self) -> str | None:
        def work() -> str | None:
            doc = self._get(
                "me/mailFolders/msgfolderroot",
                params={
                    "$select": "id",
                    "$expand": f"singleValueExtendedProperties($filter=id eq '{NAMED_IDS['crmorgid']}')",
                },
            )
            return _ext_values(doc).get("crmorgid") or None

        return self._call("read root folder", work)

    def set_root_sync_org(self, org_id: str | None) -> None:
        body = {"singleValueExtendedProperties": [{"id": NAMED_IDS["crmorgid"], "value": org_id or ""}]}
        self._call(
            "stamp root folder",
            lambda: self._session.request("PATCH", "me/mailFolders/msgfolderroot", json=body),
        )

    # -- sending ---------------------------------------------------------------------------------
    def send(self, message: OutgoingMessage) -> str:
        """sendMail with our own MIME; Bcc goes in as a header (Exchange strips it from what it sends)."""
        domain = self.settings.address.rsplit("@", 1)[-1] or "d365sync.invalid"
        mime = build_mime(message, domain=domain)
        if message.bcc:
            mime["Bcc"] = ", ".join(formataddr(p) for p in message.bcc)
        message_id = str(mime["Message-ID"])
        payload = base64.b64encode(render(mime))

        def work() -> str:
            self._session.request(
                "POST", "me/sendMail", data=payload, headers={"Content-Type": "text/plain"}, idempotent=False
            )
            return message_id

        return self._call("send", work)


def _server_time(value: str | None) -> str:
    """The server's clock from a Date header, as Graph writes timestamps (or now, if absent)."""
    moment: datetime | None = None
    if value:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            moment = None
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "BACKEND",
    "GRAPH_URL",
    "TASK_EXTENSION",
    "GraphSettings",
    "GraphStore",
    "GraphTokenProvider",
    "prop_id",
    "resource_of",
    "translate",
]
