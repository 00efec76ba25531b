"""A seeded model of a user editing both sides while the engine syncs under faults, and the invariants to check.

The sandbox and the profile are real (the stand-ins, ``Services`` as the wizard configures it); the model only
remembers what was edited where and in which order, so that after a clean run it can say whether the sides agree,
whether anything was duplicated and whether any edit was lost (kept on both sides, or its value in the conflict log).
Retry waits are shortened (Dataverse: a recording no-op sleeper; EWS: tiny waits) so faults cost no wall time.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wizard.crm.client import DataverseClient
from wizard.mailbox.base import TRACKED_CATEGORY, ContactItem, FolderKind, MailboxStore, TaskItem
from wizard.odata.retry import FaultTolerance
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.services import Services
from wizard.settings import MailboxBinding
from wizard.sync.engine import Engine, RunSummary
from wizard.sync.state import StateDB

KINDS = ["contacts", "tasks"]
SEED_ENV = "D365SYNC_SIM_SEED"
#: kind -> (CRM entity set, CRM key, mailbox folder, item class)
SIDES: dict[str, tuple[str, str, FolderKind, type[Any]]] = {
    "contacts": ("contacts", "contactid", FolderKind.CONTACTS, ContactItem),
    "tasks": ("tasks", "activityid", FolderKind.TASKS, TaskItem),
}
#: kind -> [(CRM column, mailbox attribute)] the simulation edits and compares
FIELDS: dict[str, list[tuple[str, str]]] = {
    "contacts": [("jobtitle", "job_title"), ("department", "department")],
    "tasks": [("subject", "subject")],
}


def seeds(default: list[int]) -> list[int]:
    """The seeds to run: ``$D365SYNC_SIM_SEED`` (comma-separated) replays exactly those."""
    chosen = os.environ.get(SEED_ENV, "").strip()
    return [int(s) for s in chosen.split(",") if s.strip()] if chosen else default


# ------------------------------------------------------------------------------------------ the profile


@dataclass
class Rig:
    """A configured profile against a running sandbox, plus the test's own clients for editing both sides."""

    sandbox: Sandbox
    services: Services
    client: DataverseClient
    store: MailboxStore
    user_id: str
    waits: list[float] = field(default_factory=list)  # retry waits the engine's Dataverse session asked for

    def engine(self) -> Engine:
        engine = self.services.engine()
        fast(engine, self.waits)
        return engine

    def run(self) -> RunSummary:
        with self.engine() as engine:
            return engine.run_once(KINDS)

    def state(self) -> StateDB:
        return StateDB.open(self.services.where.state_db)

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


def configure(sandbox: Sandbox, user: int = 0) -> Rig:
    """Configure the profile in ``$D365SYNC_HOME`` the way the wizard does: org, claim, bound mailbox."""
    info = sandbox.port_info()
    u = info["users"][user]
    services = Services(locations().ensure())
    connected = services.connect_org(
        info["dataverse_url"], username=u["upn"], password=u["password"], ca_file=info["ca_file"]
    )
    services.save_org(connected)
    services.claim()
    binding = MailboxBinding(
        address=u["primary_email"],
        kind="exchange",
        auth="basic",
        autodiscover_url=info["autodiscover_url"],
        ca_file=info["ca_file"],
    )
    bound = services.bind_mailbox(binding, u["ews_password"])
    store = services.mailbox_store(bound)
    client = services.dataverse(services.require_sync_org())
    return Rig(sandbox, services, client, store, connected.org.user_id)


# ------------------------------------------------------------------------------------------ reading sides


def crm_rows(rig: Rig, kind: str) -> list[dict[str, Any]]:
    entity_set, key, _folder, _cls = SIDES[kind]
    columns = [key, *(c for c, _ in FIELDS[kind])]
    if kind == "contacts":
        columns.append("lastname")
    return list(rig.client.query(entity_set, select=sorted(set(columns))))


def mailbox_items(rig: Rig, kind: str) -> list[Any]:
    _set, _key, folder, cls = SIDES[kind]
    ids: list[str] = []
    for batch in rig.store.changes(folder, None):
        ids.extend(batch.created)
    return [r.value for r in rig.store.get_many(folder, ids) if r.ok and isinstance(r.value, cls)]


