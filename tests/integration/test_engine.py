"""The sync engine end to end against the stand-ins: Dataverse (Web API) and Exchange (EWS).

Each test gets its own sandbox (they start in well under a second) and a profile configured the way the
wizard does it (organization, synchronizing computer, bound mailbox), through ``Factory``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from wizard.app.factory import Factory
from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import connect_org, save_org
from wizard.crm import records
from wizard.crm.client import DataverseClient
from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    ContactItem,
    FolderKind,
    LinkState,
    MailboxStore,
    TaskItem,
)
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.settings import MailboxBinding
from wizard.settings.enums import Kind
from wizard.sync.engine import Engine, EngineBusy, EngineLock, RunSummary
from wizard.sync.state import StateDB
from wizard.sync.status import status_snapshot

KINDS = ["contacts", "appointments", "tasks"]


@dataclass
class Setup:
    factory: Factory
    client: DataverseClient
    store: MailboxStore
    user_id: str
    sandbox: Sandbox

    def engine(self) -> Engine:
        engine: Engine = self.factory.engine()
        return engine

    def run(self, **kwargs: Any) -> RunSummary:
        with self.engine() as engine:
            return engine.run_once(KINDS, **kwargs)

    def state(self) -> StateDB:
        return StateDB.open(self.factory.where.state_db)

    def lose_state(self) -> None:
        """Delete the state DB with its WAL files, as a lost or wiped profile would."""
        state_db = self.factory.where.state_db
        for suffix in ("", "-wal", "-shm"):
            state_db.with_name(state_db.name + suffix).unlink(missing_ok=True)

    def contacts(self) -> dict[str, ContactItem]:
        return {c.surname: c for c in _items(self.store, FolderKind.CONTACTS, ContactItem)}

    def crm_contacts(self) -> dict[str, dict[str, Any]]:
        rows = self.client.query(
            "contacts", select=["contactid", "lastname", "jobtitle", "department", "_ownerid_value"]
        )
        return {str(r["lastname"]): r for r in rows}


def _items(store: MailboxStore, folder: FolderKind, cls: type[Any]) -> list[Any]:
    ids: list[str] = []
    for batch in store.changes(folder, None):
        ids.extend(batch.created)
    return [r.value for r in store.get_many(folder, ids) if r.ok and isinstance(r.value, cls)]


def _configure(sandbox: Sandbox, user: int = 0) -> Setup:
    info = sandbox.port_info()
    u = info["users"][user]
    factory = Factory(locations().ensure())
    connected = connect_org(
        factory, info["dataverse_url"], username=u["upn"], password=u["password"], ca_file=info["ca_file"]
    )
    save_org(factory, connected)
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
    return Setup(factory, client, store, connected.org.user_id, sandbox)


def _new_contact(client: DataverseClient, first: str, last: str, **extra: Any) -> str:
    return client.create("contacts", {"firstname": first, "lastname": last, **extra})


def _ok(summary: RunSummary) -> None:
    assert summary.status == "ok", [(k.kind, k.status, k.message) for k in summary.kinds]


def _totals(summary: RunSummary) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in summary.kinds:
        for direction in ("to_crm", "to_mailbox"):
            for name, value in vars(getattr(k, direction)).items():
                out[name] = out.get(name, 0) + value
    return out


# ------------------------------------------------------------------------------------------- scenario


def test_two_way_scenario(setup: Setup) -> None:
    client, store = setup.client, setup.store
    other = setup.sandbox.port_info()["users"][1]["systemuserid"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    # Dynamics 365: two contacts of mine, one of someone else, a future appointment with me as organizer, a task.
    alice = _new_contact(client, "Alice", "Adams", jobtitle="Buyer")
    bob = _new_contact(client, "Bob", "Brown", jobtitle="CEO")
    _new_contact(client, "Olga", "Other", **{"ownerid@odata.bind": f"/systemusers({other})"})
    meeting = client.create(
        "appointments",
        {
            "subject": "Kickoff",
            "scheduledstart": (now + dt.timedelta(days=2)).isoformat().replace("+00:00", "Z"),
            "scheduledend": (now + dt.timedelta(days=2, hours=1)).isoformat().replace("+00:00", "Z"),
            "appointment_activity_parties": [
                {
                    "partyid_systemuser@odata.bind": f"/systemusers({setup.user_id})",
                    "participationtypemask": 7,
                }
            ],
        },
    )
    task = client.create("tasks", {"subject": "Send the offer"})
    # The mailbox: a contact tracked by hand, and one that is not tracked.
    created = store.create_many(
        FolderKind.CONTACTS,
        [
            ContactItem(id="", given_name="Tina", surname="Tracked", categories=[TRACKED_CATEGORY]),
            ContactItem(id="", given_name="Pia", surname="Private"),
        ],
    )
    assert all(r.ok for r in created)

    first = setup.run()
    _ok(first)
    contacts = setup.contacts()
    assert set(contacts) == {"Adams", "Brown", "Tracked", "Private"}  # Olga is not mine: not in scope
    assert (
        contacts["Adams"].props.crmid == alice and contacts["Adams"].props.crmlinkstate == LinkState.TRACKED
    )
    assert contacts["Adams"].job_title == "Buyer"
    crm = setup.crm_contacts()
    assert "Tracked" in crm and "Private" not in crm
    assert contacts["Tracked"].props.crmid == crm["Tracked"]["contactid"]
    assert contacts["Tracked"].props.crmorgid == setup.factory.profile.sync_org_id
    (appointment,) = _items(store, FolderKind.CALENDAR, AppointmentItem)
    assert appointment.subject == "Kickoff" and appointment.props.crmid == meeting
    (mailbox_task,) = _items(store, FolderKind.TASKS, TaskItem)
    assert mailbox_task.subject == "Send the offer" and mailbox_task.props.crmid == task
    with setup.state() as state:
        assert state.count_links(Kind.CONTACTS) == 3
        assert state.count_links(Kind.APPOINTMENTS) == 1 and state.count_links(Kind.TASKS) == 1

    # A second run with no changes creates and updates nothing.
    second = setup.run()
    _ok(second)
    assert _totals(second) == dict.fromkeys(_totals(second), 0)

    # Both sides edit: different fields of Alice merge; the same field of Bob conflicts (Dynamics 365 wins).
    client.update("contacts", alice, {"jobtitle": "Head of Purchasing"})
    client.update("contacts", bob, {"jobtitle": "Chairman"})
    adams, brown = contacts["Adams"], contacts["Brown"]
    adams.department = "Procurement"
    brown.job_title = "Founder"
    fresh = {c.id: c for c in _items(store, FolderKind.CONTACTS, ContactItem)}
    adams.change_key, brown.change_key = fresh[adams.id].change_key, fresh[brown.id].change_key
    assert all(r.ok for r in store.update_many(FolderKind.CONTACTS, [adams, brown]))

    third = setup.run()
    _ok(third)
    contacts, crm = setup.contacts(), setup.crm_contacts()
    assert (contacts["Adams"].job_title, contacts["Adams"].department) == (
        "Head of Purchasing",
        "Procurement",
    )
    assert (crm["Adams"]["jobtitle"], crm["Adams"]["department"]) == ("Head of Purchasing", "Procurement")
    assert contacts["Brown"].job_title == crm["Brown"]["jobtitle"] == "Chairman"
    with setup.state() as state:
        (conflict,) = [c for c in state.conflicts(Kind.CONTACTS) if c.field == "jobtitle"]
    assert (conflict.crm_value, conflict.mailbox_value, conflict.winner) == ("Chairman", "Founder", "crm")

    # The user applies the losing value later: the mailbox's "Founder" goes to Dynamics 365.
    with setup.engine() as engine:
        assert "Dynamics 365" in engine.resolve_conflict(conflict.id, "mailbox")
    assert setup.crm_contacts()["Brown"]["jobtitle"] == "Founder"
    fourth = setup.run()
    _ok(fourth)
    assert setup.contacts()["Brown"].job_title == "Founder"
    with setup.state() as state:
        assert not state.conflicts(unresolved_only=True)

    # Deletes, per the original's table.
    (appointment,) = _items(store, FolderKind.CALENDAR, AppointmentItem)
    assert store.delete_many(FolderKind.CALENDAR, [appointment.id])[0].ok  # -> deleted in Dynamics 365
    client.delete("tasks", task)  # an open task deleted in CRM -> deleted in the mailbox
    assert store.delete_many(FolderKind.CONTACTS, [contacts["Adams"].id])[0].ok  # CRM keeps the contact
    client.delete("contacts", crm["Tracked"]["contactid"])  # mine: the mailbox keeps an unlinked copy
    fifth = setup.run()
    _ok(fifth)
    assert not list(client.query("appointments", select=["activityid"]))
    assert _items(store, FolderKind.TASKS, TaskItem) == []
    contacts, crm = setup.contacts(), setup.crm_contacts()
    assert "Adams" in crm and "Adams" not in contacts
    assert "Tracked" not in crm and contacts["Tracked"].props.crmlinkstate == LinkState.NOT_TRACKED
    with setup.state() as state:
        assert set(state.links(Kind.CONTACTS)) == {bob}
        assert state.count_links(Kind.APPOINTMENTS) == state.count_links(Kind.TASKS) == 0

    # The status reflects the last run.
    with setup.state() as state:
        snapshot = status_snapshot(state, setup.factory.profile, is_sync_computer=True, next_run=None)
    shape = snapshot.to_json()
    contacts_status = next(k for k in shape["kinds"] if k["kind"] == "contacts")
    assert contacts_status["status"] == "ok" and contacts_status["linked"] == 1
    assert contacts_status["to_mailbox"]["unlinked"] == 1
    assert shape["sync_org"]["id"] == setup.factory.profile.sync_org_id


def test_dry_run_changes_nothing(setup: Setup) -> None:
    _new_contact(setup.client, "Dora", "Dry")
    summary = setup.run(dry_run=True)
    assert summary.status == "dry_run" and summary.run_id is None
    assert any("create in the mailbox" in line and "Dora Dry" in line for line in summary.planned)
    assert setup.contacts() == {}
    with setup.state() as state:
        assert state.runs() == [] and state.count_links(Kind.CONTACTS) == 0
        assert state.cursor(Kind.CONTACTS, "crm") is None
    _ok(setup.run())
    assert set(setup.contacts()) == {"Dry"}


def test_mass_delete_asks_first(setup: Setup) -> None:
    client = setup.client
    ids = [client.create("tasks", {"subject": f"Task {n}"}) for n in range(12)]
    _ok(setup.run())
    assert len(_items(setup.store, FolderKind.TASKS, TaskItem)) == 12
    for task_id in ids:
        client.delete("tasks", task_id)
    stopped = setup.run()
    (tasks,) = [k for k in stopped.kinds if k.kind == "tasks"]
    assert tasks.status == "needs_confirmation" and "12" in tasks.message
    assert stopped.status == "partial"
    assert len(_items(setup.store, FolderKind.TASKS, TaskItem)) == 12  # nothing deleted
    again = setup.run()  # the same changes come back: the cursors were kept
    assert next(k for k in again.kinds if k.kind == "tasks").status == "needs_confirmation"
    # The command line asks; without a terminal the answer is no, --yes plans again with force.
    from wizard.cli import main

    assert main(["sync", "--once", "--kind", "tasks"]) == 1
    assert len(_items(setup.store, FolderKind.TASKS, TaskItem)) == 12
    assert main(["sync", "--once", "--kind", "tasks", "--yes"]) == 0
    assert _items(setup.store, FolderKind.TASKS, TaskItem) == []
    with setup.state() as state:
        assert state.count_links(Kind.TASKS) == 0


def test_not_the_synchronizing_computer_syncs_nothing(setup: Setup) -> None:
    _new_contact(setup.client, "Nora", "Nosync")
    records.claim(setup.client, "another-instance", "other-pc", force=True)
    summary = setup.run()
    assert summary.status == "not_sync_computer" and summary.kinds == []
    assert setup.contacts() == {}
    with setup.state() as state:
        assert state.runs() == []


def test_one_engine_per_profile(setup: Setup) -> None:
    lock = EngineLock(setup.factory.where.lock_file)
    lock.acquire()
    try:
        with pytest.raises(EngineBusy) as caught:
            setup.run()
        assert "already running" in caught.value.user_text
    finally:
        lock.release()
    _ok(setup.run())  # free again


def test_rebuilt_state_relinks_instead_of_duplicating(setup: Setup) -> None:
    _new_contact(setup.client, "Rita", "Relink")
    _ok(setup.run())
    setup.lose_state()
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["created"] == 0
    assert list(setup.contacts()) == ["Relink"]
    with setup.state() as state:
        assert state.count_links(Kind.CONTACTS) == 1


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def run_started(self, kinds: Any) -> None:
        self.events.append(("run_started", list(kinds)))

    def kind_started(self, kind: str) -> None:
        self.events.append(("kind_started", kind))

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        self.events.append(("progress", kind))

    def kind_finished(self, result: Any) -> None:
        self.events.append(("kind_finished", result.kind))

    def run_finished(self, summary: RunSummary) -> None:
        self.events.append(("run_finished", summary.status))


def test_reporter_sees_the_run(setup: Setup) -> None:
    _new_contact(setup.client, "Rob", "Report")
    recorder = _Recorder()
    with setup.factory.engine(recorder) as engine:
        _ok(engine.run_once(KINDS))
    names = [e[0] for e in recorder.events]
    assert recorder.events[0] == ("run_started", KINDS)
    assert recorder.events[-1] == ("run_finished", "ok")
    assert names.count("kind_started") == names.count("kind_finished") == 3
    assert ("progress", "contacts") in recorder.events


def test_a_create_cut_short_by_a_crash_is_not_made_twice(setup: Setup) -> None:
    """The journal says a mailbox create was sent; the item exists (stamped) but was never linked."""
    from wizard.mailbox.base import NamedProps

    contact_id = _new_contact(setup.client, "Cora", "Crash")
    (made,) = setup.store.create_many(
        FolderKind.CONTACTS,
        [
            ContactItem(
                id="",
                given_name="Cora",
                surname="Crash",
                props=NamedProps(crmid=contact_id, crmlinkstate=LinkState.TRACKED),
            )
        ],
    )
    assert made.ok
    with setup.state() as state:
        state.journal_create(Kind.CONTACTS, "mailbox", contact_id, "hash")
    summary = setup.run()
    _ok(summary)
    assert _totals(summary)["created"] == 0
    assert list(setup.contacts()) == ["Crash"]
    with setup.state() as state:
        assert state.pending_creates() == []
        link = state.link_by_crm(Kind.CONTACTS, contact_id)
        assert link is not None and link.mailbox_id == made.id


def test_a_tracked_series_is_synchronized_as_a_recurring_master(setup: Setup) -> None:
    """A series tracked in the mailbox becomes one recurringappointmentmaster (not appointments); the rerun is quiet.

    Series in depth: tests/integration/test_engine_series.py.
    """
    from wizard.mailbox.base import Recurrence, RecurrencePattern

    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0, second=0, minute=0)
    series = AppointmentItem(
        id="",
        subject="Daily stand-up",
        start=start,
        end=start + dt.timedelta(minutes=15),
        recurrence=Recurrence(RecurrencePattern.DAILY, start.date(), occurrences=5),
        categories=[TRACKED_CATEGORY],
    )
    assert setup.store.create_many(FolderKind.CALENDAR, [series])[0].ok
    _ok(setup.run())
    (master,) = setup.client.query(
        "recurringappointmentmasters", select=["activityid", "subject", "occurrences"]
    )
    assert master["subject"] == "Daily stand-up" and master["occurrences"] == 5
    assert not list(setup.client.query("appointments", select=["activityid"], filter="instancetypecode eq 0"))
    (kept,) = _items(setup.store, FolderKind.CALENDAR, AppointmentItem)
    assert kept.props.crmid == master["activityid"]
    again = setup.run()
    _ok(again)
    assert _totals(again) == dict.fromkeys(_totals(again), 0)


def test_an_item_failure_skips_that_pair_and_is_retried(setup: Setup) -> None:
    """Dynamics 365 refuses one update (too long): the others go on, the pair's base stays, the next run retries."""
    contact_id = _new_contact(setup.client, "Ivo", "Item")
    _new_contact(setup.client, "Fine", "Fellow")
    _ok(setup.run())
    item = setup.contacts()["Item"]
    item.job_title = "x" * 150  # jobtitle holds 100 characters in Dynamics 365
    item.department = "Sales"
    assert setup.store.update_many(FolderKind.CONTACTS, [item])[0].ok
    setup.client.update("contacts", _crm_id(setup, "Fellow"), {"jobtitle": "Lead"})

    failed = setup.run()
    (contacts,) = [k for k in failed.kinds if k.kind == "contacts"]
    assert contacts.status == "ok" and contacts.to_crm.errors == 1
    assert setup.contacts()["Fellow"].job_title == "Lead"  # the other pair went on
    assert setup.crm_contacts()["Item"]["department"] is None  # nothing of the failed pair was half-applied
    with setup.state() as state:
        link = state.link_by_crm(Kind.CONTACTS, contact_id)
        assert link is not None and link.base is not None and link.base.get("department") is None
        (error,) = state.errors(failed.run_id or 0)
        assert error.kind == "contacts" and error.item == contact_id

    again = setup.run()  # no new change, but the failed item is read and tried again
    assert next(k for k in again.kinds if k.kind == "contacts").to_crm.errors == 1

    item = setup.contacts()["Item"]
    item.job_title = "Manager"
    assert setup.store.update_many(FolderKind.CONTACTS, [item])[0].ok
    _ok(setup.run())
    crm = setup.crm_contacts()["Item"]
    assert (crm["jobtitle"], crm["department"]) == ("Manager", "Sales")


