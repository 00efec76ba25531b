"""The sync engine over the Graph backend: Dataverse stand-in <-> Graph stand-in, contacts and tasks, and a
recurring series with deleted and modified occurrences.

The profile is configured as the wizard does it (organization, synchronizing computer, a bound mailbox);
the engine is then built with a :class:`GraphStore` for the same user, as ``Factory.engine`` will once
the Exchange Online binding is wired (docs/mailbox-graph.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from wizard.app.factory import Factory
from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import connect_org, save_org
from wizard.crm.auth import StaticTokenProvider
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
from wizard.mailbox.graph import GraphSettings, GraphStore
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.settings import MailboxBinding
from wizard.sync import recurrence as rec
from wizard.sync import timezones as tzs
from wizard.sync.engine import Engine, RunSummary
from wizard.sync.state import StateDB
from wizard.sync.timezones import local_zone_name

KINDS = ["contacts", "tasks"]


def _items(store: MailboxStore, folder: FolderKind, cls: type[Any]) -> list[Any]:
    ids = [i for batch in store.changes(folder, None) for i in batch.created]
    return [r.value for r in store.get_many(folder, ids) if r.ok and isinstance(r.value, cls)]


def _ok(summary: RunSummary) -> None:
    assert summary.status == "ok", [(k.kind, k.status, k.message) for k in summary.kinds]


def _configure(sandbox: Sandbox) -> tuple[Factory, DataverseClient, GraphStore, str]:
    """A profile as the wizard makes it, a GraphStore for the same user; (factory, client, store, user id)."""
    info = sandbox.port_info()
    anna = info["users"][0]
    assert info["graph_url"] == sandbox.graph.url
    factory = Factory(locations().ensure())
    connected = connect_org(
        factory,
        info["dataverse_url"],
        username=anna["upn"],
        password=anna["password"],
        ca_file=info["ca_file"],
    )
    save_org(factory, connected)
    claim_instance(factory)
    bind_mailbox(
        factory,
        MailboxBinding(
            address=anna["primary_email"],
            kind="exchange",
            auth="basic",
            autodiscover_url=info["autodiscover_url"],
            ca_file=info["ca_file"],
        ),
        anna["ews_password"],
    )
    org = factory.require_sync_org()
    client = factory.dataverse(org)
    token = sandbox.authority.issue_for(anna["upn"], [sandbox.graph.base_url])
    store = GraphStore(
        GraphSettings(address=anna["primary_email"], graph_url=info["graph_url"], ca_file=info["ca_file"]),
        token_provider=StaticTokenProvider(token),
    )
    return factory, client, store, connected.org.user_id


def _runner(
    factory: Factory, client: DataverseClient, store: GraphStore, kinds: list[str]
) -> Callable[[], RunSummary]:
    org = factory.require_sync_org()

    def run() -> RunSummary:
        engine = Engine(
            crm=client,
            mailbox=store,
            state=StateDB.open(factory.where.state_db),
            profile=factory.profile,
            org=org,
            lock_path=factory.where.lock_file,
        )
        with engine:
            return engine.run_once(kinds)

    return run


def test_contacts_and_tasks_sync_both_ways_over_graph(sandbox: Sandbox) -> None:
    anna = sandbox.port_info()["users"][0]
    factory, client, store, _ = _configure(sandbox)
    run = _runner(factory, client, store, KINDS)
    try:
        alice = client.create("contacts", {"firstname": "Alice", "lastname": "Adams", "jobtitle": "Buyer"})
        task = client.create("tasks", {"subject": "Send the offer"})
        assert all(
            r.ok
            for r in store.create_many(
                FolderKind.CONTACTS,
                [ContactItem(id="", given_name="Tina", surname="Tracked", categories=[TRACKED_CATEGORY])],
            )
        )

        _ok(run())
        contacts = {c.surname: c for c in _items(store, FolderKind.CONTACTS, ContactItem)}
        assert set(contacts) == {"Adams", "Tracked"}
        assert contacts["Adams"].props.crmid == alice
        assert contacts["Adams"].props.crmlinkstate is LinkState.TRACKED
        assert contacts["Adams"].job_title == "Buyer"
        crm = {r["lastname"]: r for r in client.query("contacts", select=["contactid", "lastname"])}
        assert contacts["Tracked"].props.crmid == crm["Tracked"]["contactid"]
        (mailbox_task,) = _items(store, FolderKind.TASKS, TaskItem)
        assert mailbox_task.subject == "Send the offer" and mailbox_task.props.crmid == task

        # The next run reads back its own writes (they are in the delta round) but writes nothing;
        # the one after that is one delta request per kind.
        box = sandbox.graph.mailbox(anna["primary_email"])
        before = box.seq
        _ok(run())
        assert box.seq == before
        sandbox.graph.server.reset_counts()
        _ok(run())
        paths = sorted(p.split("?")[0] for _, p in sandbox.graph.server.request_log)
        assert paths == ["/v1.0/me/contacts/delta", f"/v1.0/me/todo/lists/{box.task_list_id}/tasks/delta"]

        # The mailbox side changes a task and a contact; the next run carries both to Dynamics 365.
        mailbox_task.subject = "Send the revised offer"
        adams = contacts["Adams"]
        adams.job_title = "Head of Purchasing"
        assert store.update_many(FolderKind.TASKS, [mailbox_task])[0].ok
        assert store.update_many(FolderKind.CONTACTS, [adams])[0].ok
        _ok(run())
        assert client.get("tasks", task, select=["subject"])["subject"] == "Send the revised offer"
        assert client.get("contacts", alice, select=["jobtitle"])["jobtitle"] == "Head of Purchasing"
    finally:
        store.close()


def _z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _totals(summary: RunSummary) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in summary.kinds:
        for direction in ("to_crm", "to_mailbox"):
            for name, value in vars(getattr(k, direction)).items():
                out[name] = out.get(name, 0) + value
    return out


def test_a_series_with_exceptions_round_trips_and_reruns_quietly_over_graph(sandbox: Sandbox) -> None:
    """Dynamics series -> Graph with a moved and a deleted occurrence; a rerun writes nothing anywhere and
    deletes nothing in Dynamics; an occurrence deleted in the mailbox reaches Dynamics, the rest stays."""
    factory, client, store, user_id = _configure(sandbox)
    run = _runner(factory, client, store, ["appointments"])
    zone_name = store.settings.timezone or local_zone_name()
    zone = tzs.zone(zone_name)
    start = dt.datetime.combine(dt.datetime.now(zone).date() + dt.timedelta(days=1), dt.time(9), tzinfo=zone)
    day = start.date()
    box = sandbox.graph.mailbox(sandbox.port_info()["users"][0]["primary_email"])

    def instances() -> dict[dt.date, dict[str, Any]]:
        rows = client.query(
            "appointments",
            select=["activityid", "subject", "scheduledstart", "originalstartdate", "instancetypecode"],
            filter=f"_seriesid_value eq {master_id}",
        )
        return {tzs.local_date(r["originalstartdate"], zone_name): r for r in rows}

    def series() -> AppointmentItem:
        (item,) = [a for a in _items(store, FolderKind.CALENDAR, AppointmentItem) if a.recurrence is not None]
        assert isinstance(item, AppointmentItem)
        return item

    def quiet() -> None:
        seq = box.seq
        summary = run()
        _ok(summary)
        assert _totals(summary) == dict.fromkeys(_totals(summary), 0), _totals(summary)
        assert box.seq == seq  # nothing written to the mailbox either

    try:
        master_id = client.create(
            "recurringappointmentmasters",
            {
                "subject": "Stand-up",
                "location": "Room 1",
                "starttime": _z(start),
                "endtime": _z(start + dt.timedelta(minutes=30)),
                "recurringappointmentmaster_activity_parties": [
                    {"partyid_systemuser@odata.bind": f"/systemusers({user_id})", "participationtypemask": 7}
                ],
                **rec.to_crm(
                    {"start_date": day.isoformat(), "pattern": "daily", "interval": 1, "occurrences": 5},
                    zone_name,
                    creating=True,
                ),
            },
        )
        _ok(run())
        rows = instances()
        moved = start + dt.timedelta(days=1, hours=5)
        client.update(
            "appointments",
            rows[day + dt.timedelta(days=1)]["activityid"],
            {
                "subject": "Stand-up (late)",
                "scheduledstart": _z(moved),
                "scheduledend": _z(moved + dt.timedelta(hours=1)),
            },
        )
        client.delete("appointments", rows[day + dt.timedelta(days=2)]["activityid"])
        _ok(run())

        item = series()
        assert item.props.crmid == master_id and item.recurrence is not None
        assert item.recurrence.deleted_occurrences == (day + dt.timedelta(days=2),)
        (changed,) = item.recurrence.modified_occurrences
        assert (changed.original, changed.subject, changed.start) == (
            day + dt.timedelta(days=1),
            "Stand-up (late)",
            moved,
        )
        quiet()  # the exceptions read back from Graph equal Dynamics': nothing to write, nothing deleted
        rows = instances()
        assert day + dt.timedelta(days=2) not in rows and len(rows) == 4
        assert rows[day + dt.timedelta(days=1)]["instancetypecode"] == 3

        # the mailbox deletes one more occurrence: Dynamics gets it and keeps the exception
        item.recurrence = replace(
            item.recurrence,
            deleted_occurrences=(day + dt.timedelta(days=2), day + dt.timedelta(days=4)),
        )
        assert store.update_many(FolderKind.CALENDAR, [item])[0].ok
        summary = run()
        _ok(summary)
        assert _totals(summary)["updated"] == 1 and _totals(summary)["deleted"] == 0
        rows = instances()
        assert sorted(rows) == [day, day + dt.timedelta(days=1), day + dt.timedelta(days=3)]
        assert rows[day + dt.timedelta(days=1)]["subject"] == "Stand-up (late)"
        assert (
            client.get("recurringappointmentmasters", master_id, select=["subject"])["subject"] == "Stand-up"
        )
        quiet()
        assert sandbox.graph.invitations == [] and sandbox.graph.cancellations == []
    finally:
        store.close()