def crm_name(kind: str, row: dict[str, Any]) -> str:
    text = str(row.get("lastname") if kind == "contacts" else row.get("subject") or "")
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
class Record:
    kind: str
    name: str
    origin: str
    edits: list[Edit] = field(default_factory=list)
    deleted_on: str | None = None
    dirty: bool = True  # edited since the last clean run


@dataclass
class Stats:
    runs: int = 0
    edits: int = 0
    creates: int = 0
    deletes: int = 0
    midrun_edits: int = 0
    conflicts: int = 0  # in the conflict log once converged
    faults_armed: Counter[str] = field(default_factory=Counter)
    faults_hit: Counter[str] = field(default_factory=Counter)
    run_status: Counter[str] = field(default_factory=Counter)


class World:
    """The user's edits on both sides, drawn from one seeded ``random.Random``."""

    def __init__(self, rig: Rig, seed: int) -> None:
        self.rig = rig
        self.rnd = random.Random(seed)
        self.seq = itertools.count(1)
        self.records: dict[str, Record] = {}
        self.names = itertools.count(1)
        self.stats = Stats()

    # -- edits ------------------------------------------------------------------------------------
    def value(self, tag: str) -> str:
        return f"{tag}{next(self.seq)}"

    def create(self, kind: str, side: str) -> Record:
        name = f"{'C' if kind == 'contacts' else 'T'}{next(self.names):03d}"
        record = Record(kind, name, side)
        values = {}
        if kind == "contacts":
            values = {"jobtitle": self.value("j"), "department": self.value("d")}
        else:
            values = {"subject": f"{name} {self.value('s')}"}
        if side == "crm":
            body: dict[str, Any] = dict(values)
            if kind == "contacts":
                body.update(firstname="Sim", lastname=name)
            self.rig.client.create(SIDES[kind][0], body)
        else:
            if kind == "contacts":
                item: Any = ContactItem(
                    id="",
                    given_name="Sim",
                    surname=name,
                    job_title=values["jobtitle"],
                    department=values["department"],
                    categories=[TRACKED_CATEGORY],
                )
            else:
                item = TaskItem(id="", subject=values["subject"], categories=[TRACKED_CATEGORY])
            (result,) = self.rig.store.create_many(SIDES[kind][2], [item])
            assert result.ok, result
        for column, value in values.items():
            record.edits.append(Edit(self._seq_of(value), side, column, value))
        self.records[name] = record
        self.stats.creates += 1
        return record

    @staticmethod
    def _seq_of(value: str) -> int:
        return int("".join(ch for ch in value.rsplit(" ", 1)[-1] if ch.isdigit()))

    def find_crm(self, record: Record) -> dict[str, Any] | None:
        rows = [r for r in crm_rows(self.rig, record.kind) if crm_name(record.kind, r) == record.name]
        return rows[0] if rows else None

    def find_mailbox(self, record: Record) -> Any:
        items = [
            i for i in mailbox_items(self.rig, record.kind) if mailbox_name(record.kind, i) == record.name
        ]
        return items[0] if items else None

    def update(self, record: Record, side: str) -> bool:
        column, attribute = self.rnd.choice(FIELDS[record.kind])
        value = self.value(column[0])
        if column == "subject":
            value = f"{record.name} {value}"
        if side == "crm":
            row = self.find_crm(record)
            if row is None:
                return False
            entity_set, key, _f, _c = SIDES[record.kind]
            self.rig.client.update(entity_set, str(row[key]), {column: value})
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
        """Delete a clean, linked record on one side (a dirty one would make a delete-vs-edit case)."""
        if record.dirty or record.deleted_on is not None:
            return False
        if side == "crm":
            row = self.find_crm(record)
            if row is None:
                return False
            entity_set, key, _f, _c = SIDES[record.kind]
            self.rig.client.delete(entity_set, str(row[key]))
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
        for _ in range(count):
            live = [r for r in self.records.values() if r.deleted_on is None]
            roll = self.rnd.random()
            kind = self.rnd.choice(KINDS)
            side = self.rnd.choice(["crm", "mailbox"])
            if roll < 0.35 or not live:
                self.create(kind, side)
            elif roll < 0.9:
                self.update(self.rnd.choice(live), side)
            else:
                self.delete(self.rnd.choice(live), side)

    def midrun_edit(self) -> Any:
        """An edit of a CRM row straight in the stand-in's store, for use while a run is under way."""
        live = [r for r in self.records.values() if r.deleted_on is None and r.kind == "contacts"]
        if not live:
            return None
        record = self.rnd.choice(sorted(live, key=lambda r: r.name))
        env = self.rig.sandbox.environments[0]
        rows = [r for r in env.store.rows("contacts") if str(r.get("lastname")) == record.name]
        if not rows:
            return None
        value = self.value("j")

        def apply() -> None:
            env.store.update("contacts", rows[0]["contactid"], {"jobtitle": value})
            record.edits.append(Edit(self._seq_of(value), "crm", "jobtitle", value))
            record.dirty = True
            self.stats.midrun_edits += 1

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
        if clean(summary):
            for record in self.records.values():
                record.dirty = False