def _crm_id(setup: Setup, last: str) -> str:
    return str(setup.crm_contacts()[last]["contactid"])


class _Failing:
    def __init__(self, kind: str, error: Exception) -> None:
        self.kind = kind
        self.error = error

    def run(self, ctx: Any, *, dry_run: bool, force: bool) -> Any:
        raise self.error


def test_a_kind_error_stops_that_kind_an_account_error_the_run(setup: Setup) -> None:
    from wizard.errors import D365SyncError, Severity
    from wizard.sync.records import RecordSync

    _new_contact(setup.client, "Kim", "Kindly")
    kind_error = D365SyncError("no tasks here", user_text="Tasks are not available.", severity=Severity.KIND)
    with setup.engine() as engine:
        engine.syncs = {"contacts": RecordSync(Kind.CONTACTS), "tasks": _Failing("tasks", kind_error)}
        summary = engine.run_once(["contacts", "tasks"])
    assert summary.status == "partial"
    assert [(k.kind, k.status) for k in summary.kinds] == [("contacts", "ok"), ("tasks", "error")]
    assert set(setup.contacts()) == {"Kindly"}

    account_error = D365SyncError("signed out", user_text="Sign in again.", severity=Severity.ACCOUNT)
    with setup.engine() as engine:
        engine.syncs = {
            "appointments": _Failing("appointments", account_error),
            "tasks": RecordSync(Kind.TASKS),
        }
        summary = engine.run_once(["appointments", "tasks"])
    assert summary.status == "failed"
    assert [(k.kind, k.status) for k in summary.kinds] == [("appointments", "error"), ("tasks", "skipped")]
    with setup.state() as state:
        snapshot = status_snapshot(state, setup.factory.profile, is_sync_computer=True, next_run=None)
    assert snapshot.kind("appointments").status == "error"
    assert snapshot.kind("appointments").errors == ["Sign in again."]
    assert snapshot.kind("contacts").status == "ok"  # from the run before


