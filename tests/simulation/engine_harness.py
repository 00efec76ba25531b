"""A seeded model of a user editing both sides while the engine syncs under faults, and the invariants to check.

The sandbox and the profile are real (the stand-ins, ``Factory`` as the wizard configures it); the model only
remembers what was edited where and in which order, so that after a clean run it can say whether the sides agree,
whether anything was duplicated and whether any edit was lost (kept on both sides, or its value in the conflict log).
Kinds: contacts, single appointments, recurring series (occurrence edits, conversions to and from a single
appointment), tasks, received email (tracked by category or not; a tracked message must reach Dynamics 365 exactly
once, by its Message-ID) and Pending Send emails (sent exactly once, or Failed). The conflict policy per kind is
drawn per seed (:meth:`World.draw_policies`) and the "no lost edit" check knows which side may lose. Edits happen
between runs on both sides and, through the stand-ins' ``on_request`` hooks, during a run on both sides
(:meth:`World.midrun_edit`).
Retry waits are shortened (Dataverse: a recording no-op sleeper; EWS: tiny waits) so faults cost no wall time.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import itertools
import json
import os
import random
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.app.factory import Factory
from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import connect_org, save_org
from wizard.crm.client import DataverseClient
from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    ContactItem,
    FolderKind,
    MailboxStore,
    ModifiedOccurrence,
    TaskItem,
)
from wizard.odata.retry import FaultTolerance
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.sandbox.dataverse.schema import ENTITIES
from wizard.sandbox.ews._soap import el, t
from wizard.sandbox.ews.demo import build_message
from wizard.sandbox.ews.ops import apply_update, refresh_computed
from wizard.settings import MailboxBinding
from wizard.sync import recurrence as rec
from wizard.sync import timezones as tzs
from wizard.sync.correlation import normalize_message_id
from wizard.sync.engine import Engine, RunSummary
from wizard.sync.state import StateDB
from wizard.sync.timezones import local_zone_name

RECORD_KINDS = ["contacts", "appointments", "tasks"]
KINDS = ["email", *RECORD_KINDS]  # what a run syncs (the engine's own order puts email first)
#: what the model creates: the engine's kinds plus recurring series (synced by the appointments kind)
MODEL_KINDS = [*KINDS, "series"]
MASTERS = "recurringappointmentmasters"
POLICIES = ["crm_wins", "mailbox_wins", "newest_wins", "ask"]
SEED_ENV = "D365SYNC_SIM_SEED"
WORKER = Path(__file__).with_name("crash_worker.py")
TIMEOUT = 60.0  # seconds any wait on the worker or a held request may take at most
#: kind -> (CRM entity set, CRM key, mailbox folder, item class)
SIDES: dict[str, tuple[str, str, FolderKind, type[Any]]] = {
    "contacts": ("contacts", "contactid", FolderKind.CONTACTS, ContactItem),
    "appointments": ("appointments", "activityid", FolderKind.CALENDAR, AppointmentItem),
    "tasks": ("tasks", "activityid", FolderKind.TASKS, TaskItem),
    "series": (MASTERS, "activityid", FolderKind.CALENDAR, AppointmentItem),
}
#: kind -> [(CRM column, mailbox attribute)] the simulation edits and compares
FIELDS: dict[str, list[tuple[str, str]]] = {
    "contacts": [("jobtitle", "job_title"), ("department", "department")],
    "appointments": [("subject", "subject"), ("location", "location")],
    "tasks": [("subject", "subject")],
    "series": [("subject", "subject"), ("location", "location")],
}
#: kind -> (stand-in folder, item tag, {CRM column: EWS field URI}) for edits made in the EWS stand-in itself
EWS_FIELDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "contacts": (
        "contacts",
        "Contact",
        {"jobtitle": "contacts:JobTitle", "department": "contacts:Department"},
    ),
    "appointments": (
        "calendar",
        "CalendarItem",
        {"subject": "item:Subject", "location": "calendar:Location"},
    ),
    "tasks": ("tasks", "Task", {"subject": "item:Subject"}),
}
EWS_FIELDS["series"] = EWS_FIELDS["appointments"]
#: occurrences of a long weekly series (half a year: past the stand-in's 4-month expansion window)
LONG_SERIES = 26
#: a weekly series' occurrences that fit the stand-in's expansion window for sure (4 months from now)
WINDOW_OCCURRENCES = 16
PREFIX = {"contacts": "C", "appointments": "A", "tasks": "T", "email": "E", "series": "S"}
MAIL_DOMAIN = "sim.example.org"  # senders no Dynamics 365 record has: only tracked mail is in scope


STATS_ENV = "D365SYNC_SIM_STATS"  # a file: each test appends one JSON line of figures (for the docs' table)


def report(what: str, world: World, **extra: Any) -> None:
    """Print a test's figures; with ``$D365SYNC_SIM_STATS`` also append them to that file (works under xdist)."""
    figures = {
        "test": what,
        "policies": world.policies,
        **{f.name: getattr(world.stats, f.name) for f in dataclasses.fields(world.stats)},
        **extra,
    }
    print(f"\n{what} {world.policies}: {world.stats}")
    target = os.environ.get(STATS_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(figures, default=str) + "\n")


def seeds(default: list[int]) -> list[int]:
    """The seeds to run: ``$D365SYNC_SIM_SEED`` (comma-separated) replays exactly those."""
    chosen = os.environ.get(SEED_ENV, "").strip()
    return [int(s) for s in chosen.split(",") if s.strip()] if chosen else default


# ------------------------------------------------------------------------------------------ the profile


@dataclass
class Rig:
    """A configured profile against a running sandbox, plus the test's own clients for editing both sides."""

    sandbox: Sandbox
    factory: Factory
    client: DataverseClient
    store: MailboxStore
    user_id: str
    waits: list[float] = field(default_factory=list)  # retry waits the engine's Dataverse session asked for
    held: str = ""  # the request the last crash_run held when it killed the engine

    def engine(self) -> Engine:
        engine = self.factory.engine()
        fast(engine, self.waits)
        return engine

    def run(self, *, later: dt.timedelta | None = None) -> RunSummary:
        """One run; ``later``: with the engine's clock that much ahead (the run cache's entries older)."""
        with self.engine() as engine:
            if later is not None:
                engine.clock = lambda: dt.datetime.now(dt.UTC) + later
            return engine.run_once(KINDS)

    @property
    def address(self) -> str:
        return str(self.sandbox.port_info()["users"][0]["primary_email"])

    def state(self) -> StateDB:
        return StateDB.open(self.factory.where.state_db)

    def close(self) -> None:
        self.store.close()


def fast(engine: Engine, waits: list[float] | None = None) -> None:
    """Keep the retry policies' shape but spend no wall time: record Dataverse waits, shrink the EWS ones."""
    session = engine.crm.session
    session.retry_policy = FaultTolerance(max_wait=300.0, max_attempts=8, rng=random.Random(0))
    session.sleeper = waits.append if waits is not None else (lambda _s: None)
    mailbox: Any = engine.mailbox
    if hasattr(mailbox, "settings"):
        mailbox.settings = dataclasses.replace(mailbox.settings, retry_wait=0.01)