def clean(summary: RunSummary) -> bool:
    return summary.status == "ok" and all(
        getattr(k, d).errors == 0 for k in summary.kinds for d in ("to_crm", "to_mailbox")
    )


def describe(summary: RunSummary) -> list[tuple[str, str, str, int, int]]:
    return [(k.kind, k.status, k.message, k.to_crm.errors, k.to_mailbox.errors) for k in summary.kinds]


# ------------------------------------------------------------------------------------------ invariants


def check_converged(world: World) -> list[str]:
    """Every invariant of a converged sync; returns the violations (empty = converged)."""
    rig = world.rig
    problems: list[str] = []
    with rig.state() as state:
        conflicts = state.conflicts()
        links = {kind: state.links(kind) for kind in KINDS}  # type: ignore[arg-type]
    for kind in KINDS:
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
                if left != right:
                    problems.append(
                        f"{kind} {crm_name(kind, row)}.{column}: crm {left!r} != mailbox {right!r}"
                    )
        linked_names = {crm_name(kind, crm_by_id[c]) for c in kind_links if c in crm_by_id}
        crm_names = {crm_name(kind, r): r for r in rows}
        mb_names = {mailbox_name(kind, i): i for i in items}
        for record in (r for r in world.records.values() if r.kind == kind):
            problems += _check_record(record, crm_names, mb_names, linked_names, conflicts)
    return problems


def _check_record(
    record: Record,
    crm_names: dict[str, dict[str, Any]],
    mb_names: dict[str, Any],
    linked_names: set[str],
    conflicts: list[Any],
) -> list[str]:
    name, kind = record.name, record.kind
    in_crm, in_mb = name in crm_names, name in mb_names
    if record.deleted_on is not None:
        # the delete table (DESIGN section 4 / reference B.9), for a clean linked pair
        expected = {
            ("contacts", "mailbox"): (True, False),  # CRM keeps the contact
            ("contacts", "crm"): (False, True),  # mine: the mailbox keeps an unlinked copy
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
    row = crm_names[name]
    logged = {
        (str(c.field), str(v))
        for c in conflicts
        if c.kind == kind
        for v in (c.crm_value, c.mailbox_value)
        if v is not None
    }
    for column, _attribute in FIELDS[kind]:
        edits = [e for e in record.edits if e.column == column]
        if not edits:
            continue
        final = row.get(column) or ""
        last = max(edits, key=lambda e: e.seq)
        if final == last.value:
            continue
        other = [e for e in edits if e.side != last.side]
        other_last = max(other, key=lambda e: e.seq).value if other else None
        if final == other_last and (column, last.value) in logged:
            continue  # the newest edit lost a conflict: its value is in the log
        problems.append(
            f"{kind} {name}.{column}: final {final!r}, newest edit {last.value!r} ({last.side}) "
            f"neither kept nor in the conflict log"
        )
    return problems
