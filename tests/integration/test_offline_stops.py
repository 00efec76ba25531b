"""A go-online that stops part way leaves the user offline (issue 14, item 4): a 503 storm after the first
``$batch`` request, a connection refused mid-replay, a change Dynamics 365 refuses. What was not sent stays
queued, the store remembers why going online stopped (``offline status``, the status window's line) and the
command line exits non-zero; once everything is sent the user is online."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.simulation.offline_harness import fast_dataverse
from tests.support.cli import run_cli
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.crm.client import DataverseClient
from wizard.errors import D365SyncError
from wizard.odata.errors import NetworkError
from wizard.offline import replay
from wizard.offline.store import OfflineStore
from wizard.sandbox import Sandbox

CONTACTS = 5


@pytest.fixture
def factory(signed_in_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> Factory:
    """Offline with five contacts edited offline; replay sends two changes a ``$batch`` request; retry
    waits are not slept."""
    monkeypatch.setattr(Factory, "dataverse", Factory.dataverse)  # undone after the test
    fast_dataverse(Factory)
    monkeypatch.setattr(replay, "MAX_BATCH_REQUESTS", 2)
    client = signed_in_factory.dataverse(signed_in_factory.require_sync_org())
    ids = [client.create("contacts", {"lastname": f"Contact {n}"}) for n in range(CONTACTS)]
    offline.go_offline(signed_in_factory)
    for row_id in ids:
        offline.update_record(signed_in_factory, "contacts", row_id, {"jobtitle": "offline"})
    return signed_in_factory


def _503_after_first_batch(sandbox: Sandbox) -> None:
    batches = [0]

    def on_request(_method: str, path: str) -> None:
        if "$batch" in path:
            batches[0] += 1
            if batches[0] == 2:  # the first passes; from the second on every one is answered 503
                sandbox.faults.error(503, path_contains="$batch")

    sandbox.environments[0].server.on_request = on_request


def _sent(factory: Factory) -> int:
    client = factory.dataverse(factory.require_sync_org())
    return sum(1 for row in client.query("contacts", select=["jobtitle"]) if row.get("jobtitle") == "offline")


def test_a_503_storm_mid_replay_leaves_the_user_offline_with_the_rest_queued(
    factory: Factory, sandbox: Sandbox
) -> None:
    _503_after_first_batch(sandbox)
    try:
        with pytest.raises(D365SyncError):
            offline.go_online(factory)
    finally:
        sandbox.environments[0].server.on_request = None
        sandbox.faults.clear()
    status = offline.offline_status(factory)
    assert status.state == offline.OFFLINE
    assert status.queued == CONTACTS - 2 and status.held == 0
    assert status.stopped  # the error's text
    assert _sent(factory) == 2
    assert offline.create_record(factory, "accounts", {"name": "Written meanwhile"})  # still to the queue
    assert offline.offline_status(factory).queued == CONTACTS - 2 + 1

    result = offline.go_online(factory)
    assert result.online and result.waiting == 0
    status = offline.offline_status(factory)
    assert (status.state, status.queued, status.stopped) == (offline.ONLINE, 0, "")
    assert _sent(factory) == CONTACTS


def test_a_connection_refused_mid_replay_leaves_the_user_offline(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    made = Factory.dataverse

    def dataverse(self: Factory, org: Any) -> DataverseClient:
        client = made(self, org)
        send = client.batch
        calls = [0]

        def batch(items: Any, *, continue_on_error: bool = True) -> Any:
            calls[0] += 1
            if calls[0] == 2:  # the service went away after the first request
                root = client.session.root
                host = root.split("//", 1)[1].split("/", 1)[0]
                client.session.root = root.replace(host, f"127.0.0.1:{closed_port}", 1)
            return send(items, continue_on_error=continue_on_error)

        client.batch = batch  # type: ignore[method-assign]
        return client

    monkeypatch.setattr(Factory, "dataverse", dataverse)
    with pytest.raises(NetworkError):
        offline.go_online(factory)
    status = offline.offline_status(factory)
    assert status.state == offline.OFFLINE
    assert status.queued == CONTACTS - 2
    assert "refused" in status.stopped


def test_a_change_dynamics_refuses_keeps_the_user_offline(factory: Factory) -> None:
    """A change the service refuses (here a value too long for the column, written past the local checks)
    stays queued: the user stays offline, told why, and can correct it offline."""
    path = offline.store_file(factory)
    with OfflineStore.open(path) as store:
        row_id = store.create("account", {"name": "x" * 200})  # the stand-in allows 160
    result = offline.go_online(factory)
    assert not result.online
    assert result.waiting == 1
    assert result.replay.updated == CONTACTS
    assert "account" in result.stopped
    status = offline.offline_status(factory)
    assert (status.state, status.queued) == (offline.OFFLINE, 1)
    assert status.stopped == result.stopped
    offline.update_record(factory, "accounts", row_id, {"name": "Fabrikam"})
    assert offline.go_online(factory).online
    assert offline.offline_status(factory).state == offline.ONLINE


def test_the_command_line_exits_non_zero_and_status_shows_the_reason(
    factory: Factory, sandbox: Sandbox, isolated_home: Path
) -> None:
    with OfflineStore.open(offline.store_file(factory)) as store:
        store.create("account", {"name": "x" * 200})
    online = run_cli(isolated_home, "offline", "online", "--yes")
    assert online.returncode == 1
    assert "Still offline." in online.stdout
    assert "Going online stopped:" in online.stderr and "1 change(s) not yet sent" in online.stderr
    shown = json.loads(run_cli(isolated_home, "offline", "status", "--json").stdout)
    assert shown["state"] == "offline"
    assert shown["queued_changes"] == 1
    assert shown["going_online_stopped"]
    text = run_cli(isolated_home, "offline", "status")
    assert "Going online stopped:" in text.stdout


def _held_while_online(factory: Factory) -> tuple[DataverseClient, int]:
    """Online again with one decision waiting: a contact edited offline was deleted in Dynamics 365 meanwhile.
    Returns the client and the decision's id."""
    client = factory.dataverse(factory.require_sync_org())
    row = next(
        r for r in client.query("contacts", select=["contactid", "jobtitle"]) if r.get("jobtitle") is None
    )
    mine = str(row["contactid"])
    offline.go_online(factory)  # the five edits go out; the user is online
    offline.go_offline(factory)
    offline.update_record(factory, "contacts", mine, {"jobtitle": "kept offline"})
    client.delete("contacts", mine)
    back = offline.go_online(factory)
    assert back.online and offline.offline_status(factory).state == offline.ONLINE
    [held] = offline.list_conflicts(factory, unresolved_only=True)
    return client, held.id