def configure(sandbox: Sandbox, user: int = 0, *, home: Path | None = None, claim: bool = True) -> Rig:
    """Configure the profile in ``home`` (default ``$D365SYNC_HOME``) the way the wizard does: org, claim (unless
    ``claim`` is False: a second computer of the same user), bound mailbox."""
    info = sandbox.port_info()
    u = info["users"][user]
    factory = Factory(locations(home).ensure())
    connected = connect_org(
        factory, info["dataverse_url"], username=u["upn"], password=u["password"], ca_file=info["ca_file"]
    )
    save_org(factory, connected)
    if claim:
        claim_instance(factory)
    binding = MailboxBinding(
        address=u["primary_email"],
        kind="exchange",
        auth="basic",
        autodiscover_url=info["autodiscover_url"],
        ca_file=info["ca_file"],
    )
    bound = bind_mailbox(factory, binding, u["ews_password"])
    store = factory.mailbox_store(bound)
    client = factory.dataverse(factory.require_sync_org())
    return Rig(sandbox, factory, client, store, connected.org.user_id)


@dataclass(frozen=True)
class Baseline:
    """What the stand-ins held right after :func:`configure` (rows by entity set, mailbox items), so one
    configured profile can serve many seeds (:func:`reset`): setting up costs more than a seed's runs."""

    crm: dict[str, set[str]]
    window: Any  # the organization's future expansion window (expand_everything raises it)
    items: set[str]


def baseline(rig: Rig) -> Baseline:
    env = rig.sandbox.environments[0]
    crm = {
        entity_set: {str(row[d.primary_key]).lower() for row in env.store.rows(entity_set)}
        for entity_set, d in ENTITIES.items()
    }
    organization = env.store.get("organizations", env.org.id) or {}
    ews = rig.sandbox.ews.store
    items = {item.id for mailbox in ews.mailboxes() for item in ews.items_of(mailbox)}
    return Baseline(crm, organization.get("futureexpansionwindow"), items)


def reset(rig: Rig, base: Baseline) -> None:
    """Back to ``base`` for the next seed: every row and item made since deleted (straight in the stand-ins'
    stores), the expansion window as it was, no invitation counted, the state DB (and its tombstones file)
    gone. The profile, its sign-in and the claim stay; the seed writes its own conflict policies."""
    env = rig.sandbox.environments[0]
    for entity_set, d in ENTITIES.items():
        for row in env.store.rows(entity_set):
            if str(row[d.primary_key]).lower() not in base.crm[entity_set]:
                env.store.delete(entity_set, str(row[d.primary_key]))
    env.store.update("organizations", env.org.id, {"futureexpansionwindow": base.window})
    ews = rig.sandbox.ews.store
    for mailbox in ews.mailboxes():
        for item in ews.items_of(mailbox):
            if item.id not in base.items:
                ews.delete(item)
    rig.sandbox.ews.operations.invitations_sent = 0
    state_db = rig.factory.where.state_db
    for path in state_db.parent.glob(state_db.name + "*"):  # -wal, -shm, .tombstones
        path.unlink()
    rig.waits.clear()


# ------------------------------------------------------------------------------------------ reading sides


def crm_rows(rig: Rig, kind: str) -> list[dict[str, Any]]:
    """The CRM rows of a kind; appointments (and series): single appointments and series masters, each row
    marked with its table in ``"@set"`` (the instances of a series are not records of their own)."""
    if engine_kind(kind) == "appointments":
        singles = rig.client.query(
            "appointments",
            select=["activityid", "subject", "location", "instancetypecode", "_seriesid_value"],
        )
        rows = [
            {**r, "@set": "appointments"}
            for r in singles
            if not r.get("_seriesid_value") and r.get("instancetypecode") in (None, 0)
        ]
        masters = rig.client.query(MASTERS, select=["activityid", "subject", "location"])
        return rows + [{**r, "@set": MASTERS} for r in masters]
    entity_set, key, _folder, _cls = SIDES[kind]
    columns = [key, *(c for c, _ in FIELDS[kind])]
    if kind == "contacts":
        columns.append("lastname")
    return [{**r, "@set": entity_set} for r in rig.client.query(entity_set, select=sorted(set(columns)))]


def engine_kind(kind: str) -> str:
    """The engine's kind that syncs a model kind (series are appointments)."""
    return "appointments" if kind == "series" else kind


def crm_emails(rig: Rig) -> Counter[str]:
    """Message-ID -> how many Dynamics 365 email rows carry it."""
    rows = rig.client.query("emails", select=["activityid", "messageid"])
    return Counter(normalize_message_id(str(r.get("messageid") or "")) or "" for r in rows)


def message_id(name: str) -> str:
    return f"<{name.lower()}.sim@{MAIL_DOMAIN}>"


def mailbox_items(rig: Rig, kind: str) -> list[Any]:
    _set, _key, folder, cls = SIDES[kind]
    ids: list[str] = []
    for batch in rig.store.changes(folder, None):
        ids.extend(batch.created)
    return [r.value for r in rig.store.get_many(folder, ids) if r.ok and isinstance(r.value, cls)]


FUTURE = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def deliver(rig: Rig, name: str, *, tracked: bool) -> None:
    """A message arrives in the Inbox (the stand-in's own store, as delivery would put it there)."""
    store, address = rig.sandbox.ews.store, rig.address
    inbox = store.folder(address, "inbox")
    assert inbox is not None
    element = build_message(
        subject=f"{name} about the offer",
        body=f"Message {name}",
        sender=(f"Sender {name}", f"{name.lower()}@{MAIL_DOMAIN}"),
        to=[("Me", address)],
        received=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=int(name[1:])),
        message_id=message_id(name),
        categories=[TRACKED_CATEGORY] if tracked else [],
    )
    store.insert(address, inbox.id, element)


def _stored_name(kind: str, item: Any) -> str:
    """The model's name of an item in the EWS stand-in's store."""
    text = item.text("Surname") if kind == "contacts" else item.text("Subject")
    return str(text or "").split(" ", 1)[0]


def crm_name(kind: str, row: dict[str, Any]) -> str:
    text = str((row.get("lastname") if kind == "contacts" else row.get("subject")) or "")
    return text.split(" ", 1)[0]


def mailbox_name(kind: str, item: Any) -> str:
    text = str(item.surname if kind == "contacts" else item.subject)
    return text.split(" ", 1)[0]


# ------------------------------------------------------------------------------------------ the model


@dataclass
class Edit:
    seq: int
    side: str  # "crm" | "mailbox"
    column: str  # the CRM column name (the conflict log's field name)
    value: str


@dataclass
class Occurrence:
    """The newest edit of one occurrence of a series (by its original date)."""

    seq: int
    side: str
    deleted: bool
    subject: str | None = None
    start: dt.datetime | None = None


