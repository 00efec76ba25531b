"""wizard.app.status and wizard.app.conflicts against the stand-ins, without Qt: the status of the synchronizing
organization (no state DB created to read it), who synchronizes, and deciding conflicts (crm, mailbox, keep)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.app import instance, mailbox, orgs
from wizard.app.conflicts import conflict_title, field_label, list_conflicts, resolve_conflict
from wizard.app.factory import Factory
from wizard.app.status import StatusReader, read_status, switch_to, who_synchronizes
from wizard.errors import D365SyncError
from wizard.mailbox.base import ContactItem, FolderKind
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.settings import MailboxBinding
from wizard.settings.enums import ConflictPolicy, Kind
from wizard.sync.state import ConflictRecord


@pytest.fixture
def factory(signed_in_factory: Factory, sandbox: Sandbox) -> Factory:
    """Contoso Sales synchronizes, this computer is claimed, the mailbox is bound; contacts only."""
    factory = signed_in_factory
    info = sandbox.port_info()
    user = info["users"][0]
    instance.claim_instance(factory, force=True)
    mailbox.bind_mailbox(factory,
        MailboxBinding(address=user["primary_email"], kind="exchange", auth="basic",
                       autodiscover_url=info["autodiscover_url"], ca_file=info["ca_file"]),
        user["ews_password"],
    )  # fmt: skip
    factory.profile.sync.kinds = {"email": False, "contacts": True, "appointments": False, "tasks": False}
    factory.profile.sync.conflict_policy["contacts"] = ConflictPolicy.ASK  # conflicts wait for a decision
    factory.save()
    return factory


def _sync(factory: Factory) -> None:
    with factory.engine() as engine:
        summary = engine.run_once(["contacts"])
    assert summary.status == "ok", [(k.kind, k.status, k.message) for k in summary.kinds]


def _conflict_on_jobtitle(factory: Factory) -> tuple[str, int]:
    """A synced contact whose job title changed on both sides: the conflict waits for a decision."""
    client = factory.dataverse(factory.require_sync_org())
    contact_id = client.create(
        "contacts", {"firstname": "Carla", "lastname": "Konflikt", "jobtitle": "Buyer"}
    )
    _sync(factory)
    assert factory.profile.mailbox is not None
    with factory.mailbox_store(factory.profile.mailbox) as store:  # type: ignore[attr-defined]
        ids = [i for b in store.changes(FolderKind.CONTACTS, None) for i in b.created]
        (item,) = [r.value for r in store.get_many(FolderKind.CONTACTS, ids)]
        assert isinstance(item, ContactItem)
        item.job_title = "Owner"
        assert store.update_many(FolderKind.CONTACTS, [item])[0].ok
    client.update("contacts", contact_id, {"jobtitle": "Director"})
    _sync(factory)
    (conflict,) = list_conflicts(factory, unresolved_only=True)
    return contact_id, conflict.id


def test_a_profile_without_an_organization_has_an_empty_status(isolated_home: Path) -> None:
    factory = Factory(locations().ensure())
    report = read_status(factory, check_claim=True)
    assert report.snapshot.sync_org is None and report.snapshot.is_sync_computer is None
    assert report.conflicts == [] and report.profile is factory.profile
    assert list_conflicts(factory) == []
    assert not factory.where.state_db.exists()


def test_the_status_before_the_first_run_creates_no_state_db(factory: Factory) -> None:
    report = StatusReader(factory).read()
    assert {k.kind: k.status for k in report.snapshot.kinds}["contacts"] == "never"
    assert report.snapshot.is_sync_computer is None  # the window asks separately
    assert report.snapshot.sync_org is not None and report.conflicts == []
    assert read_status(factory, check_claim=True).snapshot.is_sync_computer is True  # as `d365sync status`
    assert not factory.where.state_db.exists()
    assert list_conflicts(factory) == []
    assert not factory.where.state_db.exists()


def test_who_synchronizes(factory: Factory) -> None:
    this_one, hostname = who_synchronizes(factory)
    assert this_one is True and hostname == instance.hostname()
    instance.release_claim(factory)
    assert who_synchronizes(factory) == (False, "")
    assert read_status(factory, check_claim=True).snapshot.is_sync_computer is False


def test_the_claim_check_of_the_status_tolerates_a_failure(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(factory: Factory) -> None:
        raise D365SyncError("offline", user_text="offline")

    monkeypatch.setattr(instance, "read_claim", refuse)
    assert read_status(factory, check_claim=True).snapshot.is_sync_computer is None


def test_conflicts_are_listed_and_decided_for_a_side(factory: Factory) -> None:
    contact_id, conflict_id = _conflict_on_jobtitle(factory)
    report = read_status(factory)
    (logged,) = report.conflicts
    assert (logged.id, logged.field, logged.crm_value, logged.mailbox_value, logged.winner) == (
        conflict_id, "jobtitle", "Director", "Owner", None,
    )  # fmt: skip
    assert report.snapshot.kind("contacts").unresolved_conflicts == 1

    assert logged.item == "Carla Konflikt"
    assert conflict_title(logged) == "Contacts · Carla Konflikt — Job Title"
    done = resolve_conflict(factory, conflict_id, "mailbox")
    assert done.startswith("Contacts · Carla Konflikt — Job Title: ") and "mailbox value" in done
    client = factory.dataverse(factory.require_sync_org())
    assert client.get("contacts", contact_id, select=["jobtitle"])["jobtitle"] == "Owner"
    assert list_conflicts(factory, unresolved_only=True) == []
    (after,) = list_conflicts(factory)
    assert after.resolved and after.winner == "mailbox"
    assert read_status(factory).conflicts == []
    with pytest.raises(KeyError):
        resolve_conflict(factory, 999, "crm")


def test_resolving_can_require_the_synchronizing_computer(factory: Factory) -> None:
    _, conflict_id = _conflict_on_jobtitle(factory)
    instance.release_claim(factory)

    class NotHere(D365SyncError):
        pass

    with pytest.raises(NotHere):
        resolve_conflict(factory, conflict_id, "mailbox", not_sync_computer=lambda: NotHere("not here"))
    assert [c.id for c in list_conflicts(factory, unresolved_only=True)] == [conflict_id]


def test_an_asked_conflict_offers_no_keep_and_stays_open(factory: Factory) -> None:
    """With "Ask me" nothing was applied, so there is nothing to keep: "keep" is refused, the conflict stays
    open and both sides keep their values until one of them is chosen."""
    contact_id, conflict_id = _conflict_on_jobtitle(factory)
    with pytest.raises(ValueError, match="crm, mailbox"):
        resolve_conflict(factory, conflict_id, "keep")
    assert [c.id for c in list_conflicts(factory, unresolved_only=True)] == [conflict_id]
    client = factory.dataverse(factory.require_sync_org())
    assert client.get("contacts", contact_id, select=["jobtitle"])["jobtitle"] == "Director"


def test_conflicts_are_named_by_record_and_field_label() -> None:
    def record(kind: str, field: str, item: str) -> ConflictRecord:
        return ConflictRecord(
            1, Kind(kind), "c", "m", field, "A", "B", None, "ask", "both_changed", None, False, "", None, item
        )

    assert field_label("contacts", "department") == "Department"
    assert field_label("appointments", "scheduledstart") == "Start"  # "(part of Appointment Time)" dropped
    assert field_label("contacts", "address2_city") == "Home Address: City"
    assert field_label("tasks", "*") == "Whole record"
    assert field_label("tasks", "nosuchfield") == "nosuchfield"
    assert conflict_title(record("contacts", "jobtitle", "Jörg Bär")) == "Contacts · Jörg Bär — Job Title"
    assert conflict_title(record("tasks", "*", "")) == "Tasks — Whole record"


def test_switching_names_what_to_do_and_reads_the_new_organizations_own_status(
    sandbox: Sandbox, factory: Factory
) -> None:
    info = sandbox.port_info()
    user = info["users"][0]
    sales = factory.require_sync_org().id
    other = next(e["url"] for e in info["environments"] if e["url"] != info["dataverse_url"])
    connected = orgs.connect_org(
        factory, other, username=user["upn"], password=user["password"], ca_file=info["ca_file"]
    )
    orgs.save_org(factory, connected)
    test = connected.org.id
    reader = StatusReader(factory)
    _sync(factory)
    assert factory.where.state_db.exists()

    outcome = reader.switch(test)
    assert outcome.org_name == connected.org.display_name and outcome.failed == {}
    assert f"not bound in {connected.org.display_name}" in outcome.mailbox_text  # bound in Sales only
    assert factory.profile.sync_org_id == test
    report = reader.read()
    assert report.snapshot.sync_org is not None and report.snapshot.sync_org["name"] == outcome.org_name
    assert {k.kind: k.status for k in report.snapshot.kinds}["contacts"] == "never"
    assert not factory.where.state_db.exists()  # Test's own, not made to read it

    back = switch_to(factory, sales)
    assert (back.failed, back.mailbox_text) == ({}, "")  # the mailbox is bound there: synchronization starts
    assert {k.kind: k.status for k in reader.read().snapshot.kinds}["contacts"] == "ok"
