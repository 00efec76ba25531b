"""Go offline, work offline, go online against the Dataverse stand-in (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.crm.client import DataverseClient
from wizard.odata.errors import PrivilegeError
from wizard.offline import download
from wizard.offline.download import Cancelled
from wizard.offline.store import OfflineStore
from wizard.offline.validate import InvalidRecord
from wizard.sandbox import Sandbox


def _client(factory: Factory) -> DataverseClient:
    return factory.dataverse(factory.require_sync_org())


@pytest.fixture
def seeded(signed_in_factory: Factory) -> dict[str, Any]:
    """An account, two contacts of the user (one in the account) and a task regarding the account."""
    client = _client(signed_in_factory)
    account = client.create("accounts", {"name": "Fabrikam", "telephone1": "555-0100"})
    anna = client.create(
        "contacts",
        {
            "firstname": "Anna",
            "lastname": "Bär",
            "emailaddress1": "anna@fabrikam.example",
            "parentcustomerid_account@odata.bind": f"/accounts({account})",
        },
    )
    jorg = client.create("contacts", {"firstname": "Jörg", "lastname": "Zander", "telephone1": "555-0199"})
    task = client.create(
        "tasks",
        {"subject": "Call Fabrikam", "regardingobjectid_account_task@odata.bind": f"/accounts({account})"},
    )
    return {"account": account, "anna": anna, "jorg": jorg, "task": task}


def test_go_offline_downloads_the_filtered_tables_and_what_they_refer_to(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    seen: list[tuple[str, int, int]] = []
    result = offline.go_offline(signed_in_factory, progress=lambda t, d, n: seen.append((t, d, n)))
    assert result.counts["contact"] == 2
    assert result.counts["task"] == 1
    assert result.counts["account"] == 1  # referred to by Anna and the task; no account filter
    status = offline.offline_status(signed_in_factory)
    assert status.state == "offline"
    assert status.records["contact"] == 2
    assert ("contact", 2, 2) in seen
    anna = offline.show_record(signed_in_factory, "contacts", seeded["anna"])
    assert anna.lookup_names == {"parentcustomerid": "Fabrikam", "ownerid": anna.lookup_names["ownerid"]}
    assert anna.lookup_names["ownerid"]  # the owner's name came with the rows
    path = offline.store_file(signed_in_factory)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with OfflineStore.open(path) as store:
        assert str(store.token("contact")).startswith("ct1:delta:")


def test_offline_edits_replay_in_order_and_merge_with_server_changes(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory
    offline.go_offline(factory)
    assert [r.name for r in offline.list_records(factory, "contacts", search="anna")] == ["Anna Bär"]
    offline.update_record(factory, "contacts", seeded["anna"], {"jobtitle": "Buyer"})
    account = offline.create_record(factory, "accounts", {"name": "Northwind"})
    contact = offline.create_record(
        factory, "contacts", {"lastname": "Neu", "parentcustomerid": f"account:{account}"}
    )
    offline.delete_record(factory, "contacts", seeded["jorg"])
    # meanwhile in Dynamics 365: another field of Anna changes
    client = _client(factory)
    client.update("contacts", seeded["anna"], {"telephone1": "555-0111"})

    result = offline.go_online(factory)
    assert result.replay.failed == []
    assert (result.replay.created, result.replay.updated, result.replay.deleted) == (2, 1, 1)
    assert result.replay.merged == 1
    anna = client.get("contacts", seeded["anna"], select=["jobtitle", "telephone1"])
    assert (anna["jobtitle"], anna["telephone1"]) == ("Buyer", "555-0111")
    created = client.get("contacts", contact, select=["lastname", "_parentcustomerid_value"])
    assert created["_parentcustomerid_value"] == account
    assert offline.offline_status(factory).queued == 0
    assert offline.offline_status(factory).state == "online"

    # online, the records come from Dynamics 365, searched there
    assert [r.name for r in offline.list_records(factory, "contacts", search="Bär")] == ["Anna Bär"]
    assert offline.list_records(factory, "contacts", search="100%_") == []
    assert (
        offline.show_record(factory, "contacts", seeded["anna"]).lookup_names["parentcustomerid"]
        == "Fabrikam"
    )

    # a repeated replay sends nothing twice
    again = offline.go_online(factory)
    assert again.replay.sent == 0


class _CancelAfter:
    """A cancel flag that is set once ``table`` has reported progress."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.set_now = False

    def progress(self, table: str, done: int, total: int) -> None:
        if table == self.table:
            self.set_now = True

    def is_set(self) -> bool:
        return self.set_now