@dataclass
class Record:
    kind: str
    name: str
    origin: str
    edits: list[Edit] = field(default_factory=list)
    deleted_on: str | None = None
    dirty: bool = True  # edited since the last clean run
    midrun: bool = False  # edited while the last run was under way
    tracked: bool = False  # email: carries the "Tracked to Dynamics 365" category
    recipient: bool = True  # email made in Dynamics 365 (Pending Send): has a recipient (else it must fail)
    recurring: bool = False  # series: a series now (False: turned into a single appointment)
    pattern: dict[str, Any] = field(default_factory=dict)  # series: the canonical pattern it has now
    hour: int = 9  # series: the local hour its occurrences start
    occurrences: dict[dt.date, Occurrence] = field(default_factory=dict)  # series: edited occurrences


@dataclass
class Stats:
    runs: int = 0
    edits: int = 0
    creates: int = 0
    deletes: int = 0
    mails: int = 0  # messages received (tracked or not)
    sends: int = 0  # emails put in Pending Send in Dynamics 365 (with or without a recipient)
    series: int = 0  # series created
    occurrence_edits: int = 0
    waiting_edits: int = 0  # occurrence edits (mailbox) beyond Dataverse's expansion window: they wait
    conversions: int = 0  # appointment -> series or back
    midrun_edits: Counter[str] = field(default_factory=Counter)  # by side: crm, mailbox, mail
    conflicts: int = 0  # in the conflict log once converged
    faults_armed: Counter[str] = field(default_factory=Counter)
    faults_hit: Counter[str] = field(default_factory=Counter)
    run_status: Counter[str] = field(default_factory=Counter)


def zone_name(rig: Rig) -> str:
    """The mailbox's time zone (series dates are local dates in it)."""
    return getattr(getattr(rig.store, "settings", None), "timezone", None) or local_zone_name()