def test_deleted_while_edited_can_be_restored(setup: Setup) -> None:
    """A task edited in Dynamics 365 and deleted in the mailbox: the delete wins, the edit is kept and restorable."""
    task_id = setup.client.create("tasks", {"subject": "Call back"})
    _ok(setup.run())
    (task,) = _items(setup.store, FolderKind.TASKS, TaskItem)
    setup.client.update("tasks", task_id, {"subject": "Call back today"})
    assert setup.store.delete_many(FolderKind.TASKS, [task.id])[0].ok
    _ok(setup.run())
    assert not list(setup.client.query("tasks", select=["activityid"]))
    with setup.state() as state:
        (conflict,) = state.conflicts(Kind.TASKS)
    assert conflict.field == "*" and conflict.reason == "delete_vs_edit"
    assert conflict.crm_value["subject"] == "Call back today" and conflict.mailbox_value is None
    with setup.engine() as engine:
        assert "restored" in engine.resolve_conflict(conflict.id, "crm")
    (row,) = setup.client.query("tasks", select=["subject"])
    assert row["subject"] == "Call back today"
    _ok(setup.run())
    (back,) = _items(setup.store, FolderKind.TASKS, TaskItem)
    assert back.subject == "Call back today"


def test_claim_check_failure_is_a_failed_run_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from wizard.odata.errors import ServerError
    from wizard.sync.engine import Engine

    engine = Engine.__new__(Engine)
    engine.clock = lambda: datetime.now(UTC)
    engine.reporter = SimpleNamespace(run_finished=lambda summary: None)
    monkeypatch.setattr(Engine, "enabled_kinds", lambda self, kinds: ["contacts", "tasks"])

    def boom(self: Engine, *, dry_run: bool) -> bool:
        raise ServerError("500 from the organization", status=500, user_text="Dynamics 365 had a problem.")

    monkeypatch.setattr(Engine, "_claim_is_ours", boom)
    summary = engine.run_once()
    assert summary.status == "failed"
    assert [k.status for k in summary.kinds] == ["error", "error"]
    assert summary.kinds[0].message == "Dynamics 365 had a problem."


