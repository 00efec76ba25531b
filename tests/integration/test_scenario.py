"""The issue's "Done when" scenario, end to end against the stand-ins (Dataverse Web API and EWS).

Seed both sides (contacts, a single appointment, tasks, received emails to track), sync; edit both sides, sync;
delete on both sides per the delete table (DESIGN section 4), sync; then kill the engine process in the middle
of a run (SIGKILL while the stand-ins hold one of its requests) and sync again. The end state must be
converged: no duplicates, no lost edit, and the per-kind counts of the status as expected.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.simulation.engine_harness import (
    KINDS,
    Rig,
    configure,
    crash_run,
    crm_emails,
    deliver,
    mailbox_items,
    message_id,
)
from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    ContactItem,
    FolderKind,
    LinkState,
    TaskItem,
)
from wizard.sandbox import Sandbox
from wizard.sync.engine import RunSummary
from wizard.sync.status import StatusSnapshot, status_snapshot

START = dt.datetime(2030, 3, 4, 10, 0, tzinfo=dt.UTC)  # in the future: appointment deletes propagate


@pytest.fixture
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as sandbox:
        made = configure(sandbox)
        try:
            yield made
        finally:
            made.close()


# ------------------------------------------------------------------------------------------ helpers


def sync(rig: Rig) -> RunSummary:
    summary = rig.run()
    problems = [
        (k.kind, k.status, k.message, k.to_crm.errors, k.to_mailbox.errors)
        for k in summary.kinds
        if k.status != "ok" or k.to_crm.errors or k.to_mailbox.errors
    ]
    assert summary.status == "ok" and not problems, problems
    return summary


def status(rig: Rig) -> StatusSnapshot:
    with rig.state() as state:
        return status_snapshot(state, rig.factory.profile, is_sync_computer=True, next_run=None)


def crm(rig: Rig, kind: str) -> dict[str, dict[str, Any]]:
    """Dynamics 365 rows of a kind by name (contacts: last name; activities: subject), no duplicates."""
    if kind == "contacts":
        rows = list(rig.client.query("contacts", select=["contactid", "lastname", "jobtitle", "department"]))
        names = [str(r["lastname"]) for r in rows]
    else:
        columns = (
            ["activityid", "subject", "location"] if kind == "appointments" else ["activityid", "subject"]
        )
        rows = list(rig.client.query(kind, select=columns))
        names = [str(r["subject"]) for r in rows]
    assert [n for n, c in Counter(names).items() if c > 1] == [], f"duplicates in Dynamics 365 {kind}"
    return dict(zip(names, rows, strict=True))


def mailbox(rig: Rig, kind: str) -> dict[str, Any]:
    """Mailbox items of a kind by name, no duplicates."""
    items = mailbox_items(rig, kind)
    names = [i.surname if kind == "contacts" else i.subject for i in items]
    assert [n for n, c in Counter(names).items() if c > 1] == [], f"duplicates in the mailbox {kind}"
    return dict(zip(names, items, strict=True))


def assert_pairs_agree(rig: Rig) -> None:
    """Every link joins two existing records whose synced fields are equal."""
    fields = {
        "contacts": [("jobtitle", "job_title"), ("department", "department")],
        "appointments": [("subject", "subject"), ("location", "location")],
        "tasks": [("subject", "subject")],
    }
    with rig.state() as state:
        links = {kind: state.links(kind) for kind in fields}  # type: ignore[arg-type]
    for kind, pairs in fields.items():
        key = "contactid" if kind == "contacts" else "activityid"
        rows = {str(r[key]): r for r in crm(rig, kind).values()}
        items = {i.id: i for i in mailbox(rig, kind).values()}
        for crm_id, link in links[kind].items():
            assert crm_id in rows and link.mailbox_id in items, f"{kind}: link {crm_id} dangles"
            for column, attribute in pairs:
                assert (rows[crm_id].get(column) or "") == (getattr(items[link.mailbox_id], attribute) or "")


def edit_mailbox(rig: Rig, folder: FolderKind, item: Any, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(item, name, value)
    (result,) = rig.store.update_many(folder, [item])
    assert result.ok, result


def linked(snapshot: StatusSnapshot) -> dict[str, int]:
    return {k.kind: k.linked for k in snapshot.kinds}


# ------------------------------------------------------------------------------------------ the scenario


def test_done_when_scenario(rig: Rig, tmp_path: Path) -> None:
    client, store, me = rig.client, rig.store, rig.user_id
    organizer = [{"partyid_systemuser@odata.bind": f"/systemusers({me})", "participationtypemask": 7}]

    # 1. Seed both sides.
    alice = client.create("contacts", {"firstname": "Alice", "lastname": "Adams", "jobtitle": "Buyer"})
    client.create("contacts", {"firstname": "Bob", "lastname": "Brown", "jobtitle": "CEO"})
    client.create(
        "appointments",
        {
            "subject": "Kickoff",
            "location": "Room 1",
            "scheduledstart": START.isoformat().replace("+00:00", "Z"),
            "scheduledend": (START + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
            "appointment_activity_parties": organizer,
        },
    )
    offer = client.create("tasks", {"subject": "Send the offer"})
    made = store.create_many(
        FolderKind.CONTACTS,
        [ContactItem(id="", given_name="Tina", surname="Tracked", categories=[TRACKED_CATEGORY])],
    )
    made += store.create_many(
        FolderKind.CALENDAR,
        [
            AppointmentItem(
                id="",
                subject="Review",
                location="Online",
                start=START + dt.timedelta(days=1),
                end=START + dt.timedelta(days=1, hours=1),
                categories=[TRACKED_CATEGORY],
            )
        ],
    )
    made += store.create_many(
        FolderKind.TASKS, [TaskItem(id="", subject="Book travel", categories=[TRACKED_CATEGORY])]
    )
    assert all(r.ok for r in made)
    deliver(rig, "E1", tracked=True)
    deliver(rig, "E2", tracked=True)
    deliver(rig, "E3", tracked=False)  # not tracked, from nobody Dynamics 365 knows: stays out

    sync(rig)
    assert set(crm(rig, "contacts")) == set(mailbox(rig, "contacts")) == {"Adams", "Brown", "Tracked"}
    assert set(crm(rig, "appointments")) == set(mailbox(rig, "appointments")) == {"Kickoff", "Review"}
    assert set(crm(rig, "tasks")) == set(mailbox(rig, "tasks")) == {"Send the offer", "Book travel"}
    emails = crm_emails(rig)
    assert (emails[message_id("E1")], emails[message_id("E2")], emails[message_id("E3")]) == (1, 1, 0)
    assert linked(status(rig)) == {"email": 2, "contacts": 3, "appointments": 2, "tasks": 2}
    assert_pairs_agree(rig)

    # 2. Edit both sides: different fields of one contact merge; each side edits something of its own.
    client.update("contacts", alice, {"jobtitle": "Head of Purchasing"})
    edit_mailbox(rig, FolderKind.CONTACTS, mailbox(rig, "contacts")["Adams"], department="Procurement")
    edit_mailbox(rig, FolderKind.CALENDAR, mailbox(rig, "appointments")["Kickoff"], location="Room 2")
    client.update("tasks", offer, {"subject": "Send the offer today"})
    summary = sync(rig)
    adams = crm(rig, "contacts")["Adams"]
    assert (adams["jobtitle"], adams["department"]) == ("Head of Purchasing", "Procurement")
    assert crm(rig, "appointments")["Kickoff"]["location"] == "Room 2"
    assert set(mailbox(rig, "tasks")) == {"Send the offer today", "Book travel"}
    assert {k.kind: (k.to_crm.updated, k.to_mailbox.updated) for k in summary.kinds} == {
        "email": (0, 0),
        "contacts": (1, 1),
        "appointments": (1, 0),
        "tasks": (0, 1),
    }
    assert_pairs_agree(rig)

    # 3. Delete on both sides, per the table.
    contacts, appointments = mailbox(rig, "contacts"), mailbox(rig, "appointments")
    assert store.delete_many(FolderKind.CONTACTS, [contacts["Adams"].id])[0].ok  # CRM keeps it
    client.delete("contacts", str(crm(rig, "contacts")["Tracked"]["contactid"]))  # the mailbox keeps it
    assert store.delete_many(FolderKind.CALENDAR, [appointments["Review"].id])[0].ok  # gone from CRM too
    client.delete("tasks", offer)  # an open task: gone from the mailbox too
    e1 = next(
        i
        for i in rig.sandbox.ews.store.list_items(rig.address, "inbox")
        if i.text("InternetMessageId") == message_id("E1")
    )
    rig.sandbox.ews.store.delete(e1)  # email deletes never propagate
    sync(rig)
    assert set(crm(rig, "contacts")) == {"Adams", "Brown"}
    contacts = mailbox(rig, "contacts")
    assert set(contacts) == {"Brown", "Tracked"}
    assert contacts["Tracked"].props.crmlinkstate == LinkState.NOT_TRACKED
    assert set(crm(rig, "appointments")) == set(mailbox(rig, "appointments")) == {"Kickoff"}
    assert set(crm(rig, "tasks")) == set(mailbox(rig, "tasks")) == {"Book travel"}
    assert crm_emails(rig)[message_id("E1")] == 1
    snapshot = status(rig)
    assert {k.kind: (k.to_crm.deleted, k.to_mailbox.deleted) for k in snapshot.kinds} == {
        "email": (0, 0),
        "contacts": (0, 0),
        "appointments": (1, 0),
        "tasks": (0, 1),
    }
    assert snapshot.kind("contacts").to_crm.unlinked == 1  # Adams: the link is forgotten
    assert snapshot.kind("contacts").to_mailbox.unlinked == 1  # Tracked: the copy is unlinked
    assert (
        linked(snapshot)["contacts"] == 1
        and linked(snapshot)["appointments"] == linked(snapshot)["tasks"] == 1
    )

    # 4. New work on both sides, then the engine process is killed in the middle of the run that syncs it.
    client.create("contacts", {"firstname": "Carla", "lastname": "Clark", "jobtitle": "CFO"})
    bob = crm(rig, "contacts")["Brown"]
    client.update("contacts", str(bob["contactid"]), {"jobtitle": "Chairman"})
    edit_mailbox(rig, FolderKind.TASKS, mailbox(rig, "tasks")["Book travel"], subject="Book travel to Munich")
    made = store.create_many(
        FolderKind.TASKS, [TaskItem(id="", subject="Prepare the demo", categories=[TRACKED_CATEGORY])]
    )
    assert made[0].ok
    deliver(rig, "E4", tracked=True)
    assert crash_run(rig, 12, tmp_path), "the run ended before its 12th request"

    # 5. The next run repairs whatever the killed one left half done.
    sync(rig)
    final = sync(rig)  # and then nothing is left to do
    assert all(
        getattr(k, d).created == getattr(k, d).deleted == 0
        for k in final.kinds
        for d in ("to_crm", "to_mailbox")
    )
    assert set(crm(rig, "contacts")) == {"Adams", "Brown", "Clark"}
    # Adams stays deleted in the mailbox; Tracked stays there, unlinked
    assert set(mailbox(rig, "contacts")) == {"Brown", "Tracked", "Clark"}
    assert (
        crm(rig, "contacts")["Brown"]["jobtitle"] == mailbox(rig, "contacts")["Brown"].job_title == "Chairman"
    )
    assert (
        set(crm(rig, "tasks")) == set(mailbox(rig, "tasks")) == {"Book travel to Munich", "Prepare the demo"}
    )
    assert set(crm(rig, "appointments")) == set(mailbox(rig, "appointments")) == {"Kickoff"}
    emails = crm_emails(rig)
    assert [emails[message_id(n)] for n in ("E1", "E2", "E3", "E4")] == [1, 1, 0, 1]
    assert_pairs_agree(rig)
    snapshot = status(rig)
    # E1, E2, E4: the email link outlives the Inbox copy (email deletes never propagate, B.9)
    assert linked(snapshot) == {"email": 3, "contacts": 2, "appointments": 1, "tasks": 2}
    assert all(k.status == "ok" and k.unresolved_conflicts == 0 for k in snapshot.kinds)
    with rig.state() as state:
        assert state.pending_creates() == []
    assert sorted(KINDS) == sorted(k.kind for k in snapshot.kinds)