class World:
    """The user's edits on both sides, drawn from one seeded ``random.Random``.

    ``policies``: the conflict policy per kind (written to the profile); :meth:`draw_policies` picks them."""

    def __init__(self, rig: Rig, seed: int) -> None:
        self.rig = rig
        self.rnd = random.Random(seed)
        self.seq = itertools.count(1)
        self.records: dict[str, Record] = {}
        self.names = itertools.count(1)
        self.stats = Stats()
        self.policies = dict(rig.factory.profile.sync.conflict_policy)

    def draw_policies(self) -> dict[str, str]:
        """A conflict policy per kind for this seed, written to the profile (the crash worker reads it)."""
        self.policies = {kind: self.rnd.choice(POLICIES) for kind in RECORD_KINDS}
        self.rig.factory.profile.sync.conflict_policy = dict(self.policies)
        self.rig.factory.save()
        return self.policies

    # -- edits ------------------------------------------------------------------------------------
    def value(self, tag: str) -> str:
        return f"{tag}{next(self.seq)}"

    def create(self, kind: str, side: str, *, hour: int | None = None, weeks: int | None = None) -> Record:
        """A new record on one side (``hour``: a series' local start hour, else drawn from its name;
        ``weeks``: a weekly series of that many occurrences, else drawn)."""
        name = f"{PREFIX[kind]}{next(self.names):03d}"
        record = Record(kind, name, side)
        if kind == "email":
            return self._pending_send(record) if side == "crm" else self._receive(record)
        values: dict[str, str] = {}
        if kind == "contacts":
            values = {"jobtitle": self.value("j"), "department": self.value("d")}
        elif kind in ("appointments", "series"):
            values = {"subject": f"{name} {self.value('s')}", "location": self.value("l")}
        else:
            values = {"subject": f"{name} {self.value('s')}"}
        start = FUTURE + dt.timedelta(hours=int(name[1:]))  # in the future: CRM deletes propagate
        if kind == "series":
            self._create_series(record, side, values, hour, weeks)
        elif side == "crm":
            body: dict[str, Any] = dict(values)
            if kind == "contacts":
                body.update(firstname="Sim", lastname=name)
            elif kind == "appointments":
                body.update(
                    scheduledstart=_iso(start),
                    scheduledend=_iso(start + dt.timedelta(minutes=30)),
                    appointment_activity_parties=[
                        {
                            "partyid_systemuser@odata.bind": f"/systemusers({self.rig.user_id})",
                            "participationtypemask": 7,  # organizer
                        }
                    ],
                )
            self.rig.client.create(SIDES[kind][0], body)
        else:
            item: Any
            if kind == "contacts":
                item = ContactItem(
                    id="",
                    given_name="Sim",
                    surname=name,
                    job_title=values["jobtitle"],
                    department=values["department"],
                    categories=[TRACKED_CATEGORY],
                )
            elif kind == "appointments":
                item = _tracked_appointment(values, start)
            else:
                item = TaskItem(id="", subject=values["subject"], categories=[TRACKED_CATEGORY])
            (result,) = self.rig.store.create_many(SIDES[kind][2], [item])
            assert result.ok, result
        for column, value in values.items():
            record.edits.append(Edit(self._seq_of(value), side, column, value))
        self.records[name] = record
        self.stats.creates += 1
        return record

    # -- series -----------------------------------------------------------------------------------
    @property
    def other_address(self) -> str:
        """Another sandbox user: an attendee of some series (never invited) and the recipient of sends."""
        return str(self.rig.sandbox.port_info()["users"][1]["primary_email"])

    def _create_series(
        self, record: Record, side: str, values: dict[str, str], hour: int | None, weeks: int | None = None
    ) -> None:
        """A daily or weekly series with a count, starting in the next days. Every other weekly one runs for
        half a year, past Dataverse's expansion window (4 months in the stand-in): its later occurrences have
        no instances until :func:`expand_everything`, so their mailbox edits wait."""
        tz_name = zone_name(self.rig)
        n = int(record.name[1:])
        day = dt.datetime.now(tzs.zone(tz_name)).date() + dt.timedelta(days=1 + n % 3)
        hour = 8 + n % 8 if hour is None else hour
        start = dt.datetime.combine(day, dt.time(hour), tzinfo=tzs.zone(tz_name))
        if weeks is not None:
            shape: dict[str, Any] = {"pattern": "weekly", "weekdays": [day.weekday()], "occurrences": weeks}
        elif self.rnd.random() < 0.5:
            shape = {"pattern": "daily", "interval": 1, "occurrences": self.rnd.randint(3, 5)}
        else:
            count = self.rnd.randint(3, 4)
            if n % 2 == 1:  # not drawn: the other seeds' draws stay as they were
                count = LONG_SERIES
            shape = {"pattern": "weekly", "weekdays": [day.weekday()], "occurrences": count}
        pattern = {"start_date": day.isoformat(), **shape}
        attendee = self.rnd.random() < 0.5
        if side == "crm":
            parties: list[dict[str, Any]] = [
                {
                    "partyid_systemuser@odata.bind": f"/systemusers({self.rig.user_id})",
                    "participationtypemask": 7,
                }
            ]
            if attendee:
                parties.append({"addressused": self.other_address, "participationtypemask": 5})
            body = {
                **values,
                "starttime": _iso(start.astimezone(dt.UTC)),
                "endtime": _iso((start + dt.timedelta(minutes=30)).astimezone(dt.UTC)),
                "recurringappointmentmaster_activity_parties": parties,
                **rec.to_crm(pattern, tz_name, creating=True),
            }
            self.rig.client.create(MASTERS, body)
        else:
            item = _tracked_appointment(
                values,
                start,
                recurrence=rec.to_mailbox(pattern),
                required_attendees=[("Other", self.other_address)] if attendee else [],
            )
            (result,) = self.rig.store.create_many(FolderKind.CALENDAR, [item])
            assert result.ok, result
        record.recurring, record.pattern, record.hour = True, pattern, hour
        self.stats.series += 1

    def _dates(self, record: Record) -> list[dt.date]:
        return rec.to_mailbox(record.pattern).dates(limit=LONG_SERIES) if record.recurring else []

    def edit_occurrence(
        self, record: Record, side: str, *, index: int | None = None, delete: bool | None = None
    ) -> bool:
        """Delete an occurrence of a series, or change its subject and/or time, on one side (``index``:
        which occurrence of the pattern, ``delete``: which of the two; drawn at random when not given)."""
        dates = [d for d in self._dates(record) if not getattr(record.occurrences.get(d), "deleted", False)]
        if record.deleted_on is not None or len(dates) < 2:
            return False
        if (
            index is None
            and side == "mailbox"
            and len(dates) > WINDOW_OCCURRENCES
            and self.rnd.random() < 0.5
        ):
            dates = dates[WINDOW_OCCURRENCES:]  # a long series: half its Outlook edits go past the window
        day = self.rnd.choice(dates) if index is None else self._dates(record)[index]
        tz = tzs.zone(zone_name(self.rig))
        deleted = self.rnd.random() < 0.4 if delete is None else delete
        subject: str | None = None
        start: dt.datetime | None = None
        if not deleted:
            roll = self.rnd.random() if delete is None else 0.5
            if roll < 0.7:
                subject = f"{record.name} {self.value('o')}"
            if roll > 0.4:
                hour = min(record.hour + self.rnd.randint(1, 3), 22)  # later the same day
                start = dt.datetime.combine(day, dt.time(hour, self.rnd.choice([0, 15, 30])), tzinfo=tz)
        seq = next(self.seq)
        if side == "crm":
            row = self.find_crm(record)
            if row is None or row["@set"] != MASTERS:
                return False
            instances = self.rig.client.query(
                "appointments",
                select=["activityid", "originalstartdate", "scheduledstart"],
                filter=f"_seriesid_value eq {row['activityid']}",
            )
            by_day = {
                tzs.local_date(r.get("originalstartdate") or r["scheduledstart"], zone_name(self.rig)): r
                for r in instances
            }
            instance = by_day.get(day)
            if instance is None:
                return False
            if deleted:
                self.rig.client.delete("appointments", str(instance["activityid"]))
            else:
                body: dict[str, Any] = {}
                if subject is not None:
                    body["subject"] = subject
                if start is not None:
                    body.update(
                        scheduledstart=_iso(start.astimezone(dt.UTC)),
                        scheduledend=_iso((start + dt.timedelta(minutes=30)).astimezone(dt.UTC)),
                    )
                self.rig.client.update("appointments", str(instance["activityid"]), body)
        else:
            item = self.find_mailbox(record)
            if item is None or item.recurrence is None:
                return False
            recurrence = item.recurrence
            modified = [m for m in recurrence.modified_occurrences if m.original != day]
            previous = next((m for m in recurrence.modified_occurrences if m.original == day), None)
            if deleted:
                recurrence = dataclasses.replace(
                    recurrence,
                    deleted_occurrences=tuple(sorted({*recurrence.deleted_occurrences, day})),
                    modified_occurrences=tuple(modified),
                )
            else:
                keep_start = previous.start if previous is not None and previous.start else None
                begin = start or keep_start or dt.datetime.combine(day, item.start.astimezone(tz).time(), tz)
                change = ModifiedOccurrence(
                    day,
                    begin,
                    begin + (item.end - item.start),
                    subject if subject is not None else (previous.subject if previous else None),
                    previous.location if previous else None,
                )
                recurrence = dataclasses.replace(
                    recurrence,
                    modified_occurrences=tuple(sorted([*modified, change], key=lambda m: m.original)),
                )
            item.recurrence = recurrence
            (result,) = self.rig.store.update_many(FolderKind.CALENDAR, [item])
            assert result.ok, result
        before = record.occurrences.get(day)
        if not deleted and before is not None:  # what this edit leaves as it was
            subject = subject if subject is not None else before.subject
            start = start if start is not None else before.start
        record.occurrences[day] = Occurrence(seq, side, deleted, subject, start)
        record.dirty = True
        self.stats.occurrence_edits += 1
        if day > dt.date.today() + dt.timedelta(days=125):
            self.stats.waiting_edits += 1
        return True

    def convert(self, record: Record) -> bool:
        """In the mailbox, a series becomes a single appointment or a single appointment a daily series."""
        if record.deleted_on is not None:
            return False
        item = self.find_mailbox(record)
        if item is None or item.start is None:
            return False
        if item.recurrence is not None:
            item.recurrence = None
            record.recurring, record.pattern = False, {}
        else:
            day = item.start.astimezone(tzs.zone(zone_name(self.rig))).date()
            record.pattern = {
                "start_date": day.isoformat(),
                "pattern": "daily",
                "interval": 1,
                "occurrences": 3,
            }
            item.recurrence = rec.to_mailbox(record.pattern)
            record.recurring = True
        (result,) = self.rig.store.update_many(FolderKind.CALENDAR, [item])
        assert result.ok, result
        record.occurrences.clear()
        record.dirty = True
        self.stats.conversions += 1
        return True

    # -- email --------------------------------------------------------------------------------------
    def pending_send(self, *, recipient: bool = True) -> Record:
        """A Pending Send email in Dynamics 365, with or without a recipient."""
        record = Record("email", f"{PREFIX['email']}{next(self.names):03d}", "crm")
        return self._pending_send(record, recipient)

    def _pending_send(self, record: Record, recipient: bool | None = None) -> Record:
        """An email the user writes in Dynamics 365 and puts in Pending Send (statuscode 6); 15 % of them
        have no recipient, so sending must fail (Failed, 8)."""
        record.recipient = self.rnd.random() >= 0.15 if recipient is None else recipient
        parties: list[dict[str, Any]] = [
            {"partyid_systemuser@odata.bind": f"systemusers({self.rig.user_id})", "participationtypemask": 1}
        ]
        if record.recipient:
            parties.append({"addressused": self.other_address, "participationtypemask": 2})
        self.rig.client.create(
            "emails",
            {
                "subject": f"{record.name} offer",
                "description": f"<p>Offer {record.name}</p>",
                "directioncode": True,
                "statecode": 1,
                "statuscode": 6,
                "ownerid@odata.bind": f"systemusers({self.rig.user_id})",
                "email_activity_parties": parties,
            },
        )
        self.records[record.name] = record
        self.stats.sends += 1
        return record

    def _receive(self, record: Record) -> Record:
        """A message arrives in the Inbox; tracked (the category) with probability 0.7."""
        record.tracked = self.rnd.random() < 0.7
        deliver(self.rig, record.name, tracked=record.tracked)
        self.records[record.name] = record
        self.stats.mails += 1
        return record

    @staticmethod
    def _seq_of(value: str) -> int:
        return int("".join(ch for ch in value.rsplit(" ", 1)[-1] if ch.isdigit()))

    def find_crm(self, record: Record) -> dict[str, Any] | None:
        rows = [r for r in crm_rows(self.rig, record.kind) if crm_name(record.kind, r) == record.name]
        return rows[0] if rows else None

    def find_mailbox(self, record: Record) -> Any:
        if record.kind == "email":
            return next(
                (i for i in self.rig.sandbox.ews.store.list_items(self.rig.address, "inbox")
                 if i.text("InternetMessageId") == message_id(record.name)),
                None,
            )  # fmt: skip
        items = [
            i for i in mailbox_items(self.rig, record.kind) if mailbox_name(record.kind, i) == record.name
        ]
        return items[0] if items else None

    def new_value(self, record: Record, column: str) -> str:
        value = self.value(column[0])
        return f"{record.name} {value}" if column == "subject" else value

    def update(self, record: Record, side: str, column: str | None = None) -> bool:
        if record.kind == "email":
            return False  # received mail is not edited; tracking only creates in Dynamics 365
        column, attribute = (
            self.rnd.choice(FIELDS[record.kind])
            if column is None
            else next(f for f in FIELDS[record.kind] if f[0] == column)
        )
        value = self.new_value(record, column)
        if side == "crm":
            row = self.find_crm(record)
            if row is None:
                return False
            _set, key, _f, _c = SIDES[record.kind]
            self.rig.client.update(row["@set"], str(row[key]), {column: value})
        else:
            item = self.find_mailbox(record)
            if item is None:
                return False
            setattr(item, attribute, value)
            (result,) = self.rig.store.update_many(SIDES[record.kind][2], [item])
            assert result.ok, result
        record.edits.append(Edit(self._seq_of(value), side, column, value))
        record.dirty = True
        self.stats.edits += 1
        return True

    def delete(self, record: Record, side: str) -> bool:
        """Delete a clean, linked record on one side (a dirty one would make a delete-vs-edit case).

        Email: a tracked message the user deletes from the Inbox (Dynamics 365 keeps its copy)."""
        if record.dirty or record.deleted_on is not None:
            return False
        if record.kind == "email":
            stored = self.find_mailbox(record)
            if stored is None or not record.tracked:
                return False
            self.rig.sandbox.ews.store.delete(stored)
            side = "mailbox"
        elif side == "crm":
            row = self.find_crm(record)
            if row is None:
                return False
            _set, key, _f, _c = SIDES[record.kind]
            self.rig.client.delete(row["@set"], str(row[key]))
        else:
            item = self.find_mailbox(record)
            if item is None:
                return False
            (result,) = self.rig.store.delete_many(SIDES[record.kind][2], [item.id])
            assert result.ok, result
        record.deleted_on = side
        self.stats.deletes += 1
        return True

    def random_edits(self, count: int) -> None:
        """Creates, field updates and deletes of every model kind on both sides; for series also occurrence
        edits and conversions; for email a received message (mailbox) or a Pending Send email (Dynamics 365)."""
        for _ in range(count):
            live = [r for r in self.records.values() if r.deleted_on is None]
            roll = self.rnd.random()
            kind = self.rnd.choice(MODEL_KINDS)
            side = self.rnd.choice(["crm", "mailbox"])
            if roll < 0.35 or not live:
                self.create(kind, side)
                continue
            record = self.rnd.choice(live)
            if record.kind == "series" and roll < 0.75:
                if self.rnd.random() < 0.15:
                    self.convert(record)
                else:
                    self.edit_occurrence(record, side)
            elif roll < 0.9:
                self.update(record, side)
            else:
                self.delete(record, side)

    def midrun_edit(self, side: str) -> Callable[[], None] | None:
        """An edit made straight in a stand-in's store, to apply while a run is under way (in its thread).

        Dataverse: a synced field of a CRM row. Mailbox: a synced field of an item (what an UpdateItem
        would do, new ChangeKey included), or a message arriving in the Inbox (tracked or not)."""
        live = sorted(
            (r for r in self.records.values() if r.deleted_on is None and r.kind != "email"),
            key=lambda r: r.name,
        )
        if side == "mailbox" and (not live or self.rnd.random() < 0.3):
            return self._midrun_mail()
        if not live:
            return None
        record = self.rnd.choice(live)
        column, _attribute = self.rnd.choice(FIELDS[record.kind])
        return self.midrun_edit_of(record, side, column)

    def midrun_edit_of(self, record: Record, side: str, column: str) -> Callable[[], None] | None:
        """An edit of one field of ``record`` straight in the stand-in of ``side`` (see :meth:`midrun_edit`)."""
        value = self.new_value(record, column)
        return (
            self._midrun_crm(record, column, value)
            if side == "crm"
            else self._midrun_ews(record, column, value)
        )

    def _edited(self, record: Record, side: str, column: str, value: str) -> None:
        record.edits.append(Edit(self._seq_of(value), side, column, value))
        record.dirty = True
        record.midrun = True  # the run under way may have read the record before: dirty until the next one
        self.stats.midrun_edits[side] += 1

    def _midrun_crm(self, record: Record, column: str, value: str) -> Callable[[], None] | None:
        _set, key, _f, _c = SIDES[record.kind]
        env = self.rig.sandbox.environments[0]
        tables = ["appointments", MASTERS] if record.kind == "series" else [_set]
        rows = [
            (table, r)
            for table in tables
            for r in env.store.rows(table)
            if crm_name(record.kind, r) == record.name and not r.get("_seriesid_value")
        ]
        if not rows:
            return None
        entity_set, row_id = rows[0][0], rows[0][1][key]

        def apply() -> None:
            env.store.update(entity_set, row_id, {column: value})
            self._edited(record, "crm", column, value)

        return apply

    def _midrun_ews(self, record: Record, column: str, value: str) -> Callable[[], None] | None:
        folder, tag, uris = EWS_FIELDS[record.kind]
        store, address = self.rig.sandbox.ews.store, self.rig.address
        field_name = uris[column].split(":", 1)[1]

        def apply() -> None:
            with store.transaction():
                found = [
                    i
                    for i in store.list_items(address, folder)
                    if _stored_name(record.kind, i) == record.name
                ]
                if not found:
                    return  # deleted meanwhile (by the run): nothing to edit
                item = found[0]
                working = copy.deepcopy(item.element)
                update = el(t("SetItemField"))
                update.append(el(t("FieldURI"), attrs={"FieldURI": uris[column]}))
                holder = el(t(tag))
                holder.append(el(t(field_name), value))
                update.append(holder)
                changed = apply_update(working, update)
                refresh_computed(working, item.tag)
                item.element = working
                store.save(item, {changed})
            self._edited(record, "mailbox", column, value)

        return apply

    def _midrun_mail(self) -> Callable[[], None]:
        record = Record("email", f"E{next(self.names):03d}", "mailbox")
        tracked = self.rnd.random() < 0.7

        def apply() -> None:
            record.tracked = tracked
            # the run under way may have listed the Inbox already: not in sync before the next clean run
            # (else the model may delete it "cleanly" before the engine ever saw it; seeds 268 and 299)
            record.midrun = True
            deliver(self.rig, record.name, tracked=tracked)
            self.records[record.name] = record
            self.stats.mails += 1
            self.stats.midrun_edits["mail"] += 1

        return apply

    # -- faults -----------------------------------------------------------------------------------
    def arm_faults(self) -> None:
        """A bounded handful of faults on both stand-ins for the next run (paths chosen at random)."""
        dv, ews = self.rig.sandbox.faults, self.rig.sandbox.ews.server.faults
        for _ in range(self.rnd.randint(1, 4)):
            target = self.rnd.choice(["dataverse", "ews"])
            kind = self.rnd.choice(["throttle", "error", "drop", "latency"])
            remaining = self.rnd.randint(1, 3)
            plan = dv if target == "dataverse" else ews
            path = self.rnd.choice(["", "contacts", "tasks", "$batch"]) if target == "dataverse" else ""
            probability = self.rnd.choice([1.0, 0.5])
            if kind == "throttle":
                # Dataverse: 429 + Retry-After: 0 (waits are recorded, not slept); EWS: ErrorServerBusy 10 ms
                plan.throttle(0 if target == "dataverse" else 0.01, remaining=remaining, path_contains=path)
            elif kind == "error":
                plan.error(self.rnd.choice([500, 502, 503]), remaining=remaining, path_contains=path)
            elif kind == "drop":
                plan.drop(remaining=remaining, path_contains=path, probability=probability)
            else:
                plan.latency(0.01, remaining=remaining, path_contains=path)
            self.stats.faults_armed[f"{target}:{kind}"] += remaining

    def clear_faults(self) -> None:
        for plan in (self.rig.sandbox.faults, self.rig.sandbox.ews.server.faults):
            for kind, hits in plan.hits.items():
                self.stats.faults_hit[kind] += hits
            plan.hits.clear()
            plan.clear()

    def ran(self, summary: RunSummary) -> None:
        self.stats.runs += 1
        self.stats.run_status[summary.status] += 1
        for record in self.records.values():
            if clean(summary) and not record.midrun:
                record.dirty = False
            record.midrun = False


