"""The state DB commits once per batch of writes, not once or twice per item (issue 15, item 3).

A real run against the stand-ins; every commit of the state DB is counted (``StateDB._before_commit`` runs
once per outermost commit). Before batches, a created item cost two commits (its link, its journal entry
done) and an updated one one (its merge base): 12 creates each way and 6 updates each way were over 60."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_engine import Setup, _configure, _new_contact
from wizard.mailbox.base import TRACKED_CATEGORY, ContactItem, FolderKind
from wizard.sandbox import Sandbox
from wizard.settings.enums import Kind
from wizard.sync.state import StateDB

N = 12


@pytest.fixture
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        s = _configure(box)
        try:
            yield s
        finally:
            s.store.close()


def _commits(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> int:
    count = 0
    before = StateDB._before_commit

    def counting(self: StateDB) -> None:
        nonlocal count
        count += 1
        before(self)

    with monkeypatch.context() as patch:
        patch.setattr(StateDB, "_before_commit", counting)
        summary = setup.run()
    assert summary.status == "ok", summary
    return count


def test_creates_and_updates_commit_once_per_batch(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [_new_contact(setup.client, "C", f"Crm{n}") for n in range(N)]
    made = setup.store.create_many(
        FolderKind.CONTACTS,
        [
            ContactItem(id="", given_name="M", surname=f"Mail{n}", categories=[TRACKED_CATEGORY])
            for n in range(N)
        ],
    )
    assert all(r.ok for r in made)
    creates = _commits(setup, monkeypatch)  # creates both ways
    with setup.state() as state:
        assert state.count_links(Kind.CONTACTS) == 2 * N
        assert state.pending_creates() == []
    _commits(setup, monkeypatch)  # the stamps read back
    quiet = _commits(setup, monkeypatch)
    for n, crm_id in enumerate(ids[:6]):
        setup.client.update("contacts", crm_id, {"jobtitle": f"Role {n}"})
    contacts = setup.contacts()
    for n in range(6):
        contacts[f"Mail{n}"].department = f"Dept {n}"
    assert all(
        r.ok for r in setup.store.update_many(FolderKind.CONTACTS, [contacts[f"Mail{n}"] for n in range(6)])
    )
    updates = _commits(setup, monkeypatch)
    # over a quiet run: per direction the journal entries and the batch, and the cursors of a run that wrote
    # (before batches: 54, two per create)
    assert creates - quiet <= 10, f"{creates} commits for {2 * N} creates (a run with nothing to do: {quiet})"
    assert updates - quiet <= 6, f"{updates} commits for 12 updates (a run with nothing to do: {quiet})"
    contacts = setup.contacts()
    assert contacts["Crm0"].job_title == "Role 0"
    assert setup.crm_contacts()["Mail0"]["department"] == "Dept 0"