def test_a_cancelled_download_leaves_the_previous_store(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory
    offline.go_offline(factory)
    before = offline.offline_status(factory)
    _client(factory).create("contacts", {"lastname": "Later"})
    flag = _CancelAfter("contact")
    with pytest.raises(Cancelled):
        offline.go_offline(factory, progress=flag.progress, cancel=flag)
    after = offline.offline_status(factory)
    assert (after.records, after.downloaded_at, after.state) == (
        before.records,
        before.downloaded_at,
        "offline",
    )
    path = offline.store_file(factory)
    assert [p.name for p in path.parent.iterdir() if "download" in p.name] == []


def test_going_offline_again_is_refused_while_changes_wait(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    offline.go_offline(signed_in_factory)
    offline.update_record(signed_in_factory, "contacts", seeded["anna"], {"jobtitle": "Buyer"})
    with pytest.raises(offline.OfflineError) as refused:
        offline.go_offline(signed_in_factory)
    assert "not been sent yet" in refused.value.user_text
    assert offline.offline_status(signed_in_factory).queued == 1


def test_refresh_costs_one_request_per_table_when_nothing_changed(
    signed_in_factory: Factory, seeded: dict[str, Any], sandbox: Sandbox
) -> None:
    factory = signed_in_factory
    offline.go_offline(factory)
    client = _client(factory)
    client.update("contacts", seeded["jorg"], {"jobtitle": "Changed"})
    client.delete("tasks", seeded["task"])
    result = offline.refresh(factory)
    assert result.changed["contact"] == 1 and result.removed["task"] == 1
    assert offline.show_record(factory, "contacts", seeded["jorg"]).fields["jobtitle"] == "Changed"

    env = sandbox.environments[0].server
    env.reset_counts()
    again = offline.refresh(factory)
    assert sum(again.changed.values()) == 0
    data_requests = [p for _m, p in env.request_log if "/api/data/" in p and "WhoAmI" not in p]
    tables = [
        p
        for p in data_requests
        if p.split("/api/data/v9.2/")[-1].split("?")[0]
        in {"contacts", "accounts", "leads", "appointments", "tasks"}
    ]
    assert len(tables) == 5, data_requests


def test_the_refresh_interval_and_the_changes_an_organization_switch_must_warn_about(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory
    client = _client(factory)
    org = factory.require_sync_org()
    client.update("usersettingscollection", org.user_id, {"offlinesyncinterval": 40})
    assert offline.refresh_interval(factory) == timedelta(minutes=40)
    client.update("usersettingscollection", org.user_id, {"offlinesyncinterval": 5})
    assert offline.refresh_interval(factory) == timedelta(minutes=15)  # never under the minimum
    assert offline.queued_changes(factory, org.id) == 0
    offline.go_offline(factory)
    offline.delete_record(factory, "contacts", seeded["jorg"])
    assert offline.queued_changes(factory, org.id) == 1


def test_records_are_checked_from_the_definitions_in_the_users_language(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory  # the stand-in's users read Dynamics 365 in German (uilanguageid 1031)
    result = offline.go_offline(factory)
    assert result.notices == []  # every table's definitions were read
    with pytest.raises(InvalidRecord) as missing:
        offline.create_record(factory, "contacts", {"jobtitle": "Buyer"})
    assert missing.value.user_text == "Not saved: Nachname: a value is required."
    with pytest.raises(InvalidRecord) as too_long:
        offline.create_record(factory, "contacts", {"lastname": "x" * 51})
    assert [p.message for p in too_long.value.problems] == ["Nachname: at most 50 characters (51 given)."]
    with pytest.raises(InvalidRecord) as choice:
        offline.update_record(factory, "contacts", seeded["anna"], {"statecode": "7"})
    assert "is not one of the choices" in choice.value.user_text
    assert offline.offline_status(factory).queued == 0  # nothing invalid was queued
    offline.go_online(factory)
    with pytest.raises(InvalidRecord):  # online too, before anything is sent
        offline.create_record(factory, "accounts", {"name": ""})


def test_offline_filters_come_from_the_templates(signed_in_factory: Factory) -> None:
    filters = offline.list_filters(signed_in_factory)
    assert {f.returnedtypecode for f in filters} == {"contact", "account", "lead", "appointment", "task"}
    assert all(f.active and f.querytype == 16 for f in filters)
    assert offline.list_filters(signed_in_factory) == filters  # made once


def test_a_duplicate_found_going_online_waits_for_the_user(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory
    client = _client(factory)
    org = factory.require_sync_org()
    client.update("usersettingscollection", org.user_id, {"isduplicatedetectionenabledwhengoingonline": True})
    offline.go_offline(factory)
    twin = offline.create_record(
        factory, "contacts", {"lastname": "Twin", "emailaddress1": "anna@fabrikam.example"}
    )
    result = offline.go_online(factory)
    assert (result.replay.held, result.replay.failed, result.replay.created) == (1, [], 0)
    (conflict,) = offline.list_conflicts(factory, unresolved_only=True)
    assert conflict.reason == "duplicate" and conflict.row_id == twin
    # online: the record the user keeps is created at once (no Go online to press)
    assert offline.resolve_conflict(factory, conflict.id, "local").endswith("kept and sent to Dynamics 365.")
    assert client.get("contacts", twin, select=["lastname"])["lastname"] == "Twin"
    assert offline.go_online(factory).replay.created == 0  # nothing left to send


def test_a_table_the_user_may_not_read_stays_online(
    signed_in_factory: Factory, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = download.scope_of

    def no_leads(client: Any, store: Any, spec: Any, filters: Any) -> set[str]:
        if spec.logical_name == "lead":
            raise PrivilegeError("no read privilege on lead", status=403, code="0x80040220")
        return real(client, store, spec, filters)

    monkeypatch.setattr(download, "scope_of", no_leads)
    result = offline.go_offline(signed_in_factory)
    assert result.counts["lead"] == 0 and result.counts["contact"] == 2
    assert result.notices == ["You may not read leads in Dynamics 365, so they were not taken offline."]
    assert sum(offline.refresh(signed_in_factory).changed.values()) == 0  # the other tables still refresh


def test_the_form_and_the_lookup_choices_online_and_offline(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory
    for _ in ("online", "offline"):
        fields = {f.name: f for f in offline.form(factory, "contacts")}
        assert (fields["lastname"].label, fields["lastname"].required, fields["lastname"].max_length) == (
            "Nachname",
            True,
            50,
        )
        assert fields["parentcustomerid"].targets == ("account", "contact")
        assert 0 in dict(fields["statecode"].choices)
        assert fields["fullname"].read_only
        choices = offline.lookup_choices(factory, "contacts", "parentcustomerid", search="Fabri")
        assert [(r.table, r.name) for r in choices] == [("contact", "Anna Bär"), ("account", "Fabrikam")]
        offline.go_offline(factory)
    with pytest.raises(offline.OfflineError):
        offline.lookup_choices(factory, "contacts", "lastname")


def test_definitions_read_within_a_day_are_not_read_again(
    signed_in_factory: Factory, seeded: dict[str, Any], sandbox: Sandbox
) -> None:
    env = sandbox.environments[0].server

    def definition_reads() -> int:
        return sum(
            1 for _m, path in env.request_log if "EntityDefinitions" in path or "RetrieveEntity" in path
        )

    env.reset_counts()
    offline.go_offline(signed_in_factory)
    assert definition_reads() == 5  # one RetrieveEntity per table (issue 14: one metadata read per table)
    env.reset_counts()
    offline.go_offline(signed_in_factory)
    assert definition_reads() == 0
    fields = {f.name: f for f in offline.form(signed_in_factory, "contacts")}
    assert fields["lastname"].max_length == 50  # still there


def test_an_organization_without_retrieve_entity_is_read_with_the_casts(
    signed_in_factory: Factory, seeded: dict[str, Any], sandbox: Sandbox
) -> None:
    """Older versions answer 404 for an unknown function: the definitions come the older way (six requests
    a table) and are as complete."""
    env = sandbox.environments[0].server
    env.faults.error(404, path_contains="RetrieveEntity")
    try:
        env.reset_counts()
        offline.go_offline(signed_in_factory)
    finally:
        env.faults.clear()
    assert sum(1 for _m, path in env.request_log if "RetrieveEntity" in path) == 5
    assert sum(1 for _m, path in env.request_log if "EntityDefinitions" in path) == 6 * 5
    fields = {f.name: f for f in offline.form(signed_in_factory, "contacts")}
    assert fields["lastname"].max_length == 50


def test_1000_offline_edits_go_online_in_one_batch_request(
    signed_in_factory: Factory, sandbox: Sandbox
) -> None:
    factory = signed_in_factory
    client = _client(factory)
    created = client.create_many([("contacts", {"lastname": f"Bulk{n:04d}"}) for n in range(1000)])
    ids = [str(result.entity_id) for result in created]
    offline.go_offline(factory)
    with OfflineStore.open(
        offline.store_file(factory)
    ) as store:  # as update_record does, without 1,000 opens
        for n, row_id in enumerate(ids):
            store.update("contact", row_id, {"jobtitle": f"Job{n}"})
    env = sandbox.environments[0].server
    env.reset_counts()
    result = offline.go_online(factory)
    assert (result.replay.updated, result.replay.failed, result.replay.batches) == (1000, [], 1)
    assert sum(1 for method, path in env.request_log if method == "POST" and path.endswith("$batch")) == 1
    jobs = {
        str(r["lastname"]): r["jobtitle"] for r in client.query("contacts", select=["lastname", "jobtitle"])
    }
    assert all(jobs[f"Bulk{n:04d}"] == f"Job{n}" for n in range(1000))


def test_the_background_refresh_runs_only_online_and_when_the_interval_has_passed(
    signed_in_factory: Factory, seeded: dict[str, Any]
) -> None:
    factory = signed_in_factory
    nothing = offline.background_refresh(factory)  # no store: nothing read, look again later
    assert nothing.result is None and nothing.next_in == timedelta(minutes=15)
    offline.go_offline(factory)
    assert offline.background_refresh(factory).result is None  # offline: the store is the user's
    offline.go_online(factory)
    interval = offline.refresh_interval(factory)
    soon = offline.background_refresh(factory)  # just refreshed by going online
    assert soon.result is None and timedelta(0) < soon.next_in <= interval
    _client(factory).update("contacts", seeded["jorg"], {"telephone1": "555-0200"})
    later = datetime.now(UTC) + interval + timedelta(minutes=1)
    done = offline.background_refresh(factory, now=later)
    assert done.result is not None and done.result.changed["contact"] == 1
    assert done.next_in == interval
    with OfflineStore.open(offline.store_file(factory)) as store:
        row = store.row("contact", seeded["jorg"])
        assert row is not None and row.local["telephone1"] == "555-0200"


def test_the_status_does_not_open_an_unchanged_offline_store_again(
    signed_in_factory: Factory, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``read_status`` runs on every refresh of the status window: it reads each organization's offline
    summary without opening the store while the file is unchanged."""
    from wizard.app.status import read_status
    from wizard.offline import summary

    offline.go_offline(signed_in_factory)
    offline.update_record(signed_in_factory, "contacts", seeded["anna"], {"jobtitle": "Buyer"})
    later = datetime.now(UTC).timestamp() + summary.SETTLE_SECONDS + 5
    monkeypatch.setattr(summary, "now_ns", lambda: int(later * 1e9))
    opened: list[str] = []
    real = OfflineStore.open

    def counted(path: str | Path) -> OfflineStore:
        opened.append(str(path))
        return real(path)

    monkeypatch.setattr(OfflineStore, "open", counted)
    first = read_status(signed_in_factory)
    assert first.queued_offline == {signed_in_factory.require_sync_org().id: 1}
    read_status(signed_in_factory)
    settled = len(opened)
    for _ in range(3):
        assert read_status(signed_in_factory).queued_offline == first.queued_offline
        assert offline.offline_status(signed_in_factory).queued == 1
    assert len(opened) == settled <= 2
    offline.update_record(signed_in_factory, "contacts", seeded["jorg"], {"jobtitle": "Buyer"})
    assert read_status(signed_in_factory).queued_offline == {signed_in_factory.require_sync_org().id: 2}