def clean(summary: RunSummary) -> bool:
    return summary.status == "ok" and all(
        getattr(k, d).errors == 0 for k in summary.kinds for d in ("to_crm", "to_mailbox")
    )


def describe(summary: RunSummary) -> list[tuple[str, str, str, int, int]]:
    return [(k.kind, k.status, k.message, k.to_crm.errors, k.to_mailbox.errors) for k in summary.kinds]


# ------------------------------------------------------------------------------------------ invariants


def _tracked_appointment(values: dict[str, str], start: dt.datetime, **more: Any) -> AppointmentItem:
    """A half-hour appointment made in the mailbox, tracked, with the model's subject and location."""
    return AppointmentItem(
        id="",
        subject=values["subject"],
        location=values["location"],
        start=start,
        end=start + dt.timedelta(minutes=30),
        categories=[TRACKED_CATEGORY],
        **more,
    )


def expand_everything(world: World, months: int = 12) -> None:
    """Let time pass for series: the organization's future expansion window grows (to a year: past every
    series the simulation makes) and Dataverse's expansion job runs, so the occurrences get their instances
    and the exceptions that waited can be written (the next run must do it)."""
    env = world.rig.sandbox.environments[0]
    env.store.update("organizations", env.org.id, {"futureexpansionwindow": months})
    env.run_expansion_job()