# -- the synchronizing-computer claim during a run (issue 11, items 6 and 7) --------------------------------


def test_a_full_disk_stops_the_run_before_the_claims_heartbeat(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's first state write comes before anything is written remotely, the heartbeat included."""
    from wizard.sync.statefile import DiskFull

    _new_contact(setup.client, "Dora", "Disk")
    env = setup.sandbox.environments[0].server
    before = records.own_mailbox(setup.client).etag

    def full(self: StateDB) -> int:
        raise DiskFull(
            "database or disk is full", user_text="The disk holding … is full; nothing was changed."
        )

    monkeypatch.setattr(StateDB, "start_run", full)
    env.reset_counts()
    with pytest.raises(DiskFull):
        setup.run()
    assert [(m, p) for m, p in env.request_log if m != "GET"] == []
    assert records.own_mailbox(setup.client).etag == before
    assert setup.contacts() == {}


def test_a_claim_lost_mid_run_stops_the_engine_before_its_next_batch(setup: Setup) -> None:
    """Another computer claims (with "yes") while this one reads: nothing more is written, the run says why."""
    for last in ("Lost", "Claim"):
        _new_contact(setup.client, "Anna", last)
    env = setup.sandbox.environments[0].server
    taken: list[str] = []

    def take_over(method: str, path: str) -> None:
        if not taken and method == "GET" and "/contacts" in path:
            taken.append(path)  # first: the other computer's own requests pass through here too
            records.claim(setup.client, "another-instance", "other-pc", force=True)

    env.on_request = take_over
    try:
        summary = setup.run()
    finally:
        env.on_request = None
    assert taken
    assert summary.status == "not_sync_computer", summary
    by_kind = {k.kind: k for k in summary.kinds}
    assert by_kind["contacts"].status == "error"
    assert "Another computer, other-pc, now synchronizes this organization; this computer stopped." in (
        by_kind["contacts"].message
    )
    assert {by_kind[k].status for k in ("appointments", "tasks")} == {"skipped"}
    assert setup.contacts() == {}  # the creates were the next batch: never written
    with setup.state() as state:
        (run,) = state.runs()
        assert run.status == "not_sync_computer"
        assert state.count_links(Kind.CONTACTS) == 0
    again = setup.run()
    assert again.status == "not_sync_computer" and again.kinds == []
