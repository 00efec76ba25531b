"""`d365sync sync|status|conflicts` and `demo --headless` as a user runs them (subprocesses, the stand-ins)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliResult, run_cli
from wizard.app.factory import Factory
from wizard.crm import records
from wizard.mailbox.base import ContactItem, FolderKind
from wizard.paths import locations
from wizard.sandbox import Sandbox


def _ok(result: CliResult) -> CliResult:
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def home(isolated_home: Path, sandbox: Sandbox) -> Path:
    """A profile configured through the CLI: organization, this computer claimed, mailbox bound."""
    info = sandbox.port_info()
    anna = info["users"][0]
    _ok(run_cli(
        isolated_home,
        "orgs", "add", info["dataverse_url"], "--ca-file", info["ca_file"], "--username", anna["upn"],
        "--password-stdin", stdin=anna["password"] + "\n",
    ))  # fmt: skip
    _ok(run_cli(isolated_home, "instance", "claim", "--yes"))
    _ok(run_cli(
        isolated_home,
        "mailbox", "bind", anna["primary_email"], "--auth", "basic", "--autodiscover-url", info["autodiscover_url"],
        "--ca-file", info["ca_file"], "--password-stdin", stdin=anna["ews_password"] + "\n",
    ))  # fmt: skip
    return isolated_home


def _factory() -> Factory:
    return Factory(locations().ensure())  # the same D365SYNC_HOME the subprocesses use


def _contact(home: Path, first: str, last: str, **extra: Any) -> str:
    client = _factory().dataverse(_factory().require_sync_org())
    return client.create("contacts", {"firstname": first, "lastname": last, **extra})


def _kind(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(k for k in data["kinds"] if k["kind"] == name)


def test_sync_status_and_conflicts(home: Path) -> None:
    contact_id = _contact(home, "Carla", "Cli", jobtitle="Buyer")

    never = _ok(run_cli(home, "status", "--json")).json()
    assert never["last_run"] is None and _kind(never, "contacts")["status"] == "never"
    assert never["is_sync_computer"] is True

    synced = _ok(run_cli(home, "sync", "--once", "--kind", "contacts", "--json")).json()
    assert synced["status"] == "ok"
    assert _kind(synced, "contacts")["to_mailbox"]["created"] == 1

    status = _ok(run_cli(home, "status", "--json")).json()
    contacts = _kind(status, "contacts")
    assert contacts["status"] == "ok" and contacts["linked"] == 1
    assert contacts["to_mailbox"]["created"] == 1
    assert _kind(status, "tasks")["status"] == "never"  # only contacts ran
    assert status["mailbox"]["kind"] == "exchange"
    table = _ok(run_cli(home, "status")).stdout
    assert "contacts" in table and "1 created" in table

    # Both sides change the job title: Dynamics 365 wins, the mailbox's value is kept in the conflict log.
    factory = _factory()
    client = factory.dataverse(factory.require_sync_org())
    assert factory.profile.mailbox is not None
    with factory.mailbox_store(factory.profile.mailbox) as store:  # type: ignore[attr-defined]
        ids = [i for b in store.changes(FolderKind.CONTACTS, None) for i in b.created]
        (item,) = [r.value for r in store.get_many(FolderKind.CONTACTS, ids)]
        assert isinstance(item, ContactItem)
        item.job_title = "Owner"
        assert store.update_many(FolderKind.CONTACTS, [item])[0].ok
    client.update("contacts", contact_id, {"jobtitle": "Director"})

    dry = _ok(run_cli(home, "sync", "--dry-run", "--kind", "contacts"))
    assert "Dry run" in dry.stdout and "conflict on jobtitle" in dry.stdout
    assert (
        dry.stderr.rstrip().endswith("Dry run finished: nothing was changed.") and "dry_run" not in dry.stderr
    )
    assert _ok(run_cli(home, "conflicts", "list", "--json")).json() == {"conflicts": []}

    _ok(run_cli(home, "sync", "--once", "--kind", "contacts"))
    (conflict,) = _ok(run_cli(home, "conflicts", "list", "--json")).json()["conflicts"]
    assert (conflict["field"], conflict["crm_value"], conflict["mailbox_value"]) == (
        "jobtitle",
        "Director",
        "Owner",
    )
    assert conflict["winner"] == "crm"
    # The record by its name and the field by its display name (the logical name stays in "field").
    assert (conflict["item"], conflict["field_label"]) == ("Carla Cli", "Job Title")
    listing = _ok(run_cli(home, "conflicts", "list")).stdout
    assert "Owner" in listing and "Director" in listing
    assert "Contacts · Carla Cli" in listing and "Job Title" in listing and "jobtitle" not in listing

    _ok(run_cli(home, "conflicts", "resolve", str(conflict["id"]), "--use", "mailbox"))
    assert client.get("contacts", contact_id, select=["jobtitle"])["jobtitle"] == "Owner"
    (after,) = _ok(run_cli(home, "conflicts", "list", "--json")).json()["conflicts"]
    assert after["winner"] == "mailbox" and after["resolved"] is True
    assert run_cli(home, "conflicts", "resolve", "999", "--use", "crm").returncode == 1

    again = _ok(run_cli(home, "sync", "--once", "--kind", "contacts", "--json")).json()
    counts = _kind(again, "contacts")
    assert counts["to_crm"]["updated"] == counts["to_mailbox"]["updated"] == 0


def test_not_the_synchronizing_computer_exits_3(home: Path) -> None:
    _contact(home, "Nina", "Notmine")
    factory = _factory()
    records.claim(factory.dataverse(factory.require_sync_org()), "another-instance", "other-pc", force=True)
    result = run_cli(home, "sync", "--once")
    assert result.returncode == 3
    assert "not the synchronizing client" in result.stderr
    status = _ok(run_cli(home, "status", "--json")).json()
    assert status["is_sync_computer"] is False and status["last_run"] is None
    assert run_cli(home, "conflicts", "resolve", "1", "--use", "crm").returncode == 3


def test_sync_needs_configuration(isolated_home: Path) -> None:
    assert run_cli(isolated_home, "sync", "--once").returncode == 3
    assert run_cli(isolated_home, "status").returncode == 3


def test_demo_headless_syncs_and_prints_the_status(isolated_home: Path) -> None:
    result = run_cli(isolated_home, "demo", "--headless", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "does not synchronize yet" not in result.stdout
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Kind"))
    rows = {line.split()[0]: line for line in lines[header + 1 : header + 5]}
    assert set(rows) == {"email", "contacts", "appointments", "tasks"}
    assert "created" in rows["contacts"] and rows["contacts"].split()[1] == "ok"
    # it ends with an offline round trip: offline, a contact edited and an account created there, online again
    tail = result.stdout[result.stdout.index("Offline round trip") :]
    assert "Edited offline: contact" in tail
    assert 'Created offline: account "Northwind Traders (created offline)"' in tail
    assert "2 change(s) wait to be sent" in tail
    assert "Online. Sent 1 new, 1 changed and 0 deleted record(s) in 1 batch request(s)." in tail


def test_sync_waits_the_scheduled_interval(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`d365sync sync` (no --once) waits max(the user's interval, the organization's minimum) between runs:
    the waiter is replaced, so nothing waits on the wall clock."""
    from wizard import cli
    from wizard.cli import sync as sync_command

    factory = _factory()
    org = factory.require_sync_org()
    client = factory.dataverse(org)
    client.update("usersettingscollection", org.user_id, {"outlooksyncinterval": 45})
    waits: list[float] = []

    def one_wait(stop: Any, seconds: float) -> bool:
        waits.append(seconds)
        return True  # as if Ctrl+C came during the wait

    monkeypatch.setattr(sync_command, "wait_for_next", one_wait)
    # in-process: leave the process's logging as it is (configured once per process, see logging_setup)
    monkeypatch.setattr(logging.getLogger(), "_d365sync_configured", True, raising=False)
    assert cli.main(["sync", "--kind", "contacts"]) == cli.EXIT_OK
    assert waits == [45 * 60]  # the user's interval, above the organization's minimum (15)

    organization = client.organization_settings()
    client.update("organizations", organization.id, {"minoutlooksyncinterval": 60})
    assert cli.main(["sync", "--kind", "contacts"]) == cli.EXIT_OK
    assert waits == [45 * 60, 60 * 60]  # the organization's minimum wins