def check_converged(world: World) -> list[str]:
    """Every invariant of a converged sync; returns the violations (empty = converged)."""
    rig = world.rig
    problems: list[str] = []
    with rig.state() as state:
        conflicts = state.conflicts()
        links = {kind: state.links(kind) for kind in KINDS}  # type: ignore[arg-type]
    problems += _check_email(world, links["email"])
    problems += _check_sends(world)
    if rig.sandbox.ews.operations.invitations_sent:
        problems.append(f"{rig.sandbox.ews.operations.invitations_sent} meeting requests/cancellations sent")
    for kind in RECORD_KINDS:
        _set, key, _folder, _cls = SIDES[kind]
        rows = crm_rows(rig, kind)
        items = mailbox_items(rig, kind)
        crm_by_id = {str(r[key]): r for r in rows}
        mb_by_id = {i.id: i for i in items}
        # no duplicates, by name, on either side
        for side, names in (
            ("crm", Counter(crm_name(kind, r) for r in rows)),
            ("mailbox", Counter(mailbox_name(kind, i) for i in items)),
        ):
            problems += [f"{kind}: {n} x{c} in {side}" for n, c in names.items() if c > 1]
        # links one-to-one and pointing at things that exist
        kind_links = links[kind]
        mailbox_ids = Counter(link.mailbox_id for link in kind_links.values())
        problems += [f"{kind}: mailbox item {m} linked {c} times" for m, c in mailbox_ids.items() if c > 1]
        for crm_id, link in kind_links.items():
            row, item = crm_by_id.get(crm_id), mb_by_id.get(link.mailbox_id)
            if row is None or item is None:
                problems.append(f"{kind}: link {crm_id} -> {link.mailbox_id} dangles (crm {row is not None})")
                continue
            for column, attribute in FIELDS[kind]:
                left, right = row.get(column) or "", getattr(item, attribute) or ""
                if left != right and not _undecided(conflicts, kind, crm_id, column, left, right):
                    problems.append(
                        f"{kind} {crm_name(kind, row)}.{column}: crm {left!r} != mailbox {right!r}"
                    )
        linked_names = {crm_name(kind, crm_by_id[c]) for c in kind_links if c in crm_by_id}
        crm_names = {crm_name(kind, r): r for r in rows}
        mb_names = {mailbox_name(kind, i): i for i in items}
        for record in (r for r in world.records.values() if engine_kind(r.kind) == kind):
            found = _check_record(
                record, crm_names, mb_names, linked_names, conflicts, world.policies.get(kind)
            )
            problems += found
            if record.kind == "series" and record.deleted_on is None and not found:
                problems += _check_series(
                    world, record, crm_names[record.name], mb_names[record.name], conflicts
                )
    return problems