def _kept(client: DataverseClient) -> list[dict[str, Any]]:
    return [r for r in client.query("contacts", select=["jobtitle"]) if r.get("jobtitle") == "kept offline"]


def test_a_decision_made_while_online_is_sent_at_once(factory: Factory) -> None:
    """Online, "create it again" for a record deleted in Dynamics 365 but edited offline queues the record
    again: it goes out at once (the user has no Go online to press)."""
    client, held = _held_while_online(factory)
    said = offline.resolve_conflict(factory, held, "local")
    assert said.endswith("kept and sent to Dynamics 365."), said
    status = offline.offline_status(factory)
    assert status.queued == 0, status
    assert len(_kept(client)) == 1  # created again in Dynamics 365, once


def test_a_decided_change_that_cannot_go_out_waits_for_the_background_refresh(
    factory: Factory, sandbox: Sandbox
) -> None:
    client, held = _held_while_online(factory)
    sandbox.faults.error(503, path_contains="$batch")
    try:
        said = offline.resolve_conflict(factory, held, "local")
    finally:
        sandbox.faults.clear()
    assert said.endswith("it is sent with the next refresh."), said
    assert offline.offline_status(factory).queued == 1  # kept, not lost
    offline.background_refresh(factory)  # due at once: a change waits
    assert offline.offline_status(factory).queued == 0
    assert _kept(client)