def _undecided(conflicts: list[Any], kind: str, crm_id: str, column: str, crm: Any, mailbox: Any) -> bool:
    """Whether the sides differ because of an open "ask" conflict that holds exactly these two values."""
    return any(
        not c.resolved
        and c.kind == kind
        and str(c.crm_id).lower() == crm_id.lower()
        and c.field == column
        and _same(c.crm_value, crm)
        and _same(c.mailbox_value, mailbox)
        for c in conflicts
    )


def _same(a: Any, b: Any) -> bool:
    return (a or None) == (b or None)


def _check_email(world: World, links: dict[str, Any]) -> list[str]:
    """A tracked message is in Dynamics 365 exactly once (by Message-ID) and linked while it is in the
    Inbox; an untracked one (a sender no record has, filter "leads, contacts and accounts") never."""
    rig = world.rig
    counts = crm_emails(rig)
    inbox = {
        i.text("InternetMessageId"): i.id for i in rig.sandbox.ews.store.list_items(rig.address, "inbox")
    }
    linked = {link.mailbox_id for link in links.values()}
    problems: list[str] = []
    for record in (r for r in world.records.values() if r.kind == "email" and r.origin == "mailbox"):
        mid = message_id(record.name)
        want = 1 if record.tracked else 0
        if counts[mid] != want:
            problems.append(
                f"email {record.name} (tracked {record.tracked}): {counts[mid]} in crm, want {want}"
            )
        in_inbox = inbox.get(mid)
        if record.deleted_on is None and in_inbox is None:
            problems.append(f"email {record.name}: gone from the Inbox")
        if record.tracked and in_inbox is not None and in_inbox not in linked:
            problems.append(f"email {record.name}: tracked but not linked")
    return problems


def _check_sends(world: World) -> list[str]:
    """A Pending Send email with a recipient is sent exactly once (one copy in Sent Items, one delivered)
    and ends Sent (3) with that Message-ID, which is in Dynamics 365 once (the Sent Items copy is not
    tracked again); one without a recipient ends Failed (8) and nothing leaves."""
    rig = world.rig
    rows = {
        str(r.get("subject") or "").split(" ", 1)[0]: r
        for r in rig.client.query("emails", select=["activityid", "subject", "statuscode", "messageid"])
    }
    counts = crm_emails(rig)
    ews = rig.sandbox.ews.store
    sent = Counter(
        str(i.text("Subject") or "").split(" ", 1)[0] for i in ews.list_items(rig.address, "sentitems")
    )
    sent_ids = Counter(i.text("InternetMessageId") for i in ews.list_items(rig.address, "sentitems"))
    delivered = Counter(
        str(i.text("Subject") or "").split(" ", 1)[0] for i in ews.list_items(world.other_address, "inbox")
    )
    problems: list[str] = []
    for record in (r for r in world.records.values() if r.kind == "email" and r.origin == "crm"):
        row = rows.get(record.name)
        if row is None:
            problems.append(f"send {record.name}: the email is gone from Dynamics 365")
            continue
        want = (3, 1) if record.recipient else (8, 0)
        got = (row.get("statuscode"), sent[record.name])
        if got != want or delivered[record.name] != want[1]:
            problems.append(
                f"send {record.name}: status {got[0]}, {got[1]} in Sent Items, {delivered[record.name]} "
                f"delivered; want status {want[0]}, {want[1]} sent"
            )
        if record.recipient and row.get("statuscode") == 3:
            mid = str(row.get("messageid") or "")
            if sent_ids[mid] != 1 or counts[normalize_message_id(mid) or ""] != 1:
                problems.append(
                    f"send {record.name}: messageid {mid!r} {sent_ids[mid]} in Sent Items, "
                    f"{counts[normalize_message_id(mid) or '']} in Dynamics 365"
                )
    return problems


def _check_record(
    record: Record,
    crm_names: dict[str, dict[str, Any]],
    mb_names: dict[str, Any],
    linked_names: set[str],
    conflicts: list[Any],
    policy: str | None = "crm_wins",
) -> list[str]:
    name, kind = record.name, record.kind
    in_crm, in_mb = name in crm_names, name in mb_names
    if record.deleted_on is not None:
        # the delete table (DESIGN section 4 / reference B.9), for a clean linked pair
        expected = {
            ("contacts", "mailbox"): (True, False),  # CRM keeps the contact
            ("contacts", "crm"): (False, True),  # mine: the mailbox keeps an unlinked copy
            ("appointments", "mailbox"): (False, False),  # deleted in CRM too
            ("appointments", "crm"): (False, False),  # future, I organize it: deleted in the mailbox too
            ("series", "mailbox"): (False, False),  # a series: as an appointment
            ("series", "crm"): (False, False),
            ("tasks", "mailbox"): (False, False),  # deleted in CRM too
            ("tasks", "crm"): (False, False),  # current task: deleted in the mailbox too
        }[(kind, record.deleted_on)]
        if (in_crm, in_mb) != expected:
            return [
                f"{kind} {name} deleted in {record.deleted_on}: crm {in_crm}, mailbox {in_mb}, want {expected}"
            ]
        return []
    if not (in_crm and in_mb and name in linked_names):
        return [
            f"{kind} {name} ({record.origin}): crm {in_crm}, mailbox {in_mb}, linked {name in linked_names}"
        ]
    problems = []
    row, item = crm_names[name], mb_names[name]
    crm_id = str(row.get("activityid") or row.get("contactid") or "")
    logged = {
        (str(c.field), str(v))
        for c in conflicts
        if c.kind == engine_kind(kind)
        for v in (c.crm_value, c.mailbox_value)
        if v is not None
    }
    for column, attribute in FIELDS[kind]:
        edits = [e for e in record.edits if e.column == column]
        if not edits:
            continue
        final = row.get(column) or ""
        last = max(edits, key=lambda e: e.seq)
        if final != (getattr(item, attribute) or ""):
            # only an undecided "ask" conflict (checked with the links) leaves the sides apart: each side
            # keeps its own value, and the newest edit is one of them
            if policy == "ask" and last.value not in (final, getattr(item, attribute) or ""):
                problems.append(f"{kind} {name}.{column}: newest edit {last.value!r} on neither side")
            continue  # the sides themselves are checked with the links
        if final == last.value:
            continue
        other = [e for e in edits if e.side != last.side]
        other_last = max(other, key=lambda e: e.seq).value if other else None
        must_win = {"crm_wins": "crm", "mailbox_wins": "mailbox"}.get(policy or "")
        if (
            final == other_last
            and (column, last.value) in logged
            and policy != "ask"
            and must_win != last.side
        ):
            continue  # the newest edit lost a conflict to the policy's winner: its value is in the log
        problems.append(
            f"{kind} {name}.{column}: final {final!r}, newest edit {last.value!r} ({last.side}) "
            f"neither kept nor in the conflict log as the loser under {policy} ({crm_id})"
        )
    return problems


def _utc(value: str | None) -> dt.datetime | None:
    parsed = tzs.parse_datetime(value)
    return parsed.astimezone(dt.UTC) if parsed is not None else None


def series_shape(recurrence: dict[str, Any] | None, subject: str, location: str) -> dict[str, Any] | None:
    """What both sides must agree on for a series: the pattern, the deleted dates and, per modified
    occurrence, its time and its own subject/location (blank where the series' own)."""
    canon = rec.strip_same_as_series(rec.normalize(recurrence), subject or None, location or None)
    if canon is None:
        return None
    return {
        "pattern": rec.pattern_only(canon),
        "deleted": sorted(canon["deleted"]),
        "modified": {
            m["original"]: (
                _utc(m.get("start")),
                m.get("subject") or None,
                m.get("location") or None,
            )
            for m in canon["modified"]
        },
    }


def crm_series(world: World, master_id: str) -> dict[str, Any] | None:
    """The canonical recurrence of a CRM master, its exception and deleted instances included."""
    client, tz = world.rig.client, zone_name(world.rig)
    master = client.get(MASTERS, master_id)
    instances = client.query(
        "appointments",
        select=[
            "activityid", "instancetypecode", "originalstartdate", "scheduledstart", "scheduledend",
            "subject", "location", "statecode",
        ],
        filter=f"_seriesid_value eq {master_id}",
    )  # fmt: skip
    # the list holds the original starts (instants) of deleted instances: the dates they start on, locally
    deleted = [p for p in str(master.get("deletedexceptionslist") or "").split(",") if p]
    master["deletedexceptionslist"] = ",".join(tzs.local_date(p, tz).isoformat() for p in deleted)
    return rec.from_crm(master, tz, instances=instances)


def _check_series(
    world: World, record: Record, row: dict[str, Any], item: AppointmentItem, conflicts: list[Any]
) -> list[str]:
    """One master on each side with the same pattern and the same exceptions; the shape (series or single)
    and the occurrence edits the model made are there, unless a conflict on the recurrence was logged."""
    crm_id = str(row["activityid"]).lower()
    recurrence_conflicts = [
        c for c in conflicts if c.field == "recurrence" and str(c.crm_id).lower() == crm_id
    ]
    open_conflict = any(not c.resolved for c in recurrence_conflicts)
    crm_is_series, mb_is_series = row["@set"] == MASTERS, item.recurrence is not None
    name = record.name
    if crm_is_series != mb_is_series:
        return (
            []
            if open_conflict
            else [f"series {name}: series in crm {crm_is_series}, in mailbox {mb_is_series}"]
        )
    if crm_is_series != record.recurring and not recurrence_conflicts:
        return [f"series {name}: a series {crm_is_series}, the model says {record.recurring}"]
    if not crm_is_series:
        return []
    crm = series_shape(crm_series(world, crm_id), row.get("subject") or "", row.get("location") or "")
    mailbox = series_shape(rec.from_mailbox(item.recurrence), item.subject or "", item.location or "")
    if crm != mailbox:
        return [] if open_conflict else [f"series {name}: crm {crm} != mailbox {mailbox}"]
    if recurrence_conflicts or mailbox is None:
        return []  # a recurrence lost (or waits for) a conflict: its value is in the log
    problems = []
    for day, edit in record.occurrences.items():
        key = day.isoformat()
        if edit.deleted:
            if key not in mailbox["deleted"]:
                problems.append(f"series {name}: occurrence {key} deleted in {edit.side} is back")
            continue
        got = mailbox["modified"].get(key)
        want_subject = edit.subject if edit.subject != (item.subject or None) else None
        want_start = edit.start.astimezone(dt.UTC) if edit.start else None
        if (
            got is None
            or (edit.subject is not None and got[1] != want_subject)
            or (want_start is not None and got[0] != want_start)
        ):
            problems.append(
                f"series {name}: occurrence {key} edited in {edit.side} ({edit.subject}, {want_start}) is {got}"
            )
    return problems


# ------------------------------------------------------------------------------------------ real crashes


class KillSwitch:
    """Counts the engine process's requests on both stand-ins; holds the k-th one until the process is dead.

    The held request is then let through, so the stand-in applies it with nobody left to read the answer:
    the nastiest point for a crash ("made remotely, never recorded locally").
    """

    def __init__(self, k: int, after: Callable[[str, str], bool] | None = None) -> None:
        self.k, self.seen = k, 0
        self.after = after  # count only from the first request this accepts (it is number 1)
        self.held = ""
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, method: str, path: str) -> None:
        with self.lock:
            if self.after is not None and self.seen == 0 and not self.after(method, path):
                return
            self.seen += 1
            hold = self.seen == self.k
        if hold:
            self.held = f"{method} {path.split('?', 1)[0]}"
            self.thread = threading.current_thread()
            self.reached.set()
            self.release.wait(TIMEOUT)


def crash_run(rig: Rig, k: int, tmp: Path, after: Callable[[str, str], bool] | None = None) -> bool:
    """Run one engine run in ``crash_worker.py``, SIGKILL it while the stand-ins hold its k-th request
    (counted from the first request ``after`` accepts, if given).

    True if it was killed (False: the run made fewer than k requests and finished)."""
    switch = KillSwitch(k, after)
    servers = [rig.sandbox.environments[0].server, rig.sandbox.ews.server]
    for server in servers:
        server.on_request = switch
    log = tmp / f"worker-{k}.log"
    try:
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, str(WORKER)],
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                waiter = threading.Thread(target=proc.wait, daemon=True)
                waiter.start()
                while not switch.reached.is_set() and waiter.is_alive():
                    switch.reached.wait(0.05)  # bounded polling: the request arrives or the process ends
                    if not waiter.is_alive():
                        break
                killed = switch.reached.is_set()
                if killed:
                    proc.kill()
                proc.wait(TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(TIMEOUT)
    finally:
        for server in servers:
            server.on_request = None
        switch.release.set()
        if switch.thread is not None:  # the held request is applied (its answer goes nowhere) before going on
            switch.thread.join(TIMEOUT)
            assert not switch.thread.is_alive()
    if not killed:
        assert proc.returncode == 0, log.read_text()
    rig.held = switch.held if killed else ""
    print(f"k={k}: {'killed holding ' + switch.held if killed else 'run finished first'}")
    return killed


def conversion_delete(method: str, path: str) -> bool:
    """The request that starts a conversion: the DELETE of the appointment (or master) it replaces."""
    target = path.split("?", 1)[0]
    return method == "DELETE" and ("/appointments(" in target or f"/{MASTERS}(" in target)


def pending_query(method: str, path: str) -> bool:
    """The email kind's query for the user's Pending Send emails (what a send starts with)."""
    return method == "GET" and "/emails?" in path and "statuscode" in path and "directioncode" in path
